/** Following a deploy while it runs: its progress readings, then its result. What to print is the caller's business. */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { milestone } from '../shared/rollout.js';
import type { DeployProgress, DeployResult, RolloutSnapshot } from '../shared/types.js';
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
 * The newest reading of a rollout being followed: the watching activity's last heartbeat. The workflow's own record
 * moves only at milestones (stage, traffic, final state), so task counts between them come from here.
 */
export async function liveRollout(handle: WorkflowHandle): Promise<RolloutSnapshot | undefined> {
  const described = await handle.describe();
  const pending = described.raw.pendingActivities?.find((a) => a.activityType?.name === 'watchRollout');
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (!payload) return undefined;
  const value = defaultPayloadConverter.fromPayload<RolloutSnapshot>(payload);
  return typeof value?.state === 'string' ? value : undefined;
}

/** The deploy's progress, its rollout overlaid with the live task counts of the watching activity's heartbeat. */
export async function readProgress(handle: WorkflowHandle<typeof deploy>): Promise<DeployProgress> {
  const progress = await handle.query(progressQuery);
  const live = progress.rollout ? await liveRollout(handle) : undefined;
  // Counts from the heartbeat only while it speaks of the same milestone as the record, never an older one.
  const fresh = live && progress.rollout && milestone(live) === milestone(progress.rollout);
  return fresh ? { ...progress, rollout: live } : progress;
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
        onProgress(await readProgress(handle));
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
