/** What the benchmarks read out of a deploy's workflow history. Pure. */
import type { temporal } from '@temporalio/proto';

export type History = temporal.api.history.v1.IHistory;
type Event = temporal.api.history.v1.IHistoryEvent;

export interface ActivityTiming {
  name: string;
  scheduledMs: number;
  startedMs: number;
  completedMs: number;
  /** The id of its completed event; 0 while it has none. */
  completedEventId: number;
}

function ms(t: Event['eventTime']): number {
  if (!t) return 0;
  return Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6);
}

export function activityTimings(history: History): ActivityTiming[] {
  const byScheduled = new Map<number, ActivityTiming>();
  for (const e of history.events ?? []) {
    const id = Number(e.eventId ?? 0);
    if (e.activityTaskScheduledEventAttributes) {
      const name = e.activityTaskScheduledEventAttributes.activityType?.name ?? '?';
      byScheduled.set(id, { name, scheduledMs: ms(e.eventTime), startedMs: 0, completedMs: 0, completedEventId: 0 });
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const t = byScheduled.get(Number(started.scheduledEventId ?? 0));
      if (t) t.startedMs = ms(e.eventTime);
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const t = byScheduled.get(Number(done.scheduledEventId ?? 0));
      if (t) {
        t.completedMs = ms(e.eventTime);
        t.completedEventId = id;
      }
    }
  }
  return [...byScheduled.values()];
}

export function eventCount(history: History): number {
  return history.events?.length ?? 0;
}

export function workflowTaskCount(history: History): number {
  return (history.events ?? []).filter((e) => e.workflowTaskCompletedEventAttributes).length;
}

/**
 * When the workflow moved on after the rollout was over: the workflow task that took the last completed watch of the
 * rollout, i.e. the first workflow task completed after it. Undefined when the history has no such pair.
 */
export function movedOnMs(history: History, watchActivity = 'watchRollout'): number | undefined {
  const last = activityTimings(history)
    .filter((a) => a.name === watchActivity && a.completedEventId > 0)
    .sort((a, b) => b.completedEventId - a.completedEventId)[0];
  if (!last) return undefined;
  const next = (history.events ?? []).find(
    (e) => Number(e.eventId ?? 0) > last.completedEventId && e.workflowTaskCompletedEventAttributes,
  );
  return next ? ms(next.eventTime) : undefined;
}

/** ECS's own record of one rollout: its service deployment's createdAt and finishedAt. */
export interface EcsRollout {
  createdMs: number;
  finishedMs: number;
}

export interface CriticalPath {
  buildMs: number;
  /** The longer of test and package, which run side by side. */
  testOrPackageMs: number;
  registerMs: number;
  /** From the update's start until ECS created the service deployment. */
  updateMs: number;
  /** ECS's rollout: createdAt to finishedAt. */
  rolloutMs: number;
  totalMs: number;
}

/**
 * The physical limit of a deploy: build → max(test, package) → register → update → ECS's own rollout, each step by its
 * own clock (the activities' started → completed, and ECS's timestamps for the rollout). The update counts only up to
 * ECS's createdAt, so no millisecond is counted twice.
 */
export function criticalPath(history: History, rollout: EcsRollout): CriticalPath {
  const t = activityTimings(history);
  const own = (name: string): number => {
    const a = t.find((x) => x.name === name && x.completedMs > 0);
    if (!a) throw new Error(`the history has no completed ${name} activity`);
    return a.completedMs - a.startedMs;
  };
  const update = t.find((x) => x.name === 'updateService' && x.completedMs > 0);
  if (!update) throw new Error('the history has no completed updateService activity');
  const path = {
    buildMs: own('buildApp'),
    testOrPackageMs: Math.max(own('testApp'), own('packageImage')),
    registerMs: own('registerTaskDefinition'),
    updateMs: Math.max(rollout.createdMs - update.startedMs, 0),
    rolloutMs: rollout.finishedMs - rollout.createdMs,
  };
  return { ...path, totalMs: Object.values(path).reduce((a, b) => a + b, 0) };
}

/** The times of a history's first and last events: the workflow's own start and end. */
export function workflowSpan(history: History): { startMs: number; endMs: number } {
  const events = history.events ?? [];
  return { startMs: ms(events[0]?.eventTime), endMs: ms(events[events.length - 1]?.eventTime) };
}
