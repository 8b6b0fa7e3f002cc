/**
 * Input validation shared by the CLI (at the edge) and the workflow (again, before anything runs).
 * Pure: no Node builtins, so the workflow sandbox can import it.
 */
import type {
  DeployInput,
  DeployOptions,
  DeployTarget,
  Platform,
  QueueTicket,
  RecipeSummary,
  ReuseHint,
  RollbackSource,
} from './types.js';

/** AWS regions the tool accepts. A region outside this list is refused before any AWS call. */
export const AWS_REGIONS: readonly string[] = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-7',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-south-1',
  'eu-south-2',
  'eu-north-1',
  'il-central-1',
  'me-south-1',
  'me-central-1',
  'mx-central-1',
  'sa-east-1',
  'us-gov-east-1',
  'us-gov-west-1',
  'cn-north-1',
  'cn-northwest-1',
];

const SHA_RE = /^[0-9a-f]{40}$/;
/** ECS cluster and service names: letters, digits, hyphens, underscores, up to 255. */
const ECS_NAME_RE = /^[A-Za-z0-9_-]{1,255}$/;
/** ECR repository names: lowercase, digits, and . _ - / between components. */
const ECR_REPO_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;
/** Task-definition container names: letters, digits, hyphens, underscores. */
const CONTAINER_RE = /^[A-Za-z0-9_-]{1,255}$/;
/** Repository-relative path: no leading slash, no shell metacharacters; ".aws/…" is the usual place for templates. */
const REL_PATH_RE = /^[A-Za-z0-9_.][A-Za-z0-9_./-]*$/;
const WORKFLOW_ID_RE = /^[A-Za-z0-9_.-]{1,255}$/;
const PERSON_RE = /^[\p{L}\p{N} ._@+-]{1,100}$/u;
/** A compact JWS: three base64url parts. 8 KiB is far above any ID token (GitHub's are under 2 KiB). */
const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN = 8192;

export class ValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`invalid ${field}: ${message}`);
    this.name = 'ValidationError';
  }
}

export function validateSha(sha: unknown, field = 'sha'): string {
  if (typeof sha !== 'string' || !SHA_RE.test(sha)) {
    throw new ValidationError(field, `expected the full 40-character lowercase hex commit SHA, got ${show(sha)}`);
  }
  return sha;
}

export function validateRegion(region: unknown, field = 'region'): string {
  if (typeof region !== 'string' || !AWS_REGIONS.includes(region)) {
    throw new ValidationError(field, `${show(region)} is not an AWS region (e.g. us-east-1, ap-northeast-1)`);
  }
  return region;
}

function match(value: unknown, re: RegExp, field: string, what: string): string {
  if (typeof value !== 'string' || !re.test(value)) {
    throw new ValidationError(field, `${show(value)} is not a valid ${what}`);
  }
  return value;
}

export function validateRelativePath(value: unknown, field: string): string {
  const path = match(value, REL_PATH_RE, field, 'path inside the repository (relative, no shell characters)');
  if (path.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    throw new ValidationError(field, `${show(path)} must stay inside the repository (no "." or "..", no empty parts)`);
  }
  return path;
}

export function validateWorkflowId(value: unknown, field: string): string {
  return match(value, WORKFLOW_ID_RE, field, 'workflow id');
}

export function validateContainerName(value: unknown, field: string): string {
  return match(value, CONTAINER_RE, field, 'container name');
}

/** The platforms a recipe can build for: the worker cross-compiles, and the image declares the platform. */
export const PLATFORMS: readonly Platform[] = ['linux/amd64', 'linux/arm64'];

export function validatePlatform(value: unknown, field: string): Platform {
  const found = PLATFORMS.find((p) => p === value);
  if (!found) throw new ValidationError(field, `${show(value)} is not one of ${PLATFORMS.join(', ')}`);
  return found;
}

/** An image digest as registries name it: `sha256:` and 64 lowercase hex digits. */
export function validateDigest(value: unknown, field: string): string {
  return match(value, DIGEST_RE, field, 'image digest (sha256: and 64 lowercase hex digits)');
}

/** An ECS cluster or service name. */
export function validateEcsName(value: unknown, field: string, what: 'cluster' | 'service'): string {
  return match(value, ECS_NAME_RE, field, `ECS ${what} name`);
}

export function validatePerson(value: unknown, field: string): string {
  return match(value, PERSON_RE, field, 'name (letters, digits, spaces and . _ @ + -, at most 100)');
}

/** The shape of an ID token only; the worker verifies its signature and claims. Never echoes the value. */
export function validateToken(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > MAX_TOKEN || !JWT_RE.test(value)) {
    const what = typeof value === 'string' ? `${value.length} characters that are not one` : show(value);
    throw new ValidationError(field, `expected an OIDC ID token (a JWT: three base64url parts), got ${what}`);
  }
  return value;
}

export function validateTarget(target: unknown, prefix = 'target.'): DeployTarget {
  if (typeof target !== 'object' || target === null) {
    throw new ValidationError(prefix.replace(/\.$/, ''), 'missing');
  }
  const t = target as Record<string, unknown>;
  const out: DeployTarget = {
    region: validateRegion(t.region, `${prefix}region`),
    cluster: validateEcsName(t.cluster, `${prefix}cluster`, 'cluster'),
    service: validateEcsName(t.service, `${prefix}service`, 'service'),
    repository: match(t.repository, ECR_REPO_RE, `${prefix}repository`, 'ECR repository name'),
    containerName: validateContainerName(t.containerName, `${prefix}containerName`),
  };
  if (t.taskDefinitionPath !== undefined && t.taskDefinitionPath !== '') {
    out.taskDefinitionPath = validateRelativePath(t.taskDefinitionPath, `${prefix}taskDefinitionPath`);
  }
  if (t.recipePath !== undefined && t.recipePath !== '') {
    out.recipePath = validateRelativePath(t.recipePath, `${prefix}recipePath`);
  }
  return out;
}

const NAME_RULES = {
  cluster: [ECS_NAME_RE, 'ECS cluster name'],
  service: [ECS_NAME_RE, 'ECS service name'],
  family: [ECS_NAME_RE, 'task definition family (letters, digits, - and _, at most 255)'],
  repository: [ECR_REPO_RE, 'ECR repository name'],
} as const;

/** One name checked on its own, by the rules a deploy target's names follow (e.g. to render the IAM policy). */
export function validateName(kind: keyof typeof NAME_RULES, value: unknown, field: string): string {
  const [re, what] = NAME_RULES[kind];
  return match(value, re, field, what);
}

/**
 * The bounds of every option that drives timers and reads: within them no deploy can outgrow Temporal's history
 * (the longest stable wait is 40 watch stretches; an approval or a lease wait is one timer), and no read rate can
 * exceed one a second per deploy.
 */
export const LIMITS = {
  approvalTimeoutMs: { min: 1_000, max: 7 * 24 * 3_600_000 },
  stableTimeoutMs: { min: 1_000, max: 24 * 3_600_000 },
  pollIntervalMs: { min: 1_000, max: 60_000 },
} as const;

function boundedMs(value: unknown, field: string, bounds: { min: number; max: number }): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ValidationError(field, `expected a positive number of milliseconds, got ${show(value)}`);
  }
  if (value < bounds.min || value > bounds.max) {
    throw new ValidationError(field, `${value} ms is outside ${duration(bounds.min)} to ${duration(bounds.max)}`);
  }
  return value;
}

function duration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  return `${ms / 1000} s`;
}

export function validateOptions(options: unknown): DeployOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'expected an object');
  const o = options as Record<string, unknown>;
  const out: DeployOptions = {};
  if (o.requireApproval !== undefined) {
    if (typeof o.requireApproval !== 'boolean')
      throw new ValidationError('options.requireApproval', 'expected true or false');
    out.requireApproval = o.requireApproval;
  }
  const approvalTimeoutMs = boundedMs(o.approvalTimeoutMs, 'options.approvalTimeoutMs', LIMITS.approvalTimeoutMs);
  if (approvalTimeoutMs !== undefined) out.approvalTimeoutMs = approvalTimeoutMs;
  const stableTimeoutMs = boundedMs(o.stableTimeoutMs, 'options.stableTimeoutMs', LIMITS.stableTimeoutMs);
  if (stableTimeoutMs !== undefined) out.stableTimeoutMs = stableTimeoutMs;
  const pollIntervalMs = boundedMs(o.pollIntervalMs, 'options.pollIntervalMs', LIMITS.pollIntervalMs);
  if (pollIntervalMs !== undefined) out.pollIntervalMs = pollIntervalMs;
  if (o.approvers !== undefined) {
    if (!Array.isArray(o.approvers)) throw new ValidationError('options.approvers', 'expected a list of names');
    out.approvers = o.approvers.map((a, i) => validatePerson(a, `options.approvers[${i}]`));
  }
  return out;
}

/** Validates a whole deploy request; throws ValidationError naming the first bad field. */
export function validateDeployInput(input: unknown): DeployInput {
  if (typeof input !== 'object' || input === null) throw new ValidationError('input', 'expected an object');
  const i = input as Record<string, unknown>;
  const out: DeployInput = {
    sha: validateSha(i.sha),
    target: validateTarget(i.target),
    options: validateOptions(i.options),
  };
  if (i.requestedBy !== undefined) {
    out.requestedBy = match(i.requestedBy, /^[^\r\n]{1,200}$/, 'requestedBy', 'single line of at most 200 characters');
  }
  if (i.requesterToken !== undefined) out.requesterToken = validateToken(i.requesterToken, 'requesterToken');
  if (i.supersedes !== undefined) {
    if (!Array.isArray(i.supersedes)) throw new ValidationError('supersedes', 'expected a list of workflow ids');
    out.supersedes = i.supersedes.map((id, n) => validateWorkflowId(id, `supersedes[${n}]`));
  }
  if (i.queue !== undefined) out.queue = validateTicket(i.queue);
  if (i.reuse !== undefined) out.reuse = validateReuse(i.reuse);
  if (i.rollbackTo !== undefined) out.rollbackTo = validateRollbackSource(i.rollbackTo);
  if (i.imageDigest !== undefined) {
    out.imageDigest = validateDigest(i.imageDigest, 'imageDigest');
    if (out.rollbackTo || out.reuse) {
      throw new ValidationError('imageDigest', 'an image-mode deploy neither rolls back nor reuses a build; drop one');
    }
  }
  return out;
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
const HEX64_RE = /^[0-9a-f]{64}$/;
const TASK_DEFINITION_ARN_RE = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/[A-Za-z0-9_-]{1,255}:\d+$/;
/** registry host[:port]/repository:tag — the image a tool pushed, not a free-form string. */
const IMAGE_REF_RE =
  /^[A-Za-z0-9.-]+(:\d{1,5})?\/[a-z0-9]+(?:[._/-][a-z0-9]+)*(:[A-Za-z0-9_.-]{1,128}|@sha256:[0-9a-f]{64})$/;

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) throw new ValidationError(field, 'expected an object');
  return value as Record<string, unknown>;
}

export function validateTicket(value: unknown): QueueTicket {
  const t = record(value, 'queue');
  if (typeof t.seq !== 'number' || !Number.isInteger(t.seq) || t.seq < 1) {
    throw new ValidationError('queue.seq', `expected a positive integer, got ${show(t.seq)}`);
  }
  return {
    workflowId: validateWorkflowId(t.workflowId, 'queue.workflowId'),
    seq: t.seq,
    requestedAt: match(t.requestedAt, /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/, 'queue.requestedAt', 'ISO time'),
  };
}

export function validateReuse(value: unknown): ReuseHint {
  const r = record(value, 'reuse');
  const out: ReuseHint = {
    fromWorkflowId: validateWorkflowId(r.fromWorkflowId, 'reuse.fromWorkflowId'),
    imageRef: match(r.imageRef, IMAGE_REF_RE, 'reuse.imageRef', 'image reference'),
    imageDigest: match(r.imageDigest, DIGEST_RE, 'reuse.imageDigest', 'sha256 digest'),
    binarySha256: match(r.binarySha256, HEX64_RE, 'reuse.binarySha256', 'sha256 hex digest'),
  };
  if (r.taskDefinitionArn !== undefined) {
    out.taskDefinitionArn = match(
      r.taskDefinitionArn,
      TASK_DEFINITION_ARN_RE,
      'reuse.taskDefinitionArn',
      'task-definition ARN',
    );
  }
  if (r.recipe !== undefined) out.recipe = validateRecipeSummary(r.recipe, 'reuse.recipe');
  return out;
}

export function validateRecipeSummary(value: unknown, field: string): RecipeSummary {
  const r = record(value, field);
  const out: RecipeSummary = {
    path: validateRelativePath(r.path, `${field}.path`),
    platform: validatePlatform(r.platform, `${field}.platform`),
  };
  if (r.containers !== undefined) {
    if (!Array.isArray(r.containers)) throw new ValidationError(`${field}.containers`, 'expected a list of names');
    out.containers = r.containers.map((c, i) => validateContainerName(c, `${field}.containers[${i}]`));
  }
  return out;
}

export function validateRollbackSource(value: unknown): RollbackSource {
  const r = record(value, 'rollbackTo');
  const out: RollbackSource = {
    fromWorkflowId: validateWorkflowId(r.fromWorkflowId, 'rollbackTo.fromWorkflowId'),
    taskDefinitionArn: match(
      r.taskDefinitionArn,
      TASK_DEFINITION_ARN_RE,
      'rollbackTo.taskDefinitionArn',
      'task-definition ARN',
    ),
  };
  if (r.imageRef !== undefined)
    out.imageRef = match(r.imageRef, IMAGE_REF_RE, 'rollbackTo.imageRef', 'image reference');
  if (r.imageDigest !== undefined)
    out.imageDigest = match(r.imageDigest, DIGEST_RE, 'rollbackTo.imageDigest', 'sha256 digest');
  return out;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
