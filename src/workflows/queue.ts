/**
 * The service's queue: one long-lived workflow per (region, cluster, service) that orders its deploys durably.
 * Requests arrive as the `request` update (the client sends it with update-with-start, so the first request creates
 * the queue); the queue handles them one at a time, in the order the server accepted them. The newest request wins:
 * it starts a deploy as a child workflow and every older deploy still running is told to stand down. Only one deploy
 * at a time holds the lease that lets it update the service: the newest, once every older one has ended.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  defineSearchAttributeKey,
  SearchAttributeType,
} from '@temporalio/common';
import {
  ApplicationFailure,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setHandler,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { ErrorType, errorMessage } from '../shared/errors.js';
import { SEARCH_ATTRIBUTES, deployWorkflowId } from '../shared/names.js';
import type { DeployInput, DeployResult } from '../shared/types.js';
import { validateDeployInput, validateSha, validateTarget } from '../shared/validate.js';
import { deploy } from './deploy.js';
import { Ledger, entryOf } from './ledger.js';
import {
  deployEndedSignal,
  leaseSignal,
  queueQuery,
  requestUpdate,
  supersedeSignal,
  type LedgerEntry,
  type QueueAnswer,
  type QueueRequest,
  type QueueView,
} from './messages.js';

export interface QueueInput {
  region: string;
  cluster: string;
  service: string;
  /** What a previous run of the queue handed over through continue-as-new. */
  carried?: { seq: number; ledger: LedgerEntry[] };
}

interface Running {
  workflowId: string;
  runId: string;
  seq: number;
  kind: 'deploy' | 'rollback';
  sha: string;
  handle: ChildWorkflowHandle<typeof deploy>;
  /** For a rollback: the seq of the deploy it goes back to. */
  rollbackToSeq?: number;
  /** Image mode: the digest it deploys. */
  imageDigest?: string;
  requestedBy?: string;
  superseded: boolean;
}

const saService = defineSearchAttributeKey(SEARCH_ATTRIBUTES.service, SearchAttributeType.KEYWORD);
const saSha = defineSearchAttributeKey(SEARCH_ATTRIBUTES.sha, SearchAttributeType.KEYWORD);

/** A quiet queue starts afresh (continue-as-new) once its history grows past this many events. */
const HISTORY_LIMIT = 5_000;

export async function serviceQueue(input: QueueInput): Promise<void> {
  const me = workflowInfo().workflowId;
  const where = `${input.cluster}/${input.service}`;
  const ledger = new Ledger(input.carried?.ledger ?? []);
  let seq = input.carried?.seq ?? 0;
  const running = new Map<string, Running>();
  let leaseHolder: string | undefined;
  // Handlers interleave at every await: one request at a time keeps "newest" meaning "accepted last".
  let busy = false;

  const newest = (): Running | undefined => [...running.values()].sort((a, b) => b.seq - a.seq)[0];

  /** The newest deploy holds the lease once it is the only one left. */
  const grant = async (): Promise<void> => {
    const next = newest();
    if (!next || running.size !== 1 || leaseHolder === next.workflowId) return;
    leaseHolder = next.workflowId;
    try {
      await next.handle.signal(leaseSignal, { queue: me });
    } catch (err) {
      log.warn(`could not grant ${next.workflowId} the lease: ${errorMessage(err)}`);
    }
  };

  const follow = (r: Running): void => {
    r.handle.result().then(
      (result) => void ended(r, result, undefined),
      (err: unknown) => void ended(r, undefined, errorMessage(err)),
    );
  };

  const ended = async (r: Running, result: DeployResult | undefined, failure: string | undefined): Promise<void> => {
    // Told twice (the deploy's signal, then its result): the first one counts.
    if (!running.delete(r.workflowId)) return;
    if (leaseHolder === r.workflowId) leaseHolder = undefined;
    ledger.record(entryOf(r, result, failure, new Date().toISOString()));
    if (r.kind === 'rollback' && r.rollbackToSeq !== undefined && result?.status === 'succeeded') {
      ledger.markRolledBack(r.rollbackToSeq, r.seq);
    }
    await grant();
  };

  const handleRequest = async (req: QueueRequest): Promise<QueueAnswer> => {
    const latest = newest();
    if (
      req.kind === 'deploy' &&
      latest &&
      latest.kind === 'deploy' &&
      latest.sha === req.sha &&
      latest.imageDigest === req.imageDigest &&
      !latest.superseded
    ) {
      return { workflowId: latest.workflowId, runId: latest.runId, mode: 'attached', seq: latest.seq, superseding: [] };
    }
    const planned = plan(req, ledger);
    if ('refusal' in planned) throw ApplicationFailure.nonRetryable(planned.refusal, ErrorType.invalidInput);
    const requestedAt = new Date().toISOString();
    let started: { handle: ChildWorkflowHandle<typeof deploy>; workflowId: string; seq: number } | undefined;
    while (!started) {
      seq += 1;
      const mine = seq;
      const workflowId = deployWorkflowId(input.cluster, input.service, planned.sha, mine);
      const args: DeployInput = { ...planned.input, queue: { workflowId: me, seq: mine, requestedAt } };
      try {
        const handle = await startChild(deploy, {
          workflowId,
          args: [args],
          // The deploys outlive a queue that is terminated or starts afresh: they are the work.
          parentClosePolicy: ParentClosePolicy.ABANDON,
          cancellationType: ChildWorkflowCancellationType.ABANDON,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          typedSearchAttributes: [
            { key: saService, value: where },
            { key: saSha, value: planned.sha },
          ],
          staticSummary: `${req.kind === 'rollback' ? 'Roll back' : 'Deploy'} ${planned.sha.slice(0, 7)} to ${where}`,
          staticDetails: staticDetails(args, req),
        });
        started = { handle, workflowId, seq: mine };
      } catch (err) {
        // A queue that started afresh counts from zero again: skip ids its predecessors used.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
    const entry: Running = {
      workflowId: started.workflowId,
      runId: started.handle.firstExecutionRunId,
      seq: started.seq,
      kind: req.kind,
      sha: planned.sha,
      handle: started.handle,
      superseded: false,
    };
    if (planned.rollbackToSeq !== undefined) entry.rollbackToSeq = planned.rollbackToSeq;
    if (planned.input.imageDigest) entry.imageDigest = planned.input.imageDigest;
    if (planned.input.requestedBy) entry.requestedBy = planned.input.requestedBy;
    const older = [...running.values()];
    running.set(entry.workflowId, entry);
    follow(entry);
    for (const other of older) {
      other.superseded = true;
      try {
        await other.handle.signal(supersedeSignal, { by: entry.workflowId, sha: planned.sha });
      } catch (err) {
        log.info(`deploy ${other.workflowId} did not take the supersede signal (finished?): ${errorMessage(err)}`);
      }
    }
    await grant();
    return {
      workflowId: entry.workflowId,
      runId: entry.runId,
      mode: 'started',
      seq: entry.seq,
      superseding: older.map((o) => o.workflowId),
    };
  };

  setHandler(
    requestUpdate,
    async (req: QueueRequest): Promise<QueueAnswer> => {
      // Take the lock in the same turn as the check: several handlers may wake in one activation.
      while (busy) await condition(() => !busy);
      busy = true;
      try {
        return await handleRequest(req);
      } finally {
        busy = false;
      }
    },
    {
      validator: (req: QueueRequest) => {
        // Refused here, a request leaves no trace in the queue's history.
        const target = validateTarget(req?.target);
        if (target.region !== input.region || target.cluster !== input.cluster || target.service !== input.service) {
          throw new Error(
            `this queue orders ${input.region}/${where}; the request is for ${target.region}/${target.cluster}/${target.service}`,
          );
        }
        const planned = plan(req, ledger);
        if ('refusal' in planned) throw new Error(planned.refusal);
      },
    },
  );

  setHandler(deployEndedSignal, (result) => {
    const r = typeof result?.workflowId === 'string' ? running.get(result.workflowId) : undefined;
    if (r && typeof result.status === 'string') void ended(r, result, undefined);
  });

  setHandler(
    queueQuery,
    (): QueueView => ({
      service: where,
      seq,
      running: [...running.values()].map((r) => ({
        workflowId: r.workflowId,
        sha: r.sha,
        seq: r.seq,
        kind: r.kind,
        holdsLease: leaseHolder === r.workflowId,
        ...(r.requestedBy ? { requestedBy: r.requestedBy } : {}),
      })),
      ledger: ledger.entries,
    }),
  );

  // Idle for good: the queue waits for requests. It starts afresh only when nothing runs, so no child is lost.
  await condition(() => running.size === 0 && workflowInfo().historyLength > HISTORY_LIMIT && allHandlersFinished());
  await continueAsNew<typeof serviceQueue>({ ...input, carried: { seq, ledger: ledger.entries } });
}

/** What a request becomes: the deploy's input, or why it is refused. Pure, so the validator and the handler agree. */
function plan(
  req: QueueRequest,
  ledger: Ledger,
): { sha: string; input: DeployInput; rollbackToSeq?: number } | { refusal: string } {
  const common = {
    target: req.target,
    ...(req.options ? { options: req.options } : {}),
    ...(req.requestedBy ? { requestedBy: req.requestedBy } : {}),
    ...(req.requesterToken ? { requesterToken: req.requesterToken } : {}),
  };
  if (req.kind === 'rollback') {
    if (req.toSha !== undefined) validateSha(req.toSha, 'toSha');
    const found = ledger.rollbackTarget(req.toSha);
    if ('refusal' in found) return found;
    const input = validateDeployInput({ ...common, sha: found.entry.sha, rollbackTo: found.source });
    return { sha: found.entry.sha, input, rollbackToSeq: found.entry.seq };
  }
  if (req.kind !== 'deploy')
    return { refusal: `unknown request kind ${JSON.stringify((req as { kind?: unknown }).kind)}` };
  if (req.imageDigest !== undefined) {
    // Image mode builds nothing, so nothing built before is reused.
    return { sha: req.sha, input: validateDeployInput({ ...common, sha: req.sha, imageDigest: req.imageDigest }) };
  }
  const reuse = ledger.reuseFor(req.sha);
  const input = validateDeployInput({ ...common, sha: req.sha, ...(reuse ? { reuse } : {}) });
  return { sha: req.sha, input };
}

function staticDetails(input: DeployInput, req: QueueRequest): string {
  const lines = [
    `sha: \`${input.sha}\``,
    `image: ${input.target.repository}${input.imageDigest ? `@${input.imageDigest} (built elsewhere)` : `:${input.sha}`}`,
    `container: ${input.target.containerName}`,
    `task definition: ${input.target.taskDefinitionPath ?? "the service's current one"}`,
    ...(input.target.recipePath ? [`recipe: ${input.target.recipePath}`] : []),
    `requested by: ${req.requestedBy ?? 'unknown'}`,
  ];
  if (input.rollbackTo)
    lines.push(`rollback to: ${input.rollbackTo.taskDefinitionArn} (${input.rollbackTo.fromWorkflowId})`);
  if (input.reuse) lines.push(`may reuse the image of: ${input.reuse.fromWorkflowId}`);
  return lines.map((line) => `- ${line}`).join('\n');
}
