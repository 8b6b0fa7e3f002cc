/** The worker's log lines: one JSON object each, the SDK's context as fields, nothing a log should not hold. */
import { formatLine, jsonLogger } from '../../src/worker/log.js';

describe('the JSON log line', () => {
  test('carries time, level and message first, and the SDK’s context as fields', () => {
    const line = formatLine({
      level: 'WARN',
      message: 'Activity failed',
      timestampNanos: 1_764_000_000_123_000_000n,
      meta: { activityType: 'notify', workflowId: 'deploy.prod.web.x.1', attempt: 2 },
    });
    expect(line).toBe(
      '{"time":"2025-11-24T16:00:00.123Z","level":"WARN","message":"Activity failed","activityType":"notify","workflowId":"deploy.prod.web.x.1","attempt":2}',
    );
  });

  test('drops task tokens, shows errors by name and message, and survives cycles and bigints', () => {
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic.self = cyclic;
    const parsed = JSON.parse(
      formatLine({
        level: 'ERROR',
        message: 'boom',
        timestampNanos: 0n,
        meta: {
          taskToken: 'CiQ0YjE…',
          error: new Error('failed to update', { cause: new Error('throttled') }),
          cyclic,
          big: 12n,
          message: 'not this one',
        },
      }),
    ) as Record<string, unknown>;
    expect(parsed).not.toHaveProperty('taskToken');
    expect(parsed.message).toBe('boom');
    expect(parsed.error).toMatchObject({ name: 'Error', message: 'failed to update', cause: { message: 'throttled' } });
    expect(parsed.big).toBe('12');
    expect(JSON.stringify(parsed.cyclic)).toContain('{…}');
  });

  test('the logger writes lines at its level and above only', () => {
    const lines: string[] = [];
    const logger = jsonLogger('INFO', (l) => lines.push(l));
    logger.debug('hidden');
    logger.info('shown', { taskQueue: 'q' });
    expect(lines.map((l) => JSON.parse(l) as { message: string; taskQueue?: string })).toEqual([
      expect.objectContaining({ message: 'shown', taskQueue: 'q' }),
    ]);
  });
});
