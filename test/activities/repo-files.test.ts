/** Files the worker reads from a checkout, against what a hostile commit can put there, on a real file system. */
import { execa } from 'execa';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTemplate } from '../../src/activities/ecs-taskdef.js';
import { copyRegular, MAX_REPO_FILE_BYTES, sha256Regular } from '../../src/activities/repo-files.js';
import { ValidationError } from '../../src/shared/validate.js';

let dir: string;
let checkout: string;
const template = JSON.stringify({ family: 'web', containerDefinitions: [{ name: 'web', image: 'x' }] });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'repo-files-'));
  checkout = join(dir, 'checkout');
  await mkdir(join(checkout, 'deploy'), { recursive: true });
  await writeFile(join(dir, 'outside.json'), template);
  await writeFile(join(checkout, 'deploy/td.json'), template);
  await symlink('/dev/zero', join(checkout, 'deploy/zero.json'));
  await symlink('../../outside.json', join(checkout, 'deploy/outside.json'));
  await symlink('td.json', join(checkout, 'deploy/alias.json'));
  await symlink(dir, join(checkout, 'up'));
  await execa('mkfifo', [join(checkout, 'deploy/fifo.json')]);
  await writeFile(join(checkout, 'deploy/huge.json'), Buffer.alloc(MAX_REPO_FILE_BYTES + 1, 0x20));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The ValidationError loadTemplate throws for `path`, as registerTaskDefinition reports it. */
async function refusal(path: string): Promise<ValidationError> {
  const err: unknown = await loadTemplate(checkout, path).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ValidationError)) throw new Error(`expected a ValidationError for ${path}, got ${String(err)}`);
  return err;
}

describe('loadTemplate', () => {
  test('reads a regular file inside the checkout', async () => {
    expect((await loadTemplate(checkout, 'deploy/td.json')).family).toBe('web');
  });

  test.each([
    ['a link to /dev/zero', 'deploy/zero.json', /"deploy\/zero\.json" is a symbolic link/],
    ['a link to a file outside the checkout', 'deploy/outside.json', /is a symbolic link/],
    ['a link even to a file inside the checkout', 'deploy/alias.json', /is a symbolic link/],
    ['a path through a linked directory', 'up/outside.json', /leads outside the repository through a symbolic link/],
    ['a named pipe, without waiting for a writer', 'deploy/fifo.json', /is a named pipe, not a regular file/],
    ['a directory', 'deploy', /is a directory, not a regular file/],
    ['a file over 1 MiB', 'deploy/huge.json', /is larger than 1048576 bytes/],
    ['a missing file', 'deploy/none.json', /does not exist in the repository at this commit/],
  ])('refuses %s with one line naming taskDefinitionPath', async (_what, path, why) => {
    const err = await refusal(path);
    expect(err.field).toBe('taskDefinitionPath');
    expect(err.message).toMatch(/^invalid taskDefinitionPath: /);
    expect(err.message).toMatch(why);
    expect(err.message).not.toContain('\n');
  });
});

describe('sha256Regular and copyRegular', () => {
  test('never read through a link: a build/app committed as a link to /dev/zero has no hash and is not copied', async () => {
    expect(await sha256Regular(join(checkout, 'deploy/zero.json'))).toBeUndefined();
    await expect(copyRegular(join(checkout, 'deploy/zero.json'), join(dir, 'copy'), 0o600)).rejects.toThrow();
    expect(await sha256Regular(join(checkout, 'deploy/td.json'))).toMatch(/^[0-9a-f]{64}$/);
  });
});
