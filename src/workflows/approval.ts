/**
 * The approval gate. Whose approval a deploy needs comes from the worker's policy, read by an activity when the
 * deploy starts (so replays see the same answer), with the request on top as a stricter overlay. Who approves is
 * proven by an OIDC ID token that an activity verifies (or, for a service in namespace mode, given as a name, and
 * recorded as unverified). An approval counts only while the deploy waits at an approval point, once the diff is
 * known, from an allowed identity that is not the requester's. Deploys started before the policy existed (no
 * APPROVAL_PATCH marker in their history) keep the rules they started with, so their histories replay.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  condition,
  log,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import { overlayApproval, type ApprovalRules } from '../shared/approval.js';
import { ErrorType, errorMessage } from '../shared/errors.js';
import type {
  ApprovalDecision,
  ApprovalPoint,
  ApprovalView,
  IdentityCheck,
  Party,
  Proof,
  RolloutSnapshot,
} from '../shared/types.js';
import { validatePerson, validateToken } from '../shared/validate.js';
import { aws, identity } from './activities.js';
import type { Controls } from './controls.js';
import { formatDuration } from './gates.js';
import type { ApproveRequest } from './messages.js';
import { DEFAULTS } from './common.js';
import type { DeployState } from './state.js';

/** Marks deploys that read the worker's approval policy; histories without it replay on their old rules. */
export const APPROVAL_PATCH = 'approval-policy';
/** Who ends a deploy whose approval never came. */
export const APPROVAL_TIMEOUT = 'approval timeout';
/** The failure type of a refused approve update. */
export const APPROVAL_REFUSED = 'ApprovalRefused';

type Channel = 'signal' | 'update';
type Decision = 'approve' | 'reject';

export class Approvals {
  /** Undefined for a deploy started before the policy: its input's options are its rules. */
  private rules: ApprovalRules | undefined;
  private requester: Party | undefined;
  /** Set while the deploy waits at an approval point; approvals count only then. */
  private waiting: { point: ApprovalPoint; since: string } | undefined;

  constructor(
    private readonly state: DeployState,
    /** Why the deploy takes no more decisions (finished or ending), or undefined while it does. */
    private readonly ending: () => string | undefined,
  ) {}

  /** The rules from the policy and the request, and who asked (verified, or as the request named itself). */
  adopt(rules: ApprovalRules, requester: Party | undefined): void {
    this.rules = rules;
    this.requester = requester;
    const view: ApprovalView = {
      required: rules.required,
      state: rules.required ? 'pending' : 'not_required',
      mode: rules.mode,
      timeoutMs: rules.timeoutMs,
    };
    if (rules.requiredBy) view.requiredBy = rules.requiredBy;
    if (rules.approvers) view.approvers = rules.approvers;
    if (requester) view.requester = requester;
    this.state.approval = view;
    this.state.publish();
  }

  timeoutMs(): number {
    if (this.rules) return this.rules.timeoutMs;
    return this.state.input.options?.approvalTimeoutMs ?? DEFAULTS.approvalTimeoutMs;
  }

  /** How to approve, for the UI's current details. */
  howTo(): string {
    if (this.rules?.mode === 'verified')
      return 'send the `approve` signal `{"token": "<OIDC ID token>", "comment": "..."}` (or `deployctl approve`)';
    return 'send the `approve` signal `{"by": "you"}`';
  }

  open(point: ApprovalPoint): void {
    this.waiting = { point, since: new Date().toISOString() };
    if (this.rules) this.state.approval.point = point;
  }

  close(): void {
    this.waiting = undefined;
  }

  /** The checks that need no activity: the update's validator refuses with them, a signal is ignored. */
  refusal(req: unknown, channel: Channel, decision: Decision = 'approve'): string | undefined {
    if (!this.rules) return this.legacyRefusal(req, channel === 'update');
    const r = typeof req === 'object' && req !== null && !Array.isArray(req) ? (req as Record<string, unknown>) : {};
    const stateRefusal = this.stateRefusal();
    if (stateRefusal) return stateRefusal;
    if (r.comment !== undefined && typeof r.comment !== 'string') return 'approve: "comment" must be a string';
    if (this.rules.mode === 'namespace') {
      const by = safeName(r.by);
      if (by === undefined) return `${decision} needs "by": the approver's name (this service takes approvals by name)`;
      return this.whoRefusal(by, decision);
    }
    if (r.token === undefined) {
      const byOnly =
        r.by !== undefined ? '; "by" alone counts only for services whose policy takes approvals by name' : '';
      return `deploy ${id()} takes approvals by OIDC ID token: send {"token": "<ID token>", "comment": "..."}${byOnly}`;
    }
    try {
      validateToken(r.token, 'token');
    } catch (err) {
      return `approve: ${errorMessage(err)}`;
    }
    return undefined;
  }

  /**
   * Approves (or rejects), or throws ApplicationFailure(ApprovalRefused) saying why not. A token is verified by an
   * activity. Rejecting needs the same proof and allow-list, but not four eyes: requesters may stop their own deploy.
   */
  async approve(req: ApproveRequest, channel: Channel, decision: Decision = 'approve'): Promise<ApprovalView> {
    const first = this.refusal(req, channel, decision);
    if (first) throw refused(first);
    const comment = typeof req.comment === 'string' ? req.comment.trim().slice(0, 500) : undefined;
    if (!this.rules) return this.record(req.by ?? '', undefined, comment, decision);
    if (this.rules.mode === 'namespace') return this.record(safeName(req.by) ?? '', 'unverified', comment, decision);

    const since = this.waiting?.since ?? new Date().toISOString();
    let check: IdentityCheck;
    try {
      check = await identity.verifyIdentity.executeWithOptions({ summary: "verify the approver's ID token" }, [
        {
          token: req.token ?? '',
          role: 'approver',
          requireClaims: this.rules.approverClaims,
          at: new Date().toISOString(),
          issuedAfter: since,
        },
      ]);
    } catch (err) {
      throw refused(`could not verify the token: ${causeMessage(err)}; try again`);
    }
    if (!check.ok) throw refused(`the token was refused: ${check.reason}`);
    // The deploy may have moved on while the token was checked: decided, timed out, cancelled.
    const late = this.refusal(req, channel, decision) ?? this.whoRefusal(check.identity, decision);
    if (late) throw refused(late);
    return this.record(check.identity, 'verified', comment, decision);
  }

  /**
   * A PAUSE lifecycle hook awaits an answer: a person decides here, whatever the policy said before the update, with
   * the policy's approvers and proof. An earlier decision (an earlier step of a linear rollout) is kept in the list.
   */
  openHook(hook: NonNullable<ApprovalView['hook']>): void {
    const approval = this.state.approval;
    if (approval.state === 'approved' || approval.state === 'rejected' || approval.state === 'timed_out') {
      this.remember();
    }
    if (this.rules) this.rules = { ...this.rules, required: true };
    approval.required = true;
    approval.state = 'pending';
    approval.hook = hook;
    delete approval.by;
    delete approval.at;
    delete approval.comment;
    delete approval.proof;
    this.open('lifecycle_hook');
  }

  /** The hook expired before anyone answered: ECS applies its own timeout action. */
  expire(reason: string): void {
    const approval = this.state.approval;
    approval.state = 'timed_out';
    approval.at = new Date().toISOString();
    approval.comment = reason;
    this.state.publish();
  }

  /** Files the current decision under decisions[], once a second point opens or the deploy ends. */
  remember(): void {
    const a = this.state.approval;
    if (a.state !== 'approved' && a.state !== 'rejected' && a.state !== 'timed_out') return;
    const decision: ApprovalDecision = {
      point: a.point ?? 'before_update',
      state: a.state,
      at: a.at ?? new Date().toISOString(),
    };
    if (a.hook?.stage) decision.stage = a.hook.stage;
    if (a.by) decision.by = a.by;
    if (a.proof) decision.proof = a.proof;
    if (a.comment) decision.comment = a.comment;
    a.decisions = [...(a.decisions ?? []), decision];
  }

  private stateRefusal(): string | undefined {
    const { approval, status, result } = this.state;
    if (result) return `deploy ${id()} has finished (${result.status}); nothing to approve`;
    const ending = this.ending();
    if (ending) return ending;
    if (!approval.required) return `deploy ${id()} does not require approval`;
    if (approval.state !== 'pending') return `deploy ${id()} was already ${approval.state}`;
    if (!this.waiting)
      return `deploy ${id()} is not waiting for approval yet (status ${status}); an approval counts only once the deploy waits for it, with the diff known`;
    return undefined;
  }

  /** The allow-list, and four eyes: the verified requester never approves their own deploy. */
  private whoRefusal(who: string, decision: Decision = 'approve'): string | undefined {
    const allowed = this.rules?.approvers;
    if (allowed && !allowed.includes(who))
      return `approver "${who}" is not allowed to ${decision} ${id()}; allowed: ${allowed.join(', ')}`;
    if (decision === 'approve' && this.requester?.proof === 'verified' && this.requester.id === who)
      return `approver "${who}" requested ${id()} and cannot approve it too; four eyes need another approver`;
    return undefined;
  }

  /** The rules of deploys started before the policy, unchanged: names, the request's allow-list, early signals. */
  private legacyRefusal(req: unknown, mustBeWaiting: boolean): string | undefined {
    const { approval, status, result } = this.state;
    const by = safeName((req as { by?: unknown } | null | undefined)?.by);
    if (by === undefined) return 'approve needs "by": the approver\'s name';
    if (result) return `deploy ${id()} has finished (${result.status}); nothing to approve`;
    const ending = this.ending();
    if (ending) return ending;
    if (!approval.required) return `deploy ${id()} does not require approval`;
    if (approval.state !== 'pending') return `deploy ${id()} was already ${approval.state}`;
    if (mustBeWaiting && status !== 'awaiting_approval')
      return `deploy ${id()} is not waiting for approval yet (status ${status})`;
    const allowed = this.state.input.options?.approvers ?? [];
    if (allowed.length > 0 && !allowed.includes(by))
      return `approver "${by}" is not allowed to approve ${id()}; allowed: ${allowed.join(', ')}`;
    return undefined;
  }

  private record(by: string, proof: Proof | undefined, comment: string | undefined, decision: Decision): ApprovalView {
    const approval = this.state.approval;
    approval.state = decision === 'approve' ? 'approved' : 'rejected';
    approval.by = by;
    approval.at = new Date().toISOString();
    if (proof) approval.proof = proof;
    if (comment) approval.comment = comment;
    log.info(`deploy ${approval.state} by ${by}${proof ? ` (${proof})` : ''}`);
    this.state.publish();
    return { ...approval };
  }
}

/**
 * Reads the worker's policy for the service and verifies the requester's token, when the request carries one. Runs
 * at the start of the deploy, in its validate stage. A deploy the policy makes wait for a verified approval must
 * have a verified requester: four eyes compare the two.
 */
export async function loadApprovalPolicy(state: DeployState, approvals: Approvals): Promise<void> {
  if (!patched(APPROVAL_PATCH)) return;
  const { target, options, requesterToken, requestedBy } = state.input;
  const where = `${target.cluster}/${target.service}`;
  const policy = await identity.approvalPolicy.executeWithOptions({ summary: `read the approval policy of ${where}` }, [
    { region: target.region, cluster: target.cluster, service: target.service },
  ]);
  let requester: Party | undefined;
  if (requesterToken) {
    const check = await identity.verifyIdentity.executeWithOptions({ summary: "verify the requester's ID token" }, [
      {
        token: requesterToken,
        role: 'requester',
        requireClaims: policy.requesterClaims,
        at: workflowInfo().startTime.toISOString(),
      },
    ]);
    if (!check.ok) {
      throw ApplicationFailure.nonRetryable(
        `the requester's ID token was refused: ${check.reason}; send a fresh token from the issuer ${policy.issuer ?? '(none trusted)'}`,
        ErrorType.invalidInput,
      );
    }
    requester = { id: check.identity, proof: 'verified' };
  } else if (requestedBy) {
    requester = { id: requestedBy, proof: 'unverified' };
  }
  const rules = overlayApproval(policy, options);
  if ('refusal' in rules) throw ApplicationFailure.nonRetryable(rules.refusal, ErrorType.invalidInput);
  if (rules.required && rules.mode === 'verified' && !policy.issuer) {
    throw ApplicationFailure.nonRetryable(
      `approval of ${where} was asked for, but the worker trusts no OIDC issuer, so no approval could be verified; ` +
        'set DEPLOY_OIDC_ISSUER and DEPLOY_OIDC_AUDIENCE on the worker',
      ErrorType.invalidInput,
    );
  }
  if (rules.requiredBy === 'policy' && rules.mode === 'verified' && requester?.proof !== 'verified') {
    throw ApplicationFailure.nonRetryable(
      `the worker's policy requires approval of ${where}, and four eyes need a verified requester: send an OIDC ID ` +
        `token with the request (DEPLOY_REQUESTER_TOKEN, or in GitHub Actions "permissions: id-token: write" with DEPLOY_OIDC_AUDIENCE)`,
      ErrorType.invalidInput,
    );
  }
  approvals.adopt(rules, requester);
}

/**
 * Waits at an approval point for the approve signal or update. No answer in time counts as a rejection: the deploy
 * ends cancelled. A second point (an ECS lifecycle hook) can call this with its own `at`.
 */
export async function awaitApproval(
  state: DeployState,
  controls: Controls,
  opts: { at: ApprovalPoint },
): Promise<void> {
  if (!state.approval.required) {
    state.skip('approval', 'not required');
    return;
  }
  const approvals = controls.approvals;
  const timeoutMs = approvals.timeoutMs();
  await state.run('approval', async () => {
    approvals.open(opts.at);
    state.setStatus('awaiting_approval');
    try {
      const decided = await condition(() => state.approval.state !== 'pending', timeoutMs);
      if (!decided) {
        const reason = `no approval within ${formatDuration(timeoutMs)}`;
        controls.stop({ kind: 'cancelled', by: APPROVAL_TIMEOUT, reason, at: new Date().toISOString() });
        throw new CancelledFailure(reason);
      }
      throwIfRejected(state);
    } finally {
      approvals.close();
    }
  });
}

/**
 * Approval at a PAUSE lifecycle hook that ECS reports AWAITING_ACTION: the deploy waits for a person until the
 * approval timeout or the hook's own expiry, whichever comes first. An approval answers CONTINUE; a rejection, a
 * cancel or our own timeout end the wait and settling answers ROLLBACK. If the hook expires first (the worker may
 * have been down), ECS's timeout action decides, and the wait goes on to read what ECS did.
 */
export async function approveAtHook(state: DeployState, controls: Controls, snapshot: RolloutSnapshot): Promise<void> {
  const hook = snapshot.pausedHook;
  if (!hook || !snapshot.serviceDeploymentArn) return;
  const approvals = controls.approvals;
  const view: NonNullable<ApprovalView['hook']> = {};
  if (hook.stage) view.stage = hook.stage;
  if (hook.expiresAt) view.expiresAt = hook.expiresAt;
  if (hook.timeoutAction) view.timeoutAction = hook.timeoutAction;
  const expiresMs = hook.expiresAt ? Date.parse(hook.expiresAt) : Number.POSITIVE_INFINITY;
  const timeoutMs = approvals.timeoutMs();
  const waitMs = Math.max(0, Math.min(timeoutMs, expiresMs - Date.now()));
  await state.run('approval', async () => {
    approvals.openHook(view);
    state.setStatus('awaiting_approval');
    try {
      const decided = await condition(() => state.approval.state !== 'pending', waitMs);
      if (!decided && Date.now() >= expiresMs) {
        approvals.expire(
          `the hook expired unanswered; ECS applies its timeout action (${hook.timeoutAction ?? 'ROLLBACK'})`,
        );
        return;
      }
      if (!decided) {
        const reason = `no approval within ${formatDuration(timeoutMs)} at ${hook.stage ?? 'the lifecycle hook'}`;
        controls.stop({ kind: 'cancelled', by: APPROVAL_TIMEOUT, reason, at: new Date().toISOString() });
        throw new CancelledFailure(reason);
      }
      throwIfRejected(state);
      const answered = await aws.continueRollout.executeWithOptions(
        { summary: `continue past ${hook.stage ?? 'the lifecycle hook'}, as approved` },
        [
          {
            region: state.input.target.region,
            serviceDeploymentArn: snapshot.serviceDeploymentArn ?? '',
            hookId: hook.hookId,
          },
        ],
      );
      if (!answered.accepted) log.warn(`ECS did not take CONTINUE: ${answered.detail}`);
    } finally {
      approvals.close();
      state.setStatus('waiting_stable');
    }
  });
}

function throwIfRejected(state: DeployState): void {
  const a = state.approval;
  if (a.state !== 'rejected') return;
  throw ApplicationFailure.nonRetryable(
    `rejected by ${a.by ?? 'someone'}${a.proof ? ` (${a.proof})` : ''}${a.comment ? `: ${a.comment}` : ''}`,
    ErrorType.approvalRejected,
  );
}

function refused(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, APPROVAL_REFUSED);
}

function id(): string {
  return workflowInfo().workflowId;
}

function safeName(value: unknown): string | undefined {
  try {
    return validatePerson(value, 'by');
  } catch {
    return undefined;
  }
}

function causeMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return errorMessage(err);
}
