/**
 * Replays recorded histories against the current workflow code: a change that breaks determinism fails here.
 * The histories come from test/workflows/record-histories.ts; re-record them only with a versioned change.
 */
import { readFile, readdir } from 'node:fs/promises';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../support/temporal.js';
import { HISTORIES_DIR, historyFromObject } from './record-histories.js';

const EXPECTED = ['approved', 'cancelled', 'happy', 'rolled-back', 'superseded-newer', 'superseded-older'];

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
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, `replay-${name}`),
    ).resolves.toBeUndefined();
  });

  test('all histories replay in one worker, as CI runs them', async () => {
    const histories = await Promise.all(
      EXPECTED.map(async (name) => ({ workflowId: name, history: await load(name) })),
    );
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
