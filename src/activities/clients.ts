/** One AWS client per service and region, made once in the worker and shared by every activity. */
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { AWS_CLIENT_RETRY } from './aws-errors.js';
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

/** The SDK reads AWS_ENDPOINT_URL and the credentials from the environment. */
export function awsClients(
  opts: { ecsReadsPerSecond?: number; onCall?: (op: string, region: string) => void } = {},
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
  const ecsFor = (region: string): ECSClient =>
    cached(ecs, region, () => new ECSClient({ region, ...AWS_CLIENT_RETRY }));
  return {
    ecs: ecsFor,
    reader: ecsReader({
      client: ecsFor,
      readsPerSecond: opts.ecsReadsPerSecond ?? DEFAULT_ECS_READS_PER_SECOND,
      ...(opts.onCall ? { onCall: opts.onCall } : {}),
    }),
    ecr: (region) => cached(ecr, region, () => new ECRClient({ region, ...AWS_CLIENT_RETRY })),
    destroy() {
      for (const client of [...ecs.values(), ...ecr.values()]) client.destroy();
      ecs.clear();
      ecr.clear();
    },
  };
}
