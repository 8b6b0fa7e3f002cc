/**
 * Build recipes and image mode on the real local stack, through the CLI: a second service in a monorepo folder
 * (test/fixtures/worker as services/worker) with its own recipe for linux/arm64, then deploys of an image built
 * elsewhere, by digest.
 */
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionsCommand,
} from '@aws-sdk/client-ecs';
import { execa } from 'execa';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedEcs } from '../../src/devstack/seed.js';
import type { DeployResult } from '../../src/shared/types.js';
import { ROOT } from '../../src/devstack/process.js';
import { REGISTRY_PASSWORD, REGISTRY_USERNAME } from '../support/registry.js';
import { deployctl } from '../../src/devstack/stack.js';
import { startAppStack, type AppStack } from '../../src/devstack/source-repo.js';

const RECIPE = 'services/worker/deploy.yml';
/** The second service, seeded beside the stack's hello: its own repository, task definition and container. */
const WORKER = { service: 'worker', repository: 'worker', containerName: 'worker', family: 'worker' };

let app: AppStack;

beforeAll(async () => {
  app = await startAppStack();
  await seedEcs({
    endpoint: app.stack.env.AWS_ENDPOINT_URL ?? '',
    region: app.stack.env.AWS_REGION ?? '',
    cluster: app.stack.env.ECS_CLUSTER ?? '',
    desiredCount: 1,
    ...WORKER,
  });
}, 120_000);

afterAll(async () => {
  await app?.stop();
});

/** deployctl deploy of the worker service; its task definition is the one the service runs (no template). */
async function deployWorker(
  sha: string,
  extra: string[] = [],
): Promise<{ result: DeployResult; stdout: string; stderr: string; exitCode: number | undefined }> {
  const run = await deployctl(app.stack, [
    'deploy',
    '--sha',
    sha,
    '--service',
    WORKER.service,
    '--repository',
    WORKER.repository,
    '--container-name',
    WORKER.containerName,
    '--task-definition',
    '',
    '--wait',
    '--json',
    ...extra,
  ]);
  const result = (run.stdout ? JSON.parse(run.stdout) : {}) as DeployResult;
  return { result, stdout: run.stdout, stderr: run.stderr, exitCode: run.exitCode };
}

async function workerService() {
  const out = await app.ecs.send(
    new DescribeServicesCommand({ cluster: app.stack.env.ECS_CLUSTER, services: [WORKER.service] }),
  );
  const svc = out.services?.[0];
  if (!svc?.taskDefinition) throw new Error('the worker service is missing');
  return svc;
}

async function workerRevisions(): Promise<string[]> {
  const out = await app.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: WORKER.family }));
  return out.taskDefinitionArns ?? [];
}

/** GET from the stack's registry over HTTP, logged in as the emulator's ECR token says. */
async function registryGet(path: string, accept?: string): Promise<Response> {
  const auth = Buffer.from(`${REGISTRY_USERNAME}:${REGISTRY_PASSWORD}`).toString('base64');
  const res = await fetch(`http://${app.stack.env.DEPLOY_REGISTRY}/v2/${path}`, {
    headers: { authorization: `Basic ${auth}`, ...(accept ? { accept } : {}) },
  });
  if (!res.ok) throw new Error(`GET /v2/${path}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

interface Manifest {
  mediaType?: string;
  config?: { digest: string };
  manifests?: { digest: string; platform?: { architecture?: string; os?: string } }[];
}

/** The platform the registry records for repository@digest: an index's entry, else the image config's. */
async function platformOf(repository: string, digest: string): Promise<{ architecture?: string; os?: string }[]> {
  const manifest = (await (await registryGet(`${repository}/manifests/${digest}`, MANIFEST_TYPES)).json()) as Manifest;
  if (manifest.manifests) return manifest.manifests.map((m) => m.platform ?? {});
  if (!manifest.config) throw new Error(`${repository}@${digest} has neither a config nor manifests`);
  const config = (await (await registryGet(`${repository}/blobs/${manifest.config.digest}`)).json()) as {
    architecture?: string;
    os?: string;
  };
  return [{ architecture: config.architecture, os: config.os }];
}

/**
 * Builds an image outside the deploy system (buildah here, as a CI job elsewhere would) and pushes it to the stack's
 * registry under `tag`, with the same login ECR hands out. Returns the digest the registry holds.
 */
async function pushBuiltElsewhere(repository: string, tag: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'elsewhere-'));
  try {
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY built-elsewhere.txt /\n');
    await writeFile(join(dir, 'built-elsewhere.txt'), `built outside the deploy worker at ${Date.now()}\n`);
    const global = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
    await execa('buildah', [
      ...global,
      'bud',
      '--format',
      'docker',
      '--platform',
      'linux/arm64',
      '-t',
      'elsewhere',
      dir,
    ]);
    await execa('buildah', [
      ...global,
      'push',
      '--tls-verify=false',
      '--creds',
      `${REGISTRY_USERNAME}:${REGISTRY_PASSWORD}`,
      '--digestfile',
      join(dir, 'digest'),
      'elsewhere',
      `docker://${app.stack.env.DEPLOY_REGISTRY}/${repository}:${tag}`,
    ]);
    return (await readFile(join(dir, 'digest'), 'utf8')).trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function tags(repository: string): Promise<string[]> {
  const list = (await (await registryGet(`${repository}/tags/list`)).json()) as { tags?: string[] | null };
  return [...(list.tags ?? [])].sort();
}

describe('a monorepo folder service with its own recipe, on the local stack', () => {
  /** What the arm64 deploy pushed; the image-mode deploy below rolls out another digest. */
  let arm64Digest = '';

  test('deploys services/worker built for linux/arm64 with its own test command, and the registry says arm64', async () => {
    const sha = await app.source.commit('add the worker service', async (dir) => {
      await cp(join(ROOT, 'test/fixtures/worker'), join(dir, 'services/worker'), { recursive: true });
    });
    const { result, stderr, exitCode } = await deployWorker(sha, ['--recipe', RECIPE]);
    expect(result.error).toBeUndefined();
    expect(exitCode).toBe(0);
    expect(result).toMatchObject({
      status: 'succeeded',
      sha,
      imageRef: `${app.stack.env.DEPLOY_REGISTRY}/worker:${sha}`,
    });
    expect(result.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    for (const stage of ['build', 'test', 'package', 'register', 'update', 'wait_stable'])
      expect(result.stages.find((s) => s.name === stage)?.status).toBe('succeeded');
    expect(stderr).toMatch(/local\/worker /);

    const platforms = await platformOf(WORKER.repository, result.imageDigest ?? '');
    expect(platforms).toEqual([{ architecture: 'arm64', os: 'linux' }]);
    const svc = await workerService();
    expect(svc.taskDefinition).toBe(result.taskDefinitionArn);
    arm64Digest = result.imageDigest ?? '';
  });

  test('deploy --dry-run reads the recipe at the SHA: a container it names that the task definition lacks is refused', async () => {
    const before = await workerRevisions();
    const recipeFile = async (dir: string, edit: (text: string) => string): Promise<void> => {
      const path = join(dir, RECIPE);
      await writeFile(path, edit(await readFile(path, 'utf8')));
    };
    const sha = await app.source.commit('the worker recipe names a sidecar', (dir) =>
      recipeFile(dir, (t) => t.replace('containers: [worker]', 'containers: [worker, sidecar]')),
    );
    const dry = await deployWorker(sha, ['--recipe', RECIPE, '--dry-run']);
    expect(dry.exitCode).not.toBe(0);
    expect(dry.stdout).toBe('');
    expect(dry.stderr).toContain('task definition "worker" has no container named "sidecar"');
    expect(await workerRevisions()).toEqual(before);
    await app.source.commit('the worker recipe without the sidecar', (dir) =>
      recipeFile(dir, (t) => t.replace('containers: [worker, sidecar]', 'containers: [worker]')),
    );
  });

  test("the folder's own test command gates its deploy: a failing worker test ends at stage test, ECS untouched", async () => {
    const before = { taskDefinition: (await workerService()).taskDefinition, revisions: await workerRevisions() };
    const sha = await app.source.commit('break the worker greeting test', async (dir) => {
      const path = join(dir, 'services/worker/main_test.go');
      await writeFile(path, (await readFile(path, 'utf8')).replace('"worker ready" {', '"worker gone" {'));
    });
    const { result, exitCode } = await deployWorker(sha, ['--recipe', RECIPE]);
    expect(exitCode).toBe(1);
    expect(result).toMatchObject({ status: 'failed', error: { stage: 'test' } });
    expect(result.error?.message).toMatch(/^failed to test by services\/worker\/deploy\.yml: .*TestGreeting/);
    expect((await workerService()).taskDefinition).toBe(before.taskDefinition);
    expect(await workerRevisions()).toEqual(before.revisions);
  });

  test('an image-mode deploy of a digest pushed beforehand succeeds without building, testing or packaging', async () => {
    const digest = await pushBuiltElsewhere(WORKER.repository, 'built-elsewhere');
    expect(digest).not.toBe(arm64Digest);
    // A commit whose recipe would fail its build: image mode must not run it.
    const sha = await app.source.commit('a worker that does not compile', async (dir) => {
      await cp(join(ROOT, 'test/fixtures/worker/main.go'), join(dir, 'services/worker/broken.go'));
    });
    const tagsBefore = await tags(WORKER.repository);
    const revisionsBefore = await workerRevisions();
    const dry = await deployWorker(sha, ['--image-digest', digest, '--dry-run']);
    expect(dry.exitCode).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      dryRun: true,
      imageRef: `${app.stack.env.DEPLOY_REGISTRY}/worker@${digest}`,
      imagePinned: true,
    });
    expect(await workerRevisions()).toEqual(revisionsBefore);

    const { result, exitCode } = await deployWorker(sha, ['--recipe', RECIPE, '--image-digest', digest]);
    expect(result.error).toBeUndefined();
    expect(exitCode).toBe(0);
    expect(result).toMatchObject({ status: 'succeeded', sha, imageDigest: digest });
    for (const stage of ['checkout', 'build', 'test', 'package'])
      expect(result.stages.find((s) => s.name === stage)?.status ?? 'skipped').toBe('skipped');
    for (const stage of ['register', 'update', 'wait_stable'])
      expect(result.stages.find((s) => s.name === stage)?.status).toBe('succeeded');
    const svc = await workerService();
    expect(svc.taskDefinition).toBe(result.taskDefinitionArn);
    const td = await app.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: svc.taskDefinition }));
    expect(td.taskDefinition?.containerDefinitions?.find((c) => c.name === WORKER.containerName)?.image).toBe(
      `${app.stack.env.DEPLOY_REGISTRY}/worker@${digest}`,
    );
    // Nothing pushed: the registry holds the same tags as before.
    expect(await tags(WORKER.repository)).toEqual(tagsBefore);
  });

  test('an image digest the repository does not hold is refused in one line naming the field, and ECS is untouched', async () => {
    const before = { taskDefinition: (await workerService()).taskDefinition, revisions: await workerRevisions() };
    const tagsBefore = await tags(WORKER.repository);
    const bogus = `sha256:${'0'.repeat(64)}`;
    const sha = await app.source.commit('deploy an image nobody pushed');

    const { result, exitCode } = await deployWorker(sha, ['--image-digest', bogus]);
    expect(exitCode).toBe(1);
    expect(result.status).toBe('failed');
    expect(result.error?.message).toBe(
      `invalid imageDigest: ${bogus} is not in ${app.stack.env.DEPLOY_REGISTRY}/worker; push the image there first, or fix --image-digest`,
    );
    expect(result.taskDefinitionArn).toBeUndefined();
    expect((await workerService()).taskDefinition).toBe(before.taskDefinition);
    expect(await workerRevisions()).toEqual(before.revisions);
    expect(await tags(WORKER.repository)).toEqual(tagsBefore);
  });

  test('a malformed image digest is refused by the CLI in one line naming the flag, before any request', async () => {
    const before = await workerRevisions();
    const run = await deployctl(app.stack, ['deploy', '--sha', 'f'.repeat(40), '--image-digest', 'latest']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^deployctl: invalid --image-digest: /);
    expect(await workerRevisions()).toEqual(before);
  });
});
