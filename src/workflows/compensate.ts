/**
 * Putting the service back after a deploy touched it and did not succeed. Where ECS keeps a service deployment, ECS
 * does the rollback itself: it may have done so already (its circuit breaker, an alarm, a hook), or it is asked to
 * (StopServiceDeployment, or ROLLBACK at a paused hook) — never a second rollback on top of its own. Otherwise, or when
 * ECS no longer takes the request, the service is updated back to the previous revision. Then the new revision is
 * retired. A failure here is never swallowed: the service may be on neither revision.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorType } from '../shared/errors.js';
import type { RollbackMethod } from '../shared/types.js';
import { awsCompensation, watchCompensation } from './activities.js';
import { DEFAULTS, causeMessage, revision } from './common.js';
import type { DeployState } from './state.js';
import { waitStable } from './wait-stable.js';

export async function restoreService(
  state: DeployState,
  previous: string,
  newArn: string | undefined,
): Promise<{ method: RollbackMethod }> {
  const { target } = state.input;
  const where = { region: target.region, cluster: target.cluster, service: target.service };
  const last = state.rollout;
  const arn = last?.serviceDeploymentArn;
  const wait = {
    check: (i: Parameters<typeof awsCompensation.checkRollout>[0]) =>
      awsCompensation.checkRollout.executeWithOptions({ summary: `read the rollback to ${revision(previous)}` }, [i]),
    watch: (i: Parameters<ReturnType<typeof watchCompensation>['watchRollout']>[0]) =>
      watchCompensation().watchRollout.executeWithOptions({ summary: `follow the rollback to ${revision(previous)}` }, [
        i,
      ]),
    onSnapshot: (s: Parameters<DeployState['setRollout']>[0]) => state.setRollout(s),
    timeoutMs: state.input.options?.stableTimeoutMs ?? DEFAULTS.stableTimeoutMs,
    pollIntervalMs: state.input.options?.pollIntervalMs ?? DEFAULTS.pollIntervalMs,
  };
  try {
    let method: RollbackMethod;
    if (arn && last.state === 'rolled_back') {
      method = 'ecs';
    } else if (arn && last.state === 'rollback_failed') {
      throw new Error(`ECS's own rollback failed: ${last.rolloutStateReason ?? 'no reason given'}`);
    } else if (arn && ['in_progress', 'paused', 'rolling_back'].includes(last.state)) {
      method = last.state === 'paused' ? 'hook' : last.state === 'rolling_back' ? 'ecs' : 'stop';
      let accepted = last.state === 'rolling_back';
      if (!accepted) {
        const hookId = last.state === 'paused' ? last.pausedHook?.hookId : undefined;
        const asked = await awsCompensation.stopRollout.executeWithOptions(
          { summary: `ask ECS to roll ${target.service} back` },
          [{ region: target.region, serviceDeploymentArn: arn, ...(hookId ? { hookId } : {}) }],
        );
        accepted = asked.accepted;
      }
      if (!accepted) {
        // Refused because the deployment moved on: ECS may be rolling back by itself (a hook that timed out).
        const now = await watchCompensation().watchRollout.executeWithOptions(
          { summary: 'read where the rollout stands' },
          [
            {
              ...where,
              taskDefinitionArn: previous,
              serviceDeploymentArn: arn,
              returnBy: new Date().toISOString(),
              pollIntervalMs: 1000,
            },
          ],
        );
        state.setRollout(now);
        accepted = now.state === 'rolling_back' || now.state === 'rolled_back';
        if (accepted) method = 'ecs';
      }
      if (accepted) {
        await waitStable({
          ...wait,
          rollout: { ...where, taskDefinitionArn: previous, serviceDeploymentArn: arn },
          until: 'rolled_back',
        });
      } else {
        method = await updateBack(state, previous, wait);
      }
    } else {
      method = await updateBack(state, previous, wait);
    }
    if (newArn && newArn !== previous) {
      await awsCompensation.deregisterTaskDefinition.executeWithOptions(
        { summary: `deregister rolled-back revision ${revision(newArn)}` },
        [{ region: target.region, taskDefinitionArn: newArn }],
      );
    }
    return { method };
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `ROLLBACK FAILED for ${target.cluster}/${target.service}: could not restore ${previous}: ${causeMessage(err)}. ` +
        `Check the service in the ECS console and restore it by hand (aws ecs update-service --task-definition ${previous}).`,
      ErrorType.rollbackFailed,
    );
  }
}

/** The classic rollback: update the service to the previous revision and wait until it is stable there. */
async function updateBack(
  state: DeployState,
  previous: string,
  wait: Omit<Parameters<typeof waitStable>[0], 'rollout'>,
): Promise<RollbackMethod> {
  const { target } = state.input;
  const where = { region: target.region, cluster: target.cluster, service: target.service };
  const restored = await awsCompensation.updateService.executeWithOptions(
    { summary: `roll ${target.service} back to ${revision(previous)}` },
    [{ ...where, taskDefinitionArn: previous }],
  );
  await waitStable({
    ...wait,
    rollout: {
      ...where,
      taskDefinitionArn: previous,
      ...(restored.deploymentId ? { deploymentId: restored.deploymentId } : {}),
      ...(restored.serviceDeploymentArn ? { serviceDeploymentArn: restored.serviceDeploymentArn } : {}),
    },
  });
  return 'update';
}
