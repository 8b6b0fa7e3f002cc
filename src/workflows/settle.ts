/** How a deploy ends: compensation when the service was touched, clean-up, and the result people read. */
import { knownArtifacts } from '../shared/artifacts.js';
import { ActivityFailure, ApplicationFailure, log, workflowInfo } from '@temporalio/workflow';
import { ErrorType, errorMessage } from '../shared/errors.js';
import type { DeployError, DeployInput, DeployResult, FinalStatus, StageName } from '../shared/types.js';
import { awsCompensation, image, source } from './activities.js';
import type { Controls } from './controls.js';
import type { DeployState } from './state.js';
import { waitStable } from './wait-stable.js';

export const DEFAULTS = {
  approvalTimeoutMs: 60 * 60 * 1000,
  stableTimeoutMs: 15 * 60 * 1000,
  pollIntervalMs: 1000,
  predecessorTimeoutMs: 30 * 60 * 1000,
};

/** What the deploy has done so far that compensation may have to undo. */
export interface Progress {
  workspace?: string;
  registeredArn?: string;
  registeredNew: boolean;
  /** Set before the update is sent: from then on the service may have changed. */
  serviceTouched: boolean;
  /** Set when packaging starts: a deploy that fails before the update removes the image it pushed. */
  imagePushedFor?: { sha: string; deployId: string };
  deploymentId?: string;
}

/** Undo what needs undoing and decide the ending. Runs in a non-cancellable scope, so it runs even when the workflow is cancelled. */
export async function settle(
  state: DeployState,
  controls: Controls,
  done: Progress,
  failure: DeployError | undefined,
): Promise<DeployResult> {
  controls.close();
  const { target } = state.input;
  const previous = state.previousTaskDefinitionArn;
  const succeeded = !failure && !controls.ended;
  let status: FinalStatus = succeeded ? 'succeeded' : (controls.ended?.kind ?? 'failed');
  if (!succeeded) rejectPendingApproval(state, controls, failure);

  let rollback: DeployResult['rollback'];
  if (!succeeded && done.serviceTouched && previous) {
    const reason = failure
      ? `${failure.stage}: ${failure.message}`
      : `${controls.ended?.kind} by ${controls.ended?.by}: ${controls.ended?.reason}`;
    await state.run('rollback', () => rollbackService(state, previous, done.registeredArn));
    if (failure) status = 'rolled_back';
    rollback = { reason, restoredTaskDefinitionArn: previous };
  } else if (!succeeded && done.registeredNew && done.registeredArn) {
    // Registered but never used: leave no stray revision behind.
    await awsCompensation.deregisterTaskDefinition.executeWithOptions(
      { summary: `deregister unused revision ${revision(done.registeredArn)}` },
      [{ region: target.region, taskDefinitionArn: done.registeredArn }],
    );
  }
  if (!succeeded && !done.serviceTouched && done.imagePushedFor) {
    // Tests and packaging overlap, so a deploy that failed its tests may have pushed its image: take it back.
    try {
      await image.discardImage.executeWithOptions({ summary: 'remove the image this failed deploy pushed' }, [
        { ...done.imagePushedFor, region: target.region, repository: target.repository },
      ]);
    } catch (err) {
      log.warn(`failed to remove the image of ${done.imagePushedFor.sha}: ${errorMessage(err)}`);
    }
  }
  if (done.workspace) {
    try {
      await source.cleanupWorkspace.executeWithOptions({ summary: 'remove the workspace' }, [
        { deployId: done.workspace.split('/').pop() ?? '' },
      ]);
    } catch (err) {
      log.warn(`failed to clean up workspace ${done.workspace}: ${errorMessage(err)}`);
    }
  }
  const result = finalResult(state, controls, status, failure);
  if (rollback) result.rollback = rollback;
  state.result = result;
  state.setStatus(status);
  return result;
}

/** An approval that never came is a rejection, by whoever or whatever ended the deploy. */
function rejectPendingApproval(state: DeployState, controls: Controls, failure: DeployError | undefined): void {
  const approval = state.approval;
  if (approval.state !== 'pending') return;
  approval.state = 'rejected';
  approval.at = controls.ended?.at ?? new Date().toISOString();
  if (controls.ended) approval.by = controls.ended.by;
  approval.comment = controls.ended?.reason ?? `deploy failed at ${failure?.stage}: ${failure?.message}`;
}

/** Puts the service back on the revision it ran before, waits for it, and retires the new revision. */
async function rollbackService(state: DeployState, previous: string, newArn: string | undefined): Promise<void> {
  const { target, options } = state.input;
  const where = { region: target.region, cluster: target.cluster, service: target.service };
  try {
    const restored = await awsCompensation.updateService.executeWithOptions(
      { summary: `roll ${target.service} back to ${revision(previous)}` },
      [{ ...where, taskDefinitionArn: previous }],
    );
    await waitStable({
      rollout: {
        ...where,
        taskDefinitionArn: previous,
        ...(restored.deploymentId ? { deploymentId: restored.deploymentId } : {}),
      },
      check: (i) =>
        awsCompensation.checkRollout.executeWithOptions({ summary: `read the rollback to ${revision(previous)}` }, [i]),
      onSnapshot: (s) => state.setRollout(s),
      timeoutMs: options?.stableTimeoutMs ?? DEFAULTS.stableTimeoutMs,
      pollIntervalMs: options?.pollIntervalMs ?? DEFAULTS.pollIntervalMs,
    });
    if (newArn && newArn !== previous) {
      await awsCompensation.deregisterTaskDefinition.executeWithOptions(
        { summary: `deregister rolled-back revision ${revision(newArn)}` },
        [{ region: target.region, taskDefinitionArn: newArn }],
      );
    }
  } catch (err) {
    // Never swallowed: the service may be on neither revision, and a person has to look now.
    throw ApplicationFailure.nonRetryable(
      `ROLLBACK FAILED for ${target.cluster}/${target.service}: could not restore ${previous}: ${causeMessage(err)}. ` +
        `Check the service in the ECS console and restore it by hand (aws ecs update-service --task-definition ${previous}).`,
      ErrorType.rollbackFailed,
    );
  }
}

function finalResult(
  state: DeployState,
  controls: Controls,
  status: FinalStatus,
  failure: DeployError | undefined,
): DeployResult {
  const info = workflowInfo();
  const { sha, target } = state.input;
  const result: DeployResult = {
    status,
    sha,
    workflowId: info.workflowId,
    runId: info.runId,
    service: target.service,
    cluster: target.cluster,
    stages: state.stages,
    approval: state.approval,
    ...knownArtifacts(state),
  };
  if (failure) result.error = failure;
  if (controls.ended) {
    const { by, reason, at } = controls.ended;
    result.endedBy = { by, reason, at };
    result.error ??= { stage: state.stage ?? 'validate', message: `${controls.ended.kind} by ${by}: ${reason}` };
  }
  return result;
}

/** The result for input that failed validation: nothing ran, so nothing needs undoing. */
export function rejectInput(raw: DeployInput, message: string): DeployResult {
  const info = workflowInfo();
  const text = (v: unknown): string => (typeof v === 'string' ? v.slice(0, 100) : '');
  return {
    status: 'failed',
    sha: text(raw?.sha),
    workflowId: info.workflowId,
    runId: info.runId,
    service: text(raw?.target?.service),
    cluster: text(raw?.target?.cluster),
    stages: [{ name: 'validate', status: 'failed', startedAt: new Date().toISOString(), durationMs: 0 }],
    error: { stage: 'validate', message, type: ErrorType.invalidInput },
  };
}

export function toDeployError(stage: StageName, err: unknown): DeployError {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  const out: DeployError = { stage, message: causeMessage(err) };
  if (cause instanceof ApplicationFailure && cause.type) out.type = cause.type;
  return out;
}

function causeMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return errorMessage(err);
}

/** "web:2" from a task-definition ARN: what people call a revision. */
export function revision(arn: string): string {
  return arn.split('/').pop() ?? arn;
}
