/** The worker's approval configuration: checked once at start, with a clear error naming the setting. */
import { readFileSync } from 'node:fs';
import { describeApprovalConfig, parseApprovalConfig, policyFor } from '../../src/shared/approval-config.js';
import { ROOT } from '../../src/devstack/process.js';

const GITHUB = {
  DEPLOY_OIDC_ISSUER: 'https://token.actions.githubusercontent.com',
  DEPLOY_OIDC_AUDIENCE: 'acme-deploys',
};
const policy = (value: unknown) => ({ path: 'policy.json', text: JSON.stringify(value) });

describe('the approval configuration', () => {
  test('without a policy file, nothing needs approval unless asked, approvers prove themselves by token, one hour', () => {
    const config = parseApprovalConfig(GITHUB);
    expect(policyFor(config, 'prod', 'web')).toEqual({
      service: 'prod/web',
      source: 'defaults',
      requireApproval: false,
      identity: 'verified',
      approvers: [],
      approvalTimeoutMs: 3_600_000,
      approverClaims: {},
      requesterClaims: {},
      issuer: GITHUB.DEPLOY_OIDC_ISSUER,
      identityClaim: 'sub',
    });
    expect(describeApprovalConfig(config)).toBe(
      'approvals: trusts https://token.actions.githubusercontent.com (audience acme-deploys, identity claim sub); policy built-in defaults: required for no service by name, otherwise on request',
    );
  });

  test('the example policy in deploy/ parses: per-service entries override the defaults, claims merge', () => {
    const text = readFileSync(`${ROOT}/deploy/approval-policy.example.json`, 'utf8');
    const config = parseApprovalConfig({ ...GITHUB, DEPLOY_OIDC_IDENTITY_CLAIM: 'actor' }, { path: 'example', text });
    expect(policyFor(config, 'my-app-cluster', 'my-app-service')).toMatchObject({
      requireApproval: true,
      approvers: ['alice', 'bob'],
      approvalTimeoutMs: 2 * 3_600_000,
      approverClaims: { repository: 'acme/my-app', environment: 'production' },
      requesterClaims: { repository: 'acme/my-app' },
      identityClaim: 'actor',
    });
    expect(policyFor(config, 'staging', 'my-app-service')).toMatchObject({
      identity: 'namespace',
      requireApproval: true,
    });
  });

  test("the local stack's policy parses against a loopback issuer and requires no approval for local/hello", () => {
    const text = readFileSync(`${ROOT}/deploy/approval-policy.local.json`, 'utf8');
    const config = parseApprovalConfig(
      { DEPLOY_OIDC_ISSUER: 'http://127.0.0.1:4455', DEPLOY_OIDC_AUDIENCE: 'ecs-deploy-local' },
      { path: 'local', text },
    );
    expect(policyFor(config, 'local', 'hello')).toMatchObject({
      requireApproval: false,
      approvers: ['alice', 'bob', 'carol'],
    });
  });

  test.each([
    [
      {},
      policy({ services: { 'prod/web': { requireApproval: true } } }),
      /^invalid DEPLOY_APPROVAL_POLICY services\."prod\/web": requires approval by ID token, but the worker trusts no issuer; set DEPLOY_OIDC_ISSUER and DEPLOY_OIDC_AUDIENCE$/,
    ],
    [
      GITHUB,
      policy({ services: { 'prod/web': { requireApproval: true } } }),
      /admits every identity https:\/\/token\.actions\.githubusercontent\.com issues tokens to; list approvers, or set tokenClaims or approverClaims$/,
    ],
    [
      GITHUB,
      policy({ defaults: { identity: 'namespace' } }),
      /^invalid DEPLOY_APPROVAL_POLICY defaults\.identity: namespace mode .* must be chosen per service/,
    ],
    [
      GITHUB,
      policy({ services: { 'prod/web': { requireAproval: true } } }),
      /^invalid DEPLOY_APPROVAL_POLICY services\."prod\/web"\.requireAproval: unknown setting; known: requireApproval, identity/,
    ],
    [
      GITHUB,
      policy({ services: { web: {} } }),
      /^invalid DEPLOY_APPROVAL_POLICY services\."web": keys are "cluster\/service"/,
    ],
    [
      GITHUB,
      policy({ services: { 'prod/web': { approvalTimeout: 'soon' } } }),
      /approvalTimeout: "soon" is not a duration like 90s, 15m or 1h$/,
    ],
    [
      GITHUB,
      policy({ services: { 'prod/web': { identity: 'namespace', approverClaims: { environment: 'x' } } } }),
      /cannot check claims$/,
    ],
    [GITHUB, { path: 'p.json', text: '{ nope' }, /^invalid DEPLOY_APPROVAL_POLICY: p\.json is not JSON/],
    [
      { DEPLOY_OIDC_ISSUER: 'http://issuer.example.com', DEPLOY_OIDC_AUDIENCE: 'a' },
      undefined,
      /^invalid DEPLOY_OIDC_ISSUER: "http:\/\/issuer\.example\.com" must be https \(plain http only to 127\.0\.0\.1 or localhost\)$/,
    ],
    [
      { DEPLOY_OIDC_ISSUER: GITHUB.DEPLOY_OIDC_ISSUER },
      undefined,
      /^invalid DEPLOY_OIDC_AUDIENCE: not set; tokens must be bound to an audience/,
    ],
    [{ DEPLOY_OIDC_AUDIENCE: 'a' }, undefined, /^invalid DEPLOY_OIDC_ISSUER: not set, but DEPLOY_OIDC_AUDIENCE is/],
  ])('a bad setting is refused at start with the setting named (%#)', (env, file, message) => {
    expect(() => parseApprovalConfig(env, file)).toThrow(message);
  });
});
