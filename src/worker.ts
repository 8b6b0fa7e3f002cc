/** The worker: connects to Temporal, registers the deploy workflow and its activities, runs until SIGTERM. */
import { NativeConnection, type Logger } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { awsClients } from './activities/clients.js';
import { createActivities } from './activities/index.js';
import { checkSandbox } from './activities/sandbox.js';
import { removeLeftoverSecrets } from './activities/workdir.js';
import { loadApprovalConfig } from './activities/identity.js';
import { describeApprovalConfig } from './shared/approval-config.js';
import { readWorkerConfig } from './worker/config.js';
import { connectOptions, readConnectionSettings } from './client/connection.js';
import { errorMessage } from './shared/errors.js';
import { checkNamespace } from './client/connect.js';
import { watchQueue } from './shared/names.js';
import { createDeployWorkers } from './workers.js';
import { healthReport, startHealthServer } from './worker/health.js';
import { fatalLine } from './worker/log.js';
import { installTelemetry } from './worker/telemetry.js';

/** The worker runs from dist/ (compiled) or, in tests, from src/ (TypeScript): load whichever is beside it. */
function workflowsPath(): string {
  const js = fileURLToPath(new URL('./workflows/index.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('./workflows/index.ts', import.meta.url));
}

let logger: Logger | undefined;

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const config = readWorkerConfig(process.env, process.cwd());
  // The source URL may hold a git token, the webhook's URL is a credential too: kept in `config` only, so no child
  // (go test runs the deployed code) inherits them.
  for (const name of ['DEPLOY_SOURCE_REPO', 'DEPLOY_WEBHOOK_URL', 'DEPLOY_WEBHOOK_SECRET']) delete process.env[name];
  const telemetry = installTelemetry(config.telemetry);
  logger = telemetry.logger;
  const approval = loadApprovalConfig(process.env);
  const settings = readConnectionSettings(process.env);
  const removed = await removeLeftoverSecrets(config.workDir);
  if (removed.length > 0) {
    logger.warn(`worker: removed ${removed.length} credential directories left by an interrupted push`);
  }
  // Before polling: a worker that cannot sandbox the code it deploys refuses to start instead of running it bare.
  const sandboxLine = await checkSandbox(config);
  await checkNamespace(settings);
  const connection = await NativeConnection.connect(connectOptions(settings));
  let health: Server | undefined;
  try {
    const clients = awsClients({ ecsReadsPerSecond: config.ecsReadsPerSecond, onEcsCall: telemetry.onEcsCall });
    const workers = await createDeployWorkers({
      connection,
      namespace: settings.namespace,
      taskQueue: settings.taskQueue,
      workflows: { workflowsPath: workflowsPath() },
      activities: createActivities(config, clients, approval),
      maxActivities: config.maxActivities,
      maxWatches: config.maxWatches,
      maxCachedWorkflows: config.maxCachedWorkflows,
      shutdownGraceTime: '30 seconds',
    });
    if (config.telemetry.healthAddress) {
      health = await startHealthServer(config.telemetry.healthAddress, () =>
        healthReport(workers, { taskQueue: settings.taskQueue, startedAt }),
      );
    }
    logger.info(`worker: ${sandboxLine}`);
    logger.info(`worker: ${describeApprovalConfig(approval)}`);
    logger.info(`worker: ${describeOperations(config)}`);
    logger.info(
      `worker: polling ${settings.namespace}/${settings.taskQueue} and ${watchQueue(settings.taskQueue)} on ${settings.address} (pid ${process.pid})`,
      { namespace: settings.namespace, taskQueue: settings.taskQueue, pid: process.pid },
    );
    // The SDK's runtime turns SIGINT and SIGTERM into a graceful shutdown: running activities get the grace time.
    await workers.run();
    logger.info('worker: stopped');
  } finally {
    health?.close();
    await connection.close();
  }
}

/** Where the worker reports, in one line, without the webhook's URL (a credential). */
function describeOperations(config: ReturnType<typeof readWorkerConfig>): string {
  const { metricsAddress, healthAddress } = config.telemetry;
  const parts = [
    metricsAddress ? `metrics on http://${metricsAddress}/metrics` : 'no metrics endpoint (DEPLOY_METRICS_ADDR)',
    healthAddress ? `health on http://${healthAddress}/healthz` : 'no health endpoint (DEPLOY_HEALTH_ADDR)',
    config.notify
      ? `webhook at ${new URL(config.notify.url).origin}${config.notify.secret ? ', signed' : ''}`
      : 'no webhook (DEPLOY_WEBHOOK_URL)',
  ];
  return parts.join('; ');
}

main().catch((err: unknown) => {
  const message = `worker: ${errorMessage(err)}`;
  if (logger) logger.error(message);
  else process.stderr.write(`${fatalLine(message)}\n`);
  process.exit(1);
});
