/**
 * The Action's inputs (action.yml), read and validated once into what a deploy needs. Each error names the input
 * to fix. The Temporal certificate and key arrive as PEM text (repository secrets), not as paths.
 */
import { readConnectionSettings, type ConnectionSettings } from '../client/connection.js';
import type { DeployOptions, DeployTarget } from '../shared/types.js';
import { ValidationError, validateDigest, validateOptions, validateSha } from '../shared/validate.js';
import { parseDuration } from '../shared/duration.js';
import { parseBoolean, readTarget, splitList, type TargetField, type TargetSources } from '../cli/env.js';
import { DEFAULT_UI_URL, type UiSettings } from '../cli/output.js';

/** core.getInput, or anything that reads an input by its action.yml name. */
export type ReadInput = (name: string) => string;

export interface ActionInputs {
  sha: string;
  /** Image mode: deploy this digest, built elsewhere, instead of building the SHA. */
  imageDigest?: string;
  target: DeployTarget;
  options: DeployOptions;
  settings: ConnectionSettings;
  ui: UiSettings;
  /** false: request the deploy and end the step; a later `deployctl wait` or the UI follows it. */
  wait: boolean;
  /** The audience of the job's ID token sent as the requester's proof; undefined: none is asked for. */
  oidcAudience: string | undefined;
}

/** Inputs named like aws-actions/amazon-ecs-deploy-task-definition's where they mean the same. */
const TARGET_INPUT: Record<TargetField, string> = {
  region: 'region',
  cluster: 'cluster',
  service: 'service',
  repository: 'repository',
  containerName: 'container-name',
  taskDefinitionPath: 'task-definition',
  recipePath: 'recipe',
};

/** The connection variables readConnectionSettings reads, and the inputs that feed them. */
const CONNECTION_INPUT: Record<string, string> = {
  TEMPORAL_ADDRESS: 'temporal-address',
  TEMPORAL_NAMESPACE: 'temporal-namespace',
  TEMPORAL_TASK_QUEUE: 'temporal-task-queue',
  TEMPORAL_API_KEY: 'temporal-api-key',
  TEMPORAL_TLS_SERVER_NAME: 'temporal-tls-server-name',
};

/** The inputs whose values must never show in the log: mask them before anything else runs. */
export const SECRET_INPUTS = ['temporal-api-key', 'temporal-tls-client-key'] as const;

export function readActionInputs(input: ReadInput, env: Record<string, string | undefined>): ActionInputs {
  const sha = validateSha(input('sha').trim() || env.GITHUB_SHA, 'sha');
  const sources = {} as TargetSources;
  for (const [field, name] of Object.entries(TARGET_INPUT) as [TargetField, string][]) {
    sources[field] = { value: input(name).trim(), from: name, unsetHint: `set the ${name} input` };
  }
  const settings = readConnection(input);
  const digest = input('image-digest').trim();
  return {
    sha,
    ...(digest ? { imageDigest: validateDigest(digest, 'image-digest') } : {}),
    target: readTarget(sources),
    options: readOptions(input),
    settings,
    ui: { uiUrl: input('temporal-ui-url').trim() || DEFAULT_UI_URL, namespace: settings.namespace },
    wait: parseBoolean(input('wait'), 'wait') ?? true,
    oidcAudience: input('oidc-audience').trim() || env.DEPLOY_OIDC_AUDIENCE?.trim() || undefined,
  };
}

function readOptions(input: ReadInput): DeployOptions {
  const options: Record<string, unknown> = {};
  const requireApproval = parseBoolean(input('require-approval'), 'require-approval');
  if (requireApproval !== undefined) options.requireApproval = requireApproval;
  const approvers = splitList(input('approvers'));
  if (approvers.length) options.approvers = approvers;
  for (const [name, key] of [
    ['approval-timeout', 'approvalTimeoutMs'],
    ['stable-timeout', 'stableTimeoutMs'],
  ] as const) {
    const text = input(name).trim();
    if (text) options[key] = parseDuration(text, name);
  }
  return validateOptions(options);
}

function readConnection(input: ReadInput): ConnectionSettings {
  const cert = pem(input, 'temporal-tls-client-cert');
  const key = pem(input, 'temporal-tls-client-key');
  const ca = pem(input, 'temporal-tls-server-ca-cert');
  if ((cert === undefined) !== (key === undefined)) {
    const missing = cert === undefined ? 'temporal-tls-client-cert' : 'temporal-tls-client-key';
    throw new ValidationError(missing, 'mTLS needs both the client certificate and its key; set both or neither');
  }
  const env: Record<string, string> = {};
  for (const [name, inputName] of Object.entries(CONNECTION_INPUT)) env[name] = input(inputName);
  if (cert || ca) env.TEMPORAL_TLS = 'true';
  let settings: ConnectionSettings;
  try {
    settings = readConnectionSettings(env);
  } catch (err) {
    const inputName = err instanceof ValidationError ? CONNECTION_INPUT[err.field] : undefined;
    if (err instanceof ValidationError && inputName)
      throw new ValidationError(inputName, err.message.replace(/^invalid [^:]+: /, ''));
    throw err;
  }
  if (settings.tls !== false) {
    if (cert && key) settings.tls.clientCertPair = { crt: cert, key };
    if (ca) settings.tls.serverRootCACertificate = ca;
  }
  return settings;
}

/** PEM text from an input, as a Buffer; undefined when empty. */
function pem(input: ReadInput, name: string): Buffer | undefined {
  const text = input(name).trim();
  if (!text) return undefined;
  if (!text.includes('-----BEGIN '))
    throw new ValidationError(name, 'the value is not PEM text (no "-----BEGIN" line)');
  return Buffer.from(`${text}\n`);
}
