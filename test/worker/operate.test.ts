/**
 * What an operator sees of the built worker (dist/worker.js), against a real dev server and the ECS emulator: JSON
 * log lines, the Prometheus endpoint with the SDK's metrics and the deploy's own, the health endpoint, and the
 * webhook, while the worker's real activities run a deploy (a rollback to the revision the service already runs, so
 * nothing is built).
 */
import { createHmac } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execa, type ResultPromise } from 'execa';
import { seedEcs } from '../../src/devstack/seed.js';
import { WORKFLOW_TYPE } from '../../src/shared/names.js';
import type { DeployInput, DeployResult } from '../../src/shared/types.js';
import { startMoto, type MotoServer } from '../../src/devstack/moto.js';
import { ROOT, freePort } from '../../src/devstack/process.js';
import { startDevServer, type DevServer } from '../support/temporal.js';
import { startReceiver, type Receiver } from '../support/webhook.js';

const SECRET = 'operate-test-0123456789abcdef';
const TARGET = { region: 'us-east-1', cluster: 'ops', service: 'api', repository: 'api', containerName: 'api' };

let server: DevServer;
let moto: MotoServer;
let receiver: Receiver;
let dir: string;
let log: string;
let metricsUrl: string;
let healthUrl: string;
let worker: ResultPromise | undefined;
let connection: Connection | undefined;
let revision: string;

beforeAll(async () => {
  [server, moto, receiver] = await Promise.all([
    startDevServer({ ui: true }),
    startMoto({ stepMs: 50 }),
    startReceiver(),
  ]);
  const seeded = await seedEcs({ endpoint: moto.endpoint, family: 'api', ...TARGET });
  revision = seeded.taskDefinitionArn;
  dir = await mkdtemp(join(tmpdir(), 'worker-operate-'));
  // The sandbox's image user must pass through to the work dir below (the worker checks at start).
  await chmod(dir, 0o711);
  log = join(dir, 'worker.log');
  const [metricsPort, healthPort] = [await freePort(), await freePort()];
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  healthUrl = `http://127.0.0.1:${healthPort}/healthz`;
  worker = execa('node', [`${ROOT}/dist/worker.js`], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      ...moto.env,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: `operate-${process.pid}`,
      TEMPORAL_UI_URL: server.uiUrl,
      DEPLOY_SOURCE_REPO: ROOT,
      DEPLOY_WORK_DIR: join(dir, 'work'),
      DEPLOY_METRICS_ADDR: `127.0.0.1:${metricsPort}`,
      DEPLOY_HEALTH_ADDR: `127.0.0.1:${healthPort}`,
      DEPLOY_WEBHOOK_URL: receiver.url,
      DEPLOY_WEBHOOK_SECRET: SECRET,
    },
    extendEnv: false,
    reject: false,
    stdout: { file: log },
    stderr: { file: log },
  });
  await until(async () => (await logText()).includes('worker: polling') || worker?.exitCode !== null, 'polling');
  connection = await Connection.connect({ address: server.address });
}, 120_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await worker;
  }
  await connection?.close();
  await Promise.all([server?.stop(), moto?.stop(), receiver?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const logText = async (): Promise<string> => await readFile(log, 'utf8').catch(() => '');

async function until(check: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; worker log:\n${await logText()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One sample of the metrics text: its labels and value. */
interface Sample {
  labels: Record<string, string>;
  value: number;
}

function samples(text: string, name: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const pairs = [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)];
    const labels = Object.fromEntries(pairs.map((m): [string, string] => [m[1] ?? '', m[2] ?? '']));
    out.push({ labels, value: Number(match[3]) });
  }
  return out;
}

const total = (list: Sample[]): number => list.reduce((sum, s) => sum + s.value, 0);

describe('operating the worker (dist/worker.js)', () => {
  test('reports healthy on /healthz while both of its workers poll', async () => {
    expect(worker?.exitCode).toBeNull();
    const res = await fetch(healthUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toMatchObject({
      status: 'ok',
      taskQueue: `operate-${process.pid}`,
      workers: {
        deploys: { state: 'RUNNING', workflowPoller: 'POLLING', activityPoller: 'POLLING' },
        watches: { state: 'RUNNING', activityPoller: 'POLLING' },
      },
    });
    expect((await fetch(healthUrl.replace('/healthz', '/'))).status).toBe(404);
  });

  test('after a deploy, /metrics holds its outcome, its stages, its ECS calls and the SDK’s own series', async () => {
    const client = new Client({ connection: connection! });
    const args: DeployInput = {
      sha: 'c'.repeat(40),
      target: TARGET,
      rollbackTo: { fromWorkflowId: 'deploy.ops.api.earlier.1', taskDefinitionArn: revision },
      options: { pollIntervalMs: 1000, stableTimeoutMs: 60_000 },
    };
    const handle = await client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: `operate-${process.pid}`,
      workflowId: `operate-${process.pid}`,
      args: [args],
    });
    const result = (await handle.result()) as DeployResult;
    expect(result.status).toBe('succeeded');

    let text = '';
    await until(async () => {
      text = await (await fetch(metricsUrl)).text();
      return (
        samples(text, 'deploy_outcomes_total').length > 0 && samples(text, 'deploy_notifications_total').length > 0
      );
    }, 'the deploy metrics');

    expect(samples(text, 'deploy_outcomes_total')).toMatchObject([
      { labels: { status: 'succeeded', kind: 'rollback', service: 'ops/api' }, value: 1 },
    ]);
    const validate = samples(text, 'deploy_stage_duration_seconds_count').filter((s) => s.labels.stage === 'validate');
    expect(validate).toMatchObject([{ labels: { status: 'succeeded' }, value: 1 }]);
    const reads = samples(text, 'deploy_ecs_calls_total').filter(
      (s) => s.labels.operation === 'DescribeServices' && s.labels.outcome === 'ok' && s.labels.region === 'us-east-1',
    );
    // The target is read when the deploy starts and once more before it ends.
    expect(total(reads)).toBeGreaterThanOrEqual(2);
    expect(samples(text, 'deploy_notifications_total')).toMatchObject([
      { labels: { event: 'succeeded', outcome: 'delivered' }, value: 1 },
    ]);
    // The SDK's own: workflows completed, and how long activities took.
    expect(total(samples(text, 'temporal_workflow_completed'))).toBeGreaterThanOrEqual(1);
    expect(samples(text, 'temporal_activity_execution_latency_count').length).toBeGreaterThan(0);

    // The webhook heard of it, signed, with the link to the run in this server's UI.
    const [got] = await receiver.waitFor(1);
    expect(got?.event).toMatchObject({
      event: 'succeeded',
      uiUrl: `${server.uiUrl}/namespaces/default/workflows/${handle.workflowId}/${result.runId}/history`,
    });
    const mac = createHmac('sha256', SECRET).update(`${String(got?.headers['x-deploy-timestamp'])}.${got?.body}`);
    expect(got?.headers['x-deploy-signature']).toBe(`sha256=${mac.digest('hex')}`);
  }, 120_000);

  test('logs one JSON object a line, with the SDK’s context, and stops on SIGTERM saying so', async () => {
    worker!.kill('SIGTERM');
    const exited = await worker!;
    expect(exited.exitCode).toBe(0);

    const text = await logText();
    const lines = text
      .trim()
      .split('\n')
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          throw new Error(`not a JSON line: ${line}`);
        }
      });
    for (const line of lines) {
      expect(typeof line.time).toBe('string');
      expect(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).toContain(line.level);
      expect(typeof line.message).toBe('string');
    }
    expect(lines.map((l) => l.message)).toContainEqual(
      expect.stringMatching(
        new RegExp(`^worker: polling default/operate-${process.pid} and operate-${process.pid}\\.watch on `),
      ),
    );
    const delivered = lines.find((l) => String(l.message).startsWith('delivered the succeeded event'));
    // Delivered by the deploy's notice, a run of its own named after the deploy.
    expect(delivered).toMatchObject({
      activityType: 'notify',
      workflowType: 'notifyWebhook',
      workflowId: expect.stringMatching(new RegExp(`^operate-${process.pid}\\.notify\\.`)) as string,
      level: 'INFO',
    });
    expect(delivered).not.toHaveProperty('taskToken');
    expect(lines[lines.length - 1]).toMatchObject({ level: 'INFO', message: 'worker: stopped' });
    // The webhook's secrets stay out of the log.
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(receiver.pathSecret);
    // And the health endpoint went with the worker.
    await expect(fetch(healthUrl)).rejects.toThrow();
  });
});
