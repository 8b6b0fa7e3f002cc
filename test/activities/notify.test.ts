/**
 * Delivering one event to a real local HTTP receiver: signed when a secret is set, refused answers that no retry can
 * fix told apart from those worth retrying, and the URL's secret part never in a message. And the event's words.
 */
import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { deliver, WEBHOOK_REFUSED } from '../../src/activities/notify.js';
import { runPageUrl, webhookEvent, type RunRef } from '../../src/activities/notify-event.js';
import type { NotifyInput } from '../../src/shared/notify.js';
import { freePort } from '../../src/devstack/process.js';
import { startReceiver, type Receiver } from '../support/webhook.js';

const RUN: RunRef = { namespace: 'deploys.a1b2c', workflowId: 'deploy.prod.web.abc/1', runId: 'r-1' };
const UI = 'https://cloud.temporal.io/';
const base: NotifyInput = {
  event: 'succeeded',
  seq: 2,
  run: { workflowId: RUN.workflowId, runId: RUN.runId },
  at: '2026-11-26T10:00:00.000Z',
  kind: 'deploy',
  sha: '0123456789abcdef0123456789abcdef01234567',
  target: { region: 'us-east-1', cluster: 'prod', service: 'web' },
};

let receiver: Receiver;
beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await receiver?.stop();
});

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('delivering an event', () => {
  test('posts the event as JSON, signed over "<timestamp>.<body>" with the secret', async () => {
    const event = webhookEvent(base, RUN, UI);
    const status = await deliver({ url: receiver.url, secret: 'k'.repeat(32) }, event, () => 1_700_000_000_000);

    expect(status).toBe(200);
    const [got] = receiver.received;
    expect(got?.event).toEqual(event);
    expect(got?.headers['content-type']).toBe('application/json');
    expect(got?.headers['x-deploy-event']).toBe('succeeded');
    expect(got?.headers['x-deploy-delivery']).toBe('deploy.prod.web.abc/1/r-1/2');
    expect(got?.headers['x-deploy-timestamp']).toBe('1700000000');
    const mac = createHmac('sha256', 'k'.repeat(32)).update(`1700000000.${got?.body}`).digest('hex');
    expect(got?.headers['x-deploy-signature']).toBe(`sha256=${mac}`);
  });

  test('sends no signature headers without a secret', async () => {
    await deliver({ url: receiver.url }, webhookEvent(base, RUN, UI));
    expect(receiver.received[0]?.headers['x-deploy-signature']).toBeUndefined();
    expect(receiver.received[0]?.headers['x-deploy-timestamp']).toBeUndefined();
  });

  test('a 404 is refused for good, naming the receiver but not the URL path that is its secret', async () => {
    receiver.answers.push({ status: 404, body: `no such hook: ${receiver.url}` });
    const err = await failure(deliver({ url: receiver.url }, webhookEvent(base, RUN, UI)));

    expect(err.nonRetryable).toBe(true);
    expect(err.type).toBe(WEBHOOK_REFUSED);
    expect(err.message).toMatch(
      /^failed to deliver the succeeded event to the webhook at http:\/\/127\.0\.0\.1:\d+: it answered 404 \(no such hook: http:\/\/127\.0\.0\.1:\d+\); check DEPLOY_WEBHOOK_URL$/,
    );
    expect(err.message).not.toContain(receiver.pathSecret);
  });

  test('a 503 and a 429 are worth retrying', async () => {
    receiver.answers.push(503, 429);
    for (const status of [503, 429]) {
      const err = await failure(deliver({ url: receiver.url }, webhookEvent(base, RUN, UI)));
      expect(err.nonRetryable).toBe(false);
      expect(err.message).toContain(`it answered ${status}`);
    }
  });

  test('a redirect is not followed: the signed event goes nowhere the worker was not told of', async () => {
    const elsewhere = await startReceiver();
    try {
      receiver.answers.push({ status: 307, headers: { location: elsewhere.url } });
      const err = await failure(deliver({ url: receiver.url, secret: 's'.repeat(16) }, webhookEvent(base, RUN, UI)));
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toContain('it answered 307');
      expect(elsewhere.received).toEqual([]);
    } finally {
      await elsewhere.stop();
    }
  });

  test('a receiver that is down is a retryable failure saying so', async () => {
    const url = `http://127.0.0.1:${await freePort()}/services/${receiver.pathSecret}`;
    const err = await failure(deliver({ url }, webhookEvent(base, RUN, UI)));
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toMatch(/webhook at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED; check that the receiver is up/);
    expect(err.message).not.toContain(receiver.pathSecret);
  });
});

describe('the event', () => {
  test("links the run's page in the UI, with the namespace and workflow id encoded", () => {
    expect(runPageUrl(UI, RUN)).toBe(
      'https://cloud.temporal.io/namespaces/deploys.a1b2c/workflows/deploy.prod.web.abc%2F1/r-1/history',
    );
  });

  test('at a lifecycle hook, says which, and what ECS does when nobody answers', () => {
    const event = webhookEvent(
      {
        ...base,
        event: 'awaiting_approval',
        approval: {
          point: 'lifecycle_hook',
          hookStage: 'POST_TEST_TRAFFIC_SHIFT',
          expiresAt: '2026-11-26T11:00:00.000Z',
          timeoutAction: 'ROLLBACK',
          approvers: ['bob', 'carol'],
          requester: { id: 'alice', proof: 'verified' },
        },
      },
      RUN,
      UI,
    );
    expect(event.text.split('\n')).toEqual([
      'prod/web: deploy of 0123456789ab awaits approval at the ECS lifecycle hook POST_TEST_TRAFFIC_SHIFT; ECS applies ROLLBACK at 2026-11-26T11:00:00.000Z',
      'Approvers: bob, carol',
      'Requested by: alice (verified)',
      'Approve: deployctl approve deploy.prod.web.abc/1',
      `Run: ${runPageUrl(UI, RUN)}`,
    ]);
  });

  test('a failure says at which stage and why, on one line cut short', () => {
    const message = `go test failed:\n${'x'.repeat(1000)}`;
    const event = webhookEvent({ ...base, event: 'failed', result: { error: { stage: 'test', message } } }, RUN, UI);
    const [headline, why] = event.text.split('\n');
    expect(headline).toBe('prod/web: deploy of 0123456789ab failed at test');
    expect(why?.startsWith('Error: go test failed: xxx')).toBe(true);
    expect(why?.length).toBeLessThanOrEqual('Error: '.length + 300);
    // The structured field keeps the whole message.
    expect(event.result?.error?.message).toBe(message);
  });

  test('a superseded rollback names what superseded it', () => {
    const event = webhookEvent(
      {
        ...base,
        kind: 'rollback',
        event: 'superseded',
        result: { endedBy: { by: 'deploy.prod.web.fff.9', reason: 'superseded by fffffff', at: base.at } },
      },
      RUN,
      UI,
    );
    expect(event.text.split('\n').slice(0, 2)).toEqual([
      'prod/web: rollback to 0123456789ab was superseded by deploy.prod.web.fff.9',
      'Why: superseded by fffffff',
    ]);
  });
});
