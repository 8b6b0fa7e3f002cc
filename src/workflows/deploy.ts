/**
 * The deploy workflow: read the service, get the image (build, test and package in parallel, or reuse a tested one,
 * or take a rollback's), register, (approve), take the service's lease, update, wait stable. Anything that goes
 * wrong after the service was touched is compensated by putting the previous revision back (settle.ts); approval,
 * the lease and superseding are the gates before the update (gates.ts).
 */
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  workflowInfo,
} from '@temporalio/workflow';
import { ErrorType, errorMessage } from '../shared/errors.js';
import { pinnedImageRef } from '../shared/names.js';
import { validateDeployInput } from '../shared/validate.js';
import type { DeployError, DeployInput, DeployResult, DescribeTargetResult, RegisterResult } from '../shared/types.js';
import { aws, watch } from './activities.js';
import { checkGivenImage, obtainImage, type Image } from './artifact.js';
import { Controls } from './controls.js';
import { approveAtHook, awaitApproval, loadApprovalPolicy } from './approval.js';
import { awaitLease, awaitPredecessors, claimService, notifyQueue, notifySuccessors } from './gates.js';
import { DEFAULTS, revision } from './common.js';
import { type Progress, rejectInput, settle, toDeployError } from './settle.js';
import { DeployState } from './state.js';
import { Notifier } from './notify.js';
import { countOutcome } from './metrics.js';
import { waitStable } from './wait-stable.js';

export async function deploy(rawInput: DeployInput): Promise<DeployResult> {
  const info = workflowInfo();
  let input: DeployInput;
  try {
    input = validateDeployInput(rawInput);
  } catch (err) {
    return rejectInput(rawInput, errorMessage(err));
  }
  const { target } = input;
  const where = `${target.cluster}/${target.service}`;
  const options = { ...DEFAULTS, ...input.options };
  const deployId = `${info.workflowId}.${info.runId.slice(0, 8)}`;
  const state = new DeployState(input, true);
  const notifier = new Notifier(state);
  const scope = new CancellationScope();
  const controls = new Controls(state, scope);
  const done: Progress = { registeredNew: false, serviceTouched: false };
  let failure: DeployError | undefined;

  try {
    await scope.run(async () => {
      await claimService(input, controls);
      const { current, given } = await readTarget(input, state, controls);
      state.previousTaskDefinitionArn = current.taskDefinitionArn;
      if (current.observed) state.observed = current.observed;
      if (isAlreadyLive(input, current)) {
        done.alreadyLive = true;
        return;
      }

      const image = await obtainImage({ input, state, done, deployId, given });
      const registered = await register(input, state, current, image, deployId);
      done.registeredArn = registered.taskDefinitionArn;
      done.registeredNew = registered.created || registered.taskDefinitionArn !== current.taskDefinitionArn;
      state.taskDefinitionArn = registered.taskDefinitionArn;
      if (registered.reused) state.reused.taskDefinitionArn = registered.taskDefinitionArn;
      state.approval.diff = registered.diff;

      // A PAUSE lifecycle hook is where a person decides on such a service: after test traffic reached the new
      // revision, with ECS ready to shift or roll back. There is no gate before the update then.
      if (current.pauseStages?.length) {
        state.skip('approval', `at the lifecycle hook (${current.pauseStages.join(', ')})`);
      } else {
        await awaitApproval(state, controls, { at: 'before_update' });
      }
      await awaitPredecessors(controls, options.predecessorTimeoutMs);
      await awaitLease(state, controls, options.predecessorTimeoutMs);

      done.serviceTouched = true;
      const updated = await state.run('update', () =>
        aws.updateService.executeWithOptions(
          { summary: `update ${where} to ${revision(registered.taskDefinitionArn)}` },
          [
            {
              region: target.region,
              cluster: target.cluster,
              service: target.service,
              taskDefinitionArn: registered.taskDefinitionArn,
            },
          ],
        ),
      );
      if (updated.changed) state.previousTaskDefinitionArn = updated.previousTaskDefinitionArn;
      if (updated.deploymentId) done.deploymentId = updated.deploymentId;
      if (updated.serviceDeploymentArn) state.serviceDeploymentArn = updated.serviceDeploymentArn;

      await state.run('wait_stable', () =>
        waitStable({
          rollout: {
            region: target.region,
            cluster: target.cluster,
            service: target.service,
            taskDefinitionArn: registered.taskDefinitionArn,
            ...(updated.deploymentId ? { deploymentId: updated.deploymentId } : {}),
            ...(updated.serviceDeploymentArn ? { serviceDeploymentArn: updated.serviceDeploymentArn } : {}),
          },
          check: (i) =>
            aws.checkRollout.executeWithOptions({ summary: `read the rollout of ${revision(i.taskDefinitionArn)}` }, [
              i,
            ]),
          watch: (i) =>
            watch().watchRollout.executeWithOptions(
              { summary: `follow the rollout of ${revision(i.taskDefinitionArn)}` },
              [i],
            ),
          onSnapshot: (s) => state.setRollout(s),
          onPaused: (s) => approveAtHook(state, controls, s),
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

  // Temporal's own cancellation leaves the root scope cancelled: nothing after this point may be interrupted.
  return await CancellationScope.nonCancellable(async () => {
    let result: DeployResult;
    try {
      result = await settle(state, controls, done, failure);
    } catch (err) {
      // The run fails loudly without a result: whoever follows the webhook hears it first.
      countOutcome('rollback_failed', input);
      notifier.rollbackFailed(err);
      await notifier.settled();
      throw err;
    }
    await condition(allHandlersFinished);
    await notifySuccessors(controls);
    await notifyQueue(state, result);
    // Only the server's acceptance of the notices, never their delivery: a dead webhook cannot hold the result.
    await notifier.settled();
    return result;
  });
}

/**
 * Checks the cluster, service and repository, reads what the service runs now, and the approval policy; in image
 * mode also finds the image, so a digest that is not there is refused before anything changes.
 */
async function readTarget(
  input: DeployInput,
  state: DeployState,
  controls: Controls,
): Promise<{ current: DescribeTargetResult; given: Image | undefined }> {
  const { target } = input;
  const where = `${target.cluster}/${target.service}`;
  return await state.run('validate', async () => {
    const [described, , , given] = await Promise.all([
      aws.describeTarget.executeWithOptions({ summary: `read ${where} from ECS` }, [
        { region: target.region, cluster: target.cluster, service: target.service, repository: target.repository },
      ]),
      aws.checkRepository.executeWithOptions({ summary: `check ECR repository ${target.repository}` }, [
        { region: target.region, repository: target.repository },
      ]),
      loadApprovalPolicy(state, controls.approvals),
      checkGivenImage(input),
    ]);
    if (described.controller && described.controller !== 'ECS') {
      throw ApplicationFailure.nonRetryable(
        `service ${where} uses the ${described.controller} deployment controller; deployctl deploys services under ` +
          `the ECS controller, with its ROLLING, BLUE_GREEN, LINEAR or CANARY strategy. Move the service to the ECS ` +
          `controller (its native blue/green replaces CodeDeploy's) or deploy it with ${described.controller === 'CODE_DEPLOY' ? 'CodeDeploy' : 'its own tooling'}`,
        ErrorType.invalidInput,
      );
    }
    return { current: described, given };
  });
}

/**
 * The deploy is already what ECS runs: a stable PRIMARY deployment on a revision this tool registered for the SHA
 * (or, for a rollback, on the revision to restore). Reported as it is, with nothing changed.
 */
function isAlreadyLive(input: DeployInput, current: DescribeTargetResult): boolean {
  const observed = current.observed;
  if (!observed?.stable) return false;
  if (input.rollbackTo) return observed.taskDefinitionArn === input.rollbackTo.taskDefinitionArn;
  // Image mode names the image, not a build: live when the target's container already runs that digest.
  if (input.imageDigest) {
    return observed.images.some((i) => i.container === input.target.containerName && i.digest === input.imageDigest);
  }
  return observed.sha === input.sha;
}

/** A revision for the image: the rollback's earlier one, an identical earlier one, or a new registration. */
async function register(
  input: DeployInput,
  state: DeployState,
  current: DescribeTargetResult,
  image: Image,
  deployId: string,
): Promise<RegisterResult> {
  const { sha, target } = input;
  const short = sha.slice(0, 7);
  if (input.rollbackTo) {
    const to = input.rollbackTo.taskDefinitionArn;
    return await state.run('register', () =>
      aws.restoreRevision.executeWithOptions({ summary: `restore ${revision(to)} for the rollback to ${short}` }, [
        {
          region: target.region,
          taskDefinitionArn: to,
          currentTaskDefinitionArn: current.taskDefinitionArn,
          sha,
          deployId,
        },
      ]),
    );
  }
  return await state.run('register', () =>
    aws.registerTaskDefinition.executeWithOptions({ summary: `register a task definition for ${short}` }, [
      {
        region: target.region,
        ...(target.taskDefinitionPath ? { taskDefinitionPath: target.taskDefinitionPath } : {}),
        ...(input.reuse?.taskDefinitionArn ? { reuseTaskDefinitionArn: input.reuse.taskDefinitionArn } : {}),
        currentTaskDefinitionArn: current.taskDefinitionArn,
        containerName: target.containerName,
        ...(image.containers ? { containerNames: image.containers } : {}),
        imageRef: image.imageDigest ? pinnedImageRef(image.imageRef, image.imageDigest) : image.imageRef,
        sha,
        deployId,
      },
    ]),
  );
}
