/**
 * Everything the benchmarks take from the CLI's client code, in one place: a deploy is requested exactly as
 * `deployctl deploy` requests it, with the target read from the same variables.
 */
import type { DeployTarget } from '../src/shared/types.js';
import { readTarget as readCliTarget, targetSources } from '../src/cli/env.js';

export { requestDeploy } from '../src/client/deploys.js';

/** The deploy target from the stack's environment, as deployctl reads it with no flags. */
export function readTarget(env: Record<string, string | undefined>): DeployTarget {
  return readCliTarget(targetSources(env));
}
