/**
 * The local stack for end-to-end tests: the same scripts as `make stack` (or `make stack-cluster`), on free ports,
 * in a temp dir.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, freePort } from './process.js';

export interface Stack {
  dir: string;
  env: Record<string, string>;
  /** The worker's pid, for tests that kill it. */
  workerPid(): Promise<number>;
  stop(): Promise<void>;
}

export interface StackOptions {
  sourceRepo?: string;
  stepMs?: number;
  /** The cluster stack (scripts/cluster-up.sh): Temporal built from source on PostgreSQL, two workers. */
  cluster?: boolean;
  /** The workers' approval policy file (DEPLOY_APPROVAL_POLICY); default deploy/approval-policy.local.json. */
  approvalPolicy?: string;
  /** The workers' webhook (DEPLOY_WEBHOOK_URL); none by default. */
  webhookUrl?: string;
}

const CLUSTER_TOOLS = [
  '/usr/lib/postgresql/15/bin/postgres',
  `${ROOT}/.tools/cluster/bin/temporal-server`,
  `${ROOT}/.tools/cluster/bin/temporal-sql-tool`,
  `${ROOT}/.tools/cluster/bin/temporal-ui-server`,
];

/** Why the cluster stack cannot start here, or undefined when its tools are installed. */
export function clusterToolsMissing(): string | undefined {
  const missing = CLUSTER_TOOLS.filter((path) => !existsSync(path));
  if (missing.length === 0) return undefined;
  return `cluster tools not installed (${missing.join(', ')}); run scripts/install-cluster-tools.sh or make test-cluster`;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'stack-'));
  const env: Record<string, string> = {
    STACK_DIR: dir,
    STACK_TEMPORAL_PORT: String(await freePort()),
    STACK_UI_PORT: String(await freePort()),
    STACK_MOTO_PORT: String(await freePort()),
    STACK_REGISTRY_PORT: String(await freePort()),
    STACK_ISSUER_PORT: String(await freePort()),
    STACK_ROLLOUT_STEP_MS: String(opts.stepMs ?? 300),
    DEPLOY_CACHE_DIR: `${ROOT}/.cache`,
  };
  if (opts.sourceRepo) env.DEPLOY_SOURCE_REPO = opts.sourceRepo;
  if (opts.approvalPolicy) env.DEPLOY_APPROVAL_POLICY = opts.approvalPolicy;
  if (opts.webhookUrl) env.DEPLOY_WEBHOOK_URL = opts.webhookUrl;
  if (opts.cluster) env.STACK_POSTGRES_PORT = String(await freePort());
  const stop = async (): Promise<void> => {
    await execa(`${ROOT}/scripts/stack-down.sh`, [], { env: { STACK_DIR: dir }, reject: false });
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await execa(`${ROOT}/scripts/${opts.cluster ? 'cluster-up.sh' : 'stack-up.sh'}`, [], { env, all: true });
  } catch (err) {
    await stop();
    throw err;
  }
  const text = await readFile(join(dir, 'env'), 'utf8');
  const stackEnv = Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return {
    dir,
    env: stackEnv,
    async workerPid() {
      const pids = await readFile(join(dir, 'pids'), 'utf8');
      const line = pids.split('\n').find((l) => l.endsWith(' worker'));
      return Number(line?.split(' ')[0]);
    },
    stop,
  };
}

/** Runs deployctl (the built CLI) against the stack. */
export async function deployctl(stack: Stack, args: string[], extraEnv: Record<string, string> = {}) {
  return await execa('node', [`${ROOT}/dist/cli/main.js`, ...args], {
    env: { ...stack.env, ...extraEnv },
    reject: false,
    timeout: 300_000,
  });
}
