/** A real HTTP receiver for webhook tests: it records every request and answers as the test says. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookEvent } from '../../src/activities/notify-event.js';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  event: WebhookEvent;
}

/** A status, a whole answer, or `hang`: take the request and never answer (a receiver that is stuck). */
export type Answer = number | 'hang' | { status: number; body?: string; headers?: Record<string, string> };

export interface Receiver {
  /** The URL to configure, with a path that stands for the secret part of a Slack webhook's URL. */
  url: string;
  /** The path's secret part, to look for where it must not be. */
  pathSecret: string;
  received: Received[];
  /** How to answer the next requests, in order; 200 once they are used up. */
  answers: Answer[];
  /** Resolves once `n` requests have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  stop(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const pathSecret = `T0001-B0001-${Math.random().toString(36).slice(2, 14)}`;
  const received: Received[] = [];
  const answers: Answer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body, event: JSON.parse(body) as WebhookEvent });
      const next = answers.shift() ?? 200;
      if (next === 'hang') return;
      const answer = typeof next === 'number' ? { status: next, body: next === 200 ? 'ok' : 'no_service' } : next;
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers }).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/${pathSecret}`,
    pathSecret,
    received,
    answers,
    async waitFor(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`the receiver got ${received.length} of ${n} requests`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return received;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
