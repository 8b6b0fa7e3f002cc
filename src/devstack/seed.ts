/**
 * Creates what a deploy needs on moto: an ECR repository, a cluster, revision 1 of a Fargate task
 * definition and a stable service running it. Safe to run twice: what exists is reused.
 */
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';

export interface SeedInput {
  endpoint: string;
  region: string;
  cluster: string;
  service: string;
  repository: string;
  containerName: string;
  family: string;
  /** Default 2. */
  desiredCount?: number;
}

export interface SeedResult {
  repositoryUri: string;
  clusterArn: string;
  serviceArn: string;
  /** The revision the service runs. */
  taskDefinitionArn: string;
}

/** The emulator accepts any keys; these are not secrets. */
export const MOTO_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** moto's default account. */
const ACCOUNT = '123456789012';

export async function seedEcs(input: SeedInput): Promise<SeedResult> {
  const clientConfig = { region: input.region, endpoint: input.endpoint, credentials: MOTO_CREDENTIALS };
  const ecr = new ECRClient(clientConfig);
  const ecs = new ECSClient(clientConfig);
  try {
    const repositoryUri = await ensureRepository(ecr, input.repository);
    const cluster = await ecs.send(new CreateClusterCommand({ clusterName: input.cluster }));
    const existing = await ecs.send(new DescribeServicesCommand({ cluster: input.cluster, services: [input.service] }));
    const running = existing.services?.find((s) => s.status === 'ACTIVE');
    if (running?.serviceArn !== undefined && running.taskDefinition !== undefined) {
      return {
        repositoryUri,
        clusterArn: cluster.cluster?.clusterArn ?? '',
        serviceArn: running.serviceArn,
        taskDefinitionArn: running.taskDefinition,
      };
    }
    const registered = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: input.family,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: '256',
        memory: '512',
        executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecsTaskExecutionRole`,
        taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/${input.family}-task`,
        containerDefinitions: [
          {
            name: input.containerName,
            image: `${repositoryUri}:initial`,
            essential: true,
            portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
            healthCheck: {
              command: ['CMD', '/app', '-healthcheck'],
              interval: 10,
              timeout: 5,
              retries: 3,
              startPeriod: 5,
            },
          },
        ],
      }),
    );
    const taskDefinitionArn = registered.taskDefinition?.taskDefinitionArn ?? '';
    const created = await ecs.send(
      new CreateServiceCommand({
        cluster: input.cluster,
        serviceName: input.service,
        taskDefinition: taskDefinitionArn,
        desiredCount: input.desiredCount ?? 2,
        launchType: 'FARGATE',
        deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
      }),
    );
    return {
      repositoryUri,
      clusterArn: cluster.cluster?.clusterArn ?? '',
      serviceArn: created.service?.serviceArn ?? '',
      taskDefinitionArn,
    };
  } finally {
    ecr.destroy();
    ecs.destroy();
  }
}

async function ensureRepository(ecr: ECRClient, name: string): Promise<string> {
  try {
    const found = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    const uri = found.repositories?.[0]?.repositoryUri;
    if (uri !== undefined) return uri;
  } catch (err) {
    if ((err as Error).name !== 'RepositoryNotFoundException') throw err;
  }
  const created = await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  return created.repository?.repositoryUri ?? '';
}

/** `node dist/devstack/seed.js` seeds the stack described by the environment (see scripts/stack-up.sh). */
if (process.argv[1]?.endsWith('/devstack/seed.js')) {
  const env = process.env;
  seedEcs({
    endpoint: env.AWS_ENDPOINT_URL ?? '',
    region: env.AWS_REGION ?? 'us-east-1',
    cluster: env.ECS_CLUSTER ?? '',
    service: env.ECS_SERVICE ?? '',
    repository: env.ECR_REPOSITORY ?? '',
    containerName: env.CONTAINER_NAME ?? '',
    family: env.TASK_FAMILY ?? env.ECS_SERVICE ?? '',
  }).then(
    (r) => console.log(`seeded ${r.serviceArn} on ${r.taskDefinitionArn}`),
    (err: unknown) => {
      console.error(`failed to seed the emulator: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
