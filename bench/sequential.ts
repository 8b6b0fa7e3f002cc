/**
 * The original Actions pipeline as a plain sequential script, against the same local stack: go build, go test,
 * an image build that compiles again (as a Dockerfile with a golang build stage does, with a cold cache), push,
 * register, update, and the SDK's services-stable waiter that the official deploy action uses.
 */
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
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
import { ROOT } from '../test/support/process.js';

export interface SequentialInput {
  env: Record<string, string>;
  sourceRepo: string;
  sha: string;
}

export async function runSequential(input: SequentialInput): Promise<number> {
  const { env, sha } = input;
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'sequential-'));
  const coldCache = await mkdtemp(join(tmpdir(), 'docker-build-cache-'));
  const storage = join(dir, 'containers');
  const aws = {
    region: env.AWS_REGION ?? 'us-east-1',
    endpoint: env.AWS_ENDPOINT_URL,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const ecs = new ECSClient(aws);
  const ecr = new ECRClient(aws);
  try {
    const ws = join(dir, 'ws');
    await execa('git', ['clone', '--quiet', input.sourceRepo, ws]);
    await execa('git', ['-C', ws, 'checkout', '--quiet', sha]);
    const goEnv = {
      CGO_ENABLED: '0',
      GOOS: 'linux',
      GOFLAGS: '-buildvcs=false',
      GOTOOLCHAIN: 'local',
      GOCACHE: `${ROOT}/.cache/go-build`,
    };
    await execa('go', ['build', './...'], { cwd: join(ws, 'app'), env: goEnv });
    await execa('go', ['test', './...', '-v'], { cwd: join(ws, 'app'), env: goEnv });
    // The Dockerfile's build stage compiles again, from nothing.
    await execa('go', ['build', '-trimpath', '-o', join(ws, 'build/app'), '.'], {
      cwd: join(ws, 'app'),
      env: { ...goEnv, GOCACHE: coldCache },
    });
    const localTag = `localhost/sequential:${sha}`;
    const global = ['--root', `${storage}/root`, '--runroot', `${storage}/run`, '--storage-driver', 'vfs'];
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
      join(ws, 'Dockerfile'),
      ws,
    ]);
    const token = await ecr.send(new GetAuthorizationTokenCommand({}));
    const creds = Buffer.from(token.authorizationData?.[0]?.authorizationToken ?? '', 'base64').toString();
    const imageRef = `${env.DEPLOY_REGISTRY}/${env.ECR_REPOSITORY}:${sha}`;
    await execa('buildah', [
      ...global,
      'push',
      '--tls-verify=false',
      '--creds',
      creds,
      localTag,
      `docker://${imageRef}`,
    ]);

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
    await waitUntilServicesStable({ client: ecs, maxWaitTime: 600 }, { cluster, services: [service] });
    return Date.now() - started;
  } finally {
    ecs.destroy();
    ecr.destroy();
    await rm(dir, { recursive: true, force: true });
    await rm(coldCache, { recursive: true, force: true });
  }
}
