/**
 * Turns AWS SDK errors into Temporal failures: what a retry can fix stays retryable,
 * the rest becomes a non-retryable failure whose type says what kind of fix it needs.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, errorMessage } from '../shared/errors.js';
import type { ValidationError } from '../shared/validate.js';

/** Client retries on top of which Temporal's activity retry policy runs. */
export const AWS_CLIENT_RETRY = { maxAttempts: 3, retryMode: 'standard' } as const;

const NON_RETRYABLE: Record<string, string> = {
  AccessDeniedException: ErrorType.accessDenied,
  AccessDenied: ErrorType.accessDenied,
  UnauthorizedOperation: ErrorType.accessDenied,
  UnrecognizedClientException: ErrorType.accessDenied,
  InvalidClientTokenId: ErrorType.accessDenied,
  InvalidSignatureException: ErrorType.accessDenied,
  ExpiredTokenException: ErrorType.accessDenied,
  ClusterNotFoundException: ErrorType.notFound,
  ServiceNotFoundException: ErrorType.notFound,
  RepositoryNotFoundException: ErrorType.notFound,
  InvalidParameterException: ErrorType.invalidInput,
  ClientException: ErrorType.invalidInput,
  ValidationException: ErrorType.invalidInput,
};

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

interface AwsLikeError {
  name?: string;
  code?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The AWS error name (e.g. "ClusterNotFoundException"), or the Node error code for network errors. */
export function awsErrorName(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as AwsLikeError;
  return e.code !== undefined && NETWORK_CODES.has(e.code) ? e.code : e.name;
}

export function isAwsError(err: unknown, name: string): boolean {
  return awsErrorName(err) === name;
}

/**
 * The failure to throw when `failed to <action>` because of `err`. Throttling, 5xx, network
 * errors and anything unknown stay retryable; access, missing resources and bad input do not.
 */
export function awsFailure(action: string, err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const message = `failed to ${action}: ${errorMessage(err)}`;
  const cause = err instanceof Error ? err : undefined;
  const name = awsErrorName(err) ?? 'Error';
  const type = NON_RETRYABLE[name];
  if (type !== undefined && !isThrottling(err)) {
    return ApplicationFailure.create({ message, type, nonRetryable: true, cause });
  }
  return ApplicationFailure.create({ message, type: name, nonRetryable: false, cause });
}

/** A non-retryable failure for input that names its field, e.g. `invalid cpu: ...`. */
export function invalidInput(action: string, err: ValidationError): ApplicationFailure {
  return ApplicationFailure.create({
    message: `failed to ${action}: ${err.message}`,
    type: ErrorType.invalidInput,
    nonRetryable: true,
    details: [{ field: err.field }],
  });
}

/** A non-retryable NotFound naming the field to fix, e.g. `cluster: ECS cluster "x" not found ...`. */
export function notFound(field: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({
    message: `${field}: ${message}`,
    type: ErrorType.notFound,
    nonRetryable: true,
    details: [{ field }],
  });
}

/** Throttling by any of the names AWS services give it. */
export function isThrottling(err: unknown): boolean {
  const name = awsErrorName(err) ?? '';
  // Some services answer throttling as a 400 ClientException with "Rate exceeded".
  return /Throttl|TooManyRequests|RequestLimitExceeded/.test(name) || /Rate exceeded/i.test(errorMessage(err));
}
