/** The built worker against a real dev server: graceful stop on SIGTERM, and a clear refusal of bad settings. */
import { execa } from 'execa';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../src/devstack/process.js';
import { startDevServer, type DevServer } from '../support/temporal.js';
import { logMessages } from '../support/worker-log.js';

let server: DevServer;
let dir: string;

beforeAll(async () => {
  server = await startDevServer();
  dir = await mkdtemp(join(tmpdir(), 'worker-'));
  // The sandbox's image user must pass through to the work dir below (the worker checks at start).
  await chmod(dir, 0o711);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function workerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: `shutdown-test-${process.pid}`,
    DEPLOY_SOURCE_REPO: ROOT,
    DEPLOY_WORK_DIR: join(dir, 'work'),
    ...extra,
  };
}

async function until(check: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the worker process (dist/worker.js)', () => {
  test('stops gracefully on SIGTERM: exit code 0 and "worker: stopped"', async () => {
    const log = join(dir, 'worker.log');
    const worker = execa('node', [`${ROOT}/dist/worker.js`], {
      env: workerEnv(),
      extendEnv: false,
      reject: false,
      stdout: { file: log },
      stderr: { file: log },
    });
    const text = async () => await readFile(log, 'utf8').catch(() => '');
    await until(async () => (await text()).includes('worker: polling') || worker.exitCode !== null, 'polling');
    expect(await text()).toContain(
      `worker: polling default/shutdown-test-${process.pid} and shutdown-test-${process.pid}.watch on ${server.address}`,
    );
    worker.kill('SIGTERM');
    const result = await worker;
    expect(result.exitCode).toBe(0);
    expect(logMessages(await text()).pop()).toBe('worker: stopped');
  });

  test('refuses to start on a namespace the server does not know, naming TEMPORAL_NAMESPACE', async () => {
    const result = await execa('node', [`${ROOT}/dist/worker.js`], {
      env: workerEnv({ TEMPORAL_NAMESPACE: 'missing-ns' }),
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    });
    expect(result.exitCode).toBe(1);
    expect(logMessages(result.stderr)).toContainEqual(
      expect.stringContaining(
        `worker: invalid TEMPORAL_NAMESPACE: namespace "missing-ns" does not exist on ${server.address}`,
      ),
    );
  });

  test('refuses to start when it cannot sandbox the code it deploys, saying what failed and the way out', async () => {
    const result = await execa('node', [`${ROOT}/dist/worker.js`], {
      env: workerEnv({ DEPLOY_SANDBOX_USER: 'no-such-sandbox-user' }),
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('worker: failed to start the sandbox (DEPLOY_SANDBOX=on)');
    expect(result.stderr).toContain('the sandbox user no-such-sandbox-user does not exist');
    expect(result.stderr).toContain('or set DEPLOY_SANDBOX=off');
    expect(result.stderr).not.toContain('worker: polling');
  });

  test('refuses to start with an API key over plaintext, naming TEMPORAL_API_KEY', async () => {
    const result = await execa('node', [`${ROOT}/dist/worker.js`], {
      env: workerEnv({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }),
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('worker: invalid TEMPORAL_API_KEY: an API key is only sent over TLS');
  });
});
