/**
 * Notifications on the real local stack: the worker posts to a local HTTP receiver (DEPLOY_WEBHOOK_URL) while
 * deployctl drives real deploys of the app, and a deploy made while the receiver is down succeeds all the same.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeployResult } from '../../src/shared/types.js';
import { deployctl, type Stack } from '../../src/devstack/stack.js';
import { startReceiver, type Receiver } from '../support/webhook.js';
import { startAppStack, type AppStack, type SourceRepo } from '../../src/devstack/source-repo.js';

let receiver: Receiver;
let app: AppStack | undefined;
let stack: Stack;
let source: SourceRepo;

beforeAll(async () => {
  receiver = await startReceiver();
  app = await startAppStack({ webhookUrl: receiver.url });
  ({ stack, source } = app);
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await receiver?.stop();
});

async function run(args: string[], env: Record<string, string> = {}) {
  const out = await deployctl(stack, args, env);
  if (out.exitCode !== 0) throw new Error(`deployctl ${args[0]} failed (${out.exitCode}): ${out.stderr}`);
  return out;
}

describe('webhook notifications on the local stack', () => {
  test('a deploy that waits for approval sends awaiting_approval with the approve command and the UI link, then succeeded', async () => {
    const sha = await source.commit('a commit the webhook hears of');
    const started = await run(['deploy', '--sha', sha, '--require-approval', '--json']);
    const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };

    const [waiting] = await receiver.waitFor(1, 180_000);
    expect(waiting?.event).toMatchObject({
      event: 'awaiting_approval',
      approveCommand: `deployctl approve ${workflowId}`,
      deploy: { kind: 'deploy', sha, cluster: stack.env.ECS_CLUSTER, service: stack.env.ECS_SERVICE, workflowId },
      approval: { point: 'before_update' },
    });
    const page = `${stack.env.TEMPORAL_UI_URL}/namespaces/default/workflows/${workflowId}/`;
    expect(waiting?.event.uiUrl.startsWith(page)).toBe(true);
    expect(waiting?.event.text).toContain(`Approve: deployctl approve ${workflowId}`);

    const token = (await run(['token', '--as', 'alice'])).stdout.trim();
    await run(['approve', workflowId, '--comment', 'ship it'], { DEPLOY_APPROVAL_TOKEN: token });
    const result = JSON.parse((await run(['wait', workflowId, '--json'])).stdout) as DeployResult;
    expect(result.status).toBe('succeeded');

    await receiver.waitFor(2, 30_000);
    // Give a duplicate time to show up: each transition is told once.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(receiver.received.map((r) => r.event.event)).toEqual(['awaiting_approval', 'succeeded']);
    expect(receiver.received[1]?.event).toMatchObject({
      uiUrl: `${page}${result.runId}/history`,
      result: { taskDefinitionArn: result.taskDefinitionArn, imageDigest: result.imageDigest },
    });
  }, 400_000);

  test('with the receiver down, a deploy succeeds, and the worker logs the failed delivery without its URL', async () => {
    await receiver.stop();
    const sha = await source.commit('a commit nobody hears of');
    const out = await run(['deploy', '--sha', sha, '--wait', '--json']);
    const result = JSON.parse(out.stdout) as DeployResult;
    expect(result.status).toBe('succeeded');
    expect(result.error).toBeUndefined();

    const log = join(stack.dir, 'logs', 'worker.log');
    const deadline = Date.now() + 30_000;
    let text = '';
    while (!/failed to deliver the succeeded event/.test(text) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      text = await readFile(log, 'utf8');
    }
    expect(text).toMatch(
      /failed to deliver the succeeded event to the webhook at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/,
    );
    expect(text).not.toContain(receiver.pathSecret);
  }, 400_000);
});
