/**
 * Many concurrent deploys on one worker, against a real Temporal dev server. The external work is fast and
 * in-process (no Go build, no emulator), so the numbers show what the orchestration itself costs as N grows.
 * Each deploy's rollout takes ROLLOUT_MS; the stability wait reads it through short activities and durable timers.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import type { DeployActivities } from '../src/shared/activities.js';
import type { DeployInput } from '../src/shared/types.js';
import { notifyActivities } from '../src/activities/notify.js';
import { identityActivities } from '../src/activities/identity.js';
import { parseApprovalConfig } from '../src/shared/approval-config.js';
import { startDevServer, workflowBundle } from '../test/support/temporal.js';
import { createDeployWorkers } from '../src/workers.js';

const ROLLOUT_MS = 5_000;
const ECS_CALLS = new Set([
  'describeTarget',
  'observeService',
  'registerTaskDefinition',
  'updateService',
  'checkRollout',
  'deregisterTaskDefinition',
]);

export interface ScaleRow {
  n: number;
  wallMs: number;
  perMinute: number;
  peakRssMb: number;
  ecsCalls: number;
  ecsCallsPerDeploy: number;
}

function fastActivities(counter: Map<string, number>): DeployActivities {
  const updatedAt = new Map<string, number>();
  const count = (name: string): void => void counter.set(name, (counter.get(name) ?? 0) + 1);
  const acts: DeployActivities = {
    checkout: async ({ deployId }) => ({ workspace: `/nonexistent/${deployId}` }),
    cleanupWorkspace: async () => undefined,
    buildApp: async ({ deployId }) => ({
      binaryPath: `/nonexistent/${deployId}/build/app`,
      binarySha256: '0'.repeat(64),
    }),
    testApp: async () => ({ passed: 1, packages: 1 }),
    checkRepository: async () => ({ repositoryUri: 'bench' }),
    discardImage: async () => ({ discarded: false, detail: 'bench' }),
    packageImage: async ({ sha, repository }) => ({
      imageRef: `bench/${repository}:${sha}`,
      imageDigest: 'sha256:0',
      pushed: true,
    }),
    describeTarget: async ({ service }) => ({
      serviceArn: service,
      taskDefinitionArn: `${service}:1`,
      desiredCount: 2,
    }),
    verifyImage: async ({ sha }) => ({ reusable: false, imageRef: `bench:${sha}`, detail: 'bench' }),
    checkImageDigest: async ({ repository, imageDigest }) => ({
      imageRef: `bench/${repository}@${imageDigest}`,
      imageDigest,
    }),
    observeService: async ({ service }) => ({
      readAt: new Date().toISOString(),
      taskDefinitionArn: `${service}:2`,
      images: [],
      running: 2,
      desired: 2,
      stable: true,
    }),
    restoreRevision: async ({ taskDefinitionArn }) => ({ taskDefinitionArn, created: false, diff: [] }),
    stopRollout: async () => ({ accepted: false, detail: 'bench' }),
    continueRollout: async () => ({ accepted: true, detail: 'bench' }),
    watchRollout: async (i) => {
      for (;;) {
        const s = await acts.checkRollout(i);
        if (s.state === 'completed' || Date.now() >= Date.parse(i.returnBy)) return s;
        await new Promise((r) => setTimeout(r, i.pollIntervalMs));
      }
    },
    registerTaskDefinition: async ({ deployId }) => ({ taskDefinitionArn: `${deployId}:2`, created: true, diff: [] }),
    updateService: async ({ service, taskDefinitionArn }) => {
      updatedAt.set(service, Date.now());
      return { previousTaskDefinitionArn: `${service}:1`, deploymentId: taskDefinitionArn, changed: true };
    },
    checkRollout: async ({ service }) => {
      const done = Date.now() - (updatedAt.get(service) ?? 0) >= ROLLOUT_MS;
      return {
        state: done ? 'completed' : 'in_progress',
        rolloutState: done ? 'COMPLETED' : 'IN_PROGRESS',
        desired: 2,
        running: done ? 2 : 1,
        pending: done ? 0 : 1,
        failedTasks: 0,
        events: [],
        stoppedTasks: [],
      };
    },
    deregisterTaskDefinition: async () => undefined,
    // The worker's real policy code, with its built-in defaults: no approval unless asked.
    ...identityActivities(parseApprovalConfig({})),
    // No webhook: the real activity, which sends nothing.
    ...notifyActivities({ uiUrl: 'http://localhost:8233' }),
  };
  return Object.fromEntries(
    Object.entries(acts).map(([name, fn]) => [
      name,
      async (i: never) => (count(name), await (fn as (i: never) => Promise<unknown>)(i)),
    ]),
  ) as unknown as DeployActivities;
}

export async function runScale(ns: number[]): Promise<ScaleRow[]> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const server = await startDevServer();
  const rows: ScaleRow[] = [];
  try {
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const native = await NativeConnection.connect({ address: server.address });
    for (const n of ns) {
      const counter = new Map<string, number>();
      const taskQueue = `bench-scale-${n}`;
      const workers = await createDeployWorkers({
        connection: native,
        taskQueue,
        workflows: { workflowBundle: await workflowBundle() },
        activities: fastActivities(counter),
        maxActivities: 200,
        tuning: { maxConcurrentWorkflowTaskExecutions: 100, maxCachedWorkflows: Math.max(1000, n) },
      });
      let peak = process.memoryUsage().rss;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 200);
      const started = Date.now();
      await workers.runUntil(
        (async () => {
          const handles = await Promise.all(
            Array.from({ length: n }, (_, i) => {
              const input: DeployInput = {
                sha: (i.toString(16).padStart(8, '0') + 'b'.repeat(32)).slice(0, 40),
                target: {
                  region: 'us-east-1',
                  cluster: 'bench',
                  service: `svc-${n}-${i}`,
                  repository: 'bench',
                  containerName: 'app',
                },
                options: { pollIntervalMs: 1000 },
              };
              return client.workflow.start('deploy', {
                taskQueue,
                workflowId: `bench-${n}-${i}-${started}`,
                args: [input],
              });
            }),
          );
          const results = await Promise.all(handles.map((h) => h.result() as Promise<{ status: string }>));
          const bad = results.filter((r) => r.status !== 'succeeded').length;
          if (bad) throw new Error(`${bad} of ${n} scale deploys did not succeed`);
        })(),
      );
      clearInterval(sampler);
      const wallMs = Date.now() - started;
      const ecsCalls = [...counter].filter(([k]) => ECS_CALLS.has(k)).reduce((a, [, v]) => a + v, 0);
      rows.push({
        n,
        wallMs,
        perMinute: (n / wallMs) * 60_000,
        peakRssMb: peak / 2 ** 20,
        ecsCalls,
        ecsCallsPerDeploy: ecsCalls / n,
      });
      console.error(`bench scale: N=${n} in ${(wallMs / 1000).toFixed(1)} s`);
    }
    await native.close();
    await connection.close();
  } finally {
    await server.stop();
  }
  return rows;
}
