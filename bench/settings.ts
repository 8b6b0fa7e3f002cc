/** What `make bench` runs, read once from its environment. Defaults are written here and nowhere else. */

export type BenchServer = 'dev' | 'cluster';
export type BenchPart = 'rollouts' | 'scale';

export interface RolloutLength {
  /** As the tables name it: "10 s", "2 min", "10 min". */
  label: string;
  /** How long ECS's rollout should last, from its service deployment's createdAt to finishedAt. */
  ms: number;
  /** Workflow deploys (and each baseline) measured at this length. */
  rounds: number;
}

export interface BenchSettings {
  /** BENCH_SERVER: the Temporal servers to run on, in order (dev: `temporal server start-dev`; cluster: PostgreSQL). */
  servers: BenchServer[];
  /** BENCH_PARTS: rollouts (real builds, three rollout lengths, two baselines) and scale (N concurrent deploys). */
  parts: Set<BenchPart>;
  /** BENCH_ROUNDS for the short rollout; BENCH_LONG=0 leaves out the 2- and 10-minute ones, which run once. */
  lengths: RolloutLength[];
  /** BENCH_SCALE: the N of each scale row. */
  scale: number[];
  /** BENCH_SCALE_ROLLOUT: how long each rollout of the scale rows lasts, in seconds. */
  scaleRolloutMs: number;
  /** ECS's read bucket the fault proxy enforces per account and region (BENCH_ECS_BURST, BENCH_ECS_REFILL). */
  ecsBucket: { burst: number; refillPerSecond: number };
}

/**
 * ECS's documented bucket for its read actions holds 50 tokens and refills 20 a second ("Request throttling for the
 * Amazon ECS API"); the proxy applies one such bucket to every ECS read together, which is stricter than ECS.
 */
export const BENCH_DEFAULTS = {
  servers: 'dev',
  parts: 'rollouts,scale',
  rounds: 3,
  long: true,
  scale: '1,10,100,1000',
  scaleRolloutS: 60,
  ecsBurst: 50,
  ecsRefill: 20,
};

export class BenchSettingError extends Error {
  constructor(variable: string, message: string) {
    super(`${variable} ${message}`);
    this.name = 'BenchSettingError';
  }
}

function positiveInt(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new BenchSettingError(name, `must be a whole number above 0; got "${raw}"`);
  return n;
}

function list<T extends string>(
  env: Record<string, string | undefined>,
  name: string,
  fallback: string,
  allowed: readonly T[],
): T[] {
  const items = (env[name]?.trim() || fallback).split(',').map((s) => s.trim());
  const bad = items.find((s) => !allowed.includes(s as T));
  if (bad !== undefined) throw new BenchSettingError(name, `"${bad}" is not one of ${allowed.join(', ')}`);
  return [...new Set(items as T[])];
}

export function readBenchSettings(env: Record<string, string | undefined>): BenchSettings {
  const long = env.BENCH_LONG?.trim() || (BENCH_DEFAULTS.long ? '1' : '0');
  if (long !== '0' && long !== '1') throw new BenchSettingError('BENCH_LONG', `must be 0 or 1; got "${long}"`);
  const scale = (env.BENCH_SCALE?.trim() || BENCH_DEFAULTS.scale).split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1 || n > 5000) {
      throw new BenchSettingError('BENCH_SCALE', `holds "${s.trim()}"; give whole numbers from 1 to 5000`);
    }
    return n;
  });
  const lengths: RolloutLength[] = [
    { label: '10 s', ms: 10_000, rounds: positiveInt(env, 'BENCH_ROUNDS', BENCH_DEFAULTS.rounds) },
  ];
  if (long === '1')
    lengths.push({ label: '2 min', ms: 120_000, rounds: 1 }, { label: '10 min', ms: 600_000, rounds: 1 });
  return {
    servers: list(env, 'BENCH_SERVER', BENCH_DEFAULTS.servers, ['dev', 'cluster'] as const),
    parts: new Set(list(env, 'BENCH_PARTS', BENCH_DEFAULTS.parts, ['rollouts', 'scale'] as const)),
    lengths,
    scale,
    scaleRolloutMs: positiveInt(env, 'BENCH_SCALE_ROLLOUT', BENCH_DEFAULTS.scaleRolloutS) * 1000,
    ecsBucket: {
      burst: positiveInt(env, 'BENCH_ECS_BURST', BENCH_DEFAULTS.ecsBurst),
      refillPerSecond: positiveInt(env, 'BENCH_ECS_REFILL', BENCH_DEFAULTS.ecsRefill),
    },
  };
}
