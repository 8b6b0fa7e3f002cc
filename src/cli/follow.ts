/**
 * Requesting a deploy or rollback and following it to its end, with the progress lines people read: shared by
 * `deployctl deploy|rollback|wait` and the GitHub Action.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { cancelDeploy, requestDeploy, type StartedDeploy } from '../client/deploys.js';
import { requesterToken } from './identity.js';
import { followDeploy } from '../client/watch.js';
import { errorMessage } from '../shared/errors.js';
import { safeOutput } from '../shared/output.js';
import type { DeployResult } from '../shared/types.js';
import type { QueueRequest, Requester } from '../workflows/messages.js';
import type { deploy } from '../workflows/deploy.js';
import { requestedBy } from './env.js';
import { uiLink, type UiSettings } from './output.js';
import { ProgressPrinter } from './progress.js';

export type Log = (line: string) => void;

/**
 * Who asks: a name for the record, and the requester's ID token when there is one (DEPLOY_REQUESTER_TOKEN, or in a
 * GitHub Actions job with `id-token: write` the job's own, for DEPLOY_OIDC_AUDIENCE), which the worker verifies so
 * that four eyes can refuse the requester's own approval. `note` hears why no token was sent; the token is never
 * printed.
 */
export async function requester(env: Record<string, string | undefined>, note: Log): Promise<Requester> {
  const token = await requesterToken(env, note);
  return { requestedBy: requestedBy(env), ...(token ? { requesterToken: token } : {}) };
}

/** Sends the request to the service's queue and says what became of it: started, attached, superseding. */
export async function requestAndReport(opts: {
  client: Client;
  taskQueue: string;
  request: QueueRequest;
  ui: UiSettings;
  log: Log;
}): Promise<StartedDeploy> {
  const { request, log } = opts;
  const started = await requestDeploy({ client: opts.client, taskQueue: opts.taskQueue, request });
  const where = `${request.target.cluster}/${request.target.service}`;
  const what =
    request.kind === 'deploy'
      ? `deploy ${request.sha.slice(0, 7)}`
      : `rollback${request.toSha ? ` to ${request.toSha.slice(0, 7)}` : ''}`;
  const how = started.mode === 'started' ? 'started' : 'already running, attached to';
  log(`${where} ${what}: ${how} ${started.handle.workflowId}`);
  if (started.superseding.length) log(`${where} superseding ${started.superseding.join(', ')}`);
  log(`${where} watch: ${uiLink(opts.ui, started.handle.workflowId, started.runId)}`);
  return started;
}

/** Thrown when the watcher is told to stop a second time: the deploy goes on, unwatched. */
export class StoppedWaiting extends Error {
  constructor(
    readonly workflowId: string,
    signal: string,
  ) {
    super(
      `stopped waiting on a second ${signal}; ${workflowId} goes on compensating without a watcher: deployctl status ${workflowId}`,
    );
    this.name = 'StoppedWaiting';
  }
}

/** Who the cancel names when the waiting process is stopped, and why. */
export interface CancelOnStop {
  /** cluster/service, for the lines it prints. */
  where: string;
  by: string;
  reason: (signal: string) => string;
}

/**
 * Follows the deploy to its result, printing one line per change. With `cancelOnStop`, the first SIGINT or SIGTERM
 * cancels the deploy (which compensates) and keeps waiting for its ending; a second one stops waiting
 * (StoppedWaiting). Without it, signals keep their usual meaning.
 */
export async function followWithProgress(opts: {
  client: Client;
  handle: WorkflowHandle<typeof deploy>;
  log: Log;
  /** Values to redact from the progress lines, which quote the repository's task definition (changes to approve). */
  secrets?: readonly string[];
  cancelOnStop?: CancelOnStop;
}): Promise<DeployResult> {
  const { client, handle, log, cancelOnStop } = opts;
  const secrets = opts.secrets ?? [];
  const printer = new ProgressPrinter((line) => log(safeOutput(line, { secrets })));
  const following = followDeploy({ handle, onProgress: (p) => printer.update(p) });
  if (!cancelOnStop) return await following;
  let signals = 0;
  let stop: (err: Error) => void = () => undefined;
  const stopped = new Promise<never>((_, reject) => {
    stop = reject;
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      stop(new StoppedWaiting(handle.workflowId, signal));
      return;
    }
    const { where, by, reason } = cancelOnStop;
    log(`${where} ${signal}: cancelling the deploy; waiting for it to compensate (send again to stop waiting)`);
    cancelDeploy({ client, workflowId: handle.workflowId, by, reason: reason(signal) })
      .then(() => log(`${where} cancel sent to ${handle.workflowId}`))
      .catch((e: unknown) => log(`${where} failed to cancel ${handle.workflowId}: ${errorMessage(e)}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await Promise.race([following, stopped]);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
