/**
 * GET /healthz: 200 while both of the worker's pollers run (the deploy queue and its watch queue), 503 otherwise,
 * with what each is doing. For a load balancer's or an orchestrator's check, and for a person with curl.
 */
import { createServer, type Server } from 'node:http';
import type { WorkerStatus } from '@temporalio/worker';
import type { DeployWorkers } from '../workers.js';

export interface HealthReport {
  status: 'ok' | 'unavailable';
  pid: number;
  startedAt: string;
  taskQueue: string;
  workers: { deploys: WorkerHealth; watches: WorkerHealth };
}

export interface WorkerHealth {
  state: WorkerStatus['runState'];
  workflowPoller?: WorkerStatus['workflowPollerState'];
  activityPoller: WorkerStatus['activityPollerState'];
  activitiesInFlight: number;
  cachedWorkflows?: number;
}

export function healthReport(
  workers: Pick<DeployWorkers, 'status'>,
  facts: { taskQueue: string; startedAt: string },
): HealthReport {
  const { deploys, watches } = workers.status();
  const report: HealthReport = {
    status: 'ok',
    pid: process.pid,
    startedAt: facts.startedAt,
    taskQueue: facts.taskQueue,
    workers: {
      deploys: {
        ...view(deploys),
        workflowPoller: deploys.workflowPollerState,
        cachedWorkflows: deploys.numCachedWorkflows,
      },
      watches: view(watches),
    },
  };
  const polling = (s: WorkerStatus, workflows: boolean) =>
    s.runState === 'RUNNING' &&
    s.activityPollerState === 'POLLING' &&
    (!workflows || s.workflowPollerState === 'POLLING');
  if (!polling(deploys, true) || !polling(watches, false)) report.status = 'unavailable';
  return report;
}

function view(s: WorkerStatus): WorkerHealth {
  return { state: s.runState, activityPoller: s.activityPollerState, activitiesInFlight: s.numInFlightActivities };
}

/** Listens on `address` (host:port); resolves once listening, or rejects saying which setting to change. */
export async function startHealthServer(address: string, report: () => HealthReport): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try GET /healthz\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET /healthz\n');
      return;
    }
    const body = report();
    res
      .writeHead(body.status === 'ok' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(req.method === 'HEAD' ? undefined : `${JSON.stringify(body)}\n`);
  });
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new Error(
          `failed to listen on DEPLOY_HEALTH_ADDR ${address}: ${err.message}; give it a free host:port, or unset it`,
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  return server;
}
