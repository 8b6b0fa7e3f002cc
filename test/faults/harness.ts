/**
 * The local stack for fault tests: the stack's own worker is replaced by workers this harness starts, kills and
 * restarts, whose AWS endpoint and registry are fault proxies in front of moto and docker-registry.
 */
import { ECSClient, ListTaskDefinitionsCommand, DescribeServicesCommand, type Service } from '@aws-sdk/client-ecs';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { chmod, mkdir, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { DeployProgress, DeployResult, StageName } from '../../src/shared/types.js';
import { progressQuery } from '../../src/workflows/messages.js';
import type { deploy } from '../../src/workflows/deploy.js';
import { makeSourceRepo, type SourceRepo } from '../../src/devstack/source-repo.js';
import { startFaultProxy, type FaultProxy } from '../../src/devstack/fault-proxy.js';
import { setNextRollout, type RolloutOutcome } from '../../src/devstack/moto.js';
import { ROOT, startService, type Service as Proc } from '../../src/devstack/process.js';
import { REGISTRY_PASSWORD } from '../support/registry.js';
import { deployctl, startStack, type Stack } from '../../src/devstack/stack.js';

/** The worker's AWS secret in fault tests: distinctive, so a scan can prove it never leaks. */
export const WORKER_AWS_SECRET = 'fAuLtTeStSeCrEt/wJalrXUtnFEMI/K7MDENG+bPxRfiCYzz9';
export const SECRETS = [
  WORKER_AWS_SECRET,
  REGISTRY_PASSWORD,
  Buffer.from(`AWS:${REGISTRY_PASSWORD}`).toString('base64'),
  Buffer.from(REGISTRY_PASSWORD).toString('base64'),
];

export interface Worker {
  name: string;
  pid: number;
  workDir: string;
  logFile: string;
  proc: Proc;
}

export interface DeployRun {
  sha: string;
  workflowId: string;
  handle: WorkflowHandle<typeof deploy>;
  cliOutput: string;
}

export interface FaultStack {
  stack: Stack;
  source: SourceRepo;
  aws: FaultProxy;
  registry: FaultProxy;
  client: Client;
  ecs: ECSClient;
  /** Marker files read by the slow git/go wrappers on the workers' PATH. */
  faultDir: string;
  workers: Worker[];
  /** Every deploy started here, for the secrets scan. */
  runs: DeployRun[];
  /** Everything deployctl printed, for the secrets scan. */
  cliOutput: string[];
  startWorker(name: string, opts?: { workDir?: string; env?: Record<string, string> }): Promise<Worker>;
  crash(worker: Worker): Promise<void>;
  startDeploy(sha: string, env?: Record<string, string>): Promise<DeployRun>;
  /** deployctl deploy --wait --json, as CI runs it. */
  deployAndWait(
    sha: string,
    env?: Record<string, string>,
  ): Promise<{ result: DeployResult; stderr: string; exitCode: number | undefined }>;
  waitForStage(run: DeployRun, stage: StageName, timeoutMs?: number): Promise<void>;
  result(run: DeployRun, timeoutMs?: number): Promise<DeployResult>;
  service(): Promise<Service>;
  /** Task-definition revisions of the service's family, ACTIVE and INACTIVE. */
  revisions(): Promise<string[]>;
  nextRollout(outcome: RolloutOutcome, stepMs?: number): Promise<void>;
  /** Manifest PUTs for repository:tag seen by the registry proxy. */
  pushes(tag: string): number;
  slow(tool: 'git' | 'go', subcommand: string, seconds: number): Promise<void>;
  unslow(tool: 'git' | 'go', subcommand: string): Promise<void>;
  /** Texts that must not hold a secret: histories of every deploy, worker and stack logs, CLI output. */
  secretHits(): Promise<{ where: string; secret: string }[]>;
  stop(): Promise<void>;
}

export async function until<T>(
  read: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pids of `pid` and all its descendants, read from /proc. */
async function processTree(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // Gone already.
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

async function writeWrappers(binDir: string, faultDir: string): Promise<void> {
  await mkdir(binDir, { recursive: true });
  // The sandbox starts go through bwrap, with go's arguments at the end: its wrapper obeys go's markers.
  for (const [tool, marker] of [
    ['git', 'git'],
    ['go', 'go'],
    ['bwrap', 'go'],
  ] as const) {
    const real = (await execa('sh', ['-c', `command -v ${tool}`])).stdout.trim();
    // Sleeps when the test left a marker for one of the arguments, then runs the real tool.
    const script = [
      '#!/bin/sh',
      'for a in "$@"; do',
      `  m="${faultDir}/slow-${marker}-$a"`,
      '  if [ -f "$m" ]; then sleep "$(cat "$m")"; break; fi',
      'done',
      `exec ${real} "$@"`,
      '',
    ].join('\n');
    await writeFile(join(binDir, tool), script);
    await chmod(join(binDir, tool), 0o755);
  }
}

export async function startFaultStack(opts: { stepMs?: number } = {}): Promise<FaultStack> {
  const source = await makeSourceRepo();
  const stack = await startStack({ sourceRepo: source.dir, stepMs: opts.stepMs ?? 200 });
  // The stack's own worker would take tasks from ours: stop it (it leads its own process group).
  const stackWorker = await stack.workerPid();
  try {
    process.kill(-stackWorker, 'SIGTERM');
  } catch {
    /* gone */
  }
  await until(() => !alive(stackWorker), 40_000, 'the stack worker to stop');

  const motoPort = Number(new URL(stack.env.AWS_ENDPOINT_URL ?? '').port);
  const registryPort = Number((stack.env.DEPLOY_REGISTRY ?? '').split(':')[1]);
  const aws = await startFaultProxy({ targetPort: motoPort });
  const registry = await startFaultProxy({ targetPort: registryPort });
  const faultDir = join(stack.dir, 'faults');
  const binDir = join(stack.dir, 'fault-bin');
  await mkdir(faultDir, { recursive: true });
  await writeWrappers(binDir, faultDir);
  const connection = await Connection.connect({ address: stack.env.TEMPORAL_ADDRESS ?? '' });
  const client = new Client({ connection, namespace: stack.env.TEMPORAL_NAMESPACE ?? 'default' });
  const ecs = new ECSClient({
    region: stack.env.AWS_REGION ?? '',
    endpoint: stack.env.AWS_ENDPOINT_URL ?? '',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const workers: Worker[] = [];
  const runs: DeployRun[] = [];
  const cliOutput: string[] = [];
  const cliEnv = { ...stack.env };

  const fs: FaultStack = {
    stack,
    source,
    aws,
    registry,
    client,
    ecs,
    faultDir,
    workers,
    runs,
    cliOutput,

    async startWorker(name, o = {}) {
      const workDir = o.workDir ?? join(stack.dir, `work-${name}`);
      const logFile = join(stack.dir, 'logs', `worker-${name}.log`);
      const proc = await startService({
        name: `worker-${name}`,
        command: 'node',
        args: [`${ROOT}/dist/worker.js`],
        logFile,
        env: {
          ...stack.env,
          PATH: `${binDir}:${process.env.PATH ?? ''}`,
          DEPLOY_SOURCE_REPO: source.dir,
          DEPLOY_WORK_DIR: workDir,
          DEPLOY_CACHE_DIR: `${ROOT}/.cache`,
          DEPLOY_REGISTRY_INSECURE: 'true',
          DEPLOY_REGISTRY: registry.address,
          DEPLOY_IMAGE_BUILDER: 'buildah',
          AWS_ENDPOINT_URL: aws.url,
          AWS_ACCESS_KEY_ID: 'AKIAFAULTTESTWORKER1',
          AWS_SECRET_ACCESS_KEY: WORKER_AWS_SECRET,
          ...o.env,
        },
      });
      await until(
        async () => (await readFile(logFile, 'utf8').catch(() => '')).includes('worker: polling'),
        30_000,
        `worker ${name} to poll`,
      );
      const worker = { name, pid: proc.pid, workDir, logFile, proc };
      workers.push(worker);
      return worker;
    },

    /** SIGKILL to the worker and everything it started: the machine died, nothing ran to its end. */
    async crash(worker) {
      const tree = await processTree(worker.pid);
      for (const pid of tree.reverse()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      try {
        process.kill(-worker.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await until(() => tree.every((p) => !alive(p)), 10_000, `worker ${worker.name} to die`);
      // A dead machine's mounts die with it: the sandbox's cache overlays of the steps it was running go too, so
      // nothing is left holding its work dir (a worker started on that dir would unmount them the same way).
      await unmountUnder(worker.workDir);
    },

    async startDeploy(sha, env = {}) {
      const out = await deployctl(stack, ['deploy', '--sha', sha, '--json'], { ...cliEnv, ...env });
      cliOutput.push(out.stdout, out.stderr);
      if (out.exitCode !== 0) throw new Error(`deployctl deploy failed: ${out.stderr}`);
      const { workflowId } = JSON.parse(out.stdout) as { workflowId: string };
      const run = {
        sha,
        workflowId,
        handle: client.workflow.getHandle<typeof deploy>(workflowId),
        cliOutput: out.all ?? '',
      };
      runs.push(run);
      return run;
    },

    async deployAndWait(sha, env = {}) {
      const out = await deployctl(stack, ['deploy', '--sha', sha, '--wait', '--json'], { ...cliEnv, ...env });
      cliOutput.push(out.stdout, out.stderr);
      let result: DeployResult;
      try {
        result = JSON.parse(out.stdout) as DeployResult;
      } catch {
        throw new Error(`deployctl printed no result (exit ${out.exitCode}): ${out.stderr}`);
      }
      if (result.workflowId) {
        runs.push({
          sha,
          workflowId: result.workflowId,
          handle: client.workflow.getHandle(result.workflowId),
          cliOutput: '',
        });
      }
      return { result, stderr: out.stderr, exitCode: out.exitCode };
    },

    async waitForStage(run, stage, timeoutMs = 60_000) {
      await until(
        async () => {
          const p: DeployProgress | undefined = await run.handle.query(progressQuery).catch(() => undefined);
          return p?.stages.some((s) => s.name === stage && s.status === 'running') || undefined;
        },
        timeoutMs,
        `stage ${stage} of ${run.workflowId} to run`,
      );
    },

    async result(run, timeoutMs = 180_000) {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          run.handle.result(),
          new Promise<never>((_, rej) => {
            timer = setTimeout(() => rej(new Error(`${run.workflowId} did not end within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },

    async service() {
      const out = await ecs.send(
        new DescribeServicesCommand({ cluster: stack.env.ECS_CLUSTER, services: [stack.env.ECS_SERVICE ?? ''] }),
      );
      const svc = out.services?.[0];
      if (!svc) throw new Error('service missing');
      return svc;
    },

    async revisions() {
      const out = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'hello', status: 'ACTIVE' }));
      const inactive = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'hello', status: 'INACTIVE' }));
      return [...(out.taskDefinitionArns ?? []), ...(inactive.taskDefinitionArns ?? [])];
    },

    async nextRollout(outcome, stepMs) {
      await setNextRollout({
        endpoint: stack.env.AWS_ENDPOINT_URL ?? '',
        region: stack.env.AWS_REGION ?? '',
        serviceArn: (await fs.service()).serviceArn ?? '',
        outcome,
        ...(stepMs !== undefined ? { stepMs } : {}),
      });
    },

    pushes: (tag) => registry.count('registry', `PUT /v2/hello/manifests/${tag}`),

    async slow(tool, subcommand, seconds) {
      await writeFile(join(faultDir, `slow-${tool}-${subcommand}`), String(seconds));
    },
    async unslow(tool, subcommand) {
      await rm(join(faultDir, `slow-${tool}-${subcommand}`), { force: true });
    },

    async secretHits() {
      const texts: { where: string; text: string }[] = [];
      for (const run of runs) {
        const history = await run.handle.fetchHistory();
        texts.push({ where: `history of ${run.workflowId}`, text: historyText(history) });
      }
      for (const name of await readdir(join(stack.dir, 'logs'))) {
        texts.push({ where: `log ${name}`, text: await readFile(join(stack.dir, 'logs', name), 'utf8') });
      }
      texts.push({ where: 'deployctl output', text: cliOutput.join('\n') });
      return secretHitsIn(texts, SECRETS);
    },

    async stop() {
      for (const w of workers) await w.proc.stop().catch(() => undefined);
      ecs.destroy();
      await connection.close().catch(() => undefined);
      await aws.stop();
      await registry.stop();
      await stack.stop();
      await source.remove();
    },
  };
  return fs;
}

/**
 * A history as searchable text: its JSON, plus every payload's data decoded. Payloads (workflow and activity inputs
 * and results, heartbeat details, failure attributes) are bytes, which JSON shows as base64, so a secret inside one
 * would never match in `JSON.stringify(history)` alone.
 */
export function historyText(history: unknown): string {
  const json = JSON.stringify(history);
  const decoded: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) walk(v);
    } else if (typeof value === 'object' && value !== null) {
      const o = value as Record<string, unknown>;
      if (typeof o.data === 'string' && typeof o.metadata === 'object') {
        decoded.push(Buffer.from(o.data, 'base64').toString('utf8'));
      }
      for (const v of Object.values(o)) walk(v);
    }
  };
  walk(JSON.parse(json));
  return [json, ...decoded].join('\n');
}

interface HistoryEventJson {
  eventId?: string;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  activityTaskCompletedEventAttributes?: {
    scheduledEventId?: string;
    result?: { payloads?: { data?: string }[] };
  };
}

/** The decoded result of the last completed activity of this type in a history; undefined when none completed. */
export function activityResult<T>(history: unknown, activityType: string): T | undefined {
  const events = (JSON.parse(JSON.stringify(history)) as { events?: HistoryEventJson[] }).events ?? [];
  const scheduled = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType)
      .map((e) => e.eventId),
  );
  const completed = events.filter((e) => scheduled.has(e.activityTaskCompletedEventAttributes?.scheduledEventId));
  const data = completed.at(-1)?.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data;
  return data === undefined ? undefined : (JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as T);
}

/** Which of `secrets` occur in which text; a hit names the secret by its first characters only. */
export function secretHitsIn(
  texts: { where: string; text: string }[],
  secrets: readonly string[],
): { where: string; secret: string }[] {
  const hits: { where: string; secret: string }[] = [];
  for (const { where, text } of texts) {
    for (const secret of secrets) if (text.includes(secret)) hits.push({ where, secret: `${secret.slice(0, 4)}…` });
  }
  return hits;
}

export interface LeftoverProcess {
  pid: number;
  why: 'go toolchain' | 'go test binary' | 'under a watched directory' | 'child of a worker';
  args: string;
}

/**
 * Processes a deploy left behind: the Go toolchain or a compiled test binary (`*.test`) running in a watched
 * directory (a worker's work dir holds the workspaces they run in; a workspace removed under them reads
 * "... (deleted)"), anything else whose working directory or arguments name one, and any child of a live worker.
 * `keep` matches the long-running services that belong there (the worker itself, Temporal, moto, the registry).
 */
export async function leftoverProcesses(opts: {
  dirs: string[];
  workerPids?: number[];
  keep?: RegExp;
}): Promise<LeftoverProcess[]> {
  const under = (path: string | undefined): boolean =>
    path !== undefined && opts.dirs.some((d) => path === d || path.startsWith(`${d}/`));
  const workerChildren = new Set<number>();
  for (const pid of opts.workerPids ?? []) for (const p of (await processTree(pid)).slice(1)) workerChildren.add(p);
  const found: LeftoverProcess[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const args = await readFile(`/proc/${name}/cmdline`, 'utf8').then(
      (t) => t.split('\0').join(' ').trim(),
      () => '',
    );
    if (!args || opts.keep?.test(args)) continue;
    const cwd = await readlink(`/proc/${name}/cwd`).catch(() => undefined);
    const exe = (args.split(' ')[0] ?? '').split('/').pop() ?? '';
    const inWatched = under(cwd) || opts.dirs.some((d) => args.includes(d));
    let why: LeftoverProcess['why'] | undefined;
    if (inWatched && exe === 'go') why = 'go toolchain';
    else if (inWatched && exe.endsWith('.test')) why = 'go test binary';
    else if (inWatched) why = 'under a watched directory';
    else if (workerChildren.has(pid)) why = 'child of a worker';
    if (why) found.push({ pid, why, args });
  }
  return found;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Appends one suite's counts to .work/reliability/<suite>.json, from which docs/reliability.md is written. */
export async function recordCounts(suite: string, counts: Record<string, unknown>): Promise<void> {
  const dir = join(ROOT, '.work', 'reliability');
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, `${suite}.json`),
    `${JSON.stringify({ suite, at: new Date().toISOString(), ...counts }, null, 2)}\n`,
  );
}

/** Lazily unmounts every mount under `dir` (deepest first), as the kernel would for a machine that died. */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const mount of mounts) await execa('umount', ['--lazy', mount], { reject: false });
}
