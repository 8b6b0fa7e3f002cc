/** The deploy target and options from the same environment variables the original Actions pipeline used. */
import { ValidationError, validateOptions, validateTarget } from '../shared/validate.js';
import type { DeployOptions, DeployTarget } from '../shared/types.js';
import { parseDuration } from '../shared/duration.js';

export { parseDuration };

/** Which environment variable feeds each field, so errors name what the user has to fix. */
const ENV_OF_FIELD: Record<string, string> = {
  'target.region': 'AWS_REGION',
  'target.cluster': 'ECS_CLUSTER',
  'target.service': 'ECS_SERVICE',
  'target.repository': 'ECR_REPOSITORY',
  'target.containerName': 'CONTAINER_NAME',
  'target.taskDefinitionPath': 'ECS_TASK_DEFINITION',
  'target.recipePath': 'DEPLOY_RECIPE',
};

export function readTarget(env: Record<string, string | undefined>): DeployTarget {
  try {
    return validateTarget({
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
      cluster: env.ECS_CLUSTER,
      service: env.ECS_SERVICE,
      repository: env.ECR_REPOSITORY,
      containerName: env.CONTAINER_NAME,
      taskDefinitionPath: env.ECS_TASK_DEFINITION,
      recipePath: env.DEPLOY_RECIPE,
    });
  } catch (err) {
    if (err instanceof ValidationError && ENV_OF_FIELD[err.field]) {
      throw new ValidationError(ENV_OF_FIELD[err.field] ?? err.field, err.message.replace(/^invalid [^:]+: /, ''));
    }
    throw err;
  }
}

/** Per-target defaults from the environment; flags given on the command line win. */
export function readOptions(env: Record<string, string | undefined>, flags: DeployOptions): DeployOptions {
  const fromEnv: Record<string, unknown> = {};
  if (env.DEPLOY_REQUIRE_APPROVAL) fromEnv.requireApproval = env.DEPLOY_REQUIRE_APPROVAL === 'true';
  if (env.DEPLOY_APPROVERS)
    fromEnv.approvers = env.DEPLOY_APPROVERS.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (env.DEPLOY_APPROVAL_TIMEOUT)
    fromEnv.approvalTimeoutMs = parseDuration(env.DEPLOY_APPROVAL_TIMEOUT, 'DEPLOY_APPROVAL_TIMEOUT');
  if (env.DEPLOY_STABLE_TIMEOUT)
    fromEnv.stableTimeoutMs = parseDuration(env.DEPLOY_STABLE_TIMEOUT, 'DEPLOY_STABLE_TIMEOUT');
  if (env.DEPLOY_POLL_INTERVAL)
    fromEnv.pollIntervalMs = parseDuration(env.DEPLOY_POLL_INTERVAL, 'DEPLOY_POLL_INTERVAL');
  return validateOptions({ ...fromEnv, ...flags });
}
