/**
 * moto_server with realistic ECS rollouts (scripts/moto_sim/) for tests. The outcome of the next
 * rollout is set by tagging the service, through the same ECS API the code under test uses.
 */
import { ECSClient, TagResourceCommand, type Tag } from '@aws-sdk/client-ecs';
import { ROOT, TOOLS_BIN, freePort, startService } from './process.js';

/** moto accepts any credentials; the SDK only needs some to sign with. */
export { MOTO_CREDENTIALS } from './seed.js';
import { MOTO_CREDENTIALS } from './seed.js';

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
  /** Real milliseconds per configured minute (bake times, hook timeouts); a `sim:minute-ms` tag overrides it. */
  minuteMs?: number;
}

export async function startMoto(opts: StartMotoOptions = {}): Promise<MotoServer> {
  const port = await freePort();
  const args = [`${ROOT}/scripts/moto_sim`, '--host', '127.0.0.1', '--port', String(port)];
  if (opts.stepMs !== undefined) args.push('--step-ms', String(opts.stepMs));
  if (opts.minuteMs !== undefined) args.push('--minute-ms', String(opts.minuteMs));
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

/** How the emulator ends the next rollout (scripts/moto_sim/__init__.py explains each). */
export type RolloutOutcome = 'succeed' | 'fail' | 'rollback' | 'rollback-fail' | 'alarm' | 'hang';

export interface NextRolloutInput {
  endpoint: string;
  region: string;
  serviceArn: string;
  outcome: RolloutOutcome;
  /** Time per rollout step; absent: the server's default. */
  stepMs?: number;
  /** Real milliseconds per configured minute, kept on the service; absent: unchanged. */
  minuteMs?: number;
  /** The alarm that goes off under `alarm`; absent: the first configured alarm, else a fixed name. */
  alarmName?: string;
}

/** Chooses how the service's next rollout ends. The sim consumes the tags when that rollout starts, except sim:minute-ms. */
export async function setNextRollout(input: NextRolloutInput): Promise<void> {
  const ecs = new ECSClient({ region: input.region, endpoint: input.endpoint, credentials: MOTO_CREDENTIALS });
  const tags: Tag[] = [{ key: 'sim:next-rollout', value: input.outcome }];
  if (input.stepMs !== undefined) tags.push({ key: 'sim:step-ms', value: String(input.stepMs) });
  if (input.minuteMs !== undefined) tags.push({ key: 'sim:minute-ms', value: String(input.minuteMs) });
  if (input.alarmName !== undefined) tags.push({ key: 'sim:alarm-name', value: input.alarmName });
  await ecs.send(new TagResourceCommand({ resourceArn: input.serviceArn, tags }));
  ecs.destroy();
}
