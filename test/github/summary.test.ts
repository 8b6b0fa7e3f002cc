import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobSummary, outcomeText, stepOutputs, writeGithubFiles } from '../../src/cli/github.js';
import type { DeployResult } from '../../src/shared/types.js';

const base: DeployResult = {
  status: 'succeeded',
  sha: 'a'.repeat(40),
  workflowId: 'deploy-prod-web-aaaaaaa',
  runId: 'run-1',
  service: 'web',
  cluster: 'prod',
  stages: [
    { name: 'build', status: 'succeeded', startedAt: '2026-01-02T03:04:05.678Z', durationMs: 1500 },
    { name: 'test', status: 'failed', startedAt: '2026-01-02T03:04:07.000Z', durationMs: 250, detail: 'a | b\nc' },
  ],
};
const ui = 'https://ui.example/namespaces/ns/workflows/deploy-prod-web-aaaaaaa/run-1/history';

describe('the job summary', () => {
  test('names each ending with its cause', () => {
    expect(outcomeText({ ...base, status: 'failed', error: { stage: 'test', message: 'x' } })).toBe('failed at test');
    expect(outcomeText({ ...base, status: 'rolled_back', error: { stage: 'wait_stable', message: 'x' } })).toBe(
      'rolled back after failing at wait_stable',
    );
    expect(
      outcomeText({ ...base, status: 'cancelled', endedBy: { by: 'alice', reason: 'wrong commit', at: 'now' } }),
    ).toBe('cancelled by alice: wrong commit');
  });

  test('lists the stages with start time and duration, keeping each table row on one line', () => {
    const md = jobSummary(base, ui);
    expect(md).toContain('| build | succeeded | 2026-01-02 03:04:05 | 1.5 s |  |');
    expect(md).toContain('| test | failed | 2026-01-02 03:04:07 | 250 ms | a \\| b c |');
    expect(md).toContain('| **sum** | | | 1.8 s | |');
    expect(md).toContain(`[deploy-prod-web-aaaaaaa](${ui})`);
  });

  test('quotes the error in a fence longer than any backticks inside it', () => {
    const md = jobSummary({ ...base, status: 'failed', error: { stage: 'test', message: 'see ```go\ncode```' } }, ui);
    expect(md).toContain('````text\nsee ```go\ncode```\n````');
  });

  test('quotes an error from the deployed code capped, redacted, with workflow commands defused', () => {
    const message = `1 test failed\n::add-mask::x\n${'B'.repeat(40_000)}\ntoken gh-0123456789abcdef`;
    const md = jobSummary({ ...base, status: 'failed', error: { stage: 'test', message } }, ui, [
      'gh-0123456789abcdef',
    ]);
    expect(md).toContain('\n: :add-mask::x\n');
    expect(md).not.toContain('gh-0123456789abcdef');
    expect(md.length).toBeLessThan(20_000);
    expect(md).toContain('bytes cut');
  });

  test('writes outputs one per line and appends to both files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-'));
    try {
      const env = { GITHUB_OUTPUT: join(dir, 'out'), GITHUB_STEP_SUMMARY: join(dir, 'summary') };
      await writeFile(env.GITHUB_OUTPUT, 'earlier=1\n');
      writeGithubFiles({ ...base, imageRef: 'r/web:aaa\nbad' }, ui, env);
      const out = await readFile(env.GITHUB_OUTPUT, 'utf8');
      expect(out.startsWith('earlier=1\nstatus=succeeded\n')).toBe(true);
      expect(out).toContain('image=r/web:aaa bad\n');
      expect(await readFile(env.GITHUB_STEP_SUMMARY, 'utf8')).toContain('## ✅ Deploy aaaaaaa to prod/web: succeeded');
      expect(Object.keys(stepOutputs(base, ui))).toEqual([
        'status',
        'sha',
        'workflow-id',
        'run-id',
        'image',
        'image-digest',
        'task-definition-arn',
        'previous-task-definition-arn',
        'failed-stage',
        'ui-url',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
