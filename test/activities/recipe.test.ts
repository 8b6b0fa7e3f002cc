/** The build recipe as a commit can write it: what it resolves to, and every way it is refused, on a real disk. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRecipe, readRecipe, validateBuildRecipe } from '../../src/activities/recipe.js';
import { ValidationError } from '../../src/shared/validate.js';

let checkout: string;

const WORKER = `# the worker service
build: [go, build, -trimpath, -o, $OUT/build/worker, .]
test: [go, test, ./...]
artifact: build/worker
platform: linux/arm64
containers: [worker, worker-migrate]
`;

beforeAll(async () => {
  checkout = await mkdtemp(join(tmpdir(), 'recipe-'));
  await mkdir(join(checkout, 'services/worker'), { recursive: true });
  await writeFile(join(checkout, 'services/worker/deploy.yml'), WORKER);
  await writeFile(join(checkout, 'outside.yml'), WORKER);
  await symlink('../../outside.yml', join(checkout, 'services/worker/linked.yml'));
  await writeFile(join(checkout, 'services/worker/huge.yml'), `# ${'x'.repeat(70 * 1024)}\n${WORKER}`);
});

afterAll(async () => {
  await rm(checkout, { recursive: true, force: true });
});

/** The message of the ValidationError `fn` throws. */
async function refusal(fn: () => unknown): Promise<string> {
  const err: unknown = await (async () => fn())().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ValidationError)) throw new Error(`expected a ValidationError, got ${String(err)}`);
  expect(err.message).not.toContain('\n');
  return err.message;
}

describe('readRecipe', () => {
  it('reads a monorepo recipe and resolves its folders from where it lies', async () => {
    const recipe = await readRecipe(checkout, 'services/worker/deploy.yml');
    expect(recipe).toEqual({
      path: 'services/worker/deploy.yml',
      workdir: 'services/worker',
      build: ['go', 'build', '-trimpath', '-o', '$OUT/build/worker', '.'],
      test: ['go', 'test', './...'],
      artifacts: ['build/worker'],
      dockerfile: 'services/worker/Dockerfile',
      context: 'services/worker',
      platform: 'linux/arm64',
      containers: ['worker', 'worker-migrate'],
    });
  });

  it('returns nothing when the target names no recipe and the repository has no deployctl.yml: the Go recipe applies', async () => {
    expect(await readRecipe(checkout)).toBeUndefined();
  });

  it('reads deployctl.yml at the root when the target names none', async () => {
    const root = await mkdtemp(join(tmpdir(), 'recipe-root-'));
    try {
      await writeFile(
        join(root, 'deployctl.yml'),
        '{"build": ["make"], "test": ["make", "test"], "artifact": "out/app"}',
      );
      expect(await readRecipe(root)).toMatchObject({
        path: 'deployctl.yml',
        workdir: '.',
        dockerfile: 'Dockerfile',
        context: '.',
        platform: 'linux/amd64',
        artifacts: ['out/app'],
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses a recipe the target names that is not at the commit', async () => {
    expect(await refusal(() => readRecipe(checkout, 'services/api/deploy.yml'))).toBe(
      'invalid recipePath: "services/api/deploy.yml" does not exist in the repository at this commit',
    );
  });

  it('refuses a recipe committed as a symbolic link, and one too large to be a recipe', async () => {
    expect(await refusal(() => readRecipe(checkout, 'services/worker/linked.yml'))).toContain(
      'is a symbolic link; commit the file itself',
    );
    expect(await refusal(() => readRecipe(checkout, 'services/worker/huge.yml'))).toContain(
      'is larger than 65536 bytes',
    );
  });
});

describe('parseRecipe refuses, naming the field and the file', () => {
  const base = { build: ['go', 'build'], test: ['go', 'test'], artifact: 'app' };
  const parse = (fields: Record<string, unknown>): (() => unknown) => {
    const text = JSON.stringify({ ...base, ...fields });
    return () => parseRecipe(text, 'svc/deploy.yml');
  };

  it.each([
    [
      { platform: 'linux/386' },
      'invalid recipe.platform (svc/deploy.yml): "linux/386" is not one of linux/amd64, linux/arm64',
    ],
    [{ build: 'go build -o $OUT/app' }, 'invalid recipe.build (svc/deploy.yml): expected the command as a list'],
    [{ test: [] }, 'invalid recipe.test (svc/deploy.yml): expected the command as a list'],
    [{ test: ['go', 7] }, 'invalid recipe.test (svc/deploy.yml): argument 1 is 7'],
    [{ workdir: '../..' }, 'invalid recipe.workdir (svc/deploy.yml): "../.." leads outside the repository'],
    [{ context: '/etc' }, 'invalid recipe.context (svc/deploy.yml): expected a relative path inside the repository'],
    [{ dockerfile: 'Docker file' }, 'invalid recipe.dockerfile (svc/deploy.yml): "Docker file" holds characters'],
    [
      { artifact: '../app' },
      'invalid recipe.artifact[0] (svc/deploy.yml): "../app" must stay inside the repository (no "." or "..", no empty parts)',
    ],
    [
      { artifact: ['bin', 'bin/app'] },
      'invalid recipe.artifact (svc/deploy.yml): "bin" is listed twice or holds "bin/app"',
    ],
    [
      { containers: ['web', 'no such'] },
      'invalid recipe.containers[1] (svc/deploy.yml): "no such" is not a valid container name',
    ],
    [{ version: 2 }, 'invalid recipe.version (svc/deploy.yml): expected 1, got 2'],
    [
      { dockerFile: 'x' },
      'invalid recipe.dockerFile (svc/deploy.yml): is not a recipe field (fields: version, workdir',
    ],
  ])('%j', async (fields, message) => {
    expect(await refusal(parse(fields))).toContain(message);
  });

  it('refuses text that is not YAML in one line', async () => {
    expect(await refusal(() => parseRecipe('build: [go, build\ntest: x\n', 'svc/deploy.yml'))).toMatch(
      /^invalid recipe \(svc\/deploy\.yml\): not valid YAML or JSON: /,
    );
  });

  it('refuses YAML that multiplies itself through aliases', async () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x]', ...Array.from({ length: 12 }, (_, i) => `b${i}: [*a, *a, *a]`)];
    expect(await refusal(() => parseRecipe(`${bomb.join('\n')}\n`, 'svc/deploy.yml'))).toContain('not valid YAML');
  });

  it('needs build, test and artifact', async () => {
    expect(await refusal(() => parseRecipe('artifact: app\ntest: [go, test]\n', 'd.yml'))).toContain(
      'invalid recipe.build (d.yml)',
    );
    expect(await refusal(() => parseRecipe('build: [go, build]\ntest: [go, test]\n', 'd.yml'))).toContain(
      'invalid recipe.artifact (d.yml)',
    );
  });
});

describe('validateBuildRecipe', () => {
  it('accepts what parseRecipe made, and refuses one whose folder was changed to leave the repository', async () => {
    const recipe = parseRecipe(WORKER, 'services/worker/deploy.yml');
    expect(validateBuildRecipe(JSON.parse(JSON.stringify(recipe)))).toEqual(recipe);
    expect(await refusal(() => validateBuildRecipe({ ...recipe, workdir: '../../root' }))).toContain(
      'invalid recipe.workdir: "../../root" leads outside the repository',
    );
  });
});
