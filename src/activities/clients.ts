/** One AWS client per service and region, made once in the worker and shared by every activity. */
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { AWS_CLIENT_RETRY } from './aws-errors.js';

export interface AwsClients {
  ecs(region: string): ECSClient;
  ecr(region: string): ECRClient;
  destroy(): void;
}

/** The SDK reads AWS_ENDPOINT_URL and the credentials from the environment. */
export function awsClients(): AwsClients {
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
  return {
    ecs: (region) => cached(ecs, region, () => new ECSClient({ region, ...AWS_CLIENT_RETRY })),
    ecr: (region) => cached(ecr, region, () => new ECRClient({ region, ...AWS_CLIENT_RETRY })),
    destroy() {
      for (const client of [...ecs.values(), ...ecr.values()]) client.destroy();
      ecs.clear();
      ecr.clear();
    },
  };
}
