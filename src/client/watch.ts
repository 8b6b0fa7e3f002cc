/** Following a deploy while it runs: one line per change of state, nothing when nothing changed. */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { milestone, rolloutPhase } from '../shared/rollout.js';
import type { DeployProgress, DeployResult, RolloutSnapshot } from '../shared/types.js';
import { progressQuery } from '../workflows/messages.js';
import type { deploy } from '../workflows/deploy.js';

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
    const steps = p.rolloutSteps ?? [];
    for (const r of steps.slice(this.stepsShown)) this.printRollout(where, r);
    this.stepsShown = Math.max(this.stepsShown, steps.length);
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

export function fmtMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The newest reading of a rollout being followed: the watching activity's last heartbeat. The workflow's own record
 * moves only at milestones (stage, traffic, final state), so task counts between them come from here.
 */
export async function liveRollout(handle: WorkflowHandle): Promise<RolloutSnapshot | undefined> {
  const described = await handle.describe();
  const pending = described.raw.pendingActivities?.find((a) => a.activityType?.name === 'watchRollout');
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (!payload) return undefined;
  const value = defaultPayloadConverter.fromPayload<RolloutSnapshot>(payload);
  return typeof value?.state === 'string' ? value : undefined;
}

/** Waits for the result, printing progress every interval. Survives a server restart: queries are retried. */
export async function waitWithProgress(opts: {
  handle: WorkflowHandle<typeof deploy>;
  print?: (line: string) => void;
  intervalMs?: number;
}): Promise<DeployResult> {
  const printer = opts.print ? new ProgressPrinter(opts.print) : undefined;
  let finished = false;
  const resultPromise = opts.handle.result().finally(() => {
    finished = true;
  });
  const poll = async (): Promise<void> => {
    while (!finished) {
      if (printer) {
        try {
          const progress = await opts.handle.query(progressQuery);
          const live = progress.rollout ? await liveRollout(opts.handle) : undefined;
          // Counts from the heartbeat only while it speaks of the same milestone as the record, never an older one.
          const fresh = live && progress.rollout && milestone(live) === milestone(progress.rollout);
          printer.update(fresh ? { ...progress, rollout: live } : progress);
        } catch {
          // The server or the worker may be restarting; the next reading will catch up.
        }
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
    }
  };
  const [result] = await Promise.all([resultPromise, poll()]);
  printer?.update({
    status: result.status,
    sha: result.sha,
    service: result.service,
    cluster: result.cluster,
    stages: result.stages,
    approval: result.approval ?? { required: false, state: 'not_required' },
  });
  return result;
}
