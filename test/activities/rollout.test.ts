/** Reading rollouts from DescribeServices answers shaped like real ECS ones. */
import type { Deployment, Service, Task } from '@aws-sdk/client-ecs';
import { interpretRollout, stoppedTaskViews } from '../../src/activities/rollout.js';

const OLD = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:1';
const NEW = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:2';
const NEW_ID = 'ecs-svc/2222';
const followed = { deploymentId: NEW_ID, taskDefinitionArn: NEW };

function deployment(over: Partial<Deployment>): Deployment {
  return {
    id: NEW_ID,
    status: 'PRIMARY',
    taskDefinition: NEW,
    desiredCount: 2,
    runningCount: 0,
    pendingCount: 2,
    failedTasks: 0,
    rolloutState: 'IN_PROGRESS',
    rolloutStateReason: `ECS deployment ${NEW_ID} in progress.`,
    ...over,
  };
}

const oldActive = deployment({
  id: 'ecs-svc/1111',
  status: 'ACTIVE',
  taskDefinition: OLD,
  runningCount: 2,
  pendingCount: 0,
  rolloutState: 'COMPLETED',
  rolloutStateReason: 'ECS deployment ecs-svc/1111 completed.',
});

function service(deployments: Deployment[], over: Partial<Service> = {}): Service {
  return {
    serviceName: 'web',
    status: 'ACTIVE',
    desiredCount: 2,
    taskDefinition: deployments.find((d) => d.status === 'PRIMARY')?.taskDefinition ?? NEW,
    deployments,
    events: [],
    ...over,
  };
}

describe('interpretRollout', () => {
  test('a new PRIMARY next to the old ACTIVE deployment is in progress, with the new one counted', () => {
    const snapshot = interpretRollout(service([deployment({ runningCount: 1, pendingCount: 1 }), oldActive]), followed);
    expect(snapshot).toMatchObject({
      state: 'in_progress',
      deploymentId: NEW_ID,
      rolloutState: 'IN_PROGRESS',
      desired: 2,
      running: 1,
      pending: 1,
      failedTasks: 0,
      stoppedTasks: [],
    });
  });

  test('the followed PRIMARY with rolloutState COMPLETED is completed', () => {
    const done = deployment({ runningCount: 2, pendingCount: 0, rolloutState: 'COMPLETED' });
    expect(interpretRollout(service([done]), followed).state).toBe('completed');
  });

  test('COMPLETED is not trusted for a deployment that is no longer PRIMARY', () => {
    const forced = deployment({ id: 'ecs-svc/3333' });
    const ours = deployment({ status: 'ACTIVE', runningCount: 2, pendingCount: 0, rolloutState: 'COMPLETED' });
    expect(interpretRollout(service([forced, ours]), followed).state).toBe('in_progress');
  });

  test('rolloutState FAILED is failed, with ECS reason and the failed task count', () => {
    const failed = deployment({
      failedTasks: 3,
      pendingCount: 0,
      rolloutState: 'FAILED',
      rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
    });
    expect(interpretRollout(service([failed, oldActive]), followed)).toMatchObject({
      state: 'failed',
      rolloutState: 'FAILED',
      rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
      failedTasks: 3,
    });
  });

  test('a vanished deployment with the old revision PRIMARY again is rolled back', () => {
    const rollback = deployment({ id: 'ecs-svc/4444', taskDefinition: OLD, runningCount: 2, pendingCount: 0 });
    expect(interpretRollout(service([rollback]), followed)).toMatchObject({
      state: 'rolled_back',
      deploymentId: 'ecs-svc/4444',
      running: 2,
    });
  });

  test('a failed deployment still draining behind a rollback PRIMARY is rolled back', () => {
    const failed = deployment({ status: 'ACTIVE', rolloutState: 'FAILED', failedTasks: 3 });
    const rollback = deployment({ id: 'ecs-svc/4444', taskDefinition: OLD });
    expect(interpretRollout(service([rollback, failed]), followed).state).toBe('rolled_back');
  });

  test('a deployment replaced by one forced on the same revision is followed through its successor', () => {
    const forced = deployment({ id: 'ecs-svc/5555', runningCount: 2, pendingCount: 0, rolloutState: 'COMPLETED' });
    expect(interpretRollout(service([forced]), followed)).toMatchObject({
      state: 'completed',
      deploymentId: 'ecs-svc/5555',
    });
  });

  test('without a deployment id the PRIMARY on the revision is followed', () => {
    const snapshot = interpretRollout(service([deployment({ runningCount: 1 }), oldActive]), {
      taskDefinitionArn: NEW,
    });
    expect(snapshot).toMatchObject({ state: 'in_progress', deploymentId: NEW_ID, running: 1 });
  });

  test('without rolloutState the SDK waiter rule applies: one deployment, running equals desired', () => {
    const settled = deployment({ runningCount: 2, pendingCount: 0, rolloutState: undefined });
    expect(interpretRollout(service([settled]), followed).state).toBe('completed');
    expect(interpretRollout(service([settled, oldActive]), followed).state).toBe('in_progress');
  });

  test('the five newest service events come first', () => {
    const events = [1, 7, 3, 5, 2, 6, 4].map((n) => ({
      id: String(n),
      createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, n)),
      message: `(service web) event ${n}`,
    }));
    const snapshot = interpretRollout(service([deployment({})], { events }), followed);
    expect(snapshot.events.map((e) => e.message)).toEqual([7, 6, 5, 4, 3].map((n) => `(service web) event ${n}`));
    expect(snapshot.events[0]?.createdAt).toBe('2025-01-01T00:00:07.000Z');
  });
});

describe('stoppedTaskViews', () => {
  function task(n: number, taskDefinitionArn: string): Task {
    return {
      taskArn: `arn:aws:ecs:us-east-1:123456789012:task/apps/${n}`,
      taskDefinitionArn,
      lastStatus: 'STOPPED',
      stoppedReason: 'Essential container in task exited',
      stoppedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, n)),
      containers: [{ name: 'web', exitCode: 1, reason: n === 2 ? 'OutOfMemoryError: Container killed' : undefined }],
    };
  }

  test('keeps the newest stopped tasks of the followed revision, with exit codes and reasons', () => {
    const views = stoppedTaskViews([task(1, NEW), task(2, NEW), task(3, OLD)], NEW);
    expect(views).toEqual([
      {
        taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/apps/2',
        stoppedReason: 'Essential container in task exited',
        containers: [{ name: 'web', exitCode: 1, reason: 'OutOfMemoryError: Container killed' }],
      },
      {
        taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/apps/1',
        stoppedReason: 'Essential container in task exited',
        containers: [{ name: 'web', exitCode: 1 }],
      },
    ]);
  });

  test('shows at most five', () => {
    const tasks = [1, 2, 3, 4, 5, 6, 7].map((n) => task(n, NEW));
    expect(stoppedTaskViews(tasks, NEW)).toHaveLength(5);
  });
});
