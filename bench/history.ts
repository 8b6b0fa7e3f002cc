/** Reading activity timings out of a workflow history, for the orchestration-overhead and latency rows. */
import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

export interface ActivityTiming {
  name: string;
  scheduledMs: number;
  startedMs: number;
  completedMs: number;
}

function ms(t: temporal.api.history.v1.IHistoryEvent['eventTime']): number {
  if (!t) return 0;
  return Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6);
}

export function activityTimings(history: History): ActivityTiming[] {
  const byScheduled = new Map<number, ActivityTiming>();
  for (const e of history.events ?? []) {
    const id = Number(e.eventId ?? 0);
    if (e.activityTaskScheduledEventAttributes) {
      const name = e.activityTaskScheduledEventAttributes.activityType?.name ?? '?';
      byScheduled.set(id, { name, scheduledMs: ms(e.eventTime), startedMs: 0, completedMs: 0 });
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const t = byScheduled.get(Number(started.scheduledEventId ?? 0));
      if (t) t.startedMs = ms(e.eventTime);
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const t = byScheduled.get(Number(done.scheduledEventId ?? 0));
      if (t) t.completedMs = ms(e.eventTime);
    }
  }
  return [...byScheduled.values()];
}

export function workflowSpanMs(history: History): { startMs: number; endMs: number } {
  const events = history.events ?? [];
  return { startMs: ms(events[0]?.eventTime), endMs: ms(events[events.length - 1]?.eventTime) };
}

/**
 * Orchestration time on the critical path up to the service update: the workflow's time minus the activities'
 * own execution time (started to completed). Parallel pairs count once, by their longer member.
 */
export function orchestrationOverhead(history: History): { overheadMs: number; stages: number } {
  const t = activityTimings(history);
  const own = (name: string): number => {
    const a = t.find((x) => x.name === name);
    return a ? a.completedMs - a.startedMs : 0;
  };
  const update = t.find((x) => x.name === 'updateService');
  const { startMs } = workflowSpanMs(history);
  if (!update) throw new Error('history has no updateService activity');
  const path = [
    Math.max(own('describeTarget'), own('checkRepository')),
    own('checkout'),
    own('buildApp'),
    Math.max(own('testApp'), own('packageImage')),
    own('registerTaskDefinition'),
    own('updateService'),
  ];
  const activityMs = path.reduce((a, b) => a + b, 0);
  return { overheadMs: update.completedMs - startMs - activityMs, stages: path.length };
}
