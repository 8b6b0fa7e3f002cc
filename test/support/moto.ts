/**
 * moto_server with realistic ECS rollouts (scripts/moto_sim.py) for tests. The outcome of the next
 * rollout is set by tagging the service, through the same ECS API the code under test uses.
 */
import { ECSClient, TagResourceCommand, type Tag } from '@aws-sdk/client-ecs';
import { ROOT, TOOLS_BIN, freePort, startService } from './process.js';

/** moto accepts any credentials; the SDK only needs some to sign with. */
export { MOTO_CREDENTIALS } from '../../src/devstack/seed.js';
import { MOTO_CREDENTIALS } from '../../src/devstack/seed.js';

export interface MotoServer {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  /** What a process needs in its environment to send every AWS call to this server. */
  env: Record<string, string>;
  stop(): Promise<void>;
  /** Clears every resource on the server. */
  reset(): Promise<void>;
}

export interface StartMotoOptions {
  /** Default time per rollout step; a service's `sim:step-ms` tag overrides it for one rollout. */
  stepMs?: number;
}

export async function startMoto(opts: StartMotoOptions = {}): Promise<MotoServer> {
  const port = await freePort();
  const args = [`${ROOT}/scripts/moto_sim.py`, '--host', '127.0.0.1', '--port', String(port)];
  if (opts.stepMs !== undefined) args.push('--step-ms', String(opts.stepMs));
  const service = await startService({ name: 'moto', command: `${TOOLS_BIN}/python`, args, waitPort: port });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    },
    stop: () => service.stop(),
    async reset() {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset answered ${res.status}`);
    },
  };
}

export type RolloutOutcome = 'succeed' | 'fail' | 'rollback' | 'hang';

export interface NextRolloutInput {
  endpoint: string;
  region: string;
  serviceArn: string;
  outcome: RolloutOutcome;
  /** Time per rollout step; absent: the server's default. */
  stepMs?: number;
}

/** Chooses how the service's next rollout ends. The sim consumes the tags when that rollout starts. */
export async function setNextRollout(input: NextRolloutInput): Promise<void> {
  const ecs = new ECSClient({ region: input.region, endpoint: input.endpoint, credentials: MOTO_CREDENTIALS });
  const tags: Tag[] = [{ key: 'sim:next-rollout', value: input.outcome }];
  if (input.stepMs !== undefined) tags.push({ key: 'sim:step-ms', value: String(input.stepMs) });
  await ecs.send(new TagResourceCommand({ resourceArn: input.serviceArn, tags }));
  ecs.destroy();
}
