/** Following a deploy while it runs: its progress readings, then its result. What to print is the caller's business. */
import type { WorkflowHandle } from '@temporalio/client';
import type { DeployProgress, DeployResult } from '../shared/types.js';
import { progressQuery } from '../workflows/messages.js';
import type { deploy } from '../workflows/deploy.js';

/** The last progress reading a finished deploy stands for: its result. */
function progressOfResult(result: DeployResult): DeployProgress {
  return {
    status: result.status,
    sha: result.sha,
    service: result.service,
    cluster: result.cluster,
    stages: result.stages,
    approval: result.approval ?? { required: false, state: 'not_required' },
  };
}

/**
 * Waits for the result, handing each progress reading to `onProgress` every interval, and a last one made from the
 * result. Survives a server or worker restart: a failed reading is skipped, the next one catches up.
 */
export async function followDeploy(opts: {
  handle: WorkflowHandle<typeof deploy>;
  onProgress?: (progress: DeployProgress) => void;
  intervalMs?: number;
}): Promise<DeployResult> {
  const { handle, onProgress } = opts;
  let finished = false;
  const resultPromise = handle.result().finally(() => {
    finished = true;
  });
  const poll = async (): Promise<void> => {
    while (!finished && onProgress) {
      try {
        onProgress(await handle.query(progressQuery));
      } catch {
        // The server or the worker may be restarting; the next reading will catch up.
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
    }
  };
  const [result] = await Promise.all([resultPromise, poll()]);
  onProgress?.(progressOfResult(result));
  return result;
}
