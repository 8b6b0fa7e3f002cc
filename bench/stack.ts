/**
 * The bench's stack: the same scripts as `make stack` or `make stack-cluster` (src/devstack/stack.ts), a fault proxy in
 * front of the ECS emulator that enforces ECS's read bucket and counts every call, and worker processes of the
 * bench's own, on task queues of their own, that reach ECS only through that proxy. The stack's own workers stay
 * idle on theirs.
 */
import { readFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { startFaultProxy, type FaultProxy, type RateLimitHandle } from '../src/devstack/fault-proxy.js';
import { ROOT, startService, type Service } from '../src/devstack/process.js';
import { startStack, type Stack } from '../src/devstack/stack.js';
import type { BenchServer, BenchSettings } from './settings.js';

/** ECS operations that read, which ECS throttles together per account and region in the bench. */
export const ECS_READS = /^(Describe|List)/;

export interface BenchStack {
  server: BenchServer;
  stack: Stack;
  /** The stack's environment; AWS_ENDPOINT_URL is the emulator itself, for setup and for reading results. */
  env: Record<string, string>;
  proxy: FaultProxy;
  reads: RateLimitHandle;
  client: Client;
  stop(): Promise<void>;
}

export async function startBenchStack(opts: {
  server: BenchServer;
  sourceRepo?: string;
  settings: BenchSettings;
}): Promise<BenchStack> {
  const stack = await startStack({
    cluster: opts.server === 'cluster',
    ...(opts.sourceRepo ? { sourceRepo: opts.sourceRepo } : {}),
  });
  let proxy: FaultProxy | undefined;
  let connection: Connection | undefined;
  try {
    proxy = await startFaultProxy({ targetPort: Number(new URL(stack.env.AWS_ENDPOINT_URL ?? '').port) });
    const reads = proxy.addRateLimit({ service: 'ecs', operation: ECS_READS, ...opts.settings.ecsBucket });
    connection = await Connection.connect({ address: stack.env.TEMPORAL_ADDRESS ?? '' });
    const client = new Client({ connection, namespace: stack.env.TEMPORAL_NAMESPACE ?? 'default' });
    const open = { proxy, connection };
    return {
      server: opts.server,
      stack,
      env: stack.env,
      proxy,
      reads,
      client,
      async stop() {
        await open.connection.close();
        await open.proxy.stop();
        await stack.stop();
      },
    };
  } catch (err) {
    await connection?.close();
    await proxy?.stop();
    await stack.stop();
    throw err;
  }
}

export interface WorkerProcess {
  pid: number;
  logFile: string;
  /** The process's resident set now, and its peak since it started (VmRSS, VmHWM), in MiB. */
  memory(): Promise<{ rssMiB: number; peakMiB: number }>;
  stop(): Promise<void>;
}

/** Starts a worker process and waits until its log says it polls. */
export async function startWorkerProcess(opts: {
  name: string;
  args: string[];
  env: Record<string, string>;
  logFile: string;
  ready: RegExp;
}): Promise<WorkerProcess> {
  const service: Service = await startService({
    name: opts.name,
    command: process.execPath,
    args: opts.args,
    env: opts.env,
    logFile: opts.logFile,
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const log = await readFile(opts.logFile, 'utf8').catch(() => '');
    if (opts.ready.test(log)) break;
    if (service.child.exitCode !== null || Date.now() > deadline) {
      await service.stop();
      throw new Error(`${opts.name} did not start polling; see ${opts.logFile}:\n${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    pid: service.pid,
    logFile: opts.logFile,
    memory: () => memoryOf(service.pid),
    stop: () => service.stop(),
  };
}

/** Logs of the bench's own processes outlive the stack's temp dir. */
export function benchLog(name: string): string {
  return `${ROOT}/.work/bench/logs/${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`;
}

async function memoryOf(pid: number): Promise<{ rssMiB: number; peakMiB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/** The product's worker (dist/worker.js) on its own task queue, reaching ECS through the proxy. */
export async function startDeployWorker(opts: {
  bench: BenchStack;
  taskQueue: string;
  sourceRepo: string;
}): Promise<WorkerProcess> {
  const { bench } = opts;
  return await startWorkerProcess({
    name: 'bench-worker',
    args: [`${ROOT}/dist/worker.js`],
    env: {
      ...bench.env,
      AWS_ENDPOINT_URL: bench.proxy.url,
      TEMPORAL_TASK_QUEUE: opts.taskQueue,
      DEPLOY_SOURCE_REPO: opts.sourceRepo,
      DEPLOY_WORK_DIR: `${bench.stack.dir}/work-bench`,
      DEPLOY_CACHE_DIR: `${ROOT}/.cache`,
      DEPLOY_REGISTRY_INSECURE: 'true',
      DEPLOY_APPROVAL_POLICY: `${ROOT}/deploy/approval-policy.local.json`,
    },
    logFile: benchLog(`${bench.server}-worker`),
    ready: /worker: polling/,
  });
}
