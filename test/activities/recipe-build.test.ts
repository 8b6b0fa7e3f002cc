/**
 * Building and testing by a recipe, through the buildApp and testApp activities, with the real toolchain in the real
 * sandbox: a monorepo folder (test/fixtures/worker as services/worker) built for linux/arm64.
 */
import { execaSync } from 'execa';
import { createHash } from 'node:crypto';
import { cp, lstat, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { goActivities } from '../../src/activities/go.js';
import { parseRecipe } from '../../src/activities/recipe.js';
import { ErrorType } from '../../src/shared/errors.js';
import type { BuildRecipe, RecipeStep } from '../../src/shared/types.js';
import { failureOf, runActivity } from '../support/activity.js';
import { FAKE_WORKER_SECRETS, PROBE_TEST } from '../support/probe.js';
import { ROOT } from '../../src/devstack/process.js';
import { COLD_GO_BUILD_MS, makeWorkspace, removeWorkspace, testConfig } from '../support/workspace.js';

const config = testConfig();
const go = goActivities(config);
const HEAD = execaSync('git', ['-C', ROOT, 'rev-parse', 'HEAD']).stdout.trim();
const RECIPE_PATH = 'services/worker/deploy.yml';
const workspaces: string[] = [];

/** A workspace holding the worker service in services/worker, and its recipe, as checkout reads it. */
async function workerWorkspace(label: string): Promise<{ ws: string; recipe: BuildRecipe }> {
  const ws = await makeWorkspace(config, label);
  workspaces.push(ws);
  await cp(join(ROOT, 'test/fixtures/worker'), join(ws, 'services/worker'), { recursive: true });
  const recipe = parseRecipe(await readFile(join(ws, RECIPE_PATH), 'utf8'), RECIPE_PATH);
  return { ws, recipe };
}

const step = (ws: string, recipe: BuildRecipe): RecipeStep => ({ sha: HEAD, deployId: basename(ws), recipe });

/** The ELF machine field: 0xb7 is AArch64, 0x3e x86-64. */
const elfMachine = (bytes: Buffer): number => bytes.readUInt16LE(0x12);

afterAll(async () => {
  await Promise.all(workspaces.map(removeWorkspace));
});

describe('a recipe for linux/arm64 in a monorepo folder', () => {
  let ws: string;
  let recipe: BuildRecipe;
  let built: { binaryPath: string; binarySha256: string };

  beforeAll(async () => {
    ({ ws, recipe } = await workerWorkspace('recipe-arm64'));
    built = await runActivity(go.buildApp, step(ws, recipe));
  }, COLD_GO_BUILD_MS);

  it('builds its artifact for arm64 into its folder, owned by the worker, and returns its sha256', async () => {
    expect(built.binaryPath).toBe(join(ws, 'services/worker/build/worker'));
    const bytes = await readFile(built.binaryPath);
    expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    expect(elfMachine(bytes)).toBe(0xb7);
    expect(built.binarySha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    const st = await lstat(built.binaryPath);
    expect([st.uid, st.mode & 0o777]).toEqual([0, 0o755]);
  });

  it('runs its tests on this worker with the built artifact in place', async () => {
    // The fixture's test opens build/worker and checks it is an arm64 ELF: it fails without the artifact.
    const result = await runActivity(go.testApp, { ...step(ws, recipe), binarySha256: built.binarySha256 });
    expect(result.passed).toBeGreaterThanOrEqual(2);
  });

  it(
    'on a worker without the artifact, the test step builds it again and proves it is the same bytes',
    async () => {
      await rm(join(ws, 'services/worker/build'), { recursive: true });
      await runActivity(go.testApp, { ...step(ws, recipe), binarySha256: built.binarySha256 });
      const again = await readFile(built.binaryPath);
      expect(createHash('sha256').update(again).digest('hex')).toBe(built.binarySha256);
    },
    COLD_GO_BUILD_MS,
  );

  it('leaves no step directory behind', async () => {
    const leftovers = (await readdir(join(config.workDir, 'sandbox'))).filter((n) => n.startsWith(`${process.pid}-`));
    expect(leftovers).toEqual([]);
  });
});

describe('a recipe that fails', () => {
  it(
    'fails its tests non-retryably, naming the failing test',
    async () => {
      const { ws, recipe } = await workerWorkspace('recipe-test-fail');
      const built = await runActivity(go.buildApp, step(ws, recipe));
      const testFile = join(ws, 'services/worker/main_test.go');
      await writeFile(testFile, (await readFile(testFile, 'utf8')).replace('"worker ready" {', '"worker gone" {'));

      const err = await failureOf(runActivity(go.testApp, { ...step(ws, recipe), binarySha256: built.binarySha256 }));
      expect(err.type).toBe(ErrorType.testFailure);
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toMatch(/^failed to test by services\/worker\/deploy\.yml: 1 test failed: .*TestGreeting/);
    },
    COLD_GO_BUILD_MS,
  );

  it('fails the build, naming $OUT and the artifact, when the command writes something else', async () => {
    const { ws, recipe } = await workerWorkspace('recipe-no-artifact');
    const err = await failureOf(
      runActivity(go.buildApp, step(ws, { ...recipe, build: ['cp', 'main.go', '$OUT/build/elsewhere'] })),
    );
    expect(err.type).toBe(ErrorType.compile);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toBe(
      'failed to build by services/worker/deploy.yml: the build did not write $OUT/build/worker; write the artifact there, or fix "artifact"',
    );
  });

  it('fails non-retryably, saying so, when the program is not on the worker', async () => {
    const { ws, recipe } = await workerWorkspace('recipe-no-program');
    const err = await failureOf(runActivity(go.buildApp, step(ws, { ...recipe, build: ['no-such-compiler', '.'] })));
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(
      /^failed to build by services\/worker\/deploy\.yml \(no-such-compiler in services\/worker\)/,
    );
    expect(err.message).toContain('no-such-compiler');
  });

  it('refuses a committed link where the artifact would land, and writes nothing through it', async () => {
    const { ws, recipe } = await workerWorkspace('recipe-link');
    const elsewhere = await mkdtemp(join(config.workDir, 'elsewhere-'));
    workspaces.push(elsewhere);
    await symlink(elsewhere, join(ws, 'services/worker/build'));

    const err = await failureOf(
      runActivity(go.buildApp, step(ws, { ...recipe, build: ['cp', 'main.go', '$OUT/build/worker'] })),
    );
    expect(err.type).toBe(ErrorType.invalidInput);
    expect(err.message).toContain('"build" passes through a symbolic link; commit the folder itself');
    expect(await readdir(elsewhere)).toEqual([]);
  });

  it('fails with BinaryMismatch when the artifact rebuilt for the tests is not what the build stage made', async () => {
    const { ws, recipe } = await workerWorkspace('recipe-mismatch');
    // Not reproducible on purpose: each build writes different bytes.
    const stamped = { ...recipe, build: ['sh', '-c', 'date +%s%N > "$OUT/build/worker"'] };
    const first = await runActivity(go.buildApp, step(ws, stamped));
    await rm(join(ws, 'services/worker/build'), { recursive: true });

    const err = await failureOf(runActivity(go.testApp, { ...step(ws, stamped), binarySha256: first.binarySha256 }));
    expect(err.type).toBe(ErrorType.binaryMismatch);
    expect(err.message).toContain(`but the build stage produced ${first.binarySha256}`);
  });
});

describe('recipe commands and the worker credentials', () => {
  let before: NodeJS.ProcessEnv;
  beforeAll(() => {
    before = { ...process.env };
    Object.assign(process.env, FAKE_WORKER_SECRETS);
  });
  afterAll(() => {
    process.env = before;
  });

  /** The worker's folder with the probe, whose build runs it before writing the artifact. */
  async function probing(label: string, targets: string[]): Promise<{ ws: string; recipe: BuildRecipe }> {
    const { ws, recipe } = await workerWorkspace(label);
    const dir = join(ws, 'services/worker');
    await cp(join(ROOT, 'test/fixtures/probe/probe_test.go'), join(dir, 'probe_test.go'));
    const list = targets.map((t) => JSON.stringify(t)).join(', ');
    await writeFile(join(dir, 'probe_targets_test.go'), `package main\n\nvar probeTargets = []string{${list}}\n`);
    const build = ['sh', '-c', `go test -count=1 -run ${PROBE_TEST} . && cp main.go "$OUT/build/worker"`];
    // The probe runs here, so it is built for this worker's architecture.
    return { ws, recipe: { ...recipe, build, platform: 'linux/amd64' } };
  }

  it(
    'the probe in a build command runs and reports what it can read',
    async () => {
      const { ws, recipe } = await probing('recipe-probe-control', ['/etc/passwd']);
      const err = await failureOf(runActivity(go.buildApp, step(ws, recipe)));
      expect(err.message).toContain('probe found readable: /etc/passwd');
    },
    COLD_GO_BUILD_MS,
  );

  it(
    'a build command finds no credential of the worker: not in its environment, not on its disk',
    async () => {
      const targets = [join(config.workDir, 'image-*/auth.json'), join(ROOT, '.stack/env')];
      const { ws, recipe } = await probing('recipe-probe', targets);
      const built = await runActivity(go.buildApp, step(ws, recipe));
      expect(built.binaryPath).toBe(join(ws, 'services/worker/build/worker'));
    },
    COLD_GO_BUILD_MS,
  );
});
