/**
 * What a service's queue remembers of finished deploys: which images were tested (so a later deploy of the SHA can
 * reuse them) and which deploys were good (so a rollback knows where to go). Pure, newest first, bounded.
 */
import type { DeployResult, ReuseHint, RollbackSource } from '../shared/types.js';
import type { LedgerEntry } from './messages.js';

/** Enough history for any rollback a person would ask for, small enough to carry through continue-as-new. */
export const LEDGER_LIMIT = 50;

export class Ledger {
  constructor(readonly entries: LedgerEntry[] = []) {}

  record(entry: LedgerEntry): void {
    this.entries.unshift(entry);
    this.entries.sort((a, b) => b.seq - a.seq);
    this.entries.splice(LEDGER_LIMIT);
  }

  /** A rollback that succeeded makes every deploy between its target and itself a bad one. */
  markRolledBack(fromSeq: number, toSeq: number): void {
    for (const e of this.entries) if (e.seq > fromSeq && e.seq < toSeq) e.rolledBack = true;
  }

  /** The newest tested image of `sha`, with the revision a deploy registered for it. */
  reuseFor(sha: string): ReuseHint | undefined {
    const tested = this.entries.find((e) => e.sha === sha && e.binarySha256 && e.imageDigest && e.imageRef);
    if (!tested?.binarySha256 || !tested.imageDigest || !tested.imageRef) return undefined;
    const hint: ReuseHint = {
      fromWorkflowId: tested.workflowId,
      imageRef: tested.imageRef,
      imageDigest: tested.imageDigest,
      binarySha256: tested.binarySha256,
    };
    if (tested.recipe) hint.recipe = tested.recipe;
    const revision = this.entries.find((e) => e.sha === sha && e.status === 'succeeded' && e.taskDefinitionArn);
    if (revision?.taskDefinitionArn) hint.taskDefinitionArn = revision.taskDefinitionArn;
    return hint;
  }

  /**
   * Where a rollback goes, with the entry it goes to. `toSha`: the newest successful deploy of that SHA. Otherwise the
   * last known-good deploy: the newest success before the current one, of another SHA, not itself rolled back from.
   * Returns a refusal that says what to do when there is none.
   */
  rollbackTarget(toSha?: string): { entry: LedgerEntry; source: RollbackSource } | { refusal: string } {
    const succeeded = this.entries.filter((e) => e.status === 'succeeded' && e.taskDefinitionArn);
    const current = succeeded[0];
    let entry: LedgerEntry | undefined;
    if (toSha) {
      entry = succeeded.find((e) => e.sha === toSha);
      if (!entry) {
        return {
          refusal: `no successful deploy of ${toSha.slice(0, 12)} is recorded for this service; deploy it with deployctl deploy --sha ${toSha} (its image is reused when it can be)`,
        };
      }
    } else {
      if (!current) return { refusal: 'no successful deploy is recorded for this service yet; deploy a SHA first' };
      entry = succeeded.find(
        (e) =>
          e.seq < current.seq &&
          !e.rolledBack &&
          e.sha !== current.sha &&
          e.taskDefinitionArn !== current.taskDefinitionArn,
      );
      if (!entry) {
        return {
          refusal: `no known-good deploy before ${current.sha.slice(0, 12)} is recorded for this service; name one with --to <sha>, or deploy a SHA`,
        };
      }
    }
    const source: RollbackSource = {
      fromWorkflowId: entry.workflowId,
      taskDefinitionArn: entry.taskDefinitionArn ?? '',
    };
    if (entry.imageRef) source.imageRef = entry.imageRef;
    if (entry.imageDigest) source.imageDigest = entry.imageDigest;
    return { entry, source };
  }
}

/** The ledger's record of a finished deploy. */
export function entryOf(
  started: { workflowId: string; seq: number; kind: 'deploy' | 'rollback'; sha: string; requestedBy?: string },
  result: DeployResult | undefined,
  failure: string | undefined,
  endedAt: string,
): LedgerEntry {
  const entry: LedgerEntry = {
    workflowId: started.workflowId,
    seq: started.seq,
    kind: started.kind,
    sha: started.sha,
    status: result?.status ?? `workflow failed: ${failure ?? 'unknown'}`.slice(0, 300),
    endedAt,
  };
  if (started.requestedBy) entry.requestedBy = started.requestedBy;
  if (!result) return entry;
  if (result.approval?.state === 'approved' && result.approval.by) entry.approvedBy = result.approval.by;
  if (result.taskDefinitionArn) entry.taskDefinitionArn = result.taskDefinitionArn;
  if (result.imageRef) entry.imageRef = result.imageRef;
  if (result.imageDigest) entry.imageDigest = result.imageDigest;
  if (result.binarySha256) entry.binarySha256 = result.binarySha256;
  if (result.recipe) entry.recipe = result.recipe;
  return entry;
}
