/** One deploy through the workflow on the local stack, measured: wall time, overhead, detection latency, reads. */
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import type { Client } from '@temporalio/client';
import { requestDeploy } from '../src/client/deploys.js';
import { readTarget, targetSources } from '../src/cli/env.js';
import { activityTimings, orchestrationOverhead } from './history.js';

export interface WorkflowRun {
  wallMs: number;
  overheadPerStageMs: number;
  detectionMs: number;
  rolloutReads: number;
  rolloutMs: number;
  mode: string;
}

export async function runWorkflowDeploy(opts: {
  client: Client;
  env: Record<string, string>;
  sha: string;
}): Promise<WorkflowRun> {
  const target = readTarget(targetSources(opts.env));
  const started = Date.now();
  const deploy = await requestDeploy({
    client: opts.client,
    taskQueue: opts.env.TEMPORAL_TASK_QUEUE ?? 'ecs-deploy',
    request: { kind: 'deploy', sha: opts.sha, target },
  });
  const result = await deploy.handle.result();
  const wallMs = Date.now() - started;
  if (result.status !== 'succeeded')
    throw new Error(`bench deploy ${opts.sha} ended ${result.status}: ${result.error?.message}`);
  const history = await opts.client.workflow.getHandle(result.workflowId, result.runId).fetchHistory();
  const { overheadMs, stages } = orchestrationOverhead(history);
  const polls = activityTimings(history).filter((a) => a.name === 'checkRollout');
  const waitStage = result.stages.find((s) => s.name === 'wait_stable');
  const waitEnd = waitStage ? Date.parse(waitStage.startedAt) + (waitStage.durationMs ?? 0) : 0;
  const steady = await steadyStateAt(opts.env, target.cluster, target.service);
  return {
    wallMs,
    overheadPerStageMs: overheadMs / stages,
    detectionMs: waitEnd - steady,
    rolloutReads: polls.length,
    rolloutMs: waitStage?.durationMs ?? 0,
    mode: deploy.mode,
  };
}

/** When ECS (the emulator) reported the newest rollout complete: its "reached a steady state" event. */
async function steadyStateAt(env: Record<string, string>, cluster: string, service: string): Promise<number> {
  const ecs = new ECSClient({
    region: env.AWS_REGION,
    endpoint: env.AWS_ENDPOINT_URL,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    const out = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
    const event = out.services?.[0]?.events?.find((e) => e.message?.includes('reached a steady state'));
    if (!event?.createdAt) throw new Error('no steady-state event on the service');
    return event.createdAt.getTime();
  } finally {
    ecs.destroy();
  }
}
