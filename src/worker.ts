/** The worker: connects to Temporal, registers the deploy workflow and its activities, runs until SIGTERM. */
import { NativeConnection } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
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

/** The worker runs from dist/ (compiled) or, in tests, from src/ (TypeScript): load whichever is beside it. */
function workflowsPath(): string {
  const js = fileURLToPath(new URL('./workflows/index.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('./workflows/index.ts', import.meta.url));
}

async function main(): Promise<void> {
  const config = readWorkerConfig(process.env, process.cwd());
  // The source URL may hold a git token: kept in `config` only, so no child (go test runs the deployed code) inherits it.
  delete process.env.DEPLOY_SOURCE_REPO;
  const approval = loadApprovalConfig(process.env);
  const settings = readConnectionSettings(process.env);
  const removed = await removeLeftoverSecrets(config.workDir);
  if (removed.length > 0) {
    console.error(`worker: removed ${removed.length} credential directories left by an interrupted push`);
  }
  // Before polling: a worker that cannot sandbox the code it deploys refuses to start instead of running it bare.
  const sandboxLine = await checkSandbox(config);
  await checkNamespace(settings);
  const connection = await NativeConnection.connect(connectOptions(settings));
  try {
    const workers = await createDeployWorkers({
      connection,
      namespace: settings.namespace,
      taskQueue: settings.taskQueue,
      workflows: { workflowsPath: workflowsPath() },
      activities: createActivities(config, awsClients({ ecsReadsPerSecond: config.ecsReadsPerSecond }), approval),
      maxActivities: config.maxActivities,
      maxWatches: config.maxWatches,
      shutdownGraceTime: '30 seconds',
    });
    console.error(`worker: ${sandboxLine}`);
    console.error(`worker: ${describeApprovalConfig(approval)}`);
    console.error(
      `worker: polling ${settings.namespace}/${settings.taskQueue} and ${watchQueue(settings.taskQueue)} on ${settings.address} (pid ${process.pid})`,
    );
    // The SDK's runtime turns SIGINT and SIGTERM into a graceful shutdown: running activities get the grace time.
    await workers.run();
    console.error('worker: stopped');
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(`worker: ${errorMessage(err)}`);
  process.exit(1);
});
