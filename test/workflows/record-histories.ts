/**
 * Records the histories that replay.test.ts replays, from runs on the time-skipping server with fake activities.
 * Re-record only on purpose (a deliberate, versioned change of the workflow), and commit the JSON:
 *   node --import tsx test/workflows/record-histories.ts
 */
import { writeFile } from 'node:fs/promises';
import proto from '@temporalio/proto';
import { format } from 'prettier';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DeployActivities } from '../../src/shared/activities.js';
import type { deploy } from '../../src/workflows/deploy.js';
import { approveSignal, cancelSignal } from '../../src/workflows/messages.js';
import { ROOT } from '../support/process.js';
import { timeSkippingEnv } from '../support/temporal.js';
import { NEW, fakeActivities, input, snapshot } from './fakes.js';
import { startDeploy, statusIs, waitForProgress, withWorker } from './harness.js';

export const HISTORIES_DIR = `${ROOT}/test/workflows/histories`;

const { History } = proto.temporal.api.history.v1;
/**
 * Histories are stored as the proto's own object form. (common's historyToJSON/historyFromJSON fail here: npm
 * installed two copies of protobufjs 8 under @temporalio/common and @temporalio/proto, and they reject each other's types.)
 */
export const historyToObject = (h: proto.temporal.api.history.v1.IHistory): unknown =>
  History.toObject(History.fromObject(h), { longs: String, enums: String, bytes: String });
export const historyFromObject = (o: unknown): proto.temporal.api.history.v1.History =>
  History.fromObject(o as Record<string, unknown>);

type Handle = WorkflowHandle<typeof deploy>;
interface Scenario {
  activities?: Partial<DeployActivities>;
  /** Runs the deploys; returns the handles whose histories to keep, by file name. */
  run(env: TestWorkflowEnvironment, taskQueue: string): Promise<Record<string, Handle>>;
}

const hanging: Partial<DeployActivities> = {
  checkRollout: async ({ taskDefinitionArn }) =>
    taskDefinitionArn === NEW ? snapshot('in_progress', 1) : snapshot('completed'),
};
const withApproval = input({ options: { pollIntervalMs: 1000, stableTimeoutMs: 60_000, requireApproval: true } });

const SCENARIOS: Record<string, Scenario> = {
  happy: {
    async run(env, tq) {
      const h = await startDeploy(env, tq, input(), 'replay-happy');
      await h.result();
      return { happy: h };
    },
  },
  rolledBack: {
    activities: {
      checkRollout: async ({ taskDefinitionArn }) =>
        taskDefinitionArn === NEW ? snapshot('failed', 0) : snapshot('completed'),
    },
    async run(env, tq) {
      const h = await startDeploy(env, tq, input(), 'replay-rolled-back');
      await h.result();
      return { 'rolled-back': h };
    },
  },
  cancelled: {
    activities: hanging,
    async run(env, tq) {
      const h = await startDeploy(env, tq, input(), 'replay-cancelled');
      await waitForProgress(h, (p) => p.status === 'waiting_stable' && p.rollout !== undefined);
      await h.signal(cancelSignal, { by: 'carol', reason: 'replay fixture' });
      await h.result();
      return { cancelled: h };
    },
  },
  approved: {
    async run(env, tq) {
      const h = await startDeploy(env, tq, withApproval, 'replay-approved');
      await waitForProgress(h, statusIs('awaiting_approval'));
      await h.signal(approveSignal, { by: 'alice', comment: 'replay fixture' });
      await h.result();
      return { approved: h };
    },
  },
  superseded: {
    activities: {
      ...hanging,
      registerTaskDefinition: async ({ sha }) => ({
        taskDefinitionArn: sha === input().sha ? NEW : NEW.replace(/:2$/, ':3'),
        created: true,
        diff: ['containers[web].image: old -> new'],
      }),
    },
    async run(env, tq) {
      const older = await startDeploy(env, tq, input(), 'replay-superseded-older');
      await waitForProgress(older, (p) => p.status === 'waiting_stable' && p.rollout !== undefined);
      const newer = await startDeploy(
        env,
        tq,
        input({ sha: 'b'.repeat(40), supersedes: [older.workflowId] }),
        'replay-superseded-newer',
      );
      await waitForProgress(older, (p) => p.result !== undefined);
      await waitForProgress(newer, (p) => p.result !== undefined);
      return { 'superseded-older': older, 'superseded-newer': newer };
    },
  },
};

async function main(): Promise<void> {
  const env = await timeSkippingEnv();
  try {
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      const handles = await withWorker(env, fakeActivities(scenario.activities), (tq) => scenario.run(env, tq));
      for (const [file, handle] of Object.entries(handles)) {
        const path = `${HISTORIES_DIR}/${file}.json`;
        const json = JSON.stringify(historyToObject(await handle.fetchHistory()));
        await writeFile(path, await format(json, { parser: 'json' }));
        console.log(`recorded ${name}: ${path}`);
      }
    }
  } finally {
    await env.teardown();
  }
}

if (process.argv[1]?.endsWith('record-histories.ts')) await main();
