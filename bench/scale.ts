/**
 * N concurrent deploys of N distinct services on one worker process (bench/scale-worker.ts), requested as deployctl
 * requests them, against the real emulator behind the fault proxy that enforces ECS's read bucket. The services are
 * created through the ECS API first; each rollout lasts BENCH_SCALE_ROLLOUT. Measured: wall time, ECS reads at the
 * proxy, throttling, the worker's peak RSS, detection latency, workflow tasks and history per deploy, and that every
 * deploy ended succeeded.
 */
import { readFile } from 'node:fs/promises';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServiceDeploymentsCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import type { Client } from '@temporalio/client';
import { queueWorkflowId } from '../src/shared/names.js';
import type { DeployResult, DeployTarget } from '../src/shared/types.js';
import { MOTO_CREDENTIALS } from '../src/devstack/moto.js';
import { ROOT } from '../src/devstack/process.js';
import { requestDeploy } from './client.js';
import { activityTimings, eventCount, movedOnMs, workflowTaskCount, type History } from './history.js';
import type { BenchServer, BenchSettings } from './settings.js';
import { ECS_READS, benchLog, startBenchStack, startWorkerProcess, type BenchStack } from './stack.js';
import { formatSummary, seconds, summarize, type Summary } from './stats.js';

export interface ScaleRow {
  server: BenchServer;
  n: number;
  wallMs: number;
  /** Results by status; every deploy accounted for means n succeeded. */
  statuses: Record<string, number>;
  /** The worker's peak resident set (VmHWM, start-up's bundling included) and its peak while deploys ran. */
  peakRssMiB: number;
  runningPeakRssMiB: number;
  /** ECS read calls the proxy let through while the row ran, per second. */
  readsPerSecond: number;
  /** The most ECS reads the proxy saw in any one second. */
  peakReadsInOneSecond: number;
  throttled: number;
  /** Batched calls the worker's reader made, by operation. */
  readerCalls: Record<string, number>;
  /** ECS reads the proxy let through, by operation. */
  readsByOperation: Record<string, number>;
  detection: Summary;
  /** Workflow tasks completed per deploy: its own and its service queue's. */
  workflowTasksPerDeploy: number;
  eventsPerDeploy: number;
}

const CLUSTER = 'bench-scale';
const CONTAINER = 'app';
const DESIRED = 2;
/**
 * Requests in flight at once while starting the row. The worker's read budget starts about two deploys a second
 * anyway; fifty at once timed out PostgreSQL-backed update-with-start calls on a loaded 2-core machine.
 */
const START_CONCURRENCY = 10;

export async function runScale(server: BenchServer, settings: BenchSettings): Promise<ScaleRow[]> {
  const bench = await startBenchStack({ server, settings });
  const ecs = new ECSClient({
    region: bench.env.AWS_REGION,
    endpoint: bench.env.AWS_ENDPOINT_URL,
    credentials: MOTO_CREDENTIALS,
  });
  const rows: ScaleRow[] = [];
  try {
    await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    for (const n of settings.scale) {
      rows.push(await runRow({ bench, ecs, n, settings }));
      const r = rows[rows.length - 1];
      console.error(
        `bench ${server}: scale N=${n}: ${seconds(r?.wallMs ?? 0)}, ${r?.statuses.succeeded ?? 0} succeeded, peak RSS ${Math.round(r?.peakRssMiB ?? 0)} MiB, detection p95 ${seconds(r?.detection.p95 ?? 0, 2)}, throttled ${r?.throttled ?? 0}; reads ${JSON.stringify(r?.readsByOperation ?? {})}, of which batched ${JSON.stringify(r?.readerCalls ?? {})}`,
      );
    }
    return rows;
  } finally {
    ecs.destroy();
    await bench.stop();
  }
}

async function runRow(opts: {
  bench: BenchStack;
  ecs: ECSClient;
  n: number;
  settings: BenchSettings;
}): Promise<ScaleRow> {
  const { bench, ecs, n } = opts;
  const region = bench.env.AWS_REGION ?? 'us-east-1';
  const names = Array.from({ length: n }, (_, i) => `n${n}-${String(i).padStart(5, '0')}`);
  const stepMs = Math.round(opts.settings.scaleRolloutMs / (DESIRED + 1));
  await pool(names, 16, (name) => createService(ecs, name, stepMs));

  const targets = names.map((service) => target(region, service));
  const taskQueue = `bench-scale-${n}-${Date.now()}`;
  const statsFile = `${ROOT}/.work/bench/${taskQueue}.json`;
  const worker = await startWorkerProcess({
    name: 'bench-scale-worker',
    args: ['--import', 'tsx', `${ROOT}/bench/scale-worker.ts`],
    env: {
      ...bench.env,
      AWS_ENDPOINT_URL: bench.proxy.url,
      BENCH_TASK_QUEUE: taskQueue,
      BENCH_STATS_FILE: statsFile,
    },
    logFile: benchLog(`${bench.server}-scale-${n}-worker`),
    ready: /bench worker: polling/,
  });
  let runningPeak = 0;
  const sampler = setInterval(() => {
    worker.memory().then(
      (m) => (runningPeak = Math.max(runningPeak, m.rssMiB)),
      () => undefined,
    );
  }, 500);
  const throttledBefore = bench.reads.throttled;
  const seenBefore = bench.proxy.seen.length;
  let results: Outcome[];
  const started = Date.now();
  let wallMs: number;
  let peakRssMiB: number;
  const progress = setInterval(() => {
    const seen = bench.proxy.seen.slice(seenBefore).filter((r) => r.service === 'ecs' && ECS_READS.test(r.operation));
    console.error(
      `bench ${bench.server}: N=${n} after ${seconds(Date.now() - started, 0)}: ${ended.count} of ${n} ended, ` +
        `${seen.length} ECS reads (${(seen.length / ((Date.now() - started) / 1000)).toFixed(1)}/s), ` +
        `throttled ${bench.reads.throttled - throttledBefore}, worker RSS ${Math.round(runningPeak)} MiB at most`,
    );
  }, 60_000);
  const ended = { count: 0 };
  try {
    results = await deployAll(bench.client, taskQueue, targets, ended);
    wallMs = Date.now() - started;
    peakRssMiB = (await worker.memory()).peakMiB;
  } finally {
    clearInterval(progress);
    clearInterval(sampler);
    await worker.stop();
  }
  const reads = bench.proxy.seen
    .slice(seenBefore)
    .filter((r) => r.service === 'ecs' && ECS_READS.test(r.operation) && !r.throttled);
  const perSecond = new Map<number, number>();
  for (const r of reads) perSecond.set(Math.floor(r.at / 1000), (perSecond.get(Math.floor(r.at / 1000)) ?? 0) + 1);
  const byOperation: Record<string, number> = {};
  for (const r of reads) byOperation[r.operation] = (byOperation[r.operation] ?? 0) + 1;
  const statuses: Record<string, number> = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const counted = await countHistories({ bench, ecs, results, targets });
  const stats = JSON.parse(await readFile(statsFile, 'utf8').catch(() => '{}')) as {
    readerCalls?: Record<string, number>;
  };
  return {
    server: bench.server,
    n,
    wallMs,
    statuses,
    peakRssMiB,
    runningPeakRssMiB: runningPeak,
    readsPerSecond: reads.length / (wallMs / 1000),
    peakReadsInOneSecond: Math.max(0, ...perSecond.values()),
    throttled: bench.reads.throttled - throttledBefore,
    readerCalls: stats.readerCalls ?? {},
    readsByOperation: byOperation,
    detection: summarize(counted.detections),
    workflowTasksPerDeploy: counted.workflowTasks / n,
    eventsPerDeploy: counted.events / n,
  };
}

function target(region: string, service: string): DeployTarget {
  return { region, cluster: CLUSTER, service, repository: 'bench', containerName: CONTAINER };
}

/** A service on revision 1 of its own family, running; its tag sets how long its next rollout's steps last. */
async function createService(ecs: ECSClient, name: string, stepMs: number): Promise<void> {
  const td = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: name,
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: '256',
      memory: '512',
      containerDefinitions: [{ name: CONTAINER, image: `127.0.0.1:5000/bench:initial`, essential: true }],
    }),
  );
  await ecs.send(
    new CreateServiceCommand({
      cluster: CLUSTER,
      serviceName: name,
      taskDefinition: td.taskDefinition?.taskDefinitionArn,
      desiredCount: DESIRED,
      launchType: 'FARGATE',
      tags: [{ key: 'sim:step-ms', value: String(stepMs) }],
    }),
  );
}

/** A deploy whose request or result failed at the client. */
interface Failure {
  status: 'request failed' | 'result failed';
  workflowId?: undefined;
  runId?: undefined;
  observed?: undefined;
}
type Outcome = DeployResult | Failure;

/**
 * Requests every deploy (as deployctl does) and waits for every result; results in the order of `targets`. A request
 * or a result that fails is accounted for as a result of its own status, so one failure does not hide the others.
 */
async function deployAll(
  client: Client,
  taskQueue: string,
  targets: DeployTarget[],
  ended: { count: number },
): Promise<Outcome[]> {
  const results: Promise<Outcome>[] = [];
  const failed = (status: Failure['status'], err: unknown): Failure => {
    console.error(`bench: ${status}: ${err instanceof Error ? err.message : String(err)}`);
    return { status };
  };
  await pool(targets, START_CONCURRENCY, async (t, i) => {
    const sha = (i.toString(16).padStart(8, '0') + 'b'.repeat(32)).slice(0, 40);
    try {
      const deploy = await requestDeploy({ client, taskQueue, request: { kind: 'deploy', sha, target: t } });
      results[i] = deploy.handle.result().then(
        (r): Outcome => r,
        (err: unknown) => failed('result failed', err),
      );
    } catch (err) {
      results[i] = Promise.resolve(failed('request failed', err));
    }
    void results[i]?.then(() => (ended.count += 1));
  });
  return await Promise.all(results);
}

/** Detection latency, workflow tasks and events, from each deploy's history and its service queue's, and ECS. */
async function countHistories(opts: {
  bench: BenchStack;
  ecs: ECSClient;
  results: Outcome[];
  /** The target of each result, in the same order. */
  targets: DeployTarget[];
}): Promise<{ detections: number[]; workflowTasks: number; events: number }> {
  const { bench, results } = opts;
  const finished = new Map<string, number>();
  const arns = results.map((r) => r.observed?.serviceDeploymentArn).filter((a): a is string => Boolean(a));
  for (let i = 0; i < arns.length; i += 20) {
    const out = await opts.ecs.send(
      new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: arns.slice(i, i + 20) }),
    );
    for (const sd of out.serviceDeployments ?? []) {
      if (sd.serviceDeploymentArn && sd.finishedAt) finished.set(sd.serviceDeploymentArn, sd.finishedAt.getTime());
    }
  }
  const detections: number[] = [];
  /** ECS finished → the watch that saw it completed: the read's share of the detection latency. */
  const readParts: number[] = [];
  let workflowTasks = 0;
  let events = 0;
  const fetch = (workflowId: string, runId?: string): Promise<History> =>
    bench.client.workflow.getHandle(workflowId, runId).fetchHistory();
  await pool(results, 10, async (r, i) => {
    const t = opts.targets[i];
    if (!t) throw new Error(`no target for result ${i}`);
    if (r.workflowId === undefined) return;
    const [deploy, queue] = await Promise.all([fetch(r.workflowId, r.runId), fetch(queueWorkflowId(t))]);
    workflowTasks += workflowTaskCount(deploy) + workflowTaskCount(queue);
    events += eventCount(deploy);
    const moved = movedOnMs(deploy);
    const done = finished.get(r.observed?.serviceDeploymentArn ?? '');
    if (moved !== undefined && done !== undefined) {
      detections.push(moved - done);
      const watched = activityTimings(deploy)
        .filter((a) => a.name === 'watchRollout' && a.completedMs > 0)
        .sort((a, b) => b.completedMs - a.completedMs)[0];
      if (watched) readParts.push(watched.completedMs - done);
    }
  });
  console.error(`bench: detection, of which ECS finished → watch completed: ${formatSummary(summarize(readParts))}`);
  return { detections, workflowTasks, events };
}

/** Runs `fn` over `items`, at most `size` at a time. */
async function pool<T>(items: T[], size: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(size, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  });
  await Promise.all(lanes);
}
