/**
 * Delivers deploy events to the worker's webhook: one JSON POST, signed when a secret is set. A failed delivery
 * throws, so Temporal retries it a few times (src/workflows/activities.ts); the deploy never waits on it for long and
 * never fails because of it. The URL and the secret stay here: errors name only the receiver's origin.
 */
import { createHmac } from 'node:crypto';
import { activityInfo, log, metricMeter } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { NotifyConfig } from '../worker/config.js';
import { errorMessage } from '../shared/errors.js';
import type { NotifyInput, NotifyResult } from '../shared/notify.js';
import { webhookEvent, type WebhookEvent } from './notify-event.js';

/** One attempt's limit; the workflow's retry policy bounds all attempts together. */
export const WEBHOOK_TIMEOUT_MS = 4_000;
/** The failure type of an answer that no retry changes (a 404, a redirect): fix the URL. */
export const WEBHOOK_REFUSED = 'WebhookRefused';

export interface NotifyOptions {
  /** Absent: no webhook is configured, and every event is dropped as delivered nowhere. */
  notify?: NotifyConfig;
  /** The Temporal UI, for the run's link. */
  uiUrl: string;
}

export function notifyActivities(opts: NotifyOptions) {
  return {
    notify: async (input: NotifyInput): Promise<NotifyResult> => {
      const config = opts.notify;
      if (!config) return { delivered: false, detail: 'no webhook is configured (DEPLOY_WEBHOOK_URL)' };
      const info = activityInfo();
      const run = { namespace: info.workflowNamespace ?? info.namespace, ...input.run };
      const event = webhookEvent(input, run, opts.uiUrl);
      const outcome = (ok: boolean) => ({ event: input.event, outcome: ok ? 'delivered' : 'failed' });
      const deliveries = metricMeter.createCounter(
        'deploy_notifications_total',
        undefined,
        'webhook deliveries by event',
      );
      try {
        const status = await deliver(config, event);
        deliveries.add(1, outcome(true));
        log.info(`delivered the ${input.event} event to ${origin(config.url)}`, { status });
        return { delivered: true, detail: `${origin(config.url)} answered ${status}` };
      } catch (err) {
        deliveries.add(1, outcome(false));
        throw err;
      }
    },
  };
}

/** POSTs the event; returns the HTTP status, or throws a failure saying whether a retry may help. */
export async function deliver(config: NotifyConfig, event: WebhookEvent, now = Date.now): Promise<number> {
  const body = JSON.stringify(event);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'ecs-durable-deploy',
    'x-deploy-event': event.event,
    'x-deploy-delivery': event.id,
  };
  if (config.secret) {
    const timestamp = String(Math.floor(now() / 1000));
    headers['x-deploy-timestamp'] = timestamp;
    headers['x-deploy-signature'] = `sha256=${sign(config.secret, timestamp, body)}`;
  }
  const where = `the ${event.event} event to the webhook at ${origin(config.url)}`;
  let response: Response;
  try {
    response = await fetch(config.url, {
      method: 'POST',
      headers,
      body,
      // A redirect would carry the signed event somewhere nobody configured.
      redirect: 'manual',
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
  } catch (err) {
    throw ApplicationFailure.retryable(
      `failed to deliver ${where}: ${networkCause(err, config)}; check that the receiver is up and reachable from the worker`,
      'WebhookUnreachable',
    );
  }
  if (response.ok) {
    await response.body?.cancel();
    return response.status;
  }
  const answer = scrub((await response.text().catch(() => '')).slice(0, 200), config).trim();
  const message = `failed to deliver ${where}: it answered ${response.status}${answer ? ` (${answer})` : ''}`;
  if (response.status === 408 || response.status === 429 || response.status >= 500) {
    throw ApplicationFailure.retryable(`${message}; retrying`, 'WebhookUnavailable');
  }
  throw ApplicationFailure.nonRetryable(`${message}; check DEPLOY_WEBHOOK_URL`, WEBHOOK_REFUSED);
}

/** HMAC-SHA256 over "<timestamp>.<body>", hex: the timestamp inside the signature keeps old events from being replayed. */
export function sign(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** `https://hooks.example.com`: the part of the URL that is no secret. */
function origin(url: string): string {
  return new URL(url).origin;
}

function networkCause(err: unknown, config: NotifyConfig): string {
  // Read by shape, not instanceof: fetch's errors may come from another realm (a test runner's sandbox).
  const e = (err ?? {}) as { name?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  if (e.name === 'TimeoutError') return `no answer within ${WEBHOOK_TIMEOUT_MS / 1000} s`;
  const cause = e.cause?.code ?? e.cause?.message ?? e.message;
  return scrub(typeof cause === 'string' ? cause : errorMessage(err), config);
}

/** What a receiver or a network error says back may quote the URL; it goes into history, so the URL is cut out. */
function scrub(text: string, config: NotifyConfig): string {
  const url = new URL(config.url);
  let out = text.split(config.url).join(url.origin);
  for (const secret of [url.pathname.length > 1 ? url.pathname : '', url.search, config.secret ?? '']) {
    if (secret) out = out.split(secret).join('***');
  }
  return out;
}
