/**
 * The worker process of the scale rows: the product's two workers (src/workers.ts) with their defaults, the product's
 * ECS activities and rollout watch (one shared reader, batched and budgeted) against the emulator through the fault
 * proxy, and instant stand-ins for what does not touch ECS (checkout, Go, the registry), so the rows measure
 * orchestration and ECS reads, not compilers. Started by bench/scale.ts; every second it writes the reader's calls
 * to BENCH_STATS_FILE.
 * Environment: TEMPORAL_ADDRESS, BENCH_TASK_QUEUE, BENCH_STATS_FILE, AWS_ENDPOINT_URL (the proxy), AWS credentials,
 * and the worker's own DEPLOY_* settings.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { NativeConnection } from '@temporalio/worker';
import { awsClients } from '../src/activities/clients.js';
import { ecsActivities } from '../src/activities/ecs.js';
import { watchActivities } from '../src/activities/ecs-watch.js';
import { identityActivities } from '../src/activities/identity.js';
import type { DeployActivities } from '../src/shared/activities.js';
import { parseApprovalConfig } from '../src/shared/approval-config.js';
import { readWorkerConfig } from '../src/worker/config.js';
import { createDeployWorkers } from '../src/workers.js';

type OffEcs = Pick<
  DeployActivities,
  | 'checkout'
  | 'cleanupWorkspace'
  | 'buildApp'
  | 'testApp'
  | 'checkRepository'
  | 'packageImage'
  | 'discardImage'
  | 'verifyImage'
  | 'checkImageDigest'
  | 'notify'
>;

const REGISTRY = '127.0.0.1:5000';
const digest = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

/** What a deploy does off ECS, done at once: the scale rows measure waits and reads, not builds. */
const offEcs: OffEcs = {
  checkout: async ({ deployId }) => ({ workspace: `/nonexistent/${deployId}` }),
  cleanupWorkspace: async () => undefined,
  buildApp: async ({ sha }) => ({ binaryPath: '/nonexistent/app', binarySha256: digest(sha).slice(7) }),
  testApp: async () => ({ passed: 1, packages: 1 }),
  checkRepository: async ({ repository }) => ({ repositoryUri: `${REGISTRY}/${repository}` }),
  packageImage: async ({ sha, repository }) => ({
    imageRef: `${REGISTRY}/${repository}:${sha}`,
    imageDigest: digest(sha),
    pushed: true,
  }),
  discardImage: async () => ({ discarded: false, detail: 'bench: nothing was pushed' }),
  verifyImage: async ({ sha, repository }) => ({
    reusable: false,
    imageRef: `${REGISTRY}/${repository}:${sha}`,
    detail: 'bench: never reused',
  }),
  checkImageDigest: async ({ repository, imageDigest }) => ({
    imageRef: `${REGISTRY}/${repository}@${imageDigest}`,
    imageDigest,
  }),
  notify: async () => ({ delivered: false, detail: 'bench: no webhook' }),
};

async function main(): Promise<void> {
  const env = process.env;
  const taskQueue = env.BENCH_TASK_QUEUE ?? '';
  const statsFile = env.BENCH_STATS_FILE ?? '';
  if (!taskQueue || !statsFile) throw new Error('BENCH_TASK_QUEUE and BENCH_STATS_FILE must be set');
  const config = readWorkerConfig({ ...env, DEPLOY_SOURCE_REPO: '/nonexistent' }, process.cwd());
  const readerCalls: Record<string, number> = {};
  const clients = awsClients({
    ecsReadsPerSecond: config.ecsReadsPerSecond,
    onBatchedRead: (op) => void (readerCalls[op] = (readerCalls[op] ?? 0) + 1),
  });
  const activities: DeployActivities = {
    ...offEcs,
    ...ecsActivities(config, clients),
    ...watchActivities(clients),
    ...identityActivities(parseApprovalConfig({})),
  };
  const writeStats = () => writeFile(statsFile, JSON.stringify({ readerCalls }));
  const timer = setInterval(() => void writeStats(), 1000);
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS ?? '' });
  try {
    const workers = await createDeployWorkers({
      connection,
      taskQueue,
      // The compiled workflows, bundled at start as the product's worker does.
      workflows: { workflowsPath: fileURLToPath(new URL('../dist/workflows/index.js', import.meta.url)) },
      activities,
      maxActivities: config.maxActivities,
      maxWatches: config.maxWatches,
      maxCachedWorkflows: config.maxCachedWorkflows,
    });
    console.error(`bench worker: polling ${taskQueue} (pid ${process.pid})`);
    await workers.run();
  } finally {
    clearInterval(timer);
    await writeStats();
    clients.destroy();
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(`bench worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
