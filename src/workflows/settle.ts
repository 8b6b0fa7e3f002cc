/** How a deploy ends: compensation when the service was touched, clean-up, and the result people read. */
import { knownArtifacts } from '../shared/artifacts.js';
import { ActivityFailure, ApplicationFailure, log, patched, workflowInfo } from '@temporalio/workflow';
import { ErrorType, errorMessage } from '../shared/errors.js';
import { mismatch } from '../shared/observed.js';
import type {
  DeployError,
  DeployInput,
  DeployResult,
  FinalStatus,
  ObservedService,
  StageName,
} from '../shared/types.js';
import { awsCompensation, image, source } from './activities.js';
import { causeMessage, revision } from './common.js';
import { restoreService } from './compensate.js';
import { countOutcome } from './metrics.js';
import type { Controls } from './controls.js';
import type { DeployState } from './state.js';

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
  /** The service already ran this deploy, stable: nothing was done. */
  alreadyLive?: boolean;
}

/** The patch that added the last reading of the service before an ending (histories before it have none). */
export const OBSERVE_PATCH = 'observe-before-ending';

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
  if (!succeeded && state.rollout?.state === 'replaced') {
    // Someone else's deployment took the service over mid-rollout: putting ours back would undo theirs.
    controls.ended = {
      kind: 'superseded',
      by: 'ECS',
      reason: failure?.message ?? 'another deployment took over',
      at: new Date().toISOString(),
    };
    status = 'superseded';
  } else if (!succeeded && done.serviceTouched && previous) {
    const reason = failure
      ? `${failure.stage}: ${failure.message}`
      : `${controls.ended?.kind} by ${controls.ended?.by}: ${controls.ended?.reason}`;
    const how = await state.run('rollback', () => restoreService(state, previous, done.registeredArn));
    if (failure) status = 'rolled_back';
    rollback = {
      reason:
        how.method === 'ecs' && state.rollout?.rollbackReason
          ? `ECS rolled back: ${state.rollout.rollbackReason}`
          : reason,
      restoredTaskDefinitionArn: previous,
      method: how.method,
    };
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
  if (state.previousTaskDefinitionArn !== undefined && patched(OBSERVE_PATCH)) {
    status = await observeEnding(state, controls, done, status);
  }
  const result = finalResult(state, controls, status, failure);
  if (rollback) result.rollback = rollback;
  state.result = result;
  state.setStatus(status);
  return result;
}

/**
 * Reads the service once more and lets ECS have the last word: `succeeded` only when the PRIMARY deployment runs
 * what this deploy put there. When ECS moved on in the meantime (a newer deploy, a hand change), the deploy says so
 * and ends `superseded` by ECS rather than claiming a success that is no longer true.
 */
async function observeEnding(
  state: DeployState,
  controls: Controls,
  done: Progress,
  status: FinalStatus,
): Promise<FinalStatus> {
  const { target } = state.input;
  let observed: ObservedService;
  try {
    observed = await awsCompensation.observeService.executeWithOptions(
      { summary: `read what ${target.cluster}/${target.service} runs now` },
      [{ region: target.region, cluster: target.cluster, service: target.service }],
    );
  } catch (err) {
    state.notes.push(`could not read the service again before ending: ${causeMessage(err)}`);
    return status;
  }
  state.observed = observed;
  if (status !== 'succeeded') {
    if (state.stages.some((s) => s.name === 'rollback' && s.status === 'succeeded')) {
      const restored = state.previousTaskDefinitionArn ?? '';
      const off = mismatch(observed, { taskDefinitionArn: restored, containerName: target.containerName });
      if (off) state.notes.push(`after the rollback: ${off}`);
    }
    return status;
  }
  if (done.alreadyLive) {
    state.taskDefinitionArn = observed.taskDefinitionArn;
    const image = observed.images.find((i) => i.container === target.containerName);
    if (image?.digest) state.imageDigest = image.digest;
    if (image) state.imageRef = observed.sha ? `${image.image.split('@')[0]}:${observed.sha}` : image.image;
  }
  const off = mismatch(observed, {
    taskDefinitionArn: state.taskDefinitionArn ?? '',
    containerName: target.containerName,
    ...(state.imageDigest ? { imageDigest: state.imageDigest } : {}),
  });
  if (off) {
    controls.ended = { kind: 'superseded', by: 'ECS', reason: off, at: observed.readAt };
    return 'superseded';
  }
  if (done.alreadyLive) {
    state.reused.alreadyLive = true;
    state.notes.push(
      `${state.input.sha.slice(0, 12)} is already live: ${revision(observed.taskDefinitionArn)} is the PRIMARY deployment, ` +
        `stable with ${observed.running}/${observed.desired} running (read from ECS at ${observed.readAt}); nothing was changed`,
    );
  }
  return status;
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
  result.kind = state.input.rollbackTo ? 'rollback' : 'deploy';
  if (state.observed) result.observed = state.observed;
  if (Object.keys(state.reused).length > 0) result.reused = state.reused;
  if (state.notes.length > 0) result.note = state.notes.join('; ');
  if (state.binarySha256) result.binarySha256 = state.binarySha256;
  if (state.input.queue) result.request = { seq: state.input.queue.seq, requestedAt: state.input.queue.requestedAt };
  if (state.serviceDeploymentArn) result.serviceDeploymentArn = state.serviceDeploymentArn;
  if (state.recipe) result.recipe = state.recipe;
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
  countOutcome('failed', undefined);
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
