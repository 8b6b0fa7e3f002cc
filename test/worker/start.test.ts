/**
 * What the built worker does before it polls: it refuses unsafe settings with one line naming the variable, and it
 * removes the credential directories a push killed mid-way left in its work dir.
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, freePort } from '../../src/devstack/process.js';
import { logLines } from '../support/worker-log.js';

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
    expect(logLines(result.stderr)).toEqual([
      {
        time: expect.any(String) as string,
        level: 'ERROR',
        message:
          'worker: invalid DEPLOY_REGISTRY_INSECURE: plain HTTP is only allowed to a local registry named in ' +
          'DEPLOY_REGISTRY; set DEPLOY_REGISTRY or remove DEPLOY_REGISTRY_INSECURE',
      },
    ]);
  });

  test('refuses a webhook over plain http to another machine, without repeating its URL', async () => {
    const result = await runWorker({
      DEPLOY_WORK_DIR: join(dir, 'webhook'),
      DEPLOY_WEBHOOK_URL: 'http://hooks.example.com/services/T0/B0/s3cr3t',
    });

    expect(result.exitCode).toBe(1);
    expect(logLines(result.stderr).map((l) => l.message)).toEqual([
      'worker: invalid DEPLOY_WEBHOOK_URL: plain http would send it and every event unencrypted to hooks.example.com; ' +
        'give an https:// address (http only to 127.0.0.1 or localhost)',
    ]);
    expect(result.stderr).not.toContain('s3cr3t');
  });

  test('refuses to start when its metrics port is taken, naming DEPLOY_METRICS_ADDR', async () => {
    const port = await freePort();
    const taken = createServer().listen(port, '127.0.0.1');
    try {
      const result = await runWorker({
        DEPLOY_WORK_DIR: join(dir, 'metrics'),
        DEPLOY_METRICS_ADDR: `127.0.0.1:${port}`,
      });
      expect(result.exitCode).toBe(1);
      expect(logLines(result.stderr).pop()?.message).toMatch(
        new RegExp(
          `^worker: failed to start the metrics endpoint on DEPLOY_METRICS_ADDR 127\\.0\\.0\\.1:${port}: .+; give it a free host:port, or unset it$`,
        ),
      );
    } finally {
      taken.close();
    }
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
