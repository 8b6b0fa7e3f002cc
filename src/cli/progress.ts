/** Progress for people: one line per change of state, prefixed with cluster/service; nothing when nothing changed. */
import { rolloutPhase } from '../shared/rollout.js';
import type { DeployProgress, RolloutSnapshot } from '../shared/types.js';

export function fmtMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Turns successive progress readings into the lines a person wants to see. Keeps what it printed last. */
export class ProgressPrinter {
  private readonly seen = new Map<string, string>();
  private lastRollout = '';
  private stepsShown = 0;
  private lastStatus = '';

  constructor(private readonly print: (line: string) => void) {}

  update(p: DeployProgress): void {
    const where = `${p.cluster}/${p.service}`;
    for (const s of p.stages) {
      const key = `${s.name}@${s.startedAt}`;
      const text =
        s.status === 'running'
          ? 'started'
          : `${s.status}${s.durationMs !== undefined ? ` in ${fmtMs(s.durationMs)}` : ''}`;
      if (this.seen.get(key) === text) continue;
      this.seen.set(key, text);
      this.print(`${where} ${s.name}: ${text}${s.detail ? ` (${s.detail})` : ''}`);
    }
    if (p.status !== this.lastStatus && p.status === 'awaiting_approval') {
      const diff = p.approval.diff?.length ? `; changes: ${p.approval.diff.join('; ')}` : '';
      this.print(`${where} awaiting approval${p.imageRef ? ` of ${p.imageRef}` : ''}${diff}`);
    }
    this.lastStatus = p.status;
    // Every milestone the deploy recorded, even those that came and went between two readings, then the latest.
    // The record keeps the latest milestones only: count them from the total, so none is skipped or repeated.
    const steps = p.rolloutSteps ?? [];
    const total = p.rolloutStepsTotal ?? steps.length;
    const first = total - steps.length;
    steps.forEach((r, i) => {
      if (first + i >= this.stepsShown) this.printRollout(where, r);
    });
    this.stepsShown = Math.max(this.stepsShown, total);
    if (p.rollout) this.printRollout(where, p.rollout);
  }

  private printRollout(where: string, r: RolloutSnapshot): void {
    const phase = rolloutPhase(r);
    const line = `${where} rollout: ${r.rolloutState ?? r.state}${phase ? ` ${phase}` : ''} running ${r.running}/${r.desired} pending ${r.pending} failed ${r.failedTasks}`;
    if (line !== this.lastRollout) {
      this.lastRollout = line;
      this.print(line);
    }
  }
}
