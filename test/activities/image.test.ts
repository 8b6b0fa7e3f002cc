/**
 * packageImage end to end: a real buildah build, a push to a real registry, and ECR credentials from a real moto
 * server, whose token is the registry's htpasswd login.
 */
import { execa, execaSync } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ecrActivities } from '../../src/activities/ecr.js';
import { goActivities } from '../../src/activities/go.js';
import { imageActivities } from '../../src/activities/image.js';
import { parseRecipe } from '../../src/activities/recipe.js';
import { findManifest } from '../../src/activities/registry-api.js';
import { ErrorType } from '../../src/shared/errors.js';
import type { PackageInput } from '../../src/shared/types.js';
import { failureOf, runActivity } from '../support/activity.js';
import { addProbe, FAKE_WORKER_SECRETS, PROBE_TEST } from '../support/probe.js';
import { startMoto, type MotoServer } from '../../src/devstack/moto.js';
import { manifestDigest, pullImage, startRegistry, type TestRegistry } from '../support/registry.js';
import { ROOT } from '../../src/devstack/process.js';
import { COLD_GO_BUILD_MS, makeWorkspace, removeWorkspace, testConfig } from '../support/workspace.js';

const region = 'us-east-1';
const repository = 'my-app';
const savedEnv = { ...process.env };
const workspaces: string[] = [];
let registry: TestRegistry;
let moto: MotoServer;
let config: ReturnType<typeof testConfig>;

const newSha = (): string => randomBytes(20).toString('hex');
const HEAD = execaSync('git', ['-C', ROOT, 'rev-parse', 'HEAD']).stdout.trim();

/** A workspace as the build stage leaves it: app/, Dockerfile and the compiled build/app. */
async function builtWorkspace(label: string): Promise<{ workspace: string; binaryPath: string; binarySha256: string }> {
  const workspace = await makeWorkspace(config, label);
  workspaces.push(workspace);
  const built = await runActivity(goActivities(config).buildApp, { sha: HEAD, deployId: basename(workspace) });
  return { workspace, ...built };
}

function packageInput(built: { workspace: string; binarySha256: string }, sha: string): PackageInput {
  return { sha, deployId: basename(built.workspace), binarySha256: built.binarySha256, region, repository };
}

beforeAll(async () => {
  [registry, moto] = await Promise.all([startRegistry(), startMoto()]);
  Object.assign(process.env, moto.env, { AWS_REGION: region });
  config = testConfig({ registry: registry.address, registryInsecure: true, imageBuilder: 'buildah' });
});

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all([registry?.stop(), moto?.stop(), ...workspaces.map(removeWorkspace)]);
});

describe('packageImage', () => {
  const sha = newSha();
  let first: Awaited<ReturnType<typeof builtWorkspace>>;

  beforeAll(async () => {
    first = await builtWorkspace('image');
  }, COLD_GO_BUILD_MS);

  it('pushes an image of the tested binary as <registry>/<repository>:<sha> and returns its digest', async () => {
    const { packageImage } = imageActivities(config);
    const result = await runActivity(packageImage, packageInput(first, sha));

    expect(result.imageRef).toBe(`${registry.address}/${repository}:${sha}`);
    expect(result.pushed).toBe(true);
    expect(result.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await manifestDigest(registry.address, repository, sha)).toBe(result.imageDigest);

    const image = await pullImage(registry.address, repository, sha);
    try {
      const binary = await readFile(join(image.rootfs, 'app'));
      expect(createHash('sha256').update(binary).digest('hex')).toBe(first.binarySha256);
      expect(image.config.config).toMatchObject({
        User: '65534:65534',
        Entrypoint: ['/app'],
        ExposedPorts: { '8080/tcp': {} },
        Labels: { 'deploy.id': basename(first.workspace), 'deploy.binary-sha256': first.binarySha256 },
        Healthcheck: { Test: ['CMD', '/app', '-healthcheck'] },
      });
    } finally {
      await image.remove();
    }
  });

  it('leaves nothing of the build behind: its step directory, with the image storage, is gone', async () => {
    const leftovers = (await readdir(join(config.workDir, 'sandbox'))).filter((n) => n.startsWith(`${process.pid}-`));
    expect(leftovers).toEqual([]);
    expect((await readdir(config.workDir)).filter((n) => n.startsWith('image-'))).toEqual([]);
  });

  it('returns the pushed image without building again when the tag is already in the registry', async () => {
    // Without a Dockerfile or binary, any build would fail: success proves nothing was built.
    await rm(join(first.workspace, 'Dockerfile'));
    await rm(join(first.workspace, 'build'), { recursive: true });

    const again = await runActivity(imageActivities(config).packageImage, packageInput(first, sha));

    expect(again).toEqual({
      imageRef: `${registry.address}/${repository}:${sha}`,
      imageDigest: await manifestDigest(registry.address, repository, sha),
      pushed: false,
    });
  });

  it(
    'fails non-retryably with ImageBuildError naming the Dockerfile step, and pushes nothing',
    async () => {
      const built = await builtWorkspace('image-bad-dockerfile');
      const { workspace } = built;
      await writeFile(
        join(workspace, 'Dockerfile'),
        'FROM scratch\nCOPY build/app /app\nCOPY missing.txt /missing.txt\n',
      );
      await writeFile(join(workspace, '.dockerignore'), '');
      const badSha = newSha();

      const err = await failureOf(runActivity(imageActivities(config).packageImage, packageInput(built, badSha)));

      expect(err.type).toBe(ErrorType.imageBuild);
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toMatch(/^failed to build image from the Dockerfile: .*COPY missing\.txt/);
      expect(err.message).not.toContain(registry.password);
      expect(await manifestDigest(registry.address, repository, badSha)).toBeUndefined();
    },
    COLD_GO_BUILD_MS,
  );

  it(
    'on a worker without the workspace, checks the commit out, rebuilds, and pushes the very binary the build stage made',
    async () => {
      // Another worker: its own work dir, no workspace, no binary. The build is reproducible, so the bytes match.
      const other = testConfig({ ...config, workDir: `${config.workDir}-other-worker` });
      const deployId = `image-elsewhere-${newSha().slice(0, 8)}`;
      workspaces.push(join(other.workDir, 'workspaces', deployId));

      const result = await runActivity(imageActivities(other).packageImage, {
        sha: HEAD,
        deployId,
        binarySha256: first.binarySha256,
        region,
        repository,
      });

      expect(result.pushed).toBe(true);
      const image = await pullImage(registry.address, repository, HEAD);
      try {
        const binary = await readFile(join(image.rootfs, 'app'));
        expect(createHash('sha256').update(binary).digest('hex')).toBe(first.binarySha256);
      } finally {
        await image.remove();
      }
    },
    COLD_GO_BUILD_MS,
  );

  it(
    'fails non-retryably with BinaryMismatch, and pushes nothing, when the rebuilt binary is not the tested one',
    async () => {
      const workspace = await makeWorkspace(config, 'image-mismatch');
      workspaces.push(workspace);
      const otherSha = newSha();

      const err = await failureOf(
        runActivity(
          imageActivities(config).packageImage,
          packageInput({ workspace, binarySha256: 'e'.repeat(64) }, otherSha),
        ),
      );

      expect(err.type).toBe(ErrorType.binaryMismatch);
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toContain(`but the build stage produced ${'e'.repeat(64)}`);
      expect(await manifestDigest(registry.address, repository, otherSha)).toBeUndefined();
    },
    COLD_GO_BUILD_MS,
  );
});

describe('a Dockerfile whose RUN step looks for the worker credentials', () => {
  let built: Awaited<ReturnType<typeof builtWorkspace>>;
  let secretsDir: string;

  beforeAll(async () => {
    built = await builtWorkspace('image-run-probe');
    // An ECR auth file of another deploy's push, and credentials in the worker's environment.
    secretsDir = await mkdtemp(join(config.workDir, 'image-'));
    workspaces.push(secretsDir);
    await writeFile(join(secretsDir, 'auth.json'), '{"auths":{"r":{"auth":"ZmFrZQ=="}}}', { mode: 0o600 });
    // The probe as a static test binary the RUN step executes (scratch has no shell and no Go).
    await addProbe(built.workspace, [join(config.workDir, 'image-*/auth.json')]);
    await execa('go', ['test', '-c', '-o', join(built.workspace, 'probe.test'), '.'], {
      cwd: join(built.workspace, 'app'),
      env: { CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false', GOCACHE: join(savedEnv.HOME ?? '/root', '.cache/go-build') },
    });
    await writeFile(join(built.workspace, '.dockerignore'), '*\n!build/app\n!probe.test\n');
  }, COLD_GO_BUILD_MS);

  let before: NodeJS.ProcessEnv;
  beforeAll(() => {
    before = { ...process.env };
    Object.assign(process.env, FAKE_WORKER_SECRETS);
  });

  afterAll(() => {
    process.env = before;
  });

  const dockerfile = (env: string): string =>
    `FROM scratch\nCOPY build/app /app\nCOPY probe.test /probe.test\n${env}RUN ["/probe.test", "-test.run=${PROBE_TEST}", "-test.v"]\nENTRYPOINT ["/app"]\n`;

  it('fails the build naming what it found: the probe really runs in the RUN step', async () => {
    await writeFile(join(built.workspace, 'Dockerfile'), dockerfile('ENV DEPLOY_CANARY=planted-by-the-dockerfile\n'));
    const err = await failureOf(runActivity(imageActivities(config).packageImage, packageInput(built, newSha())));
    expect(err.type).toBe(ErrorType.imageBuild);
    expect(err.message).toContain('probe found own environment: DEPLOY_CANARY');
    expect(err.message).not.toContain('AWS_SECRET_ACCESS_KEY');
  });

  it('builds and pushes: the RUN step finds no credential, auth file or process environment of the worker', async () => {
    await writeFile(join(built.workspace, 'Dockerfile'), dockerfile(''));
    const result = await runActivity(imageActivities(config).packageImage, packageInput(built, newSha()));
    expect(result.pushed).toBe(true);
  });
});

describe('packageImage by a recipe', () => {
  it(
    "pushes the recipe's artifact for linux/arm64, built from its own Dockerfile and folder, labelled with its hash",
    async () => {
      const workspace = await makeWorkspace(config, 'image-recipe');
      workspaces.push(workspace);
      await cp(join(ROOT, 'test/fixtures/worker'), join(workspace, 'services/worker'), { recursive: true });
      const recipe = parseRecipe(
        await readFile(join(workspace, 'services/worker/deploy.yml'), 'utf8'),
        'services/worker/deploy.yml',
      );
      const ref = { sha: HEAD, deployId: basename(workspace) };
      const built = await runActivity(goActivities(config).buildApp, { ...ref, recipe });
      const sha = newSha();

      const result = await runActivity(imageActivities(config).packageImage, {
        ...ref,
        sha,
        recipe,
        binarySha256: built.binarySha256,
        region,
        repository: 'worker',
      });

      expect(result.pushed).toBe(true);
      const image = await pullImage(registry.address, 'worker', sha);
      try {
        expect(image.config).toMatchObject({ architecture: 'arm64', os: 'linux' });
        expect(image.config.config).toMatchObject({
          Entrypoint: ['/worker'],
          Labels: { 'deploy.binary-sha256': built.binarySha256 },
        });
        const binary = await readFile(join(image.rootfs, 'worker'));
        expect(createHash('sha256').update(binary).digest('hex')).toBe(built.binarySha256);
        // Only the artifact: the folder's sources stayed out of the image.
        expect(await readdir(image.rootfs)).toEqual(['worker']);
      } finally {
        await image.remove();
      }
    },
    COLD_GO_BUILD_MS,
  );
});

describe('checkImageDigest (image mode, beside the pushes it finds)', () => {
  it('finds a pushed digest in the repository and names the image by it', async () => {
    const pushed = await manifestDigest(registry.address, repository, HEAD);
    if (!pushed) throw new Error(`the packageImage tests above push ${repository}:${HEAD}`);
    const { checkImageDigest } = ecrActivities(config);
    expect(await runActivity(checkImageDigest, { region, repository, imageDigest: pushed })).toEqual({
      imageRef: `${registry.address}/${repository}@${pushed}`,
      imageDigest: pushed,
    });
  });

  it('refuses, non-retryably and in one line, a digest the repository does not hold', async () => {
    const bogus = `sha256:${'0'.repeat(64)}`;
    const err = await failureOf(
      runActivity(ecrActivities(config).checkImageDigest, { region, repository, imageDigest: bogus }),
    );
    expect(err.type).toBe(ErrorType.notFound);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toBe(
      `invalid imageDigest: ${bogus} is not in ${registry.address}/${repository}; push the image there first, or fix --image-digest`,
    );
  });
});

describe('discardImage', () => {
  it(
    'removes the image this deploy pushed, and keeps one another deploy pushed under the same tag',
    async () => {
      const built = await builtWorkspace('image-discard');
      const { packageImage, discardImage } = imageActivities(config);
      const mine = newSha();
      const theirs = newSha();
      await runActivity(packageImage, packageInput(built, mine));
      await runActivity(packageImage, packageInput(built, theirs));
      const where = { region, repository, deployId: basename(built.workspace) };

      const removed = await runActivity(discardImage, { ...where, sha: mine });
      const kept = await runActivity(discardImage, { ...where, sha: theirs, deployId: 'another-deploy' });
      const never = await runActivity(discardImage, { ...where, sha: newSha() });

      expect(removed.discarded).toBe(true);
      expect(await manifestDigest(registry.address, repository, mine)).toBeUndefined();
      expect(kept).toMatchObject({ discarded: false, detail: expect.stringContaining('kept') as unknown });
      expect(await manifestDigest(registry.address, repository, theirs)).toMatch(/^sha256:/);
      expect(never).toMatchObject({ discarded: false, detail: expect.stringContaining('never pushed') as unknown });
    },
    COLD_GO_BUILD_MS,
  );
});

describe("verifyImage: may an earlier deploy's image of the SHA be reused?", () => {
  const sha = newSha();
  let built: Awaited<ReturnType<typeof builtWorkspace>>;
  let digest: string;

  beforeAll(async () => {
    built = await builtWorkspace('verify');
    digest = (await runActivity(imageActivities(config).packageImage, packageInput(built, sha))).imageDigest;
  }, COLD_GO_BUILD_MS);

  const verify = (over: { imageDigest?: string; binarySha256?: string; sha?: string } = {}) =>
    runActivity(ecrActivities(config).verifyImage, {
      region,
      repository,
      sha: over.sha ?? sha,
      imageDigest: over.imageDigest ?? digest,
      binarySha256: over.binarySha256 ?? built.binarySha256,
    });

  it('yes, when the tag still points at the pushed digest and the image is labelled with the tested binary', async () => {
    expect(await verify()).toEqual({
      reusable: true,
      imageRef: `${registry.address}/${repository}:${sha}`,
      detail: `${registry.address}/${repository}:${sha}@${digest} holds the tested binary`,
    });
  });

  it('no, when the tag now points at another digest (the tag was moved)', async () => {
    const other = `sha256:${'0'.repeat(64)}`;
    const answer = await verify({ imageDigest: other });
    expect(answer.reusable).toBe(false);
    expect(answer.detail).toBe(`${registry.address}/${repository}:${sha} now points at ${digest}, not ${other}`);
  });

  it('no, when the image holds another binary than the one the earlier deploy tested', async () => {
    const answer = await verify({ binarySha256: 'f'.repeat(64) });
    expect(answer.reusable).toBe(false);
    expect(answer.detail).toContain(`is labelled with binary ${built.binarySha256}, not the tested ${'f'.repeat(64)}`);
  });

  it('no, when the tag is gone from the registry', async () => {
    const answer = await verify({ sha: newSha() });
    expect(answer).toMatchObject({ reusable: false });
    expect(answer.detail).toMatch(/is no longer in the registry$/);
  });
});

describe('findManifest', () => {
  it('keeps a refused login (401) retryable and never shows the password', async () => {
    const auth = { registry: registry.address, username: 'AWS', password: 'wrong-password' };
    const err: unknown = await runActivity(findManifest, {
      auth,
      registry: registry.address,
      repository,
      tag: 'any',
      insecure: true,
    }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('refused the credentials (401)');
    expect((err as Error).message).not.toContain('wrong-password');
    expect((err as { nonRetryable?: boolean }).nonRetryable).toBeFalsy();
  });
});
