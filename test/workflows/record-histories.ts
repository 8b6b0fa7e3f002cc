/**
 * Records the histories that replay.test.ts replays, from runs on the time-skipping server with fake activities.
 * Re-record only on purpose (a deliberate, versioned change of the workflow), and commit the JSON:
 *   node --import tsx test/workflows/record-histories.ts [scenario ...]
 * Histories recorded before a change must stay: they prove runs started by older code still replay.
 */
import { writeFile } from 'node:fs/promises';
import proto from '@temporalio/proto';
import { format } from 'prettier';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DeployActivities } from '../../src/shared/activities.js';
import type { DeployInput } from '../../src/shared/types.js';
import type { deploy } from '../../src/workflows/deploy.js';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { requestDeploy } from '../../src/client/deploys.js';
import { approveSignal, approveUpdate, cancelSignal, leaseSignal, rejectSignal } from '../../src/workflows/messages.js';
import { ROOT } from '../../src/devstack/process.js';
import { startDevServer, timeSkippingEnv, workflowBundle } from '../support/temporal.js';
import { NEW, PREVIOUS, SHA, fakeActivities, fakeToken, input, observed, policy, snapshot } from './fakes.js';
import { startDeploy, statusIs, waitForProgress, withWorker } from './harness.js';
import { pausingService } from './fake-hooks.js';
import { createDeployWorkers } from '../../src/workers.js';

export const HISTORIES_DIR = `${ROOT}/test/workflows/histories`;

const { History } = proto.temporal.api.history.v1;
/**
 * Histories are stored as the proto's own object form. (common's historyToJSON/historyFromJSON fail here: npm
 * installed two copies of protobufjs 8 under @temporalio/common and @temporalio/proto, and they reject each other's types.)
 */
export const historyToObject = (h: proto.temporal.api.history.v1.IHistory): unknown =>
  History.toObject(History.fromObject(h), { longs: String, enums: String, bytes: String });
export const historyFromObject = (o: unknown): proto.temporal.api.history.v1.History =>
  History.fromObject(o as Record<string, unknown>);

type Handle = WorkflowHandle<typeof deploy>;
interface Scenario {
  activities?: Partial<DeployActivities>;
  /** Runs the deploys; returns the handles whose histories to keep, by file name. */
  run(env: TestWorkflowEnvironment, taskQueue: string): Promise<Record<string, Handle>>;
}

const hanging: Partial<DeployActivities> = {
  checkRollout: async ({ taskDefinitionArn }) =>
    taskDefinitionArn === NEW ? snapshot('in_progress', 1) : snapshot('completed'),
};
const withApproval = input({ options: { pollIntervalMs: 1000, stableTimeoutMs: 60_000, requireApproval: true } });

const SCENARIOS: Record<string, Scenario> = {
  happy: {
    async run(env, tq) {
      const h = await startDeploy(env, tq, input(), 'replay-happy');
      await h.result();
      return { happy: h };
    },
  },
  rolledBack: {
    activities: {
      checkRollout: async ({ taskDefinitionArn }) =>
        taskDefinitionArn === NEW ? snapshot('failed', 0) : snapshot('completed'),
    },
    async run(env, tq) {
      const h = await startDeploy(env, tq, input(), 'replay-rolled-back');
      await h.result();
      return { 'rolled-back': h };
    },
  },
  cancelled: {
    activities: hanging,
    async run(env, tq) {
      const h = await startDeploy(env, tq, input(), 'replay-cancelled');
      await waitForProgress(h, (p) => p.status === 'waiting_stable' && p.rollout !== undefined);
      await h.signal(cancelSignal, { by: 'carol', reason: 'replay fixture' });
      await h.result();
      return { cancelled: h };
    },
  },
  approved: {
    async run(env, tq) {
      const h = await startDeploy(env, tq, withApproval, 'replay-approved');
      await waitForProgress(h, statusIs('awaiting_approval'));
      await h.signal(approveSignal, { by: 'alice', comment: 'replay fixture' });
      await h.result();
      return { approved: h };
    },
  },
  superseded: {
    activities: {
      ...hanging,
      registerTaskDefinition: async ({ sha }) => ({
        taskDefinitionArn: sha === input().sha ? NEW : NEW.replace(/:2$/, ':3'),
        created: true,
        diff: ['containers[web].image: old -> new'],
      }),
    },
    async run(env, tq) {
      const older = await startDeploy(env, tq, input(), 'replay-superseded-older');
      await waitForProgress(older, (p) => p.status === 'waiting_stable' && p.rollout !== undefined);
      const newer = await startDeploy(
        env,
        tq,
        input({ sha: 'b'.repeat(40), supersedes: [older.workflowId] }),
        'replay-superseded-newer',
      );
      await waitForProgress(older, (p) => p.result !== undefined);
      await waitForProgress(newer, (p) => p.result !== undefined);
      return { 'superseded-older': older, 'superseded-newer': newer };
    },
  },
};

const queued = (overrides: Partial<DeployInput>): DeployInput =>
  input({ queue: { workflowId: 'replay-queue', seq: 1, requestedAt: '2026-01-01T00:00:00.000Z' }, ...overrides });

/** Deploys as the service's queue starts them: they wait for its lease before the update. */
const QUEUED: Record<string, Scenario> = {
  queued: {
    async run(env, tq) {
      const reuse = {
        fromWorkflowId: 'deploy.prod.web.earlier.1',
        imageRef: `127.0.0.1:5000/web:${SHA}`,
        imageDigest: `sha256:${'c'.repeat(64)}`,
        binarySha256: 'f'.repeat(64),
      };
      const h = await startDeploy(env, tq, queued({ reuse }), 'replay-queued');
      await waitForProgress(h, (p) => p.stages.some((s) => s.name === 'approval'));
      await h.signal(leaseSignal, { queue: 'replay-queue' });
      await h.result();
      return { queued: h };
    },
  },
  alreadyLive: {
    activities: {
      describeTarget: async () => ({
        serviceArn: 'arn:svc',
        taskDefinitionArn: PREVIOUS,
        desiredCount: 2,
        observed: observed(PREVIOUS, SHA),
      }),
      observeService: async () => observed(PREVIOUS, SHA),
    },
    async run(env, tq) {
      const h = await startDeploy(env, tq, queued({}), 'replay-already-live');
      await h.result();
      return { 'already-live': h };
    },
  },
  rollback: {
    async run(env, tq) {
      const rollbackTo = { fromWorkflowId: 'deploy.prod.web.good.1', taskDefinitionArn: NEW };
      const h = await startDeploy(env, tq, queued({ rollbackTo }), 'replay-rollback');
      await waitForProgress(h, (p) => p.stages.some((s) => s.name === 'approval'));
      await h.signal(leaseSignal, { queue: 'replay-queue' });
      await h.result();
      return { rollback: h };
    },
  },
};

/** Deploys that read the worker's approval policy (the approval-policy patch) and verify ID tokens in activities. */
const WITH_POLICY: Record<string, Scenario> = {
  approvedVerified: {
    activities: {
      approvalPolicy: async () => policy({ source: 'service', requireApproval: true, approvers: ['bob', 'carol'] }),
    },
    async run(env, tq) {
      const h = await startDeploy(
        env,
        tq,
        input({ requesterToken: fakeToken('carol'), options: { pollIntervalMs: 1000, stableTimeoutMs: 60_000 } }),
        'replay-approved-verified',
      );
      await waitForProgress(h, statusIs('awaiting_approval'));
      // Ignored without a trace: a name for a service that takes tokens.
      await h.signal(approveSignal, { by: 'bob' });
      // Verified, then refused: four eyes.
      await h.executeUpdate(approveUpdate, { args: [{ token: fakeToken('carol') }] }).catch(() => undefined);
      await h.signal(approveSignal, { token: fakeToken('bob'), comment: 'replay fixture' });
      await h.result();
      return { 'approved-verified': h };
    },
  },
  approvedByName: {
    activities: {
      approvalPolicy: async () =>
        policy({ source: 'service', requireApproval: true, identity: 'namespace', approvers: ['bob'] }),
    },
    async run(env, tq) {
      const h = await startDeploy(env, tq, input(), 'replay-approved-by-name');
      await waitForProgress(h, statusIs('awaiting_approval'));
      await h.signal(approveSignal, { by: 'bob', comment: 'replay fixture' });
      await h.result();
      return { 'approved-by-name': h };
    },
  },
};

/**
 * Deploys that follow ECS through the watch (the watch-rollout patch): a plain rolling one, and a blue/green one that
 * pauses at a PAUSE hook, approved (CONTINUE), rejected (ROLLBACK), or left to expire so that ECS rolls back by itself.
 * Each runs on a server of its own: after a wait at a hook, the time-skipping server may hold its clock.
 */
const atHook = { pollIntervalMs: 1000, stableTimeoutMs: 600_000 };
const WITH_WATCH: Record<string, Scenario> = {
  watched: {
    async run(env, tq) {
      const h = await startDeploy(env, tq, input(), 'replay-watched');
      await h.result();
      return { watched: h };
    },
  },
  hookApproved: {
    activities: pausingService(),
    async run(env, tq) {
      const h = await startDeploy(env, tq, input({ options: atHook }), 'replay-hook-approved');
      await waitForProgress(h, (p) => p.approval.point === 'lifecycle_hook' && p.approval.state === 'pending');
      await h.signal(approveSignal, { token: fakeToken('bob'), comment: 'replay fixture' });
      await h.result();
      return { 'hook-approved': h };
    },
  },
  hookRejected: {
    activities: pausingService(),
    async run(env, tq) {
      const h = await startDeploy(env, tq, input({ options: atHook }), 'replay-hook-rejected');
      await waitForProgress(h, (p) => p.approval.point === 'lifecycle_hook' && p.approval.state === 'pending');
      await h.signal(rejectSignal, { token: fakeToken('bob'), comment: 'replay fixture' });
      await h.result();
      return { 'hook-rejected': h };
    },
  },
  ecsRolledBack: {
    activities: pausingService({ expired: true }),
    async run(env, tq) {
      const h = await startDeploy(env, tq, input({ options: atHook }), 'replay-ecs-rolled-back');
      await h.result();
      return { 'ecs-rolled-back': h };
    },
  },
};

/** Deploys that tell the worker's webhook (the notify patch): waiting for approval, then how they ended. */
const WITH_NOTIFY: Record<string, Scenario> = {
  notified: {
    activities: {
      approvalPolicy: async () =>
        policy({ source: 'service', requireApproval: true, identity: 'namespace', approvers: ['bob'] }),
      notify: async ({ event }) => ({ delivered: true, detail: `the receiver took the ${event} event` }),
    },
    async run(env, tq) {
      const h = await startDeploy(env, tq, input(), 'replay-notified');
      await waitForProgress(h, statusIs('awaiting_approval'));
      await h.signal(approveSignal, { by: 'bob', comment: 'replay fixture' });
      await h.result();
      return { notified: h };
    },
  },
};

/** The queue itself needs update-with-start, so it is recorded on a real dev server: two deploys and a rollback. */
async function recordQueue(): Promise<void> {
  const server = await startDevServer();
  const connection = await Connection.connect({ address: server.address });
  const native = await NativeConnection.connect({ address: server.address });
  try {
    const client = new Client({ connection });
    const taskQueue = 'replay-queue';
    const workers = await createDeployWorkers({
      connection: native,
      taskQueue,
      workflows: { workflowBundle: await workflowBundle() },
      activities: fakeActivities({
        registerTaskDefinition: async ({ sha }) => ({
          taskDefinitionArn: sha === SHA ? NEW : NEW.replace(/:2$/, ':3'),
          created: true,
          diff: [],
        }),
      }),
    });
    const target = input().target;
    await workers.runUntil(
      (async () => {
        for (const req of [
          { kind: 'deploy' as const, sha: SHA, target },
          { kind: 'deploy' as const, sha: 'b'.repeat(40), target },
          { kind: 'rollback' as const, target },
        ]) {
          const started = await requestDeploy({
            client,
            taskQueue,
            request: { ...req, options: input().options ?? {} },
          });
          const r = await started.handle.result();
          console.log(r.status, r.sha.slice(0, 4), r.taskDefinitionArn, r.note ?? '', r.error?.message ?? '');
        }
      })(),
    );
    const history = await client.workflow.getHandle('deploy-queue.us-east-1.prod.web').fetchHistory();
    await save('queue', history);
  } finally {
    await native.close();
    await connection.close();
    await server.stop();
  }
}

async function save(file: string, history: proto.temporal.api.history.v1.IHistory): Promise<void> {
  const path = `${HISTORIES_DIR}/${file}.json`;
  await writeFile(path, await format(JSON.stringify(historyToObject(history)), { parser: 'json' }));
  console.log(`recorded ${path}`);
}

/** Records the named scenarios (all when none are named). Histories already committed stay as they were recorded. */
async function main(names: string[]): Promise<void> {
  const wanted = (name: string) => names.length === 0 || names.includes(name);
  if (wanted('queue')) await recordQueue();
  const env = await timeSkippingEnv();
  try {
    for (const [name, scenario] of Object.entries({ ...SCENARIOS, ...QUEUED, ...WITH_POLICY })) {
      if (!wanted(name)) continue;
      const handles = await withWorker(env, fakeActivities(scenario.activities), (tq) => scenario.run(env, tq));
      for (const [file, handle] of Object.entries(handles)) await save(file, await handle.fetchHistory());
    }
  } finally {
    await env.teardown();
  }
  // A server of its own for each: after a wait at a hook, or a deploy's last notice (an abandoned child), the
  // time-skipping server may hold its clock.
  for (const [name, scenario] of Object.entries({ ...WITH_WATCH, ...WITH_NOTIFY })) {
    if (!wanted(name)) continue;
    const own = await timeSkippingEnv();
    try {
      const handles = await withWorker(own, fakeActivities(scenario.activities), (tq) => scenario.run(own, tq));
      for (const [file, handle] of Object.entries(handles)) await save(file, await handle.fetchHistory());
    } finally {
      await own.teardown();
    }
  }
}

if (process.argv[1]?.endsWith('record-histories.ts')) await main(process.argv.slice(2));
