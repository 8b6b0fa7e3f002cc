/** The tables `make bench` prints: every measure with its target and whether it was met. */
import type { RolloutResults, WorkflowRun } from './rollouts.js';
import type { ScaleRow } from './scale.js';
import type { RolloutLength } from './settings.js';
import { formatSummary, median, met, seconds, summarize } from './stats.js';

/** The targets, in one place. */
export const TARGETS = {
  beyondCriticalPathMs: 1500,
  detectionP95Ms: 2000,
  readsPerSecondWaiting: 1,
  eventsPerDeploy: 300,
  scaleDetectionP95Ms: 5000,
  scalePeakRssMiB: 512,
};

const row = (...cells: string[]): string => `| ${cells.join(' | ')} |`;
const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : '-');

export function rolloutTable(results: RolloutResults, lengths: RolloutLength[]): string[] {
  const byLength = lengths.map((l) => ({
    length: l,
    runs: results.runs.filter((r) => r.length === l.label),
    seed: results.baselines.filter((b) => b.length === l.label && b.kind === 'seed').map((b) => b.ms),
    tuned: results.baselines.filter((b) => b.length === l.label && b.kind === 'tuned').map((b) => b.ms),
  }));
  const all = results.runs;
  const cells = (f: (runs: WorkflowRun[], i: number) => string): string[] =>
    byLength.map((b, i) => (b.runs.length ? f(b.runs, i) : '-'));
  const worst = (f: (r: WorkflowRun) => number): number => Math.max(...all.map(f));
  const detections = byLength.map((b) => summarize(b.runs.map((r) => r.detectionMs)));
  const lines = [
    row('measure', ...lengths.map((l) => `rollout ${l.label} (${l.rounds}×)`), 'target', 'met'),
    row('---', ...lengths.map(() => '---'), '---', '---'),
    row(
      'ECS rollout, createdAt → finishedAt (median)',
      ...cells((rs) => seconds(median(rs.map((r) => r.critical.rolloutMs)))),
      '',
      '',
    ),
    row('end to end, workflow (median)', ...cells((rs) => seconds(median(rs.map((r) => r.e2eMs)))), '', ''),
    row('critical path (median)', ...cells((rs) => seconds(median(rs.map((r) => r.critical.totalMs)))), '', ''),
    row(
      '**beyond the critical path** (worst)',
      ...cells((rs) => seconds(Math.max(...rs.map((r) => r.beyondMs)), 2)),
      `≤ ${seconds(TARGETS.beyondCriticalPathMs)}`,
      met(worst((r) => r.beyondMs) <= TARGETS.beyondCriticalPathMs, all.length),
    ),
    row(
      '… of which: start → build started (median)',
      ...cells((rs) => seconds(median(rs.map((r) => r.beforeBuildMs)), 2)),
      '',
      '',
    ),
    row(
      '… of which: ECS finished → workflow closed (median)',
      ...cells((rs) => seconds(median(rs.map((r) => r.afterRolloutMs)), 2)),
      '',
      '',
    ),
    row(
      '**detection latency** p50 / p95 / max',
      ...cells((_, i) => formatSummary(detections[i] ?? summarize([]), (x) => seconds(x, 2))),
      `p95 ≤ ${seconds(TARGETS.detectionP95Ms)} at every length`,
      met(
        detections.every((d) => d.n === 0 || d.p95 <= TARGETS.detectionP95Ms),
        all.length,
      ),
    ),
    row(
      'ECS reads per second while waiting (worst)',
      ...cells((rs) => Math.max(...rs.map((r) => r.waitReadsPerSecond)).toFixed(2)),
      `≤ ${TARGETS.readsPerSecondWaiting}`,
      met(worst((r) => r.waitReadsPerSecond) <= TARGETS.readsPerSecondWaiting, all.length),
    ),
    row(
      '**history events per deploy** (worst)',
      ...cells((rs) => String(Math.max(...rs.map((r) => r.events)))),
      `≤ ${TARGETS.eventsPerDeploy}`,
      met(worst((r) => r.events) <= TARGETS.eventsPerDeploy, all.length),
    ),
    row('workflow tasks per deploy (median)', ...cells((rs) => String(median(rs.map((r) => r.workflowTasks)))), '', ''),
    row(
      'seed-style sequential script (median)',
      ...byLength.map((b) => (b.seed.length ? seconds(median(b.seed)) : '-')),
      '',
      '',
    ),
    row(
      'tuned sequential script (median)',
      ...byLength.map((b) => (b.tuned.length ? seconds(median(b.tuned)) : '-')),
      '',
      '',
    ),
    row(
      'workflow / seed-style script',
      ...byLength.map((b) => ratio(median(b.runs.map((r) => r.e2eMs)), median(b.seed))),
      '',
      '',
    ),
    row(
      'workflow / tuned script (what durability costs)',
      ...byLength.map((b) => ratio(median(b.runs.map((r) => r.e2eMs)), median(b.tuned))),
      '',
      '',
    ),
    row(
      'ThrottlingException answered to the worker',
      String(results.throttled),
      ...lengths.slice(1).map(() => ''),
      '0',
      met(results.throttled === 0),
    ),
    row(
      're-run of a deployed SHA',
      `${seconds(results.rerun.ms)} (${results.rerun.alreadyLive ? 'reported live' : 'NOT reported live'})`,
      ...lengths.slice(1).map(() => ''),
      'no build',
      met(results.rerun.alreadyLive),
    ),
  ];
  return lines;
}

export function scaleTable(rows: ScaleRow[]): string[] {
  const lines = [
    row(
      'server',
      'N',
      'wall',
      'deploys/min',
      'ECS reads/s (peak in 1 s)',
      'throttled',
      'worker peak RSS (while running)',
      'detection p50 / p95 / max',
      'workflow tasks per deploy',
      'events per deploy',
      'succeeded',
      'targets',
    ),
    row(...Array.from({ length: 12 }, () => '---')),
  ];
  for (const r of rows) {
    lines.push(
      row(
        r.server,
        String(r.n),
        seconds(r.wallMs),
        ((r.n / r.wallMs) * 60_000).toFixed(0),
        `${r.readsPerSecond.toFixed(1)} (${r.peakReadsInOneSecond})`,
        String(r.throttled),
        `${Math.round(r.peakRssMiB)} MiB (${Math.round(r.runningPeakRssMiB)} MiB)`,
        formatSummary(r.detection, (x) => seconds(x, 2)),
        r.workflowTasksPerDeploy.toFixed(1),
        r.eventsPerDeploy.toFixed(0),
        `${r.statuses.succeeded ?? 0}/${r.n}`,
        scaleMisses(r),
      ),
    );
  }
  return lines;
}

/** Which of the scale targets a row missed, or "all met". */
export function scaleMisses(r: ScaleRow): string {
  const misses: string[] = [];
  if (r.detection.n === 0 || r.detection.p95 > TARGETS.scaleDetectionP95Ms) misses.push('detection p95 > 5 s');
  if (r.throttled > 0) misses.push('throttled');
  if (r.peakRssMiB > TARGETS.scalePeakRssMiB) misses.push('RSS > 512 MiB');
  if ((r.statuses.succeeded ?? 0) !== r.n) misses.push('deploys missing or not succeeded');
  return misses.length ? `NOT MET: ${misses.join(', ')}` : 'all met';
}
