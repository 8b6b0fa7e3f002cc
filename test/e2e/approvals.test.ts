/**
 * Approvals on the real local stack, through deployctl, with real ID tokens from the stack's OIDC issuer. The worker
 * here runs with a policy that requires approval of local/hello by alice or bob, so the request cannot lower it.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, decodeProtectedHeader, generateKeyPair } from 'jose';
import { mintLocalToken } from '../../src/cli/identity.js';
import type { DeployResult, FinalStatus } from '../../src/shared/types.js';
import { deployctl, type Stack } from '../../src/devstack/stack.js';
import { startAppStack, type AppStack, type SourceRepo } from '../../src/devstack/source-repo.js';

let stack: Stack;
let source: SourceRepo;
let ecs: ECSClient;
let app: AppStack | undefined;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'approvals-e2e-'));
  const policy = join(dir, 'policy.json');
  await writeFile(
    policy,
    JSON.stringify({ services: { 'local/hello': { requireApproval: true, approvers: ['alice', 'bob'] } } }),
  );
  app = await startAppStack({ approvalPolicy: policy });
  ({ stack, source, ecs } = app);
}, 120_000);

afterAll(async () => {
  await app?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const FINAL: string[] = ['succeeded', 'failed', 'rolled_back', 'cancelled', 'superseded'] satisfies FinalStatus[];

async function runningRevision(): Promise<string | undefined> {
  const out = await ecs.send(
    new DescribeServicesCommand({ cluster: stack.env.ECS_CLUSTER, services: [stack.env.ECS_SERVICE ?? ''] }),
  );
  return out.services?.[0]?.taskDefinition;
}

/** `deployctl token --as <name>`: a real token from the local issuer, as a person would mint one. */
async function tokenFor(as: string, args: string[] = []): Promise<string> {
  const run = await deployctl(stack, ['token', '--as', as, ...args]);
  if (run.exitCode !== 0) throw new Error(`deployctl token failed: ${run.stderr}`);
  return run.stdout.trim();
}

async function start(sha: string, env: Record<string, string>): Promise<string> {
  const run = await deployctl(stack, ['deploy', '--sha', sha, '--json'], env);
  if (run.exitCode !== 0) throw new Error(`deployctl deploy failed (${run.exitCode}): ${run.stderr}`);
  return (JSON.parse(run.stdout) as { workflowId: string }).workflowId;
}

async function statusUntil(workflowId: string, done: (r: DeployResult) => boolean): Promise<DeployResult> {
  const deadline = Date.now() + 180_000;
  let last = '';
  while (Date.now() < deadline) {
    const run = await deployctl(stack, ['status', workflowId, '--json']);
    last = `${run.stdout}\n${run.stderr}`;
    if (run.stdout.trim()) {
      const result = JSON.parse(run.stdout) as DeployResult;
      if (done(result)) return result;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`deploy ${workflowId} never reached the expected state; last status:\n${last}`);
}

/** Asks deployctl to approve; expects a refusal and returns what it said. */
async function refused(workflowId: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const run = await deployctl(stack, ['approve', workflowId, ...args], env);
  expect(run.exitCode).not.toBe(0);
  return run.stderr;
}

describe('approvals with verified identities on the local stack', () => {
  test('a deploy the policy requires approval for waits even when the request turns approval off; every bad approval is refused saying why; bob’s deploys it', async () => {
    const before = await runningRevision();
    const sha = await source.commit('a commit that must be approved');
    const requester = await tokenFor('alice');
    const workflowId = await start(sha, { DEPLOY_REQUIRE_APPROVAL: 'false', DEPLOY_REQUESTER_TOKEN: requester });

    const waiting = await statusUntil(
      workflowId,
      (r) => (r.status as string) === 'awaiting_approval' || FINAL.includes(r.status),
    );
    expect(waiting.status).toBe('awaiting_approval');
    expect(waiting.approval).toMatchObject({
      required: true,
      requiredBy: 'policy',
      mode: 'verified',
      state: 'pending',
      approvers: ['alice', 'bob'],
      requester: { id: 'alice', proof: 'verified' },
    });
    expect(await runningRevision()).toBe(before);
    const failed = `deployctl: failed to approve ${workflowId}: `;

    // No token at all: deployctl says where a token comes from, and sends nothing.
    expect(await refused(workflowId, [])).toContain(
      "deployctl: invalid --token-file: approve needs the approver's ID token: pass --token-file <path> or --token <jwt>, or set DEPLOY_APPROVAL_TOKEN",
    );
    // A name is not an identity for this service.
    expect(await refused(workflowId, ['--by', 'bob'])).toContain(
      `${failed}deploy ${workflowId} takes approvals by OIDC ID token`,
    );
    // Expired.
    const expired = await mintLocalToken({ env: stack.env, as: 'bob', backdateSeconds: 600, ttlSeconds: 60 });
    expect(await refused(workflowId, [], { DEPLOY_APPROVAL_TOKEN: expired })).toMatch(
      new RegExp(`${escape(failed)}the token was refused: it expired at \\S+Z$`, 'm'),
    );
    // For another audience.
    const otherAudience = join(dir, 'other-audience.jwt');
    await writeFile(otherAudience, await tokenFor('bob', ['--audience', 'someone-else']));
    expect(await refused(workflowId, ['--token-file', otherAudience])).toContain(
      `${failed}the token was refused: it is for the audience "someone-else", not "ecs-deploy-local"`,
    );
    // Signed by another key, under the issuer's own key id.
    const { kid } = decodeProtectedHeader(await tokenFor('bob'));
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', ...(kid ? { kid } : {}) })
      .setIssuer(stack.env.DEPLOY_OIDC_ISSUER ?? '')
      .setSubject('bob')
      .setAudience('ecs-deploy-local')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    expect(await refused(workflowId, ['--token', forged])).toContain(
      `${failed}the token was refused: its signature does not verify against the issuer's keys`,
    );
    // The requester's own identity: four eyes.
    expect(await refused(workflowId, [], { DEPLOY_APPROVAL_TOKEN: await tokenFor('alice') })).toContain(
      `${failed}approver "alice" requested ${workflowId} and cannot approve it too; four eyes need another approver`,
    );
    // An identity outside the worker's list.
    expect(await refused(workflowId, [], { DEPLOY_APPROVAL_TOKEN: await tokenFor('carol') })).toContain(
      `${failed}approver "carol" is not allowed to approve ${workflowId}; allowed: alice, bob`,
    );
    const still = await statusUntil(workflowId, () => true);
    expect(still.approval?.state).toBe('pending');
    expect(await runningRevision()).toBe(before);

    const bob = join(dir, 'bob.jwt');
    const bobToken = await tokenFor('bob');
    await writeFile(bob, bobToken);
    const approve = await deployctl(stack, ['approve', workflowId, '--token-file', bob, '--comment', 'reviewed']);
    expect(approve.stderr).toContain(`${workflowId}: approved by bob (verified)`);
    expect(approve.exitCode).toBe(0);

    const result = await statusUntil(workflowId, (r) => FINAL.includes(r.status));
    expect(result.status).toBe('succeeded');
    expect(result.approval).toMatchObject({
      state: 'approved',
      by: 'bob',
      proof: 'verified',
      comment: 'reviewed',
      requester: { id: 'alice', proof: 'verified' },
    });
    expect(await runningRevision()).toBe(result.taskDefinitionArn);
    // Only identities are kept: neither token is in the result.
    expect(JSON.stringify(result)).not.toContain(bobToken);
    expect(JSON.stringify(result)).not.toContain(requester);
    // The worker logged each refusal's reason, never a token.
    const log = await readFile(join(stack.dir, 'logs', 'worker.log'), 'utf8');
    expect(log).not.toContain(bobToken.split('.')[2]);
  }, 400_000);

  test('a request without a verified requester is refused before anything is built: four eyes need one', async () => {
    const before = await runningRevision();
    const sha = await source.commit('a commit from nobody in particular');
    const workflowId = await start(sha, {});
    const result = await statusUntil(workflowId, (r) => FINAL.includes(r.status));
    expect(result.status).toBe('failed');
    expect(result.error?.stage).toBe('validate');
    expect(result.error?.message).toContain(
      "the worker's policy requires approval of local/hello, and four eyes need a verified requester",
    );
    expect(result.stages.map((s) => s.name)).toEqual(['validate']);
    expect(await runningRevision()).toBe(before);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
