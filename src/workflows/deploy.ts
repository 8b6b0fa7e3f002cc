/**
 * The deploy workflow: checkout, build, test and package in parallel, register, (approve), update, wait stable.
 * Anything that goes wrong after the service was touched is compensated by putting the previous revision back.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  workflowInfo,
} from '@temporalio/workflow';
import { ErrorType, errorMessage } from '../shared/errors.js';
import { validateDeployInput } from '../shared/validate.js';
import type { DeployError, DeployInput, DeployResult, FinalStatus, StageName } from '../shared/types.js';
import { aws, awsCompensation, go, image, source } from './activities.js';
import { Controls } from './controls.js';
import { predecessorDoneSignal, supersedeSignal } from './messages.js';
import { DeployState } from './state.js';
import { waitStable } from './wait-stable.js';

export const DEFAULTS = {
  approvalTimeoutMs: 60 * 60 * 1000,
  stableTimeoutMs: 15 * 60 * 1000,
  pollIntervalMs: 1000,
  predecessorTimeoutMs: 30 * 60 * 1000,
};

/** What the deploy has done so far that compensation may have to undo. */
interface Progress {
  workspace?: string;
  registeredArn?: string;
  registeredNew: boolean;
  /** Set before the update is sent: from then on the service may have changed. */
  serviceTouched: boolean;
  deploymentId?: string;
}

export async function deploy(rawInput: DeployInput): Promise<DeployResult> {
  const info = workflowInfo();
  let input: DeployInput;
  try {
    input = validateDeployInput(rawInput);
  } catch (err) {
    return rejectInput(rawInput, errorMessage(err));
  }
  const { sha, target } = input;
  const options = { ...DEFAULTS, ...input.options };
  const deployId = `${info.workflowId}.${info.runId.slice(0, 8)}`;
  const state = new DeployState(input, true);
  const scope = new CancellationScope();
  const controls = new Controls(state, scope);
  const done: Progress = { registeredNew: false, serviceTouched: false };
  let failure: DeployError | undefined;

  try {
    await scope.run(async () => {
      await claimService(input, controls);
      const current = await state.run('validate', async () => {
        const [described] = await Promise.all([
          aws.describeTarget({
            region: target.region,
            cluster: target.cluster,
            service: target.service,
            repository: target.repository,
          }),
          aws.checkRepository({ region: target.region, repository: target.repository }),
        ]);
        return described;
      });
      state.previousTaskDefinitionArn = current.taskDefinitionArn;

      const { workspace } = await state.run('checkout', () => source.checkout({ sha, deployId }));
      done.workspace = workspace;
      const built = await state.run('build', () => go.buildApp({ workspace }));
      // The image packages the binary that was just built, so testing and packaging can run side by side.
      const [, packaged] = await allOrCancel([
        () => state.run('test', () => go.testApp({ workspace })),
        () =>
          state.run('package', () =>
            image.packageImage({
              workspace,
              binaryPath: built.binaryPath,
              region: target.region,
              repository: target.repository,
              sha,
            }),
          ),
      ] as const);
      state.imageRef = packaged.imageRef;
      state.imageDigest = packaged.imageDigest;

      const registered = await state.run('register', () =>
        aws.registerTaskDefinition({
          region: target.region,
          workspace,
          ...(target.taskDefinitionPath ? { taskDefinitionPath: target.taskDefinitionPath } : {}),
          currentTaskDefinitionArn: current.taskDefinitionArn,
          containerName: target.containerName,
          imageRef: packaged.imageRef,
          sha,
          deployId,
        }),
      );
      done.registeredArn = registered.taskDefinitionArn;
      done.registeredNew = registered.created || registered.taskDefinitionArn !== current.taskDefinitionArn;
      state.taskDefinitionArn = registered.taskDefinitionArn;
      state.approval.diff = registered.diff;

      await awaitApproval(state, options.approvalTimeoutMs);
      await awaitPredecessors(controls, options.predecessorTimeoutMs);

      done.serviceTouched = true;
      const updated = await state.run('update', () =>
        aws.updateService({
          region: target.region,
          cluster: target.cluster,
          service: target.service,
          taskDefinitionArn: registered.taskDefinitionArn,
        }),
      );
      if (updated.changed) state.previousTaskDefinitionArn = updated.previousTaskDefinitionArn;
      if (updated.deploymentId) done.deploymentId = updated.deploymentId;

      await state.run('wait_stable', () =>
        waitStable({
          rollout: {
            region: target.region,
            cluster: target.cluster,
            service: target.service,
            taskDefinitionArn: registered.taskDefinitionArn,
            ...(updated.deploymentId ? { deploymentId: updated.deploymentId } : {}),
          },
          check: (i) => aws.checkRollout(i),
          onSnapshot: (s) => state.setRollout(s),
          timeoutMs: options.stableTimeoutMs,
          pollIntervalMs: options.pollIntervalMs,
        }),
      );
    });
  } catch (err) {
    if (!controls.ended && !isCancellation(err))
      failure = toDeployError(state.failedStage ?? state.stage ?? 'validate', err);
    if (!controls.ended && isCancellation(err)) {
      controls.ended = {
        kind: 'cancelled',
        by: 'temporal',
        reason: 'workflow cancellation requested',
        at: new Date().toISOString(),
      };
    }
  }

  const status = await CancellationScope.nonCancellable(() => settle(state, controls, done, failure));
  await condition(allHandlersFinished);
  await notifySuccessors(controls);
  return state.result ?? finalResult(state, controls, status, failure);
}

/** Undo what needs undoing and decide the ending. Runs even when the workflow itself is being cancelled. */
async function settle(
  state: DeployState,
  controls: Controls,
  done: Progress,
  failure: DeployError | undefined,
): Promise<FinalStatus> {
  const { target } = state.input;
  const previous = state.previousTaskDefinitionArn;
  const succeeded = !failure && !controls.ended;
  let status: FinalStatus = succeeded ? 'succeeded' : (controls.ended?.kind ?? 'failed');

  if (!succeeded && done.serviceTouched && previous) {
    const reason = failure
      ? `${failure.stage}: ${failure.message}`
      : `${controls.ended?.kind} by ${controls.ended?.by}: ${controls.ended?.reason}`;
    await state.run('rollback', () => rollback(state, previous, done.registeredArn));
    state.result = finalResult(state, controls, failure ? 'rolled_back' : status, failure);
    state.result.rollback = { reason, restoredTaskDefinitionArn: previous };
    status = state.result.status;
  } else if (!succeeded && done.registeredNew && done.registeredArn) {
    // Registered but never used: leave no stray revision behind.
    await awsCompensation.deregisterTaskDefinition({ region: target.region, taskDefinitionArn: done.registeredArn });
  }
  if (done.workspace) {
    try {
      await source.cleanupWorkspace({ deployId: done.workspace.split('/').pop() ?? '' });
    } catch (err) {
      log.warn(`failed to clean up workspace ${done.workspace}: ${errorMessage(err)}`);
    }
  }
  state.result ??= finalResult(state, controls, status, failure);
  state.setStatus(status);
  return status;
}

/** Puts the service back on the revision it ran before, waits for it, and retires the new revision. */
async function rollback(state: DeployState, previous: string, newArn: string | undefined): Promise<void> {
  const { target, options } = state.input;
  const where = { region: target.region, cluster: target.cluster, service: target.service };
  try {
    const restored = await awsCompensation.updateService({ ...where, taskDefinitionArn: previous });
    await waitStable({
      rollout: {
        ...where,
        taskDefinitionArn: previous,
        ...(restored.deploymentId ? { deploymentId: restored.deploymentId } : {}),
      },
      check: (i) => awsCompensation.checkRollout(i),
      onSnapshot: (s) => state.setRollout(s),
      timeoutMs: options?.stableTimeoutMs ?? DEFAULTS.stableTimeoutMs,
      pollIntervalMs: options?.pollIntervalMs ?? DEFAULTS.pollIntervalMs,
    });
    if (newArn && newArn !== previous) {
      await awsCompensation.deregisterTaskDefinition({ region: target.region, taskDefinitionArn: newArn });
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

async function awaitApproval(state: DeployState, timeoutMs: number): Promise<void> {
  if (!state.approval.required) {
    state.skip('approval', 'not required');
    return;
  }
  await state.run('approval', async () => {
    state.setStatus('awaiting_approval');
    const decided = await condition(() => state.approval.state !== 'pending', timeoutMs);
    if (!decided) {
      state.approval.state = 'rejected';
      state.approval.comment = `no approval within ${Math.round(timeoutMs / 60_000)} min`;
      state.approval.at = new Date().toISOString();
      throw ApplicationFailure.nonRetryable(
        `approval timed out: ${state.approval.comment}`,
        ErrorType.approvalRejected,
      );
    }
  });
}

/** Asks older deploys of the same service to stand down; they answer once they have let go of it. */
async function claimService(input: DeployInput, controls: Controls): Promise<void> {
  const me = workflowInfo().workflowId;
  for (const id of input.supersedes ?? []) {
    if (id === me) continue;
    try {
      await getExternalWorkflowHandle(id).signal(supersedeSignal, { by: me, sha: input.sha });
      controls.predecessors.add(id);
    } catch (err) {
      log.info(`deploy ${id} did not take the supersede signal (already finished?): ${errorMessage(err)}`);
    }
  }
}

async function awaitPredecessors(controls: Controls, timeoutMs: number): Promise<void> {
  if (controls.predecessors.size === 0) return;
  const free = await condition(() => controls.predecessors.size === 0, timeoutMs);
  if (!free) {
    throw ApplicationFailure.nonRetryable(
      `older deploys still hold the service: ${[...controls.predecessors].join(', ')}; cancel them or wait`,
      ErrorType.invalidInput,
    );
  }
}

async function notifySuccessors(controls: Controls): Promise<void> {
  const me = workflowInfo().workflowId;
  for (const id of controls.successors) {
    try {
      await getExternalWorkflowHandle(id).signal(predecessorDoneSignal, { workflowId: me });
    } catch (err) {
      log.warn(`could not tell ${id} that ${me} is done: ${errorMessage(err)}`);
    }
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
  };
  if (state.imageRef) result.imageRef = state.imageRef;
  if (state.imageDigest) result.imageDigest = state.imageDigest;
  if (state.taskDefinitionArn) result.taskDefinitionArn = state.taskDefinitionArn;
  if (state.previousTaskDefinitionArn) result.previousTaskDefinitionArn = state.previousTaskDefinitionArn;
  if (failure) result.error = failure;
  if (controls.ended) {
    const { by, reason, at } = controls.ended;
    result.endedBy = { by, reason, at };
    result.error ??= { stage: state.stage ?? 'validate', message: `${controls.ended.kind} by ${by}: ${reason}` };
  }
  return result;
}

/** Runs branches side by side; the first failure cancels the others, so nothing keeps running unseen. */
async function allOrCancel<A, B>(branches: readonly [() => Promise<A>, () => Promise<B>]): Promise<[A, B]> {
  const inner = new CancellationScope();
  return await inner.run(async () => {
    const cancelOnFailure = <T>(p: Promise<T>): Promise<T> =>
      p.catch((err: unknown) => {
        inner.cancel();
        throw err;
      });
    return await Promise.all([cancelOnFailure(branches[0]()), cancelOnFailure(branches[1]())]);
  });
}

function rejectInput(raw: DeployInput, message: string): DeployResult {
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

function toDeployError(stage: StageName, err: unknown): DeployError {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  const out: DeployError = { stage, message: causeMessage(err) };
  if (cause instanceof ApplicationFailure && cause.type) out.type = cause.type;
  return out;
}

function causeMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return errorMessage(err);
}
