/** What counts as news in a rollout. Pure: the workflow and the watching activity both use it. */
import type { RolloutSnapshot } from './types.js';

/** States after which a rollout moves no more by itself. */
export const FINAL_STATES: ReadonlySet<RolloutSnapshot['state']> = new Set([
  'completed',
  'rolled_back',
  'failed',
  'rollback_failed',
  'replaced',
]);

export function isFinal(s: RolloutSnapshot): boolean {
  return FINAL_STATES.has(s.state);
}

/**
 * The part of a snapshot the deploy's record must show as it happens: the state, ECS's status, the lifecycle stage,
 * the traffic split and a paused hook. Task counts change far more often; they travel in heartbeats instead, so a
 * long rollout does not grow the history.
 */
export function milestone(s: RolloutSnapshot): string {
  const traffic = s.traffic ? `${s.traffic.production}/${s.traffic.test}` : '';
  return [s.state, s.rolloutState ?? '', s.lifecycleStage ?? '', traffic, s.pausedHook?.hookId ?? ''].join('|');
}

/** "BLUE_GREEN TEST_TRAFFIC_SHIFT, traffic 0% production / 100% test": where a progressive rollout stands, in words. */
export function rolloutPhase(s: RolloutSnapshot): string {
  const parts: string[] = [];
  if (s.strategy && s.strategy !== 'ROLLING') parts.push(s.strategy);
  if (s.lifecycleStage) parts.push(s.lifecycleStage);
  const phase = parts.join(' ');
  const traffic = s.traffic ? `traffic ${s.traffic.production}% production / ${s.traffic.test}% test` : '';
  return [phase, traffic].filter(Boolean).join(', ');
}
