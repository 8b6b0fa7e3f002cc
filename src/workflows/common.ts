/** Defaults and words the workflow's modules share. */
import { ActivityFailure } from '@temporalio/workflow';
import { errorMessage } from '../shared/errors.js';

export const DEFAULTS = {
  approvalTimeoutMs: 60 * 60 * 1000,
  stableTimeoutMs: 15 * 60 * 1000,
  pollIntervalMs: 1000,
  predecessorTimeoutMs: 30 * 60 * 1000,
};

/** What an activity's failure says, without the wrapper's "Activity task failed". */
export function causeMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return errorMessage(err);
}

/** "web:2" from a task-definition ARN: what people call a revision. */
export function revision(arn: string): string {
  return arn.split('/').pop() ?? arn;
}
