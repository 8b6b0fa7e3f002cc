/**
 * make bench: the workflow against the plain sequential pipeline on the local stack, orchestration overhead,
 * detection latency, re-running a deployed SHA, and many concurrent deploys on one worker.
 * Prints a markdown table (each row a median of BENCH_ROUNDS rounds measured in this run) and writes it to
 * .work/bench/results.md. Settings: BENCH_ROUNDS (3), BENCH_SCALE ("1,10,100,1000").
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { requestDeploy } from '../src/client/deploys.js';
import { readTarget, targetSources } from '../src/cli/env.js';
import { makeSourceRepo } from '../test/e2e/source-repo.js';
import { ROOT } from '../test/support/process.js';
import { startStack } from '../test/support/stack.js';
import { runWorkflowDeploy, type WorkflowRun } from './e2e.js';
import { runScale } from './scale.js';
import { runSequential } from './sequential.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const scaleNs = (process.env.BENCH_SCALE ?? '1,10,100,1000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const lines: string[] = [];
  const row = (...cells: string[]): void => void lines.push(`| ${cells.join(' | ')} |`);
  const source = await makeSourceRepo();
  const stack = await startStack({ sourceRepo: source.dir, stepMs: 1000 });
  const runs: WorkflowRun[] = [];
  const sequential: number[] = [];
  let rerunMs = 0;
  let rerunMode = '';
  try {
    const connection = await Connection.connect({ address: stack.env.TEMPORAL_ADDRESS });
    const client = new Client({ connection });
    // One deploy to warm the Go build cache, as a long-lived worker's is.
    await runWorkflowDeploy({ client, env: stack.env, sha: await source.commit('bench warm-up') });
    for (let i = 0; i < rounds; i++) {
      runs.push(await runWorkflowDeploy({ client, env: stack.env, sha: await source.commit(`bench workflow ${i}`) }));
      sequential.push(
        await runSequential({
          env: stack.env,
          sourceRepo: source.dir,
          sha: await source.commit(`bench sequential ${i}`),
        }),
      );
      console.error(
        `bench: round ${i + 1}/${rounds}: workflow ${sec(runs[i]?.wallMs ?? 0)}, sequential ${sec(sequential[i] ?? 0)}`,
      );
    }
    const last = runs.length ? await source.commit('bench re-run') : '';
    await runWorkflowDeploy({ client, env: stack.env, sha: last });
    const t0 = Date.now();
    const again = await requestDeploy({
      client,
      taskQueue: stack.env.TEMPORAL_TASK_QUEUE ?? '',
      request: { kind: 'deploy', sha: last, target: readTarget(targetSources(stack.env)) },
    });
    const rerun = await again.handle.result();
    rerunMs = Date.now() - t0;
    rerunMode = rerun.reused?.alreadyLive ? 'already live' : `${rerun.stages.length} stages`;
    await connection.close();
  } finally {
    await stack.stop();
    await source.remove();
  }
  const scale = await runScale(scaleNs);

  const wf = median(runs.map((r) => r.wallMs));
  const seq = median(sequential);
  lines.push(
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
  );
  lines.push(
    `Command: \`make bench\` (BENCH_ROUNDS=${rounds}, BENCH_SCALE=${scaleNs.join(',')}), ${new Date().toISOString()}.`,
    '',
  );
  row('measure', 'result', 'target', 'met');
  row('---', '---', '---', '---');
  row('end to end, workflow (median)', sec(wf), '', '');
  row('end to end, sequential script (median)', sec(seq), '', '');
  row('workflow / sequential', (wf / seq).toFixed(2), '≤ 0.70', wf / seq <= 0.7 ? 'yes' : 'no');
  const overhead = median(runs.map((r) => r.overheadPerStageMs));
  row(
    'orchestration overhead per stage (to the update)',
    `${overhead.toFixed(0)} ms`,
    '< 100 ms',
    overhead < 100 ? 'yes' : 'no',
  );
  const detection = median(runs.map((r) => r.detectionMs));
  row(
    'detection latency (ECS COMPLETED → workflow moves on)',
    `${detection.toFixed(0)} ms`,
    '≤ 2000 ms',
    detection <= 2000 ? 'yes' : 'no',
  );
  const readsPerSec = median(runs.map((r) => r.rolloutReads / Math.max(r.rolloutMs / 1000, 1)));
  row(
    'ECS reads per second while waiting, one deploy',
    readsPerSec.toFixed(2),
    '≈ 1',
    readsPerSec <= 1.2 ? 'yes' : 'no',
  );
  row(
    're-run of a deployed SHA',
    `${sec(rerunMs)} (${rerunMode}: no build, test or push)`,
    'no build',
    rerunMode === 'already live' ? 'yes' : 'no',
  );
  lines.push(
    '',
    '| concurrent deploys N | wall | deploys/min | worker peak RSS | ECS calls | ECS calls per deploy |',
    '|---|---|---|---|---|---|',
  );
  for (const s of scale) {
    row(
      String(s.n),
      sec(s.wallMs),
      s.perMinute.toFixed(0),
      `${s.peakRssMb.toFixed(0)} MiB`,
      String(s.ecsCalls),
      s.ecsCallsPerDeploy.toFixed(1),
    );
  }
  const text = lines.join('\n');
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
