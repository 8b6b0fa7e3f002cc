/** Error types carried in ApplicationFailure.type, so the workflow and the CLI can tell them apart. */
export const ErrorType = {
  invalidInput: 'InvalidInput',
  notFound: 'NotFound',
  accessDenied: 'AccessDenied',
  compile: 'CompileError',
  testFailure: 'TestFailure',
  imageBuild: 'ImageBuildError',
  /** A rebuilt binary differs from the one the build stage produced and the tests ran against. */
  binaryMismatch: 'BinaryMismatch',
  rolloutFailed: 'RolloutFailed',
  rolloutTimeout: 'RolloutTimeout',
  rollbackFailed: 'RollbackFailed',
  approvalRejected: 'ApprovalRejected',
} as const;

/** The message of anything thrown, without its stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}
