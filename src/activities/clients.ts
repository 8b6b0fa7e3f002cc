/** One AWS client per service and region, made once in the worker and shared by every activity. */
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { AWS_CLIENT_RETRY, awsErrorName, isThrottling } from './aws-errors.js';
import { ecsReader, type EcsReader } from './ecs-reader.js';

export interface AwsClients {
  ecs(region: string): ECSClient;
  ecr(region: string): ECRClient;
  /** Batched, budgeted reads of rollouts, shared by every deploy this worker follows. */
  reader: EcsReader;
  destroy(): void;
}

/** ECS's read budget is shared by the whole account; this worker takes at most this many reads a second by default. */
export const DEFAULT_ECS_READS_PER_SECOND = 10;

/** One request to ECS, as sent: a retry by the SDK is another call. */
export interface EcsCall {
  operation: string;
  region: string;
  /** `ok`, `throttled`, or the error's name (`ServiceNotFoundException`, `ECONNREFUSED`). */
  outcome: string;
}

/** The SDK reads AWS_ENDPOINT_URL and the credentials from the environment. */
export function awsClients(
  opts: {
    ecsReadsPerSecond?: number;
    /** Every request to ECS (metrics). */
    onEcsCall?: (call: EcsCall) => void;
    /** Each batched read of the shared reader (the bench counts them). */
    onBatchedRead?: (operation: string, region: string) => void;
  } = {},
): AwsClients {
  const ecs = new Map<string, ECSClient>();
  const ecr = new Map<string, ECRClient>();
  const cached = <C>(map: Map<string, C>, region: string, make: () => C): C => {
    let client = map.get(region);
    if (client === undefined) {
      client = make();
      map.set(region, client);
    }
    return client;
  };
  const counted = (client: ECSClient, region: string): ECSClient => {
    if (opts.onEcsCall) countCalls(client, region, opts.onEcsCall);
    return client;
  };
  // The reader spends its own tokens, one per batched call; its client must not spend another.
  const readerClients = new Map<string, ECSClient>();
  const reader = ecsReader({
    client: (region) =>
      cached(readerClients, region, () => counted(new ECSClient({ region, ...AWS_CLIENT_RETRY }), region)),
    readsPerSecond: opts.ecsReadsPerSecond ?? DEFAULT_ECS_READS_PER_SECOND,
    ...(opts.onBatchedRead ? { onCall: opts.onBatchedRead } : {}),
  });
  const ecsFor = (region: string): ECSClient =>
    cached(ecs, region, () => {
      const client = counted(new ECSClient({ region, ...AWS_CLIENT_RETRY }), region);
      spendBudgetOnReads(client, () => reader.budget(region));
      return client;
    });
  return {
    ecs: ecsFor,
    reader,
    ecr: (region) => cached(ecr, region, () => new ECRClient({ region, ...AWS_CLIENT_RETRY })),
    destroy() {
      for (const client of [...ecs.values(), ...readerClients.values(), ...ecr.values()]) client.destroy();
      ecs.clear();
      readerClients.clear();
      ecr.clear();
    },
  };
}

/** ECS's read actions, which share the account's read bucket. */
const ECS_READ = /^(Describe|List)/;

/**
 * Every read through `client` waits for a token of the worker's budget first, so the reads that are not batched
 * (a deploy's start, its registration, explanations of a failure) stay within it too. Placed after the SDK's retry
 * step, so each attempt spends a token, as each counts at ECS.
 */
function spendBudgetOnReads(client: ECSClient, take: () => Promise<void>): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (ECS_READ.test(context.commandName ?? '')) await take();
      return await next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'ecsReadBudget' },
  );
}

/**
 * Reports every request the client sends, the reader's and every activity's alike. Placed inside the SDK's retries, so
 * each attempt counts: that is what ECS's rate limits count.
 */
function countCalls(client: ECSClient, region: string, onCall: (call: EcsCall) => void): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
      try {
        const out = await next(args);
        onCall({ operation, region, outcome: 'ok' });
        return out;
      } catch (err) {
        onCall({ operation, region, outcome: isThrottling(err) ? 'throttled' : (awsErrorName(err) ?? 'error') });
        throw err;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'countEcsCalls' },
  );
}
