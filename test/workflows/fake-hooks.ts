/** A scripted ECS service deployment with a PAUSE lifecycle hook, for the workflow tests and the recorded histories. */
import type { DeployActivities } from '../../src/shared/activities.js';
import type { RolloutSnapshot } from '../../src/shared/types.js';
import { NEW, snapshot } from './fakes.js';

export const SD = 'arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/abc';

/**
 * A blue/green service deployment that pauses at POST_TEST_TRAFFIC_SHIFT (once per entry of `pauses`), then goes on
 * as the answers say: CONTINUE moves to the next pause or to SUCCESSFUL; ROLLBACK (through stopRollout) rolls back.
 * `expired` makes the first hook time out on ECS's side before anyone answers, with ROLLBACK as its timeout action.
 */
export function pausingService(opts: { pauses?: number; expired?: boolean } = {}) {
  let stage: 'paused' | 'running' | 'done' | 'rolling_back' | 'rolled_back' = 'paused';
  let hook = 1;
  const pauses = opts.pauses ?? 1;
  const sd = (state: RolloutSnapshot['state'], extra: Partial<RolloutSnapshot> = {}): RolloutSnapshot => ({
    ...snapshot(state === 'paused' ? 'in_progress' : state),
    state,
    serviceDeploymentArn: SD,
    strategy: 'BLUE_GREEN',
    lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
    traffic: { production: 0, test: 100 },
    ...extra,
  });
  const acts: Partial<DeployActivities> = {
    describeTarget: async () => ({
      serviceArn: 'arn:svc',
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:1',
      desiredCount: 2,
      controller: 'ECS',
      strategy: 'BLUE_GREEN',
      pauseStages: ['POST_TEST_TRAFFIC_SHIFT'],
    }),
    updateService: async () => ({
      previousTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:1',
      deploymentId: 'ecs-svc/2',
      serviceDeploymentArn: SD,
      changed: true,
    }),
    checkRollout: async ({ taskDefinitionArn }) => {
      if (opts.expired && stage === 'paused') stage = 'rolled_back';
      if (stage === 'paused') {
        return sd('paused', {
          pausedHook: {
            hookId: `hook-${hook}`,
            stage: 'POST_TEST_TRAFFIC_SHIFT',
            expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
            timeoutAction: 'ROLLBACK',
          },
        });
      }
      if (stage === 'rolling_back') {
        stage = 'rolled_back';
        return sd('rolling_back');
      }
      if (stage === 'rolled_back') {
        return sd('rolled_back', {
          rollbackReason: 'lifecycle hook answered ROLLBACK',
          ...(opts.expired ? { failedHook: { hookId: 'hook-1', status: 'TIMED_OUT' } } : {}),
        });
      }
      return taskDefinitionArn === NEW ? sd('completed', { lifecycleStage: 'CLEAN_UP' }) : sd('completed');
    },
    continueRollout: async ({ hookId }) => {
      hook += 1;
      stage = hook > pauses ? 'done' : 'paused';
      return { accepted: true, detail: `continued past ${hookId}` };
    },
    stopRollout: async ({ hookId }) => {
      stage = 'rolling_back';
      return { accepted: true, detail: `answered ${hookId ?? 'the deployment'} with ROLLBACK` };
    },
  };
  return acts;
}
