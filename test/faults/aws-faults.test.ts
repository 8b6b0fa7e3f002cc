/**
 * AWS and registry faults over real HTTP: a proxy in front of moto and one in front of docker-registry.
 * What can pass (throttling, 5xx, resets, slow answers, an expired registry token, a registry that is down for a
 * moment) is retried and the deploy succeeds; what cannot (AccessDenied, validation errors) fails at once with
 * AWS's own message, before the service is touched.
 */
import type { FaultRule } from '../../src/devstack/fault-proxy.js';
import { manifestDigest } from '../support/registry.js';
import { recordCounts, startFaultStack, type FaultStack } from './harness.js';

let fs: FaultStack;
const retried: Record<string, number> = {};
const refused: string[] = [];

beforeAll(async () => {
  fs = await startFaultStack();
  await fs.startWorker('w0');
}, 180_000);

afterAll(async () => {
  await recordCounts('aws-faults', {
    injected: fs?.aws.injected(),
    registryInjected: fs?.registry.injected(),
    retried,
    refused,
  });
  await fs?.stop();
});

/** Deploys a new commit with the rules in place; returns the result and how many faults each rule injected. */
async function deployWith(label: string, rules: FaultRule[], proxy: 'aws' | 'registry' = 'aws') {
  const sha = await fs.source.commit(label);
  const handles = rules.map((r) => fs[proxy].addRule(r));
  try {
    const started = Date.now();
    const out = await fs.deployAndWait(sha);
    return {
      ...out,
      sha,
      injected: handles.map((h) => h.injected),
      matched: handles.map((h) => h.matched),
      ms: Date.now() - started,
    };
  } finally {
    for (const h of handles) h.remove();
  }
}

describe('faults that pass are retried, and the deploy succeeds', () => {
  const transient: [string, 'aws' | 'registry', FaultRule[]][] = [];
  const aws = (fault: FaultRule['fault'], times: number): FaultRule[] => [
    { service: 'ecs', operation: 'DescribeServices', times, fault },
    { service: 'ecs', operation: 'RegisterTaskDefinition', times, fault },
    { service: 'ecs', operation: 'UpdateService', times, fault },
    { service: 'ecr', operation: 'GetAuthorizationToken', times, fault },
    { service: 'ecr', operation: 'DescribeRepositories', times, fault },
  ];
  transient.push(['throttling (400 ThrottlingException)', 'aws', aws({ kind: 'throttle' }, 3)]);
  transient.push([
    '500 ServerException and 503 ServiceUnavailable',
    'aws',
    [...aws({ kind: 'status', status: 500 }, 2), ...aws({ kind: 'status', status: 503 }, 1)],
  ]);
  transient.push(['connection resets', 'aws', aws({ kind: 'reset' }, 3)]);
  transient.push(['slow answers (4 s)', 'aws', aws({ kind: 'slow', ms: 4_000 }, 1)]);
  transient.push([
    'registry 500s on blob uploads and the manifest',
    'registry',
    [
      { method: 'PUT', path: /\/manifests\//, times: 1, fault: { kind: 'status', status: 500 } },
      { method: 'POST', path: /\/blobs\/uploads\/$/, times: 1, fault: { kind: 'status', status: 503 } },
    ],
  ]);
  transient.push([
    'the registry down for a moment (connection resets on everything)',
    'registry',
    [{ times: 2, fault: { kind: 'reset' } }],
  ]);

  test.each(transient)(
    '%s',
    async (label, proxy, rules) => {
      const { result, exitCode, injected, sha } = await deployWith(label, rules, proxy);
      expect({ status: result.status, error: result.error?.message }).toEqual({
        status: 'succeeded',
        error: undefined,
      });
      expect(exitCode).toBe(0);
      expect(injected.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect((await fs.service()).taskDefinition).toBe(result.taskDefinitionArn);
      if (proxy === 'aws') expect(fs.pushes(sha)).toBe(1);
      retried[label] = injected.reduce((a, b) => a + b, 0);
    },
    240_000,
  );

  test('an expired registry token is fetched again at the next attempt', async () => {
    // ECR hands out a token the registry refuses (401) once; the package step's retry asks ECR again.
    const stale = Buffer.from('AWS:expired-token-from-yesterday').toString('base64');
    const tokensBefore = fs.aws.count('ecr', 'GetAuthorizationToken');
    const { result, injected } = await deployWith('expired token', [
      {
        service: 'ecr',
        operation: 'GetAuthorizationToken',
        times: 1,
        fault: {
          kind: 'rewrite',
          body: (json) => {
            const data = (json.authorizationData as { authorizationToken: string }[] | undefined)?.[0];
            if (data) data.authorizationToken = stale;
            return json;
          },
        },
      },
    ]);
    expect(result.status).toBe('succeeded');
    expect(injected[0]).toBe(1);
    expect(fs.aws.count('ecr', 'GetAuthorizationToken') - tokensBefore).toBeGreaterThanOrEqual(2);
    retried['expired registry token'] = 1;
  }, 240_000);
});

describe('faults no retry can fix fail at once, with AWS message, and change nothing', () => {
  const cases: [string, FaultRule, string, RegExp][] = [
    [
      'AccessDenied on RegisterTaskDefinition',
      { service: 'ecs', operation: 'RegisterTaskDefinition', fault: { kind: 'accessDenied' } },
      'register',
      /is not authorized to perform: ecs:RegisterTaskDefinition/,
    ],
    [
      'AccessDenied on ECR GetAuthorizationToken',
      { service: 'ecr', operation: 'GetAuthorizationToken', fault: { kind: 'accessDenied' } },
      'package',
      /is not authorized to perform: ecr:GetAuthorizationToken/,
    ],
    [
      'ValidationException on DescribeServices',
      {
        service: 'ecs',
        operation: 'DescribeServices',
        fault: { kind: 'validation', message: 'Value at cluster failed to satisfy constraint' },
      },
      'validate',
      /Value at cluster failed to satisfy constraint/,
    ],
  ];

  test.each(cases)(
    '%s',
    async (label, rule, stage, message) => {
      const before = await fs.service();
      const revisions = (await fs.revisions()).length;
      const { result, exitCode, matched, sha, ms } = await deployWith(label, [rule]);
      expect(result.status).toBe('failed');
      expect(exitCode).toBe(1);
      expect(result.error?.stage).toBe(stage);
      expect(result.error?.message).toMatch(message);
      // Asked once: neither the SDK nor Temporal retried it (the failed deploy's image clean-up asks ECR once more).
      expect(matched[0]).toBe(stage === 'package' ? 2 : 1);
      expect(ms).toBeLessThan(60_000);
      expect((await fs.service()).taskDefinition).toBe(before.taskDefinition);
      // Packaging may have pushed before the failure; the failed deploy removed its image again.
      expect(await manifestDigest(fs.stack.env.DEPLOY_REGISTRY ?? '', 'hello', sha)).toBeUndefined();
      expect((await fs.revisions()).length).toBe(revisions);
      refused.push(label);
    },
    240_000,
  );

  test('a registry that denies access (403) fails the package step at once, naming the fix', async () => {
    const { result, matched, sha } = await deployWith(
      'registry 403',
      [{ method: 'HEAD', path: /\/manifests\//, fault: { kind: 'status', status: 403 } }],
      'registry',
    );
    expect(result.status).toBe('failed');
    expect(result.error?.stage).toBe('package');
    expect(result.error?.message).toMatch(/access denied \(403\); grant the worker's IAM identity access/);
    expect(matched[0]).toBe(1);
    expect(await manifestDigest(fs.stack.env.DEPLOY_REGISTRY ?? '', 'hello', sha)).toBeUndefined();
    refused.push('registry 403 on the manifest check');
  }, 240_000);

  test('no secret appears in any history, worker or stack log, or deployctl output of these deploys', async () => {
    expect(await fs.secretHits()).toEqual([]);
  });
});
