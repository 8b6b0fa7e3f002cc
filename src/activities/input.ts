/** Activities check their input again: a ValidationError becomes a non-retryable InvalidInput failure. */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../shared/errors.js';
import { ValidationError } from '../shared/validate.js';

/** Also for a check that reads files: a promise it returns is refused the same way when it rejects. */
export function checked<T>(validate: () => T): T {
  const refuse = (err: unknown): never => {
    if (err instanceof ValidationError) throw ApplicationFailure.nonRetryable(err.message, ErrorType.invalidInput);
    throw err;
  };
  try {
    const value = validate();
    return (value instanceof Promise ? value.catch(refuse) : value) as T;
  } catch (err) {
    return refuse(err);
  }
}
