/**
 * Replays recorded histories against the current workflow code: a change that breaks determinism fails here.
 * The histories come from test/workflows/record-histories.ts; re-record them only with a versioned change.
 */
import { readFile, readdir } from 'node:fs/promises';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../support/temporal.js';
import { APPROVAL_PATCH } from '../../src/workflows/approval.js';
import { NOTIFY_PATCH } from '../../src/workflows/notify.js';
import { OBSERVE_PATCH } from '../../src/workflows/settle.js';
import { WATCH_PATCH } from '../../src/workflows/wait-stable.js';
import { HISTORIES_DIR, historyFromObject } from './record-histories.js';

/** Recorded before the service queue and the last reading of ECS: runs started by older code must still replay. */
const BEFORE_QUEUE = ['approved', 'cancelled', 'happy', 'rolled-back', 'superseded-newer', 'superseded-older'];
/** Recorded with the queue: a deploy with its lease and a reused image, one already live, a rollback, the queue. */
const WITH_QUEUE = ['already-live', 'queue', 'queued', 'rollback'];
/**
 * Recorded with the worker's approval policy: a verified approval after a name and a four-eyes refusal, and an
 * approval by name in namespace mode. Everything before them replays on the rules it started with.
 */
const WITH_POLICY = ['approved-by-name', 'approved-verified'];
/**
 * Recorded with the watch that follows ECS's service deployment: a rolling deploy, and a blue/green one at a PAUSE
 * hook approved, rejected, or expired so that ECS rolled back by itself. Everything before replays on checkRollout.
 */
const WITH_WATCH = ['ecs-rolled-back', 'hook-approved', 'hook-rejected', 'watched'];
/**
 * Recorded with notifications (and the watch): an approval, then a success, each told to the webhook. Nothing before
 * sends any.
 */
const WITH_NOTIFY = ['notified'];
const EXPECTED = [...BEFORE_QUEUE, ...WITH_QUEUE, ...WITH_POLICY, ...WITH_WATCH, ...WITH_NOTIFY].sort();

/** Every payload's data in a history, decoded: patch ids and results are base64 in the recorded JSON. */
function decodedPayloads(history: unknown): string[] {
  const out: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (key === 'data' && v instanceof Uint8Array) out.push(Buffer.from(v).toString('utf8'));
        else visit(v);
      }
    }
  };
  visit(history);
  return out;
}

async function load(name: string) {
  return historyFromObject(JSON.parse(await readFile(`${HISTORIES_DIR}/${name}.json`, 'utf8')));
}

describe('replaying recorded deploy histories', () => {
  test('every scenario has a recorded history', async () => {
    const files = (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    expect(files.sort()).toEqual(EXPECTED);
  });

  test.each(EXPECTED)('the %s history replays against the current workflow code', async (name) => {
    const history = await load(name);
    expect(history.events.length).toBeGreaterThan(20);
    // Histories from before the patch carry no marker; histories after it carry it, so both branches replay.
    const payloads = decodedPayloads(history);
    const markers = payloads.some((text) => text.includes(OBSERVE_PATCH));
    if (BEFORE_QUEUE.includes(name)) expect(markers).toBe(false);
    else if (name !== 'queue') expect(markers).toBe(true);
    const withPolicy = [...WITH_POLICY, ...WITH_WATCH, ...WITH_NOTIFY].includes(name);
    expect(payloads.some((text) => text.includes(APPROVAL_PATCH))).toBe(withPolicy);
    expect(payloads.some((text) => text.includes(WATCH_PATCH))).toBe([...WITH_WATCH, ...WITH_NOTIFY].includes(name));
    expect(payloads.some((text) => text.includes(`"id":"${NOTIFY_PATCH}"`))).toBe(WITH_NOTIFY.includes(name));
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, `replay-${name}`),
    ).resolves.toBeUndefined();
  });

  test('all histories replay in one worker, as CI runs them', async () => {
    const histories = await Promise.all(
      // The id each was recorded under: a deploy's notices are named after its workflow id.
      EXPECTED.map(async (name) => ({ workflowId: `replay-${name}`, history: await load(name) })),
    );
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
