/**
 * The fault suites' own checks can see what they look for: the secret scan finds a secret inside an activity's input
 * or result on a real Temporal server (payloads are base64 in JSON), and the leak check finds Go processes and test
 * binaries left running in a work dir.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevServer, type DevServer } from '../support/temporal.js';
import { alive, historyText, leftoverProcesses, secretHitsIn, until } from './harness.js';
import type { leaky } from './leaky-workflow.js';

const INPUT_SECRET = 'in-PuT-sEcReT-7f3a9c';
const RESULT_SECRET = 'rEsUlT-sEcReT-b81d42';

describe('the secret scan of workflow histories', () => {
  let server: DevServer;

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    server = await startDevServer();
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  test('finds a secret in an activity input and one in an activity result, which plain JSON misses', async () => {
    const taskQueue = `leaky-${process.pid}`;
    const native = await NativeConnection.connect({ address: server.address });
    const connection = await Connection.connect({ address: server.address });
    try {
      const worker = await Worker.create({
        connection: native,
        taskQueue,
        workflowBundle: await bundleWorkflowCode({
          workflowsPath: fileURLToPath(new URL('./leaky-workflow.ts', import.meta.url)),
          logger: new DefaultLogger('WARN'),
        }),
        activities: { exchange: async () => RESULT_SECRET },
      });
      const client = new Client({ connection });
      const handle = await client.workflow.start<typeof leaky>('leaky', {
        taskQueue,
        workflowId: `leaky-${Date.now()}`,
        args: [INPUT_SECRET],
      });
      await worker.runUntil(handle.result());
      const history = await handle.fetchHistory();

      const hits = secretHitsIn([{ where: 'history', text: historyText(history) }], [INPUT_SECRET, RESULT_SECRET]);

      expect(hits.map((h) => h.secret)).toEqual([`${INPUT_SECRET.slice(0, 4)}…`, `${RESULT_SECRET.slice(0, 4)}…`]);
      // What the scan searched before: the payloads' base64, where neither secret shows.
      expect(JSON.stringify(history)).not.toContain(INPUT_SECRET);
      expect(JSON.stringify(history)).not.toContain(RESULT_SECRET);
    } finally {
      await connection.close();
      await native.close();
    }
  }, 120_000);
});

describe('the leak check for processes a deploy left running', () => {
  let dir: string;
  const started: number[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'leak-check-'));
  });

  afterAll(async () => {
    for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  /** A long sleep under another name, detached as a leaked process would be, running in `cwd`. */
  async function startAs(name: string, cwd: string): Promise<number> {
    await mkdir(cwd, { recursive: true });
    const bin = join(dir, 'bin', name);
    await mkdir(join(dir, 'bin'), { recursive: true });
    await copyFile('/bin/sleep', bin);
    const child = spawn(bin, ['300'], { cwd, detached: true, stdio: 'ignore' });
    child.unref();
    if (child.pid === undefined) throw new Error(`failed to start ${name}`);
    started.push(child.pid);
    return child.pid;
  }

  test('reports a go process and a test binary running in a workspace, and nothing outside the work dir', async () => {
    const work = join(dir, 'work');
    const workspace = join(work, 'workspaces', 'deploy-1', 'app');
    const go = await startAs('go', workspace);
    const testBinary = await startAs('app.test', workspace);
    const elsewhere = await startAs('unrelated.test', join(dir, 'elsewhere'));

    const found = await until(
      async () => {
        const list = await leftoverProcesses({ dirs: [work] });
        return list.length >= 2 ? list : undefined;
      },
      10_000,
      'the leaked processes to show in /proc',
    );

    expect(found.map((p) => [p.pid, p.why]).sort()).toEqual(
      [
        [go, 'go toolchain'],
        [testBinary, 'go test binary'],
      ].sort(),
    );
    expect(found.map((p) => p.pid)).not.toContain(elsewhere);
  });
});
