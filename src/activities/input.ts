/** Activities check their input again: a ValidationError becomes a non-retryable InvalidInput failure. */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../shared/errors.js';
import { ValidationError } from '../shared/validate.js';

export function checked<T>(validate: () => T): T {
  try {
    return validate();
  } catch (err) {
    if (err instanceof ValidationError) throw ApplicationFailure.nonRetryable(err.message, ErrorType.invalidInput);
    throw err;
  }
}
