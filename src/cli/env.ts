/**
 * The deploy target and options, from flags or the same environment variables the original Actions pipeline used
 * (a flag wins). Parsed and validated once, here at the edge; each error names the flag, variable or input to fix.
 */
import {
  ValidationError,
  validateEcsName,
  validateOptions,
  validateRegion,
  validateTarget,
} from '../shared/validate.js';
import type { DeployOptions, DeployTarget } from '../shared/types.js';
import { parseDuration } from '../shared/duration.js';

type Env = Record<string, string | undefined>;

export type TargetField = keyof DeployTarget;

/** A value and the name it was given under, so an error names what the user has to fix. */
export interface Sourced {
  value: string | undefined;
  from: string;
  /** What to do when it is not set, e.g. "set it, or pass --cluster". */
  unsetHint?: string;
}

export type TargetSources = Record<TargetField, Sourced>;

/** The variables of the original pipeline, field by field. */
export const TARGET_ENV: Record<TargetField, string> = {
  region: 'AWS_REGION',
  cluster: 'ECS_CLUSTER',
  service: 'ECS_SERVICE',
  repository: 'ECR_REPOSITORY',
  containerName: 'CONTAINER_NAME',
  taskDefinitionPath: 'ECS_TASK_DEFINITION',
  recipePath: 'DEPLOY_RECIPE',
};

/** deployctl's flags for the same fields. */
export const TARGET_FLAG: Record<TargetField, string> = {
  region: '--region',
  cluster: '--cluster',
  service: '--service',
  repository: '--repository',
  containerName: '--container-name',
  taskDefinitionPath: '--task-definition',
  recipePath: '--recipe',
};

export type TargetFlags = Partial<Record<TargetField, string>>;

const FIELDS = Object.keys(TARGET_ENV) as TargetField[];

/** Each field from its flag when given, else from its variable (the region also from AWS_DEFAULT_REGION). */
export function targetSources(env: Env, flags: TargetFlags = {}): TargetSources {
  const out = {} as TargetSources;
  for (const field of FIELDS) {
    const flag = flags[field];
    if (flag !== undefined) {
      out[field] = { value: flag, from: TARGET_FLAG[field] };
      continue;
    }
    const name = TARGET_ENV[field];
    const value = env[name] ?? (field === 'region' ? env.AWS_DEFAULT_REGION : undefined);
    out[field] = { value, from: name, unsetHint: `set it, or pass ${TARGET_FLAG[field]}` };
  }
  return out;
}

/** Renames a validation error of `target.<field>` after the flag, variable or input the value came from. */
function named<T>(sources: Partial<TargetSources>, validate: () => T): T {
  try {
    return validate();
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const field = err.field.replace(/^target\./, '') as TargetField;
    const source = sources[field];
    if (source === undefined) throw err;
    if (source.value === undefined || source.value === '')
      throw new ValidationError(source.from, `not set${source.unsetHint ? `; ${source.unsetHint}` : ''}`);
    throw new ValidationError(source.from, err.message.replace(/^invalid [^:]+: /, ''));
  }
}

export function readTarget(sources: TargetSources): DeployTarget {
  const values = Object.fromEntries(FIELDS.map((f) => [f, sources[f].value]));
  return named(sources, () => validateTarget(values));
}

export interface ServiceScope {
  region: string;
  cluster: string;
  service: string;
}

/** Only what names a service: its cluster and name, and its region when asked for (the queue's id holds it). */
export function readServiceScope(sources: TargetSources, opts: { region: true }): ServiceScope;
export function readServiceScope(sources: TargetSources, opts?: { region?: false }): Omit<ServiceScope, 'region'>;
export function readServiceScope(
  sources: TargetSources,
  opts: { region?: boolean } = {},
): ServiceScope | Omit<ServiceScope, 'region'> {
  return named(sources, () => {
    const scope = {
      cluster: validateEcsName(sources.cluster.value, 'target.cluster', 'cluster'),
      service: validateEcsName(sources.service.value, 'target.service', 'service'),
    };
    return opts.region ? { region: validateRegion(sources.region.value, 'target.region'), ...scope } : scope;
  });
}

/** A true/false setting; empty is unset. */
export function parseBoolean(text: string | undefined, field: string): boolean | undefined {
  const value = text?.trim().toLowerCase();
  if (value === undefined || value === '') return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ValidationError(field, `"${text}" must be true or false`);
}

/** Per-target defaults from the environment; flags given on the command line win. */
export function readOptions(env: Env, flags: DeployOptions): DeployOptions {
  const fromEnv: Record<string, unknown> = {};
  const requireApproval = parseBoolean(env.DEPLOY_REQUIRE_APPROVAL, 'DEPLOY_REQUIRE_APPROVAL');
  if (requireApproval !== undefined) fromEnv.requireApproval = requireApproval;
  if (env.DEPLOY_APPROVERS) fromEnv.approvers = splitList(env.DEPLOY_APPROVERS);
  if (env.DEPLOY_APPROVAL_TIMEOUT)
    fromEnv.approvalTimeoutMs = parseDuration(env.DEPLOY_APPROVAL_TIMEOUT, 'DEPLOY_APPROVAL_TIMEOUT');
  if (env.DEPLOY_STABLE_TIMEOUT)
    fromEnv.stableTimeoutMs = parseDuration(env.DEPLOY_STABLE_TIMEOUT, 'DEPLOY_STABLE_TIMEOUT');
  if (env.DEPLOY_POLL_INTERVAL)
    fromEnv.pollIntervalMs = parseDuration(env.DEPLOY_POLL_INTERVAL, 'DEPLOY_POLL_INTERVAL');
  return validateOptions({ ...fromEnv, ...flags });
}

/** "alice, bob" -> ["alice", "bob"] */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Who asks, for the deploy's audit trail: the Actions run when there is one, else the local user. */
export function requestedBy(env: Env): string {
  return env.GITHUB_ACTIONS
    ? `github:${env.GITHUB_REPOSITORY ?? '?'} run ${env.GITHUB_RUN_ID ?? '?'} by ${env.GITHUB_ACTOR ?? '?'}`
    : `deployctl by ${env.USER ?? 'unknown'}`;
}
