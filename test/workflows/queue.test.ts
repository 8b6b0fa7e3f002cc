/**
 * The service's queue on a real dev server (update-with-start, child workflows, signals between them), with fake
 * activities that behave like one ECS service: what it runs changes only through updateService.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { requestDeploy, queueView } from '../../src/client/deploys.js';
import type { DeployActivities } from '../../src/shared/activities.js';
import type { DeployResult, DeployTarget, RolloutSnapshot } from '../../src/shared/types.js';
import type { QueueRequest } from '../../src/workflows/messages.js';
import { startDevServer, workflowBundle, type DevServer } from '../support/temporal.js';
import { PREVIOUS, fakeActivities, observed, snapshot, watchWith } from './fakes.js';
import { createDeployWorkers } from '../../src/workers.js';

let server: DevServer;
let client: Client;
let connection: Connection;
let native: NativeConnection;
let n = 0;

beforeAll(async () => {
  server = await startDevServer();
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection });
  native = await NativeConnection.connect({ address: server.address });
  await workflowBundle();
}, 60_000);

afterAll(async () => {
  await native?.close();
  await connection?.close();
  await server?.stop();
});

const sha = (c: string): string => c.repeat(40);

/** One fake ECS service: a revision per SHA, rollouts that take `rolloutMs` after the update. */
function fakeService(rolloutMs: number) {
  let running = PREVIOUS;
  const shaOf = new Map<string, string>([[PREVIOUS, '0'.repeat(40)]]);
  const updatedAt = new Map<string, number>();
  const updates: { arn: string; at: number }[] = [];
  const builds: string[] = [];
  const acts = fakeActivities({
    buildApp: async ({ sha: s, deployId }) => {
      builds.push(s);
      return { binaryPath: `/ws/${deployId}/build/app`, binarySha256: 'f'.repeat(64) };
    },
    packageImage: async ({ sha: s }) => ({
      imageRef: `127.0.0.1:5000/web:${s}`,
      imageDigest: `sha256:${s.slice(0, 1).repeat(64)}`,
      pushed: true,
    }),
    describeTarget: async () => ({
      serviceArn: 'arn:svc',
      taskDefinitionArn: running,
      desiredCount: 2,
      observed: {
        ...observed(running, shaOf.get(running)),
        stable: Date.now() - (updatedAt.get(running) ?? 0) >= rolloutMs,
      },
    }),
    observeService: async () => {
      const o = observed(running, shaOf.get(running));
      const s = shaOf.get(running) ?? '0';
      return {
        ...o,
        images: [{ container: 'web', image: `r/web@sha256:${s[0]!.repeat(64)}`, digest: `sha256:${s[0]!.repeat(64)}` }],
      };
    },
    registerTaskDefinition: async ({ sha: s }) => {
      const arn = `arn:aws:ecs:us-east-1:123456789012:task-definition/web:${s[0]!.charCodeAt(0)}`;
      shaOf.set(arn, s);
      return { taskDefinitionArn: arn, created: true, diff: [] };
    },
    updateService: async ({ taskDefinitionArn }) => {
      const previousTaskDefinitionArn = running;
      running = taskDefinitionArn;
      updatedAt.set(taskDefinitionArn, Date.now());
      updates.push({ arn: taskDefinitionArn, at: Date.now() });
      return { previousTaskDefinitionArn, deploymentId: `ecs-svc/${updates.length}`, changed: true };
    },
    checkRollout: async ({ taskDefinitionArn }): Promise<RolloutSnapshot> => {
      if (running !== taskDefinitionArn) return snapshot('rolled_back');
      return Date.now() - (updatedAt.get(taskDefinitionArn) ?? 0) >= rolloutMs
        ? snapshot('completed')
        : snapshot('in_progress', 1);
    },
  });
  // A real dev server: the workflow's clock is the activity's, so the watch can wait for its returnBy like the real one.
  acts.watchRollout = watchWith((i) => acts.checkRollout(i), Infinity);
  return { acts, updates, builds, running: () => running, shaOf };
}

async function withQueueWorker<T>(
  acts: DeployActivities,
  fn: (target: DeployTarget, tq: string) => Promise<T>,
): Promise<T> {
  const taskQueue = `queue-${process.pid}-${++n}`;
  const workers = await createDeployWorkers({
    connection: native,
    taskQueue,
    workflows: { workflowBundle: await workflowBundle() },
    activities: acts,
  });
  const target: DeployTarget = {
    region: 'us-east-1',
    cluster: `c${n}`,
    service: 'web',
    repository: 'web',
    containerName: 'web',
  };
  return await workers.runUntil(fn(target, taskQueue));
}

const options = { pollIntervalMs: 1000, stableTimeoutMs: 60_000 };

async function request(tq: string, req: QueueRequest) {
  return await requestDeploy({ client, taskQueue: tq, request: req });
}

describe('the service queue', () => {
  test('five deploys of five SHAs requested at once: the last accepted one is live, the others superseded or truly live when they ended', async () => {
    const svc = fakeService(1_500);
    await withQueueWorker(svc.acts, async (target, tq) => {
      const shas = ['1', '2', '3', '4', '5'].map(sha);
      const started = await Promise.all(shas.map((s) => request(tq, { kind: 'deploy', sha: s, target, options })));
      const seqs = started.map((s) => s.seq);
      expect(new Set(seqs).size).toBe(5);
      expect(new Set(started.map((s) => s.handle.workflowId)).size).toBe(5);
      const results: DeployResult[] = await Promise.all(started.map((s) => s.handle.result()));
      const last = started.reduce((a, b) => (b.seq > a.seq ? b : a));
      const winner = results.find((r) => r.workflowId === last.handle.workflowId);
      expect(winner).toMatchObject({ status: 'succeeded', sha: shas[seqs.indexOf(last.seq)] });
      expect(winner?.observed?.taskDefinitionArn).toBe(svc.running());
      expect(svc.shaOf.get(svc.running())).toBe(winner?.sha);
      const claiming = results.filter(
        (r) => r.status === 'succeeded' && r.observed?.taskDefinitionArn === svc.running(),
      );
      expect(claiming.map((r) => r.workflowId)).toEqual([winner?.workflowId]);
      for (const r of results.filter((x) => x !== winner)) {
        expect(['superseded', 'succeeded']).toContain(r.status);
        if (r.status === 'succeeded') expect(r.observed?.taskDefinitionArn).toBe(r.taskDefinitionArn);
      }
      // Never two rollouts at once: each update came after the previous holder's rollout had ended.
      const view = await queueView(client, target);
      expect(view.running).toEqual([]);
      expect(view.ledger.map((e) => e.seq)).toEqual([...seqs].sort((a, b) => b - a));
    });
  });

  test('the same SHA as the newest running deploy attaches to it; another SHA supersedes it', async () => {
    const svc = fakeService(3_000);
    await withQueueWorker(svc.acts, async (target, tq) => {
      const first = await request(tq, { kind: 'deploy', sha: sha('a'), target, options });
      const again = await request(tq, { kind: 'deploy', sha: sha('a'), target, options });
      expect(again.mode).toBe('attached');
      expect(again.handle.workflowId).toBe(first.handle.workflowId);
      const other = await request(tq, { kind: 'deploy', sha: sha('b'), target, options });
      expect(other.mode).toBe('started');
      expect(other.superseding).toEqual([first.handle.workflowId]);
      const [older, newer] = await Promise.all([first.handle.result(), other.handle.result()]);
      expect(older.status).toBe('superseded');
      expect(older.endedBy?.by).toBe(other.handle.workflowId);
      expect(newer.status).toBe('succeeded');
      // The newer update was sent only after the older deploy had let go (rolled back, if it had updated).
      const newArn = newer.taskDefinitionArn ?? '';
      const firstNewUpdate = svc.updates.findIndex((u) => u.arn === newArn);
      expect(svc.updates.slice(firstNewUpdate + 1).every((u) => u.arn === newArn)).toBe(true);
    });
  });

  test('a SHA deployed before is deployed again from its tested image, and reported when it is already live', async () => {
    const svc = fakeService(300);
    await withQueueWorker(svc.acts, async (target, tq) => {
      const run = async (s: string) => (await request(tq, { kind: 'deploy', sha: s, target, options })).handle.result();
      expect((await run(sha('a'))).status).toBe('succeeded');
      expect((await run(sha('b'))).status).toBe('succeeded');
      const again = await run(sha('a'));
      expect(again).toMatchObject({ status: 'succeeded', sha: sha('a') });
      expect(again.reused?.image?.fromWorkflowId).toMatch(/^deploy\.c\d+\.web\.a{40}\.1$/);
      expect(again.stages.filter((s) => ['build', 'test', 'package'].includes(s.name)).map((s) => s.status)).toEqual([
        'skipped',
        'skipped',
        'skipped',
      ]);
      expect(svc.builds).toEqual([sha('a'), sha('b')]);
      const live = await run(sha('a'));
      expect(live.reused?.alreadyLive).toBe(true);
      expect(live.note).toContain('already live');
      expect(live.stages.map((s) => s.name)).toEqual(['validate']);
      expect(svc.updates).toHaveLength(3);
    });
  });

  test('a rollback goes back to the last known-good deploy without building, and refuses when there is none', async () => {
    const svc = fakeService(300);
    await withQueueWorker(svc.acts, async (target, tq) => {
      await expect(request(tq, { kind: 'rollback', target, options })).rejects.toThrow(
        /no successful deploy is recorded for this service yet/,
      );
      const run = async (req: QueueRequest) => (await request(tq, req)).handle.result();
      const good = await run({ kind: 'deploy', sha: sha('a'), target, options });
      await run({ kind: 'deploy', sha: sha('b'), target, options });
      const back = await run({ kind: 'rollback', target, options });
      expect(back).toMatchObject({ status: 'succeeded', kind: 'rollback', sha: sha('a') });
      expect(back.taskDefinitionArn).toBe(good.taskDefinitionArn);
      expect(back.stages.find((s) => s.name === 'build')?.status).toBe('skipped');
      expect(svc.running()).toBe(good.taskDefinitionArn);
      expect(svc.builds).toEqual([sha('a'), sha('b')]);
      // b was rolled back from, so there is nothing good left before a.
      await expect(request(tq, { kind: 'rollback', target, options })).rejects.toThrow(
        /no known-good deploy before a{12}/,
      );
      const named = await run({ kind: 'rollback', toSha: sha('b'), target, options });
      expect(named).toMatchObject({ status: 'succeeded', sha: sha('b') });
    });
  });

  test('a bad request is refused with the field named, and starts nothing', async () => {
    const svc = fakeService(300);
    await withQueueWorker(svc.acts, async (target, tq) => {
      await expect(request(tq, { kind: 'deploy', sha: 'abc', target, options })).rejects.toThrow(
        /invalid sha: expected the full 40-character/,
      );
      const view = await queueView(client, target);
      expect(view.seq).toBe(0);
      expect(svc.acts.calls).toEqual([]);
    });
  });
});
