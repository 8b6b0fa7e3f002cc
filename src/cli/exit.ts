/**
 * deployctl's exit codes, one meaning each (README "Exit codes"):
 *   0  success; for deploy, rollback and wait: the service is stable on the new revision
 *   1  the deploy did not succeed (failed, rolled_back, cancelled, superseded), or Temporal refused the request
 *   2  usage or invalid input: nothing was sent
 *   3  Temporal cannot be reached or used (address, TLS, API key, namespace): nothing was sent
 *   130  told twice to stop while waiting: the deploy goes on compensating without a watcher
 */
import { WorkflowFailedError } from '@temporalio/client';
import { errorMessage } from '../shared/errors.js';
import type { DeployResult, FinalStatus } from '../shared/types.js';
import { ValidationError } from '../shared/validate.js';
import { TemporalUnreachableError } from '../client/connect.js';

export const EXIT = {
  ok: 0,
  notSucceeded: 1,
  usage: 2,
  unreachable: 3,
  interrupted: 130,
} as const;

const UNSUCCESSFUL: readonly string[] = ['failed', 'rolled_back', 'cancelled', 'superseded'] satisfies FinalStatus[];

/** 0 only when the service is stable on the new revision; a deploy still running counts as 0 when `running` allows it. */
export function resultExitCode(result: DeployResult, opts: { running?: boolean } = {}): number {
  if (result.status === 'succeeded') return EXIT.ok;
  return opts.running && !UNSUCCESSFUL.includes(result.status) ? EXIT.ok : EXIT.notSucceeded;
}

/** The exit code for something thrown, and the one line to print for it. */
export function describeFailure(err: unknown): { code: number; message: string } {
  if (err instanceof ValidationError) return { code: EXIT.usage, message: err.message };
  if (err instanceof TemporalUnreachableError) return { code: EXIT.unreachable, message: err.message };
  // A deploy workflow fails only when its compensation failed: the cause says what to restore by hand.
  const message = err instanceof WorkflowFailedError && err.cause ? err.cause.message : errorMessage(err);
  return { code: EXIT.notSucceeded, message };
}
