/** The progress lines a person reads while a deploy runs: one per change, with the rollout's phase in words. */
import { ProgressPrinter } from '../../src/cli/progress.js';
import type { DeployProgress, RolloutSnapshot } from '../../src/shared/types.js';

const base: DeployProgress = {
  status: 'waiting_stable',
  sha: 'a'.repeat(40),
  service: 'hello',
  cluster: 'local',
  stages: [],
  approval: { required: false, state: 'not_required' },
};

function snapshot(over: Partial<RolloutSnapshot>): RolloutSnapshot {
  return {
    state: 'in_progress',
    rolloutState: 'IN_PROGRESS',
    desired: 2,
    running: 0,
    pending: 0,
    failedTasks: 0,
    events: [],
    stoppedTasks: [],
    strategy: 'BLUE_GREEN',
    ...over,
  };
}

function printer(): { lines: string[]; update: (p: DeployProgress) => void } {
  const lines: string[] = [];
  const p = new ProgressPrinter((line) => lines.push(line));
  return { lines, update: (progress) => p.update(progress) };
}

describe('ProgressPrinter', () => {
  test('prints the milestones that came and went between two readings, in order, then the latest once', () => {
    const shift = snapshot({ lifecycleStage: 'PRODUCTION_TRAFFIC_SHIFT', traffic: { production: 100, test: 100 } });
    const bake = snapshot({
      lifecycleStage: 'BAKE_TIME',
      traffic: { production: 100, test: 100 },
      running: 2,
      pending: 0,
    });
    const p = printer();
    p.update({
      ...base,
      rolloutSteps: [snapshot({ lifecycleStage: 'SCALE_UP' })],
      rollout: snapshot({ lifecycleStage: 'SCALE_UP' }),
    });
    p.update({ ...base, rolloutSteps: [snapshot({ lifecycleStage: 'SCALE_UP' }), shift, bake], rollout: bake });
    p.update({ ...base, rolloutSteps: [snapshot({ lifecycleStage: 'SCALE_UP' }), shift, bake], rollout: bake });
    expect(p.lines).toEqual([
      'local/hello rollout: IN_PROGRESS BLUE_GREEN SCALE_UP running 0/2 pending 0 failed 0',
      'local/hello rollout: IN_PROGRESS BLUE_GREEN PRODUCTION_TRAFFIC_SHIFT, traffic 100% production / 100% test running 0/2 pending 0 failed 0',
      'local/hello rollout: IN_PROGRESS BLUE_GREEN BAKE_TIME, traffic 100% production / 100% test running 2/2 pending 0 failed 0',
    ]);
  });

  test('once the record keeps only the latest milestones, the ones after what was printed still all print, once', () => {
    const step = (production: number) =>
      snapshot({ lifecycleStage: 'PRODUCTION_TRAFFIC_SHIFT', traffic: { production, test: 100 } });
    const p = printer();
    // 105 milestones so far, the record holds the last 100 (5..104); the printer saw the first 3 before.
    p.update({ ...base, rolloutSteps: [step(0), step(1), step(2)], rolloutStepsTotal: 3, rollout: step(2) });
    const kept = Array.from({ length: 100 }, (_, i) => step(i + 5));
    p.update({ ...base, rolloutSteps: kept, rolloutStepsTotal: 105, rollout: step(104) });
    p.update({ ...base, rolloutSteps: kept, rolloutStepsTotal: 105, rollout: step(104) });
    const percents = p.lines.map((l) => Number(/traffic (\d+)%/.exec(l)?.[1]));
    expect(percents).toEqual([0, 1, 2, ...Array.from({ length: 100 }, (_, i) => i + 5)]);
  });

  test('a rolling rollout names no strategy; live task counts within one milestone each print a line', () => {
    const p = printer();
    const rolling = (running: number): RolloutSnapshot =>
      snapshot({ strategy: 'ROLLING', running, pending: 2 - running });
    p.update({ ...base, rolloutSteps: [rolling(0)], rollout: rolling(0) });
    p.update({ ...base, rolloutSteps: [rolling(0)], rollout: rolling(1) });
    p.update({ ...base, rolloutSteps: [rolling(0)], rollout: rolling(1) });
    expect(p.lines).toEqual([
      'local/hello rollout: IN_PROGRESS running 0/2 pending 2 failed 0',
      'local/hello rollout: IN_PROGRESS running 1/2 pending 1 failed 0',
    ]);
  });
});
