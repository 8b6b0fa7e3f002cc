/** The watch's sleep between reads: long poll intervals keep heartbeating, well inside the heartbeat timeout. */
import { BEAT_EVERY_MS, sleepBeating } from '../../src/activities/ecs-watch.js';

/** An activity context on a virtual clock: sleeping moves the clock, heartbeats are stamped with it. */
function virtualContext() {
  let now = 0;
  const beats: { at: number; details: unknown }[] = [];
  return {
    beats,
    now: () => now,
    ctx: {
      sleep: async (ms: number) => {
        now += ms;
      },
      heartbeat: (details?: unknown) => void beats.push({ at: now, details }),
    },
  };
}

describe('sleepBeating', () => {
  test('a minute-long poll interval heartbeats at least every few seconds, with the latest reading', async () => {
    const v = virtualContext();
    await sleepBeating(v.ctx, 60_000, { state: 'in_progress' });
    expect(v.now()).toBe(60_000);
    const stamps = [0, ...v.beats.map((b) => b.at), v.now()];
    const gaps = stamps.slice(1).map((t, i) => t - (stamps[i] ?? 0));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(BEAT_EVERY_MS);
    expect(BEAT_EVERY_MS).toBeLessThan(10_000);
    expect(v.beats.every((b) => (b.details as { state: string }).state === 'in_progress')).toBe(true);
  });

  test('a sleep shorter than the beat sleeps once and leaves the heartbeat to the next read', async () => {
    const v = virtualContext();
    await sleepBeating(v.ctx, 1_000);
    expect(v.now()).toBe(1_000);
    expect(v.beats).toEqual([]);
  });

  test('a cancellation during the sleep ends it at once', async () => {
    const beats: number[] = [];
    const ctx = {
      sleep: async () => {
        throw new Error('cancelled');
      },
      heartbeat: () => void beats.push(1),
    };
    await expect(sleepBeating(ctx, 30_000)).rejects.toThrow('cancelled');
    expect(beats).toEqual([]);
  });
});
