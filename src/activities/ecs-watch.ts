/**
 * Following a rollout: one long activity per stretch of the wait, reading through the worker's shared reader
 * (batched, budgeted), heartbeating the latest reading, and returning only at news the deploy's record must show
 * (a final state, a paused hook, a new lifecycle stage or traffic split) or at a checkpoint. And asking ECS itself to
 * roll a deployment back.
 */
import {
  ContinueServiceDeploymentCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  StopServiceDeploymentCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { Context, log } from '@temporalio/activity';
import { errorMessage } from '../shared/errors.js';
import { isFinal, milestone } from '../shared/rollout.js';
import type {
  CheckRolloutInput,
  ContinueRolloutInput,
  RolloutSnapshot,
  StopRolloutInput,
  StopRolloutResult,
  StoppedTaskView,
  WatchRolloutInput,
} from '../shared/types.js';
import { awsErrorName, awsFailure, isAwsError, notFound } from './aws-errors.js';
import type { AwsClients } from './clients.js';
import { eventViews, interpretRollout, interpretServiceDeployment, stoppedTaskViews } from './rollout.js';

/** The longest a watch goes without a heartbeat: well inside the 10 s heartbeat timeout the workflow gives it. */
export const BEAT_EVERY_MS = 4_000;

/**
 * Sleeps `ms`, heartbeating (with the latest reading, when there is one) at least every `everyMs`: a poll interval of
 * up to a minute must not look like a dead worker. Rejects at once when the activity is cancelled.
 */
export async function sleepBeating(
  ctx: { sleep(ms: number): Promise<void>; heartbeat(details?: unknown): void },
  ms: number,
  details?: unknown,
  everyMs = BEAT_EVERY_MS,
): Promise<void> {
  let left = ms;
  while (left > 0) {
    const step = Math.min(left, everyMs);
    await ctx.sleep(step);
    left -= step;
    if (left > 0) ctx.heartbeat(details);
  }
}

/** Errors a read may meet and shrug off: the next read, a second later, will likely pass. */
const PASSING =
  /Throttl|TooManyRequests|RequestLimitExceeded|ServerException|ServiceUnavailable|InternalFailure|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|TimeoutError/;

/** Rollouts this worker remembers reading, beyond which the oldest readings are forgotten. */
const REMEMBERED_READS = 10_000;

export function watchActivities(clients: AwsClients) {
  const reader = clients.reader;
  /**
   * When each rollout was last read here. A watch that follows another (after news or a checkpoint) waits out the
   * interval before its first read, so a wait reads about once per interval however many stretches it takes.
   */
  const lastRead = new Map<string, number>();
  const remember = (key: string): void => {
    lastRead.delete(key);
    lastRead.set(key, Date.now());
    if (lastRead.size > REMEMBERED_READS) lastRead.delete(lastRead.keys().next().value ?? '');
  };

  async function readService(input: CheckRolloutInput): Promise<Service> {
    const { region, cluster, service } = input;
    let found: Service | undefined;
    try {
      found = await reader.service(region, cluster, service);
    } catch (err) {
      if (isAwsError(err, 'ClusterNotFoundException')) {
        throw notFound('cluster', `ECS cluster "${cluster}" not found in ${region}; fix ECS_CLUSTER`);
      }
      throw err;
    }
    if (found === undefined || found.status !== 'ACTIVE') {
      throw notFound('service', `ECS service "${service}" is gone from cluster "${cluster}" (${region})`);
    }
    return found;
  }

  /** One reading: the service deployment when there is one, else the service's rolling view. */
  async function read(input: CheckRolloutInput): Promise<RolloutSnapshot> {
    if (input.serviceDeploymentArn) {
      const sd = await reader.serviceDeployment(input.region, input.serviceDeploymentArn);
      if (sd) {
        // Only a stopped deployment needs the service too: was it replaced by someone else's?
        const stopped = sd.status === 'STOPPED' || sd.status === 'STOP_REQUESTED';
        const current = stopped ? (await readService(input)).currentServiceDeployment : undefined;
        return interpretServiceDeployment(sd, current);
      }
      log.warn('the service deployment is not found; following the service instead', {
        serviceDeploymentArn: input.serviceDeploymentArn,
      });
    }
    return interpretRollout(await readService(input), input);
  }

  /** Why the rollout ended badly: the service's events and what its stopped tasks said. */
  async function explain(input: CheckRolloutInput, snapshot: RolloutSnapshot): Promise<RolloutSnapshot> {
    try {
      const service = await readService(input);
      snapshot.events = eventViews(service);
      snapshot.stoppedTasks = await stoppedTasks(input);
    } catch (err) {
      log.warn('could not read why the rollout ended', { error: errorMessage(err) });
    }
    return snapshot;
  }

  async function stoppedTasks(input: CheckRolloutInput): Promise<StoppedTaskView[]> {
    const { region, cluster, service } = input;
    // clients.ecs spends the worker's read budget on each call.
    const ecs = clients.ecs(region);
    const listed = await ecs.send(new ListTasksCommand({ cluster, serviceName: service, desiredStatus: 'STOPPED' }));
    const arns = (listed.taskArns ?? []).slice(0, 100);
    if (arns.length === 0) return [];
    const described = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }));
    return stoppedTaskViews(described.tasks ?? [], input.taskDefinitionArn);
  }

  return {
    /**
     * Reads the rollout about once per `pollIntervalMs` (the shared budget may space reads out) until it is final,
     * its milestone differs from `seen`, or `returnBy` passes. Heartbeats carry the latest reading, so a person
     * watching sees task counts move, and a retry on another worker simply reads again.
     */
    watchRollout: async (input: WatchRolloutInput): Promise<RolloutSnapshot> => {
      const ctx = Context.current();
      const returnBy = Date.parse(input.returnBy);
      const key = input.serviceDeploymentArn ?? `${input.region}/${input.cluster}/${input.service}`;
      const early = (lastRead.get(key) ?? 0) + input.pollIntervalMs - Date.now();
      if (early > 0) await sleepBeating(ctx, Math.min(early, Math.max(returnBy - Date.now(), 0)));
      let last: RolloutSnapshot | undefined;
      for (;;) {
        try {
          last = await read(input);
          remember(key);
        } catch (err) {
          if (!PASSING.test(awsErrorName(err) ?? '') && !PASSING.test(errorMessage(err))) {
            throw awsFailure(`read the rollout of ${input.service}`, err);
          }
          log.info('a rollout read failed; reading again', { error: errorMessage(err) });
        }
        if (last) {
          ctx.heartbeat(last);
          if (isFinal(last)) lastRead.delete(key);
          const final = isFinal(last) && last.state !== 'completed';
          if (final) return await explain(input, last);
          if (isFinal(last) || milestone(last) !== input.seen) return last;
        } else {
          ctx.heartbeat();
        }
        const left = returnBy - Date.now();
        if (left <= 0 && last) return last;
        if (left <= -input.pollIntervalMs) throw new Error(`could not read the rollout of ${input.service} in time`);
        await sleepBeating(ctx, Math.max(Math.min(input.pollIntervalMs, left), 50), last);
      }
    },

    /** Lets ECS go on past a paused lifecycle hook; a hook no longer waiting (expired, answered) is not an error. */
    continueRollout: async (input: ContinueRolloutInput): Promise<StopRolloutResult> => {
      try {
        await clients.ecs(input.region).send(
          new ContinueServiceDeploymentCommand({
            serviceDeploymentArn: input.serviceDeploymentArn,
            hookId: input.hookId,
            action: 'CONTINUE',
          }),
        );
        return { accepted: true, detail: `answered the paused hook ${input.hookId} with CONTINUE` };
      } catch (err) {
        const name = awsErrorName(err) ?? '';
        if (['ConflictException', 'ClientException', 'ServiceDeploymentNotFoundException'].includes(name)) {
          return { accepted: false, detail: `ECS did not take CONTINUE (${name}: ${errorMessage(err)})` };
        }
        throw awsFailure(`continue service deployment ${input.serviceDeploymentArn}`, err);
      }
    },

    /** ECS rolls the deployment back itself: at a paused hook by answering it, else by stopping the deployment. */
    stopRollout: async (input: StopRolloutInput): Promise<StopRolloutResult> => {
      const ecs = clients.ecs(input.region);
      const arn = input.serviceDeploymentArn;
      try {
        if (input.hookId) {
          await ecs.send(
            new ContinueServiceDeploymentCommand({
              serviceDeploymentArn: arn,
              hookId: input.hookId,
              action: 'ROLLBACK',
            }),
          );
          return { accepted: true, detail: `answered the paused hook ${input.hookId} with ROLLBACK` };
        }
        await ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: 'ROLLBACK' }));
        return { accepted: true, detail: `StopServiceDeployment(ROLLBACK) of ${arn}` };
      } catch (err) {
        // The deployment has ended (or the hook is no longer waiting): ECS will not roll it back any more.
        const name = awsErrorName(err) ?? '';
        if (['ConflictException', 'ClientException', 'ServiceDeploymentNotFoundException'].includes(name)) {
          return { accepted: false, detail: `ECS refused the rollback (${name}: ${errorMessage(err)})` };
        }
        throw awsFailure(`roll back service deployment ${arn}`, err);
      }
    },
  };
}
