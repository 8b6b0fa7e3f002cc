/** Running activities outside a worker, where heartbeat() and cancellationSignal() still work. */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { errorMessage } from '../../src/shared/errors.js';

/** An activity environment that logs only errors: expected failures would otherwise fill the test output. */
export function activityEnv(): MockActivityEnvironment {
  return new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
}

export async function runActivity<I, R>(fn: (input: I) => Promise<R>, input: I): Promise<R> {
  return await activityEnv().run(fn, input);
}

/** The ApplicationFailure a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApplicationFailure)) {
    throw new Error(`expected an ApplicationFailure, got ${err === undefined ? 'success' : errorMessage(err)}`);
  }
  return err;
}
