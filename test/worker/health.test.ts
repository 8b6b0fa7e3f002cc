/**
 * The health endpoint's answer from the workers' states: 200 only while both poll. The states here are stand-ins
 * (the SDK's own WorkerStatus shape); test/worker/operate.test.ts asks a real worker.
 */
import type { Server } from 'node:http';
import type { WorkerStatus } from '@temporalio/worker';
import { healthReport, startHealthServer } from '../../src/worker/health.js';
import { freePort } from '../../src/devstack/process.js';

function status(overrides: Partial<WorkerStatus> = {}): WorkerStatus {
  return {
    runState: 'RUNNING',
    workflowPollerState: 'POLLING',
    activityPollerState: 'POLLING',
    hasOutstandingWorkflowPoll: true,
    hasOutstandingActivityPoll: true,
    numInFlightWorkflowActivations: 0,
    numInFlightActivities: 3,
    numInFlightNonLocalActivities: 3,
    numInFlightLocalActivities: 0,
    numCachedWorkflows: 7,
    numHeartbeatingActivities: 0,
    ...overrides,
  };
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

async function serve(states: { deploys: WorkerStatus; watches: WorkerStatus }): Promise<string> {
  const address = `127.0.0.1:${await freePort()}`;
  server = await startHealthServer(address, () =>
    healthReport({ status: () => states }, { taskQueue: 'q', startedAt: '2026-11-26T00:00:00.000Z' }),
  );
  return `http://${address}/healthz`;
}

describe('the health endpoint', () => {
  test('answers 200 with what each worker does while both poll', async () => {
    const res = await fetch(await serve({ deploys: status(), watches: status({ numInFlightActivities: 40 }) }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      pid: process.pid,
      startedAt: '2026-11-26T00:00:00.000Z',
      taskQueue: 'q',
      workers: {
        deploys: {
          state: 'RUNNING',
          workflowPoller: 'POLLING',
          activityPoller: 'POLLING',
          activitiesInFlight: 3,
          cachedWorkflows: 7,
        },
        watches: { state: 'RUNNING', activityPoller: 'POLLING', activitiesInFlight: 40 },
      },
    });
  });

  test.each([
    ['the watch worker is draining', { watches: status({ runState: 'DRAINING' }) }],
    ['the deploy worker’s workflow poller failed', { deploys: status({ workflowPollerState: 'FAILED' }) }],
    ['the watch worker’s activity poller stopped', { watches: status({ activityPollerState: 'SHUTDOWN' }) }],
  ])('answers 503 when %s', async (_, broken) => {
    const res = await fetch(await serve({ deploys: status(), watches: status(), ...broken }));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { status: string }).status).toBe('unavailable');
  });

  test('refuses to start on a port already taken, naming DEPLOY_HEALTH_ADDR', async () => {
    const url = await serve({ deploys: status(), watches: status() });
    const address = new URL(url).host;
    await expect(startHealthServer(address, () => ({}) as never)).rejects.toThrow(
      `failed to listen on DEPLOY_HEALTH_ADDR ${address}: listen EADDRINUSE`,
    );
  });

  test('answers only GET and HEAD on /healthz', async () => {
    const url = await serve({ deploys: status(), watches: status() });
    expect((await fetch(url, { method: 'POST' })).status).toBe(405);
    expect((await fetch(url.replace('/healthz', '/metrics'))).status).toBe(404);
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });
});
