/** What deployctl prints of a result: text from the deployed code must not command the CI runner or show secrets. */
import { jest } from '@jest/globals';
import { printResult, resultLines } from '../../src/cli/output.js';
import type { DeployResult } from '../../src/shared/types.js';

const failed: DeployResult = {
  status: 'failed',
  sha: 'a'.repeat(40),
  workflowId: 'deploy-prod-web-aaaaaaa',
  runId: 'run-1',
  service: 'web',
  cluster: 'prod',
  stages: [{ name: 'test', status: 'failed', startedAt: '2026-01-02T03:04:07.000Z', durationMs: 250 }],
  error: {
    stage: 'test',
    message: `failed to test app: 1 test failed\n::add-mask::x\n::set-output name=image::evil\n${'A'.repeat(9000)}\nkey sk-live-0123456789abcdef`,
  },
};
const ui = { uiUrl: 'http://localhost:8233', namespace: 'default' };

function printed(result: DeployResult, env: Record<string, string>): string {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    printResult(result, { json: false, ui });
  } finally {
    spy.mockRestore();
    process.env = saved;
  }
  return chunks.join('');
}

describe('printResult', () => {
  test('defuses workflow commands in the error, caps its lines and redacts what this process holds', () => {
    const text = printed(failed, { TEMPORAL_API_KEY: 'sk-live-0123456789abcdef' });
    for (const line of text.split('\n')) {
      expect(line.trimStart().startsWith('::')).toBe(false);
      expect(line.length).toBeLessThan(1100);
    }
    expect(text).toContain(': :set-output name=image::evil');
    expect(text).toContain('bytes cut');
    expect(text).not.toContain('sk-live-0123456789abcdef');
    expect(text).toContain('key ***');
  });

  test('says who approved and how it was proven, and who requested the deploy', () => {
    const lines = resultLines(
      {
        ...failed,
        status: 'succeeded',
        error: undefined,
        approval: {
          required: true,
          state: 'approved',
          by: 'bob',
          proof: 'verified',
          comment: 'ship it',
          requester: { id: 'alice', proof: 'verified' },
        },
      },
      ui,
    );
    expect(lines).toContain('prod/web approval: approved by bob (verified) (ship it)');
    expect(lines).toContain('prod/web requested by: alice (verified)');
  });
});
