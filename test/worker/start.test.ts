/**
 * What the built worker does before it polls: it refuses unsafe settings with one line naming the variable, and it
 * removes the credential directories a push killed mid-way left in its work dir.
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, freePort } from '../support/process.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'worker-start-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function runWorker(env: Record<string, string>) {
  return await execa('node', [`${ROOT}/dist/worker.js`], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      DEPLOY_SOURCE_REPO: ROOT,
      // Nothing listens there: the worker ends after its start-up work, at the connection.
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
      ...env,
    },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
  });
}

describe('the worker process (dist/worker.js) at start', () => {
  test('refuses DEPLOY_REGISTRY_INSECURE=true without DEPLOY_REGISTRY, in one line naming the variable', async () => {
    const result = await runWorker({ DEPLOY_WORK_DIR: join(dir, 'insecure'), DEPLOY_REGISTRY_INSECURE: 'true' });

    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'worker: invalid DEPLOY_REGISTRY_INSECURE: plain HTTP is only allowed to a local registry named in ' +
        'DEPLOY_REGISTRY; set DEPLOY_REGISTRY or remove DEPLOY_REGISTRY_INSECURE',
    ]);
  });

  test('removes the credential directories of interrupted pushes, and nothing else in its work dir', async () => {
    const work = join(dir, 'work');
    for (const leftover of ['image-a1B2c3', 'image-Zz9y8x']) {
      await mkdir(join(work, leftover), { recursive: true });
      await writeFile(join(work, leftover, 'auth.json'), '{"auths":{"r":{"auth":"QVdTOnNlY3JldA=="}}}');
    }
    for (const kept of ['workspaces/deploy-1', 'mirror.git', 'containers', 'cache']) {
      await mkdir(join(work, kept), { recursive: true });
    }

    const result = await runWorker({ DEPLOY_WORK_DIR: work });

    expect(result.stderr).toContain('worker: removed 2 credential directories left by an interrupted push');
    expect((await readdir(work)).sort()).toEqual(['cache', 'containers', 'mirror.git', 'sandbox', 'workspaces']);
    expect(await readdir(join(work, 'workspaces'))).toEqual(['deploy-1']);
  });
});
