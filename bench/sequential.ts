/**
 * The two baselines, plain sequential scripts against the same local stack.
 *
 * seed: the original Actions pipeline as it was: clone, go build, go test, an image build that compiles again (as a
 * Dockerfile with a golang build stage does, with a cold cache), push, register, update, and the SDK's services-stable
 * waiter that the official deploy action uses (15 s between its first polls, backing off to 2 minutes).
 *
 * tuned: the best a sequential script can do without durability: a kept clone that only fetches, warm Go caches,
 * one compile whose binary is packaged, push, register, update, and a poll every second.
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  waitUntilServicesStable,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';

export type Baseline = 'seed' | 'tuned';

export interface SequentialInput {
  kind: Baseline;
  /** The stack's environment: AWS (the emulator itself, not the proxy), registry, target. */
  env: Record<string, string>;
  sourceRepo: string;
  sha: string;
  /** Kept between runs: the warm Go build cache, and the tuned script's clone. */
  stateDir: string;
}

export async function runSequential(input: SequentialInput): Promise<number> {
  const { env, sha, kind } = input;
  const started = Date.now();
  const scratch = await mkdtemp(join(tmpdir(), `sequential-${kind}-`));
  const aws = {
    region: env.AWS_REGION ?? 'us-east-1',
    endpoint: env.AWS_ENDPOINT_URL,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const ecs = new ECSClient(aws);
  const ecr = new ECRClient(aws);
  try {
    const ws = kind === 'tuned' ? await keptClone(input) : await freshClone(input, scratch);
    const goEnv = {
      CGO_ENABLED: '0',
      GOOS: 'linux',
      GOFLAGS: '-buildvcs=false',
      GOTOOLCHAIN: 'local',
      GOCACHE: join(input.stateDir, 'go-build'),
    };
    const app = join(ws, 'app');
    if (kind === 'seed') {
      await execa('go', ['build', './...'], { cwd: app, env: goEnv });
      await execa('go', ['test', './...', '-v'], { cwd: app, env: goEnv });
      // The Dockerfile's build stage compiles again, from nothing.
      await execa('go', ['build', '-trimpath', '-o', join(ws, 'build/app'), '.'], {
        cwd: app,
        env: { ...goEnv, GOCACHE: join(scratch, 'cold-go-build') },
      });
    } else {
      await execa('go', ['build', '-trimpath', '-o', join(ws, 'build/app'), '.'], { cwd: app, env: goEnv });
      await execa('go', ['test', './...'], { cwd: app, env: goEnv });
    }
    const imageRef = await buildAndPush({ env, ecr, ws, sha, storage: join(scratch, 'containers') });
    await registerAndUpdate({ env, ecs, imageRef });
    const cluster = env.ECS_CLUSTER ?? '';
    const services = [env.ECS_SERVICE ?? ''];
    // The SDK waiter's defaults (15 s, backing off to 120 s) are what the official deploy action gets.
    const delays = kind === 'tuned' ? { minDelay: 1, maxDelay: 1 } : {};
    await waitUntilServicesStable({ client: ecs, maxWaitTime: 1800, ...delays }, { cluster, services });
    return Date.now() - started;
  } finally {
    ecs.destroy();
    ecr.destroy();
    await rm(scratch, { recursive: true, force: true });
  }
}

async function freshClone(input: SequentialInput, scratch: string): Promise<string> {
  const ws = join(scratch, 'ws');
  await execa('git', ['clone', '--quiet', input.sourceRepo, ws]);
  await execa('git', ['-C', ws, 'checkout', '--quiet', input.sha]);
  return ws;
}

async function keptClone(input: SequentialInput): Promise<string> {
  const ws = join(input.stateDir, 'clone');
  if (!existsSync(join(ws, '.git'))) {
    await mkdir(input.stateDir, { recursive: true });
    await execa('git', ['clone', '--quiet', input.sourceRepo, ws]);
  } else {
    // Each bench run makes a new source repository; the kept clone follows it, keeping its objects.
    await execa('git', ['-C', ws, 'remote', 'set-url', 'origin', input.sourceRepo]);
    await execa('git', ['-C', ws, 'fetch', '--quiet', 'origin']);
  }
  await execa('git', ['-C', ws, 'checkout', '--quiet', '--force', input.sha]);
  return ws;
}

async function buildAndPush(opts: {
  env: Record<string, string>;
  ecr: ECRClient;
  ws: string;
  sha: string;
  storage: string;
}): Promise<string> {
  const { env, sha, storage } = opts;
  const localTag = `localhost/sequential:${sha}`;
  const global = ['--root', `${storage}/root`, '--runroot', `${storage}/run`, '--storage-driver', 'vfs'];
  const context = opts.ws;
  await execa('buildah', [
    ...global,
    'bud',
    '--isolation',
    'chroot',
    '--format',
    'docker',
    '-t',
    localTag,
    '-f',
    join(context, 'Dockerfile'),
    context,
  ]);
  const token = await opts.ecr.send(new GetAuthorizationTokenCommand({}));
  const creds = Buffer.from(token.authorizationData?.[0]?.authorizationToken ?? '', 'base64').toString();
  const imageRef = `${env.DEPLOY_REGISTRY}/${env.ECR_REPOSITORY}:${sha}`;
  await execa('buildah', [...global, 'push', '--tls-verify=false', '--creds', creds, localTag, `docker://${imageRef}`]);
  return imageRef;
}

async function registerAndUpdate(opts: { env: Record<string, string>; ecs: ECSClient; imageRef: string }) {
  const { env, ecs, imageRef } = opts;
  const cluster = env.ECS_CLUSTER ?? '';
  const service = env.ECS_SERVICE ?? '';
  const current = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  const td = await ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: current.services?.[0]?.taskDefinition }),
  );
  const def = td.taskDefinition ?? {};
  const next: RegisterTaskDefinitionCommandInput = {
    family: def.family,
    containerDefinitions: (def.containerDefinitions ?? []).map((c) =>
      c.name === env.CONTAINER_NAME ? { ...c, image: imageRef } : c,
    ),
    requiresCompatibilities: def.requiresCompatibilities,
    networkMode: def.networkMode,
    cpu: def.cpu,
    memory: def.memory,
    executionRoleArn: def.executionRoleArn,
    taskRoleArn: def.taskRoleArn,
  };
  const registered = await ecs.send(new RegisterTaskDefinitionCommand(next));
  await ecs.send(
    new UpdateServiceCommand({ cluster, service, taskDefinition: registered.taskDefinition?.taskDefinitionArn }),
  );
}
