/** Approving, cancelling, superseding and re-running deploys on the real local stack, through deployctl. */
import type { ECSClient } from '@aws-sdk/client-ecs';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import type { DeployListing } from '../../src/client/deploys.js';
import type { DeployResult, FinalStatus } from '../../src/shared/types.js';
import type { LedgerEntry } from '../../src/workflows/messages.js';
import { setNextRollout } from '../../src/devstack/moto.js';
import { deployctl, type Stack } from '../../src/devstack/stack.js';
import { startAppStack, type AppStack, type SourceRepo } from '../../src/devstack/source-repo.js';

let stack: Stack;
let source: SourceRepo;
let ecs: ECSClient;

let app: AppStack | undefined;

beforeAll(async () => {
  app = await startAppStack();
  ({ stack, source, ecs } = app);
}, 120_000);

afterAll(async () => {
  await app?.stop();
});

const FINAL: string[] = ['succeeded', 'failed', 'rolled_back', 'cancelled', 'superseded'] satisfies FinalStatus[];

async function service() {
  const out = await ecs.send(
    new DescribeServicesCommand({ cluster: stack.env.ECS_CLUSTER, services: [stack.env.ECS_SERVICE ?? ''] }),
  );
  const svc = out.services?.[0];
  if (!svc) throw new Error('service missing');
  return svc;
}

async function revisionStatus(arn: string | undefined): Promise<string | undefined> {
  const out = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
  return out.taskDefinition?.status;
}

/** Starts a deploy without waiting; returns its workflow id and what deployctl said. */
async function start(sha: string, args: string[] = [], env: Record<string, string> = {}) {
  const run = await deployctl(stack, ['deploy', '--sha', sha, '--json', ...args], env);
  if (run.exitCode !== 0) throw new Error(`deployctl deploy failed (${run.exitCode}): ${run.stderr}`);
  const { workflowId } = JSON.parse(run.stdout) as { workflowId: string };
  expect(workflowId).toMatch(/^deploy\.local\.hello\.[0-9a-f]{40}\.\d+$/);
  expect(workflowId).toContain(sha);
  return { workflowId, stderr: run.stderr };
}

/** `deployctl status <id> --json` until `done` holds; returns the last reading and its stderr. */
async function statusUntil(
  workflowId: string,
  done: (r: DeployResult) => boolean,
  timeoutMs = 120_000,
): Promise<{ result: DeployResult; stderr: string }> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const run = await deployctl(stack, ['status', workflowId, '--json']);
    last = `${run.stdout}\n${run.stderr}`;
    if (run.stdout.trim()) {
      const result = JSON.parse(run.stdout) as DeployResult;
      if (done(result)) return { result, stderr: run.stderr };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`deploy ${workflowId} never reached the expected state; last status:\n${last}`);
}

/** A real ID token from the stack's local issuer, minted by deployctl as a person would. */
async function tokenFor(as: string): Promise<string> {
  const run = await deployctl(stack, ['token', '--as', as]);
  if (run.exitCode !== 0) throw new Error(`deployctl token failed: ${run.stderr}`);
  return run.stdout.trim();
}

const finished = (id: string) => statusUntil(id, (r) => FINAL.includes(r.status));
const reaches = (id: string, status: string) =>
  statusUntil(id, (r) => r.status === status || FINAL.includes(r.status)).then((s) => {
    expect(s.result.status).toBe(status);
    return s;
  });

async function hangNextRollout(): Promise<void> {
  await setNextRollout({
    endpoint: stack.env.AWS_ENDPOINT_URL ?? '',
    region: stack.env.AWS_REGION ?? '',
    serviceArn: (await service()).serviceArn ?? '',
    outcome: 'hang',
  });
}

describe('controlling deploys with deployctl on the local stack', () => {
  let approvedSha: string;
  let approvedRunId: string;

  test('a deploy that requires approval waits, shows what would change, and deploys once alice approves', async () => {
    const before = (await service()).taskDefinition;
    approvedSha = await source.commit('a commit that needs approval');
    const { workflowId } = await start(approvedSha, ['--require-approval']);

    const waiting = await reaches(workflowId, 'awaiting_approval');
    expect(waiting.result.approval).toMatchObject({ required: true, state: 'pending' });
    expect(waiting.stderr).toContain('local/hello approval: pending');
    expect(waiting.stderr).toMatch(/local\/hello would change: .*image.*hello@sha256:[0-9a-f]{64}/);
    expect((await service()).taskDefinition).toBe(before);

    const approve = await deployctl(stack, ['approve', workflowId, '--comment', 'ship it', '--json'], {
      DEPLOY_APPROVAL_TOKEN: await tokenFor('alice'),
    });
    expect(approve.stderr).toContain(`${workflowId}: approved by alice (verified)`);
    expect(approve.exitCode).toBe(0);
    expect(JSON.parse(approve.stdout)).toMatchObject({
      workflowId,
      approval: { state: 'approved', by: 'alice', proof: 'verified', comment: 'ship it' },
    });

    const { result } = await finished(workflowId);
    expect(result.status).toBe('succeeded');
    expect(result.approval).toMatchObject({
      state: 'approved',
      by: 'alice',
      proof: 'verified',
      requiredBy: 'request',
      comment: 'ship it',
    });
    expect((await service()).taskDefinition).toBe(result.taskDefinitionArn);
    approvedRunId = result.runId;
  });

  test('deploying the SHA the service already runs reports it as live, from a fresh read, without building', async () => {
    const run = await deployctl(stack, ['deploy', '--sha', approvedSha, '--wait', '--json']);
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toMatch(/note: [0-9a-f]{12} is already live: hello:\d+ is the PRIMARY deployment, stable/);
    const result = JSON.parse(run.stdout) as DeployResult;
    expect(result).toMatchObject({ status: 'succeeded', sha: approvedSha, reused: { alreadyLive: true } });
    expect(result.runId).not.toBe(approvedRunId);
    expect(result.stages.map((s) => s.name)).toEqual(['validate']);
    expect(result.observed?.taskDefinitionArn).toBe((await service()).taskDefinition);
    // Two deploys of that SHA in visibility, and the second one built nothing.
    const list = await deployctl(stack, ['list', '--service', '--json']);
    const runs = (JSON.parse(list.stdout) as DeployListing[]).filter((d) => d.sha === approvedSha);
    expect(runs.map((d) => d.runId).sort()).toEqual([approvedRunId, result.runId].sort());
  });

  test('an approval from outside the allow-list the request narrowed is refused with a clear message; a cancel then ends the deploy before the update', async () => {
    const before = (await service()).taskDefinition;
    const sha = await source.commit('a commit only alice may approve');
    const { workflowId } = await start(sha, ['--require-approval'], { DEPLOY_APPROVERS: 'alice' });
    await reaches(workflowId, 'awaiting_approval');

    const refused = await deployctl(stack, ['approve', workflowId, '--token', await tokenFor('mallory')]);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain(
      `deployctl: failed to approve ${workflowId}: approver "mallory" is not allowed to approve ${workflowId}; allowed: alice`,
    );
    expect((await reaches(workflowId, 'awaiting_approval')).result.approval?.state).toBe('pending');

    const cancel = await deployctl(stack, ['cancel', workflowId, '--by', 'bob', '--reason', 'not this one', '--json']);
    expect(cancel.exitCode).toBe(0);
    expect(JSON.parse(cancel.stdout)).toEqual({
      workflowId,
      cancel: { by: 'bob', reason: 'not this one' },
      sent: true,
    });
    const { result } = await finished(workflowId);
    expect(result.status).toBe('cancelled');
    expect(result.endedBy).toMatchObject({ by: 'bob', reason: 'not this one' });
    expect(result.stages.map((s) => s.name)).not.toContain('update');
    expect((await service()).taskDefinition).toBe(before);
    expect(await revisionStatus(result.taskDefinitionArn)).toBe('INACTIVE');

    const late = await deployctl(stack, ['approve', workflowId], { DEPLOY_APPROVAL_TOKEN: await tokenFor('alice') });
    expect(late.exitCode).not.toBe(0);
    expect(late.stderr).toContain(`the deploy has finished (cancelled); nothing to approve`);
  });

  test('without an approval within --approval-timeout, the deploy ends cancelled with its approval rejected', async () => {
    const before = (await service()).taskDefinition;
    const sha = await source.commit('a commit nobody approves');
    const { workflowId } = await start(sha, ['--require-approval', '--approval-timeout', '3s']);
    const { result } = await finished(workflowId);
    expect(result.status).toBe('cancelled');
    expect(result.approval).toMatchObject({
      state: 'rejected',
      by: 'approval timeout',
      comment: 'no approval within 3 s',
    });
    expect(result.endedBy).toMatchObject({ by: 'approval timeout', reason: 'no approval within 3 s' });
    expect((await service()).taskDefinition).toBe(before);
    expect(await revisionStatus(result.taskDefinitionArn)).toBe('INACTIVE');
  });

  test('a cancel during the rollout puts the service back on its previous revision, stable', async () => {
    const before = (await service()).taskDefinition;
    const sha = await source.commit('a commit whose rollout is cancelled');
    await hangNextRollout();
    const { workflowId } = await start(sha);
    await reaches(workflowId, 'waiting_stable');
    expect((await service()).taskDefinition).not.toBe(before);

    const cancel = await deployctl(stack, ['cancel', workflowId, '--by', 'carol', '--reason', 'wrong config']);
    expect(cancel.exitCode).toBe(0);
    const { result } = await finished(workflowId);
    expect(result.status).toBe('cancelled');
    expect(result.endedBy).toMatchObject({ by: 'carol', reason: 'wrong config' });
    expect(result.rollback?.restoredTaskDefinitionArn).toBe(before);
    const after = await service();
    expect(after.taskDefinition).toBe(before);
    const primary = after.deployments?.find((d) => d.status === 'PRIMARY');
    expect(primary).toMatchObject({ taskDefinition: before, rolloutState: 'COMPLETED' });
    expect(primary?.runningCount).toBe(primary?.desiredCount);
    expect(await revisionStatus(result.taskDefinitionArn)).toBe('INACTIVE');
  });

  test('a newer SHA supersedes a running deploy: the older compensates and ends superseded before the newer updates', async () => {
    const before = (await service()).taskDefinition;
    const olderSha = await source.commit('an older commit, stuck rolling out');
    await hangNextRollout();
    const older = await start(olderSha);
    await reaches(older.workflowId, 'waiting_stable');

    const newerSha = await source.commit('a newer commit');
    const newer = await start(newerSha);
    expect(newer.stderr).toContain(`local/hello superseding ${older.workflowId}`);

    const olderResult = (await finished(older.workflowId)).result;
    const newerResult = (await finished(newer.workflowId)).result;
    expect(olderResult.status).toBe('superseded');
    expect(olderResult.endedBy).toMatchObject({
      by: newer.workflowId,
      reason: `superseded by ${newerSha.slice(0, 12)}`,
    });
    expect(olderResult.rollback?.restoredTaskDefinitionArn).toBe(before);
    expect(newerResult.status).toBe('succeeded');
    expect(newerResult.previousTaskDefinitionArn).toBe(before);
    // Never two rollouts at once: the newer update starts only after the older one's rollback is stable.
    const rollback = olderResult.stages.find((s) => s.name === 'rollback');
    const update = newerResult.stages.find((s) => s.name === 'update');
    expect(rollback?.status).toBe('succeeded');
    expect(Date.parse(update?.startedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(rollback?.startedAt ?? '') + (rollback?.durationMs ?? 0),
    );
    expect((await service()).taskDefinition).toBe(newerResult.taskDefinitionArn);
    expect(await revisionStatus(olderResult.taskDefinitionArn)).toBe('INACTIVE');

    const list = await deployctl(stack, ['list', '--service']);
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${older.workflowId}\\tsuperseded\\t`, 'm'));
    expect(list.stdout).toMatch(new RegExp(`^${newer.workflowId}\\tsucceeded\\t`, 'm'));
    // Only the cluster and service are needed to list a service's deploys: the rest of the target may be unset.
    const unset = { AWS_REGION: '', ECR_REPOSITORY: '', CONTAINER_NAME: '', ECS_TASK_DEFINITION: '' };
    const scoped = await deployctl(stack, ['list', '--cluster', 'local', '--service', 'hello'], {
      ...unset,
      ECS_CLUSTER: '',
      ECS_SERVICE: '',
    });
    expect(scoped.exitCode).toBe(0);
    expect(scoped.stdout).toBe(list.stdout);
  });

  test("history lists the service's deploys from its queue: outcome, SHA, image digest, who requested and approved", async () => {
    const run = await deployctl(stack, ['history', '--json']);
    expect(run.exitCode).toBe(0);
    const { deploys } = JSON.parse(run.stdout) as { deploys: LedgerEntry[] };
    const approved = deploys.find((d) => d.sha === approvedSha && d.approvedBy !== undefined);
    expect(approved).toMatchObject({ status: 'succeeded', kind: 'deploy', approvedBy: 'alice' });
    expect(approved?.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(approved?.requestedBy).toMatch(/^deployctl by /);
    expect(new Set(deploys.map((d) => d.status))).toEqual(new Set(['succeeded', 'cancelled', 'superseded']));
    expect(deploys.map((d) => d.seq)).toEqual([...deploys.map((d) => d.seq)].sort((a, b) => b - a));

    const human = await deployctl(stack, ['history', '--limit', '3']);
    const rows = human.stdout.trim().split('\n');
    expect(rows).toHaveLength(3);
    expect(rows[0]?.split('\t').slice(0, 2)).toEqual([String(deploys[0]?.seq), deploys[0]?.status]);
    const all = (await deployctl(stack, ['history'])).stdout.split('\n');
    const approvedLine = all.find((l) => l.split('\t')[0] === String(approved?.seq));
    expect(approvedLine?.split('\t').slice(1, 7)).toEqual([
      'succeeded',
      'deploy',
      approvedSha,
      approved?.imageDigest,
      approved?.requestedBy,
      'alice',
    ]);
  });
});
