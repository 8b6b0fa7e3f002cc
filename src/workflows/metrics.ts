/**
 * The deploy's own metrics, beside the SDK's: how deploys end and how long their stages take. The workflow's meter
 * emits nothing while a history replays, so each deploy counts once, whichever worker finishes it.
 */
import { metricMeter } from '@temporalio/workflow';
import type { DeployInput, FinalStatus, StageName, StageStatus } from '../shared/types.js';

/** How a deploy ended; rollback_failed: undoing it failed too, and the run failed without a result. */
export function countOutcome(status: FinalStatus | 'rollback_failed', input: Partial<DeployInput> | undefined): void {
  const target = input?.target;
  metricMeter.createCounter('deploy_outcomes_total', undefined, 'deploys by how they ended').add(1, {
    status,
    kind: input?.rollbackTo ? 'rollback' : 'deploy',
    // Bounded by the services deployed; input that failed validation counts under one name.
    service: target && typeof target.service === 'string' ? `${target.cluster}/${target.service}` : 'invalid',
  });
}

export function recordStage(stage: StageName, status: StageStatus, durationMs: number): void {
  metricMeter
    .createHistogram('deploy_stage_duration_seconds', 'float', 's', 'how long each stage of a deploy took')
    .record(durationMs / 1000, { stage, status });
}
