/** Scripted activities for workflow tests: a happy pipeline by default, with any step replaceable. */
import { ApplicationFailure } from '@temporalio/common';
import type { DeployActivities } from '../../src/shared/activities.js';
import { isFinal, milestone } from '../../src/shared/rollout.js';
import type { DeployInput, ObservedService, RolloutSnapshot, ServiceApprovalPolicy } from '../../src/shared/types.js';

export const SHA = 'a'.repeat(40);
/** The digest the fake registry answers for every push. */
export const DIGEST = `sha256:${'d'.repeat(64)}`;
export const PREVIOUS = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:1';
export const NEW = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:2';

export function input(overrides: Partial<DeployInput> = {}): DeployInput {
  return {
    sha: SHA,
    target: { region: 'us-east-1', cluster: 'prod', service: 'web', repository: 'web', containerName: 'web' },
    options: { pollIntervalMs: 1000, stableTimeoutMs: 60_000 },
    ...overrides,
  };
}

const ROLLOUT_STATE: Record<RolloutSnapshot['state'], string> = {
  in_progress: 'IN_PROGRESS',
  paused: 'IN_PROGRESS',
  completed: 'COMPLETED',
  rolling_back: 'IN_PROGRESS',
  rolled_back: 'COMPLETED',
  failed: 'FAILED',
  rollback_failed: 'FAILED',
  replaced: 'COMPLETED',
};

export function snapshot(state: RolloutSnapshot['state'], running = 2): RolloutSnapshot {
  return {
    state,
    deploymentId: 'ecs-svc/2',
    rolloutState: ROLLOUT_STATE[state],
    desired: 2,
    running,
    pending: 2 - running,
    failedTasks: state === 'failed' ? 3 : 0,
    events: [{ createdAt: '2026-01-01T00:00:00Z', message: '(service web) has started 1 tasks' }],
    stoppedTasks:
      state === 'failed'
        ? [
            {
              taskArn: 'arn:aws:ecs:us-east-1:1:task/prod/abc',
              stoppedReason: 'Essential container in task exited',
              containers: [{ name: 'web', exitCode: 1 }],
            },
          ]
        : [],
  };
}

/** What a fake ECS reports the service runs: stable on `taskDefinitionArn`, its image pinned. */
export function observed(taskDefinitionArn: string, sha?: string, digest = DIGEST): ObservedService {
  return {
    readAt: '2026-01-01T00:00:00.000Z',
    deploymentId: 'ecs-svc/9',
    rolloutState: 'COMPLETED',
    taskDefinitionArn,
    ...(sha ? { sha } : {}),
    images: [{ container: 'web', image: `127.0.0.1:5000/web@${digest}`, digest }],
    running: 2,
    desired: 2,
    stable: true,
  };
}

/** The worker's approval policy as the fake answers it: approval on request, by ID token, from anyone. */
export function policy(overrides: Partial<ServiceApprovalPolicy> = {}): ServiceApprovalPolicy {
  return {
    service: 'prod/web',
    source: 'defaults',
    requireApproval: false,
    identity: 'verified',
    approvers: [],
    approvalTimeoutMs: 60 * 60 * 1000,
    approverClaims: {},
    requesterClaims: {},
    issuer: 'https://issuer.test',
    identityClaim: 'sub',
    ...overrides,
  };
}

/**
 * A stand-in ID token for workflow-logic tests only: the fake verifier below reads the identity (or the reason to
 * refuse) from its middle part. Real tokens and the real verifier are tested in test/activities/identity.test.ts.
 */
export function fakeToken(identity: string, refuse?: string): string {
  return `fake.${Buffer.from(JSON.stringify({ identity, refuse })).toString('base64url')}.sig`;
}

export interface Recorder {
  calls: { name: string; input: unknown }[];
  count(name: string): number;
}

/** Builds activities that record their calls. `service` tracks which revision the fake ECS service runs. */
export function fakeActivities(overrides: Partial<DeployActivities> = {}): DeployActivities & Recorder {
  const calls: Recorder['calls'] = [];
  let running = PREVIOUS;
  const rec =
    <I, O>(name: string, fn: (i: I) => Promise<O>) =>
    async (i: I): Promise<O> => {
      calls.push({ name, input: i });
      return await fn(i);
    };
  const base: DeployActivities = {
    checkout: async ({ deployId }) => ({ workspace: `/work/ws/${deployId}` }),
    cleanupWorkspace: async () => undefined,
    buildApp: async ({ deployId }) => ({ binaryPath: `/work/ws/${deployId}/build/app`, binarySha256: 'f'.repeat(64) }),
    testApp: async () => ({ passed: 2, packages: 1 }),
    checkRepository: async () => ({ repositoryUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/web' }),
    discardImage: async () => ({ discarded: false, detail: 'never pushed' }),
    packageImage: async ({ sha }) => ({
      imageRef: `127.0.0.1:5000/web:${sha}`,
      imageDigest: DIGEST,
      pushed: true,
    }),
    verifyImage: async ({ sha, imageDigest }) => ({
      reusable: true,
      imageRef: `127.0.0.1:5000/web:${sha}`,
      detail: `holds the tested binary at ${imageDigest}`,
    }),
    checkImageDigest: async ({ repository, imageDigest }) => ({
      imageRef: `127.0.0.1:5000/${repository}@${imageDigest}`,
      imageDigest,
    }),
    describeTarget: async () => ({
      serviceArn: 'arn:svc',
      taskDefinitionArn: running,
      desiredCount: 2,
      primaryDeploymentId: 'ecs-svc/1',
    }),
    // What the last update asked for, whichever fake (overridden or not) answered it: ECS runs that now, with the
    // image the last registration pinned.
    observeService: async () => {
      const last = <T>(name: string) => calls.filter((c) => c.name === name).pop()?.input as T | undefined;
      const arn = last<{ taskDefinitionArn?: string }>('updateService')?.taskDefinitionArn ?? running;
      const digest = /@(sha256:[0-9a-f]+)$/.exec(
        last<{ imageRef?: string }>('registerTaskDefinition')?.imageRef ?? '',
      )?.[1];
      return observed(arn, undefined, digest);
    },
    registerTaskDefinition: async () => ({
      taskDefinitionArn: NEW,
      created: true,
      diff: ['containers[web].image: old -> new'],
    }),
    updateService: async ({ taskDefinitionArn }) => {
      const previousTaskDefinitionArn = running;
      const changed = running !== taskDefinitionArn;
      running = taskDefinitionArn;
      return { previousTaskDefinitionArn, deploymentId: 'ecs-svc/2', changed };
    },
    checkRollout: async () => snapshot('completed'),
    restoreRevision: async ({ taskDefinitionArn }) => ({ taskDefinitionArn, created: false, reused: true, diff: [] }),
    watchRollout: async () => snapshot('completed'),
    stopRollout: async () => ({ accepted: false, detail: 'the fake ECS has no service deployments' }),
    continueRollout: async ({ hookId }) => ({ accepted: true, detail: `continued past ${hookId}` }),
    deregisterTaskDefinition: async () => undefined,
    notify: async () => ({ delivered: false, detail: 'no webhook in this test' }),
    approvalPolicy: async () => policy(),
    verifyIdentity: async ({ token }) => {
      const body = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
        identity: string;
        refuse?: string;
      };
      return body.refuse ? { ok: false, reason: body.refuse } : { ok: true, identity: body.identity, expiresAt: '' };
    },
  };
  const merged = { ...base, ...overrides } as unknown as Record<string, (i: unknown) => Promise<unknown>>;
  const wrapped = Object.fromEntries(
    Object.entries(merged).map(([name, fn]) => [name, rec(name, fn)]),
  ) as unknown as DeployActivities;
  if (!overrides.watchRollout) wrapped.watchRollout = watchWith((i) => wrapped.checkRollout(i), 200);
  return Object.assign(wrapped, {
    calls,
    count: (name: string) => calls.filter((c) => c.name === name).length,
  });
}

/**
 * A fake watch that reads (through `check`, so tests script rollouts in one place) until news or its returnBy, like
 * the real one, but for at most `capMs` of real time: a time-skipping server's clock runs ahead of the activity's, so
 * there the workflow's timer waits out the rest. No heartbeats: that server does not skip time while one heartbeats.
 */
export function watchWith(check: DeployActivities['checkRollout'], capMs: number): DeployActivities['watchRollout'] {
  return async (i) => {
    const giveUp = Math.min(Date.parse(i.returnBy), Date.now() + capMs);
    for (;;) {
      const s = await check(i);
      if (isFinal(s) || milestone(s) !== i.seen || Date.now() >= giveUp) return s;
      await new Promise((r) => setTimeout(r, Math.min(i.pollIntervalMs, 100)));
    }
  };
}

export const nonRetryable = (message: string, type: string) => ApplicationFailure.nonRetryable(message, type);
