/**
 * The worker's own configuration, read once from its environment. It never travels in workflow input.
 * Defaults are written here and nowhere else.
 */
import { ValidationError } from '../shared/validate.js';

export type ImageBuilder = 'auto' | 'docker' | 'buildah';

/**
 * How the code being deployed is kept away from the worker's credentials (docs/production.md, "The sandbox").
 * On: Go steps run as `user` in bubblewrap, image builds as `imageUser` (rootless buildah), with an allow-listed
 * environment. Off: they run as the worker, still with the allow-listed environment only.
 */
export interface SandboxConfig {
  /** DEPLOY_SANDBOX=on|off. */
  enabled: boolean;
  /** DEPLOY_SANDBOX_NETWORK=host|none: `none` gives Go builds and tests no network (modules are fetched before). */
  network: 'host' | 'none';
  /** DEPLOY_SANDBOX_USER: runs go build and go test; owns the Go caches. */
  user: string;
  /** DEPLOY_SANDBOX_IMAGE_USER: runs buildah, and the Dockerfile's RUN steps under its subordinate ids. */
  imageUser: string;
}

/**
 * Where the worker tells people about deploys (docs/production.md, "Notifications, logs, metrics and health"). The
 * URL and the secret stay in the worker: a Slack webhook's URL is itself a credential, so neither enters workflow
 * history, events or logs.
 */
export interface NotifyConfig {
  /** DEPLOY_WEBHOOK_URL: events are POSTed here as JSON. */
  url: string;
  /** DEPLOY_WEBHOOK_SECRET: signs every event (HMAC-SHA256 of "<timestamp>.<body>") so receivers can check its origin. */
  secret?: string;
}

/** What the worker tells its operators: logs, metrics, health. */
export interface TelemetryConfig {
  /** DEPLOY_LOG_LEVEL: the least severe level written (JSON lines on stderr). */
  logLevel: LogLevelName;
  /** DEPLOY_METRICS_ADDR: host:port of the Prometheus endpoint (GET /metrics); none when unset. */
  metricsAddress?: string;
  /** DEPLOY_HEALTH_ADDR: host:port of the health endpoint (GET /healthz); none when unset. */
  healthAddress?: string;
}

export type LogLevelName = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface WorkerConfig {
  /** Git URL or local path the deploys check out from (DEPLOY_SOURCE_REPO). */
  sourceRepo: string;
  /** Workspaces and the git mirror live under this directory (DEPLOY_WORK_DIR). */
  workDir: string;
  /** The Go build and module caches, kept between deploys (DEPLOY_CACHE_DIR, default <workDir>/cache). */
  cacheDir: string;
  /** Push to this registry (host:port) instead of the ECR endpoint, for local work (DEPLOY_REGISTRY). */
  registry?: string;
  /** Talk plain HTTP to the registry (DEPLOY_REGISTRY_INSECURE=true). Only for a local registry. */
  registryInsecure: boolean;
  /** Which image builder to use (DEPLOY_IMAGE_BUILDER); auto picks Docker when a daemon answers, else buildah. */
  imageBuilder: ImageBuilder;
  /** Temporal task queue (TEMPORAL_TASK_QUEUE). */
  taskQueue: string;
  sandbox: SandboxConfig;
  /** Activities that do work (builds, tests, pushes, AWS calls) at once (DEPLOY_MAX_ACTIVITIES). */
  maxActivities: number;
  /** Rollouts followed at once, on the watch queue (DEPLOY_MAX_WATCHES). */
  maxWatches: number;
  /** ECS reads a second per region this worker takes at most, for every deploy together (DEPLOY_ECS_READS_PER_SECOND). */
  ecsReadsPerSecond: number;
  /** Workflows kept in the worker's memory between their tasks (DEPLOY_MAX_CACHED_WORKFLOWS). */
  maxCachedWorkflows: number;
  /** The Temporal UI, for the run links in notifications (TEMPORAL_UI_URL). */
  uiUrl: string;
  /** Absent: no webhook, nothing is sent. */
  notify?: NotifyConfig;
  telemetry: TelemetryConfig;
}

export const WORKER_DEFAULTS = {
  workDir: '.work',
  registryInsecure: false,
  imageBuilder: 'auto' as ImageBuilder,
  taskQueue: 'ecs-deploy',
  sandbox: { enabled: true, network: 'host', user: 'deploy-sandbox', imageUser: 'deploy-image' } as SandboxConfig,
  maxActivities: 20,
  maxWatches: 2_000,
  // ECS's read bucket holds 50 and refills a few dozen a second for the whole account; a fifth leaves the rest to others.
  ecsReadsPerSecond: 10,
  // A waiting deploy wakes about once a minute and its history stays a few hundred events, so replaying it is cheaper
  // than keeping it: the SDK's default (about 600 per GiB of heap) lets a thousand waits take a gigabyte or more.
  maxCachedWorkflows: 100,
  uiUrl: 'http://localhost:8233',
  logLevel: 'INFO' as LogLevelName,
};

const LOG_LEVELS: readonly LogLevelName[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
/** A webhook secret shorter than this is guessable; HMAC keys should be at least as long as a random 128-bit token. */
const MIN_SECRET_LENGTH = 16;

/** Login names useradd accepts, so a name can go into an argument list and a passwd lookup safely. */
const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

export function readWorkerConfig(env: Record<string, string | undefined>, cwd: string): WorkerConfig {
  const sourceRepo = env.DEPLOY_SOURCE_REPO?.trim();
  if (!sourceRepo) {
    throw new ValidationError(
      'DEPLOY_SOURCE_REPO',
      'not set; set it to the git URL or local path the worker deploys from',
    );
  }
  const builder = (env.DEPLOY_IMAGE_BUILDER ?? WORKER_DEFAULTS.imageBuilder) as ImageBuilder;
  if (!['auto', 'docker', 'buildah'].includes(builder)) {
    throw new ValidationError('DEPLOY_IMAGE_BUILDER', `"${builder}" is not one of auto, docker, buildah`);
  }
  const registry = env.DEPLOY_REGISTRY?.trim() || undefined;
  if (registry !== undefined && !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(registry)) {
    throw new ValidationError('DEPLOY_REGISTRY', `"${registry}" is not a registry address (host or host:port)`);
  }
  const insecure = env.DEPLOY_REGISTRY_INSECURE?.trim() || String(WORKER_DEFAULTS.registryInsecure);
  if (insecure !== 'true' && insecure !== 'false') {
    throw new ValidationError('DEPLOY_REGISTRY_INSECURE', `"${insecure}" is not true or false`);
  }
  // ECR is only ever reached over TLS: plain HTTP is for the local registry named in DEPLOY_REGISTRY.
  if (insecure === 'true' && registry === undefined) {
    throw new ValidationError(
      'DEPLOY_REGISTRY_INSECURE',
      'plain HTTP is only allowed to a local registry named in DEPLOY_REGISTRY; set DEPLOY_REGISTRY or remove DEPLOY_REGISTRY_INSECURE',
    );
  }
  const workDir = env.DEPLOY_WORK_DIR?.trim() || WORKER_DEFAULTS.workDir;
  const absolute = (dir: string): string => (dir.startsWith('/') ? dir : `${cwd}/${dir}`);
  const config: WorkerConfig = {
    sourceRepo,
    workDir: absolute(workDir),
    cacheDir: absolute(env.DEPLOY_CACHE_DIR?.trim() || `${workDir}/cache`),
    registryInsecure: insecure === 'true',
    imageBuilder: builder,
    taskQueue: env.TEMPORAL_TASK_QUEUE?.trim() || WORKER_DEFAULTS.taskQueue,
    sandbox: readSandbox(env),
    maxActivities: positiveNumber(env, 'DEPLOY_MAX_ACTIVITIES', WORKER_DEFAULTS.maxActivities, { integer: true }),
    maxWatches: positiveNumber(env, 'DEPLOY_MAX_WATCHES', WORKER_DEFAULTS.maxWatches, { integer: true }),
    ecsReadsPerSecond: positiveNumber(env, 'DEPLOY_ECS_READS_PER_SECOND', WORKER_DEFAULTS.ecsReadsPerSecond, {}),
    maxCachedWorkflows: positiveNumber(env, 'DEPLOY_MAX_CACHED_WORKFLOWS', WORKER_DEFAULTS.maxCachedWorkflows, {
      integer: true,
    }),
    uiUrl: httpUrl(env, 'TEMPORAL_UI_URL', { allowPlain: true }) ?? WORKER_DEFAULTS.uiUrl,
    telemetry: readTelemetry(env),
  };
  if (registry !== undefined) config.registry = registry;
  const notify = readNotify(env);
  if (notify) config.notify = notify;
  return config;
}

function readNotify(env: Record<string, string | undefined>): NotifyConfig | undefined {
  const url = httpUrl(env, 'DEPLOY_WEBHOOK_URL', { allowPlain: false });
  const secret = env.DEPLOY_WEBHOOK_SECRET?.trim() || undefined;
  if (url === undefined) {
    if (secret !== undefined) {
      throw new ValidationError('DEPLOY_WEBHOOK_SECRET', 'set without DEPLOY_WEBHOOK_URL; set both or neither');
    }
    return undefined;
  }
  if (secret !== undefined && secret.length < MIN_SECRET_LENGTH) {
    throw new ValidationError(
      'DEPLOY_WEBHOOK_SECRET',
      `is ${secret.length} characters long; use at least ${MIN_SECRET_LENGTH} random characters (e.g. openssl rand -hex 32)`,
    );
  }
  return secret === undefined ? { url } : { url, secret };
}

function readTelemetry(env: Record<string, string | undefined>): TelemetryConfig {
  const level = (env.DEPLOY_LOG_LEVEL?.trim().toUpperCase() || WORKER_DEFAULTS.logLevel) as LogLevelName;
  if (!LOG_LEVELS.includes(level)) {
    throw new ValidationError('DEPLOY_LOG_LEVEL', `"${env.DEPLOY_LOG_LEVEL}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const telemetry: TelemetryConfig = { logLevel: level };
  const metrics = listenAddress(env, 'DEPLOY_METRICS_ADDR');
  const health = listenAddress(env, 'DEPLOY_HEALTH_ADDR');
  if (metrics !== undefined && metrics === health) {
    throw new ValidationError(
      'DEPLOY_HEALTH_ADDR',
      `is the same address as DEPLOY_METRICS_ADDR (${metrics}); give each its own port`,
    );
  }
  if (metrics !== undefined) telemetry.metricsAddress = metrics;
  if (health !== undefined) telemetry.healthAddress = health;
  return telemetry;
}

/**
 * An http(s) URL, or undefined when unset. Plain HTTP would show the URL (for a webhook, a credential) and what is
 * sent to anyone on the path, so it is only allowed where asked for, or to this machine.
 */
function httpUrl(
  env: Record<string, string | undefined>,
  name: string,
  opts: { allowPlain: boolean },
): string | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The value itself may be a credential: the message never repeats it.
    throw new ValidationError(name, 'is not a URL; give the full https:// address');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ValidationError(name, `has the scheme ${url.protocol}; give an https:// address`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol === 'http:' && !opts.allowPlain && !loopback) {
    throw new ValidationError(
      name,
      `plain http would send it and every event unencrypted to ${url.host}; give an https:// address (http only to 127.0.0.1 or localhost)`,
    );
  }
  return text;
}

/** host:port to listen on, e.g. 127.0.0.1:9464 or 0.0.0.0:9464; undefined when unset. */
function listenAddress(env: Record<string, string | undefined>, name: string): string | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65_535) {
    throw new ValidationError(name, `"${text}" is not host:port to listen on (e.g. 127.0.0.1:9464)`);
  }
  return text;
}

function positiveNumber(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  opts: { integer?: boolean },
): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (opts.integer && !Number.isInteger(value))) {
    throw new ValidationError(name, `"${text}" is not a positive ${opts.integer ? 'whole ' : ''}number`);
  }
  return value;
}

function readSandbox(env: Record<string, string | undefined>): SandboxConfig {
  const defaults = WORKER_DEFAULTS.sandbox;
  const mode = env.DEPLOY_SANDBOX?.trim() || (defaults.enabled ? 'on' : 'off');
  if (mode !== 'on' && mode !== 'off') {
    throw new ValidationError('DEPLOY_SANDBOX', `"${mode}" is not one of on, off`);
  }
  const network = env.DEPLOY_SANDBOX_NETWORK?.trim() || defaults.network;
  if (network !== 'host' && network !== 'none') {
    throw new ValidationError('DEPLOY_SANDBOX_NETWORK', `"${network}" is not one of host, none`);
  }
  if (mode === 'off' && network === 'none') {
    throw new ValidationError('DEPLOY_SANDBOX_NETWORK', 'none needs DEPLOY_SANDBOX=on; set both or neither');
  }
  const user = env.DEPLOY_SANDBOX_USER?.trim() || defaults.user;
  const imageUser = env.DEPLOY_SANDBOX_IMAGE_USER?.trim() || defaults.imageUser;
  for (const [field, name] of [
    ['DEPLOY_SANDBOX_USER', user],
    ['DEPLOY_SANDBOX_IMAGE_USER', imageUser],
  ] as const) {
    if (!USER_RE.test(name) || name === 'root') {
      throw new ValidationError(field, `"${name}" is not the name of an unprivileged user`);
    }
  }
  if (user === imageUser) {
    // Distinct users keep a Dockerfile's RUN steps away from the Go caches the Go user owns.
    throw new ValidationError('DEPLOY_SANDBOX_IMAGE_USER', `must differ from DEPLOY_SANDBOX_USER ("${user}")`);
  }
  return { enabled: mode === 'on', network, user, imageUser };
}
