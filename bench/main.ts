/**
 * make bench: deploys at real rollout lengths against two sequential baselines, and N concurrent deploys on one
 * worker behind ECS's read bucket, on the dev server and/or the PostgreSQL cluster. Prints markdown tables (each
 * measure with its target and whether it was met) and writes them to .work/bench/results.md; docs/benchmarks.md
 * explains them. Settings (bench/settings.ts): BENCH_SERVER (dev | cluster | dev,cluster), BENCH_PARTS
 * (rollouts,scale), BENCH_ROUNDS (3), BENCH_LONG (1; 0 leaves out the 2- and 10-minute rollouts), BENCH_SCALE
 * (1,10,100,1000), BENCH_SCALE_ROLLOUT (60 s), BENCH_ECS_BURST (50), BENCH_ECS_REFILL (20 a second).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { ROOT } from '../src/devstack/process.js';
import { rolloutTable, scaleTable } from './report.js';
import { runRollouts } from './rollouts.js';
import { runScale, type ScaleRow } from './scale.js';
import { readBenchSettings } from './settings.js';

async function main(): Promise<void> {
  const settings = readBenchSettings(process.env);
  const started = new Date();
  const sections: string[] = [];
  const scale: ScaleRow[] = [];
  for (const server of settings.servers) {
    if (settings.parts.has('rollouts')) {
      const results = await runRollouts(server, settings);
      sections.push(`### Rollout lengths, ${server} server`, '', ...rolloutTable(results, settings.lengths), '');
    }
    if (settings.parts.has('scale')) scale.push(...(await runScale(server, settings)));
  }
  if (scale.length) sections.push('### Concurrent deploys on one worker', '', ...scaleTable(scale), '');
  const env = ['BENCH_SERVER', 'BENCH_PARTS', 'BENCH_ROUNDS', 'BENCH_LONG', 'BENCH_SCALE', 'BENCH_SCALE_ROLLOUT']
    .filter((k) => process.env[k])
    .map((k) => `${k}=${process.env[k]}`);
  const text = [
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${loadavg()[0]?.toFixed(1)} at the end.`,
    `Command: \`${[...env, 'make bench'].join(' ')}\`, started ${started.toISOString()}, took ${Math.round((Date.now() - started.getTime()) / 60_000)} min.`,
    '',
    ...sections,
  ].join('\n');
  console.log(text);
  await mkdir(`${ROOT}/.work/bench`, { recursive: true });
  await writeFile(`${ROOT}/.work/bench/results.md`, `${text}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
