/** How people and other deploys steer a running deploy: approve, cancel, supersede, and the progress query. */
import { log, setHandler, workflowInfo, type CancellationScope } from '@temporalio/workflow';
import { errorMessage } from '../shared/errors.js';
import { validatePerson, validateSha, validateWorkflowId } from '../shared/validate.js';
import { Approvals } from './approval.js';
import {
  approveSignal,
  approveUpdate,
  cancelSignal,
  leaseSignal,
  predecessorDoneSignal,
  progressQuery,
  rejectSignal,
  rejectUpdate,
  supersedeSignal,
  type ApproveRequest,
} from './messages.js';
import type { DeployState } from './state.js';

export interface EndRequest {
  kind: 'cancelled' | 'superseded';
  by: string;
  reason: string;
  at: string;
}

export class Controls {
  /** Why the deploy was stopped from outside, when it was. */
  ended: EndRequest | undefined;
  /** Newer deploys of the same service to tell once this one has let go of it. */
  readonly successors = new Set<string>();
  /** Older deploys of the same service that still hold it. */
  readonly predecessors = new Set<string>();
  /** The service's queue said no other deploy holds the service. */
  leaseGranted = false;
  /** Set once the deploy is settling: from then on nothing can change how it ends. */
  private closed = false;
  /** Who may approve, and the approvals given. */
  readonly approvals: Approvals;

  constructor(
    private readonly state: DeployState,
    private readonly scope: CancellationScope,
  ) {
    this.approvals = new Approvals(state, () =>
      this.closed || this.ended
        ? `deploy ${workflowInfo().workflowId} is ending (${this.ended?.kind ?? state.status}); nothing to approve`
        : undefined,
    );
    state.howToApprove = () => this.approvals.howTo();
    setHandler(progressQuery, () => state.progress());
    // A refused approve signal is logged and ignored. Thrown, a Temporal failure (ApplicationFailure, ActivityFailure)
    // would fail the whole deploy, and any other error its workflow task on every replay.
    setHandler(approveSignal, async (req) => {
      try {
        await this.approvals.approve(req, 'signal');
      } catch (err) {
        log.warn(`approve signal ignored: ${errorMessage(err)}`);
      }
    });
    // The update answers: its validator refuses without a trace in history; a token refused after verification
    // fails the update (ApplicationFailure), never the workflow.
    setHandler(approveUpdate, (req: ApproveRequest) => this.approvals.approve(req, 'update'), {
      validator: (req: ApproveRequest) => {
        const refusal = this.approvals.refusal(req, 'update');
        if (refusal) throw new Error(refusal);
      },
    });
    setHandler(rejectSignal, async (req) => {
      try {
        await this.approvals.approve(req, 'signal', 'reject');
      } catch (err) {
        log.warn(`reject signal ignored: ${errorMessage(err)}`);
      }
    });
    setHandler(rejectUpdate, (req: ApproveRequest) => this.approvals.approve(req, 'update', 'reject'), {
      validator: (req: ApproveRequest) => {
        const refusal = this.approvals.refusal(req, 'update', 'reject');
        if (refusal) throw new Error(refusal);
      },
    });
    // A cancel says who and why, for the record: one that does not is logged and ignored (Temporal's own
    // cancellation, from the UI or the CLI, is always there and needs no body).
    setHandler(cancelSignal, (req) => {
      const by = safeName(req?.by);
      const reason = typeof req?.reason === 'string' ? req.reason.trim().slice(0, 500) : '';
      if (by === undefined || !reason) {
        log.warn('cancel signal ignored: it needs {"by": "<name>", "reason": "<why>"}');
        return;
      }
      this.stop({ kind: 'cancelled', by, reason, at: new Date().toISOString() });
    });
    // Signals come from anyone who can signal the namespace: a malformed one is logged and ignored, never thrown,
    // since a throwing handler fails the workflow task on every replay and wedges the deploy.
    setHandler(supersedeSignal, (req) => {
      const by = valid(() => validateWorkflowId(req?.by, 'by'));
      const sha = valid(() => validateSha(req?.sha));
      if (by === undefined || sha === undefined) {
        log.warn('supersede signal ignored: it needs {"by": "<workflow id>", "sha": "<40-hex sha>"}');
        return;
      }
      if (!state.input.queue) this.successors.add(by);
      this.stop({ kind: 'superseded', by, reason: `superseded by ${sha.slice(0, 12)}`, at: new Date().toISOString() });
    });
    setHandler(predecessorDoneSignal, (req) => {
      const id = valid(() => validateWorkflowId(req?.workflowId, 'workflowId'));
      if (id === undefined) log.warn('predecessorDone signal ignored: it needs {"workflowId": "<workflow id>"}');
      else this.predecessors.delete(id);
    });
    setHandler(leaseSignal, (req) => {
      if (req?.queue !== undefined && req.queue === state.input.queue?.workflowId) this.leaseGranted = true;
      else log.warn("lease signal ignored: it does not come from this deploy's queue");
    });
  }

  /** Ends the deploy early: the pipeline's scope is cancelled and settling compensates. The first request wins. */
  stop(request: EndRequest): void {
    if (this.closed) {
      log.info(`deploy is already ending; ignored ${request.kind} by ${request.by}`);
      return;
    }
    this.ended ??= request;
    log.info(`deploy ${request.kind} by ${request.by}: ${request.reason}`);
    this.scope.cancel();
  }

  /** Called when settling starts: a late cancel or supersede must not turn a success into something else. */
  close(): void {
    this.closed = true;
  }
}

function safeName(value: unknown): string | undefined {
  return valid(() => validatePerson(value, 'by'));
}

function valid<T>(check: () => T): T | undefined {
  try {
    return check();
  } catch {
    return undefined;
  }
}
