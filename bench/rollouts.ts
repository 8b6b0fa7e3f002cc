/**
 * Deploys at real rollout lengths: each commit changes the app's code (so the compile is real), the emulator's
 * rollout step is set so ECS's own rollout lasts about the asked length, and the workflow runs through the product's
 * worker. Each deploy is measured against its critical path, ECS's finishedAt, its history and the ECS reads it made;
 * the two sequential baselines deploy the same way at the same length in the same run.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeServiceDeploymentsCommand, DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { MOTO_CREDENTIALS, setNextRollout } from '../src/devstack/moto.js';
import { ROOT } from '../src/devstack/process.js';
import { makeSourceRepo, type SourceRepo } from '../src/devstack/source-repo.js';
import { readTarget, requestDeploy } from './client.js';
import {
  activityTimings,
  criticalPath,
  eventCount,
  movedOnMs,
  workflowSpan,
  workflowTaskCount,
  type CriticalPath,
} from './history.js';
import { runSequential, type Baseline } from './sequential.js';
import type { BenchServer, BenchSettings } from './settings.js';
import { ECS_READS, startBenchStack, startDeployWorker, type BenchStack } from './stack.js';
import { seconds } from './stats.js';

export interface WorkflowRun {
  length: string;
  e2eMs: number;
  critical: CriticalPath;
  /** End to end minus the critical path. */
  beyondMs: number;
  /** Where it went: the workflow's start until the build started, and ECS's finishedAt until the workflow ended. */
  beforeBuildMs: number;
  afterRolloutMs: number;
  /** ECS's finishedAt → the workflow task that took the last watch's answer. */
  detectionMs: number;
  events: number;
  workflowTasks: number;
  /** ECS reads per second while the deploy waited (update done → moved on), counted at the proxy. */
  waitReadsPerSecond: number;
}

export interface BaselineRun {
  length: string;
  kind: Baseline;
  ms: number;
}

export interface RolloutResults {
  server: BenchServer;
  runs: WorkflowRun[];
  baselines: BaselineRun[];
  rerun: { ms: number; alreadyLive: boolean };
  throttled: number;
}

const TASK_QUEUE = 'bench-rollouts';

export async function runRollouts(server: BenchServer, settings: BenchSettings): Promise<RolloutResults> {
  const source = await makeSourceRepo();
  let bench: BenchStack | undefined;
  try {
    bench = await startBenchStack({ server, sourceRepo: source.dir, settings });
    const worker = await startDeployWorker({ bench, taskQueue: TASK_QUEUE, sourceRepo: source.dir });
    try {
      return await measure(bench, source, settings);
    } finally {
      await worker.stop();
    }
  } finally {
    await bench?.stop();
    await source.remove();
  }
}

async function measure(bench: BenchStack, source: SourceRepo, settings: BenchSettings): Promise<RolloutResults> {
  const ecs = new ECSClient({
    region: bench.env.AWS_REGION,
    endpoint: bench.env.AWS_ENDPOINT_URL,
    credentials: MOTO_CREDENTIALS,
  });
  const stateDir = join(ROOT, '.work/bench/sequential');
  let revision = 0;
  const commit = (what: string) => source.commit(`bench: ${what}`, (dir) => bumpRevision(dir, ++revision));
  const runs: WorkflowRun[] = [];
  const baselines: BaselineRun[] = [];
  try {
    const short = settings.lengths[0];
    if (!short) throw new Error('no rollout length to measure');
    // Warm the worker's Go cache and the tuned script's, as a long-lived runner's would be.
    await setRolloutLength(bench, ecs, short.ms);
    await deployOnce(bench, ecs, await commit('warm-up'), short.label);
    await setRolloutLength(bench, ecs, short.ms);
    await runSequential({
      kind: 'tuned',
      env: bench.env,
      sourceRepo: source.dir,
      sha: await commit('warm-up'),
      stateDir,
    });

    for (const length of settings.lengths) {
      for (let round = 1; round <= length.rounds; round++) {
        const tag = `${length.label} round ${round}/${length.rounds}`;
        await setRolloutLength(bench, ecs, length.ms);
        const run = await deployOnce(bench, ecs, await commit(`workflow ${tag}`), length.label);
        runs.push(run);
        for (const kind of ['seed', 'tuned'] as const) {
          await setRolloutLength(bench, ecs, length.ms);
          const sha = await commit(`${kind} ${tag}`);
          baselines.push({
            length: length.label,
            kind,
            ms: await runSequential({ kind, env: bench.env, sourceRepo: source.dir, sha, stateDir }),
          });
        }
        const [seed, tuned] = baselines.slice(-2);
        console.error(
          `bench ${bench.server}: ${tag}: workflow ${seconds(run.e2eMs)} (beyond the critical path ${seconds(run.beyondMs, 2)}, detection ${seconds(run.detectionMs, 2)}), seed ${seconds(seed?.ms ?? 0)}, tuned ${seconds(tuned?.ms ?? 0)}`,
        );
      }
    }
    await setRolloutLength(bench, ecs, short.ms);
    const rerun = await rerunDeployed(bench, ecs, await commit('re-run'), short.label);
    return { server: bench.server, runs, baselines, rerun, throttled: bench.reads.throttled };
  } finally {
    ecs.destroy();
  }
}

/** A new file in the app's package, so every commit compiles new code into the binary. */
async function bumpRevision(dir: string, n: number): Promise<void> {
  const go = `package main

import "log"

// benchRevision changes with every bench commit, so each deploy compiles new code.
var benchRevision = "${n}"

func init() { log.SetPrefix("hello " + benchRevision + " ") }
`;
  await writeFile(join(dir, 'app', 'bench_revision.go'), go);
}

/**
 * Tags the service so its next rollout lasts about `ms`: a rolling rollout of N tasks takes N + 1 steps in the
 * emulator (scripts/moto_sim/strategies.py), from createdAt to finishedAt.
 */
async function setRolloutLength(bench: BenchStack, ecs: ECSClient, ms: number): Promise<void> {
  const target = readTarget(bench.env);
  const out = await ecs.send(new DescribeServicesCommand({ cluster: target.cluster, services: [target.service] }));
  const service = out.services?.[0];
  if (!service?.serviceArn) throw new Error(`failed to read ${target.cluster}/${target.service} on the emulator`);
  await setNextRollout({
    endpoint: bench.env.AWS_ENDPOINT_URL ?? '',
    region: target.region,
    serviceArn: service.serviceArn,
    outcome: 'succeed',
    stepMs: Math.round(ms / ((service.desiredCount ?? 1) + 1)),
  });
}

async function deployOnce(bench: BenchStack, ecs: ECSClient, sha: string, length: string): Promise<WorkflowRun> {
  const target = readTarget(bench.env);
  const started = Date.now();
  const deploy = await requestDeploy({
    client: bench.client,
    taskQueue: TASK_QUEUE,
    request: { kind: 'deploy', sha, target },
  });
  const result = await deploy.handle.result();
  const e2eMs = Date.now() - started;
  if (result.status !== 'succeeded') {
    throw new Error(`bench deploy of ${sha} ended ${result.status}: ${result.error?.message ?? result.note ?? ''}`);
  }
  const arn = result.observed?.serviceDeploymentArn;
  if (!arn) throw new Error(`bench deploy of ${sha} reports no service deployment`);
  const sd = (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })))
    .serviceDeployments?.[0];
  if (!sd?.createdAt || !sd.finishedAt) throw new Error(`service deployment ${arn} has no createdAt or finishedAt`);
  const history = await bench.client.workflow.getHandle(result.workflowId, result.runId).fetchHistory();
  const critical = criticalPath(history, { createdMs: sd.createdAt.getTime(), finishedMs: sd.finishedAt.getTime() });
  const movedOn = movedOnMs(history);
  if (movedOn === undefined) throw new Error(`the history of ${result.workflowId} has no completed watch`);
  const waitFrom = sd.createdAt.getTime();
  const reads = bench.proxy.seen.filter(
    (r) => r.service === 'ecs' && ECS_READS.test(r.operation) && r.at >= waitFrom && r.at <= movedOn,
  ).length;
  const span = workflowSpan(history);
  const build = activityTimings(history).find((a) => a.name === 'buildApp');
  return {
    length,
    e2eMs,
    critical,
    beyondMs: e2eMs - critical.totalMs,
    beforeBuildMs: (build?.startedMs ?? span.startMs) - span.startMs,
    afterRolloutMs: span.endMs - sd.finishedAt.getTime(),
    detectionMs: movedOn - sd.finishedAt.getTime(),
    events: eventCount(history),
    workflowTasks: workflowTaskCount(history),
    waitReadsPerSecond: reads / Math.max((movedOn - waitFrom) / 1000, 1),
  };
}

/** Deploys `sha`, then asks for it again: the second deploy should report it live without building anything. */
async function rerunDeployed(
  bench: BenchStack,
  ecs: ECSClient,
  sha: string,
  length: string,
): Promise<RolloutResults['rerun']> {
  await deployOnce(bench, ecs, sha, length);
  const started = Date.now();
  const deploy = await requestDeploy({
    client: bench.client,
    taskQueue: TASK_QUEUE,
    request: { kind: 'deploy', sha, target: readTarget(bench.env) },
  });
  const result = await deploy.handle.result();
  return { ms: Date.now() - started, alreadyLive: result.reused?.alreadyLive === true };
}
