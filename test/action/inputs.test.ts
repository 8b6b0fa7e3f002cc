/** The Action's inputs, read as core.getInput reads them: each error names the input to fix. */
import { readActionInputs, type ReadInput } from '../../src/action/inputs.js';

const SHA = 'b'.repeat(40);
const PEM = (label: string): string => `-----BEGIN ${label}-----\nMIIBfake\n-----END ${label}-----`;

const WITH: Record<string, string> = {
  region: 'us-east-1',
  cluster: 'prod',
  service: 'web',
  repository: 'web',
  'container-name': 'app',
  'temporal-address': 'prod.a1b2c.tmprl.cloud:7233',
  'temporal-namespace': 'prod.a1b2c',
};

/** Like core.getInput: an input not given reads as empty. */
const inputs =
  (given: Record<string, string>): ReadInput =>
  (name) =>
    given[name] ?? '';

describe('readActionInputs', () => {
  test('deploys GITHUB_SHA when the sha input is empty, and waits by default', () => {
    const read = readActionInputs(inputs(WITH), { GITHUB_SHA: SHA });
    expect(read).toMatchObject({
      sha: SHA,
      wait: true,
      target: { region: 'us-east-1', cluster: 'prod', service: 'web', repository: 'web', containerName: 'app' },
      settings: {
        address: 'prod.a1b2c.tmprl.cloud:7233',
        namespace: 'prod.a1b2c',
        taskQueue: 'ecs-deploy',
        tls: false,
      },
    });
    expect(read.target.taskDefinitionPath).toBeUndefined();
  });

  test('a missing or bad input is named as the input, with what to do', () => {
    expect(() => readActionInputs(inputs({ ...WITH, cluster: '' }), { GITHUB_SHA: SHA })).toThrow(
      'invalid cluster: not set; set the cluster input',
    );
    expect(() => readActionInputs(inputs({ ...WITH, 'container-name': 'a b' }), { GITHUB_SHA: SHA })).toThrow(
      'invalid container-name: "a b" is not a valid container name',
    );
    expect(() => readActionInputs(inputs({ ...WITH, sha: 'HEAD' }), { GITHUB_SHA: SHA })).toThrow('invalid sha:');
    expect(() => readActionInputs(inputs({ ...WITH, 'stable-timeout': '15 minutes' }), { GITHUB_SHA: SHA })).toThrow(
      'invalid stable-timeout: "15 minutes" is not a duration',
    );
    expect(() => readActionInputs(inputs({ ...WITH, wait: 'yes' }), { GITHUB_SHA: SHA })).toThrow(
      'invalid wait: "yes" must be true or false',
    );
    expect(() => readActionInputs(inputs({ ...WITH, 'temporal-address': 'grpc://x' }), { GITHUB_SHA: SHA })).toThrow(
      'invalid temporal-address: "grpc://x" is not host:port',
    );
  });

  test('image-digest and recipe become image mode and the recipe path; a bad digest names the input', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const read = readActionInputs(inputs({ ...WITH, 'image-digest': digest, recipe: 'svc/deployctl.yml' }), {
      GITHUB_SHA: SHA,
    });
    expect(read.imageDigest).toBe(digest);
    expect(read.target.recipePath).toBe('svc/deployctl.yml');
    expect(readActionInputs(inputs(WITH), { GITHUB_SHA: SHA }).imageDigest).toBeUndefined();
    expect(() => readActionInputs(inputs({ ...WITH, 'image-digest': 'latest' }), { GITHUB_SHA: SHA })).toThrow(
      /^invalid image-digest: "latest" is not a valid image digest/,
    );
    expect(() => readActionInputs(inputs({ ...WITH, recipe: '../x.yml' }), { GITHUB_SHA: SHA })).toThrow(
      /^invalid recipe: /,
    );
  });

  test('an API key turns TLS on; the mTLS certificate and key come as PEM text, both or neither', () => {
    const withKey = readActionInputs(inputs({ ...WITH, 'temporal-api-key': 'k' }), { GITHUB_SHA: SHA });
    expect(withKey.settings).toMatchObject({ apiKey: 'k', tls: {} });

    const mtls = readActionInputs(
      inputs({
        ...WITH,
        'temporal-tls-client-cert': PEM('CERTIFICATE'),
        'temporal-tls-client-key': PEM('PRIVATE KEY'),
      }),
      { GITHUB_SHA: SHA },
    );
    const tls = mtls.settings.tls === false ? undefined : mtls.settings.tls;
    expect(tls?.clientCertPair?.crt.toString()).toContain('-----BEGIN CERTIFICATE-----');
    expect(tls?.clientCertPair?.key.toString()).toContain('-----BEGIN PRIVATE KEY-----');

    expect(() =>
      readActionInputs(inputs({ ...WITH, 'temporal-tls-client-cert': PEM('CERTIFICATE') }), { GITHUB_SHA: SHA }),
    ).toThrow('invalid temporal-tls-client-key: mTLS needs both the client certificate and its key');
    expect(() =>
      readActionInputs(
        inputs({
          ...WITH,
          'temporal-tls-client-cert': '/path/to/cert.pem',
          'temporal-tls-client-key': PEM('PRIVATE KEY'),
        }),
        {
          GITHUB_SHA: SHA,
        },
      ),
    ).toThrow('invalid temporal-tls-client-cert: the value is not PEM text');
  });

  test('approval and timeouts become the deploy options', () => {
    const read = readActionInputs(
      inputs({ ...WITH, 'require-approval': 'true', approvers: 'alice,bob', 'approval-timeout': '30m', wait: 'false' }),
      { GITHUB_SHA: SHA },
    );
    expect(read.options).toEqual({ requireApproval: true, approvers: ['alice', 'bob'], approvalTimeoutMs: 1_800_000 });
    expect(read.wait).toBe(false);
  });

  test("the requester token's audience comes from the oidc-audience input, else DEPLOY_OIDC_AUDIENCE; none without either", () => {
    expect(readActionInputs(inputs(WITH), { GITHUB_SHA: SHA }).oidcAudience).toBeUndefined();
    expect(
      readActionInputs(inputs(WITH), { GITHUB_SHA: SHA, DEPLOY_OIDC_AUDIENCE: 'ecs-deploy.acme' }).oidcAudience,
    ).toBe('ecs-deploy.acme');
    expect(
      readActionInputs(inputs({ ...WITH, 'oidc-audience': ' ecs-deploy.prod ' }), {
        GITHUB_SHA: SHA,
        DEPLOY_OIDC_AUDIENCE: 'ecs-deploy.acme',
      }).oidcAudience,
    ).toBe('ecs-deploy.prod');
  });
});
