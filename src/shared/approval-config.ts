/**
 * The worker's approval configuration: which OIDC issuer it trusts (environment) and, per cluster/service, whether
 * deploys need approval, who may approve and for how long a deploy waits (the JSON file DEPLOY_APPROVAL_POLICY
 * names). Parsed and checked once when the worker starts; defaults are written here and nowhere else. Pure: the
 * worker reads the file and hands over its text.
 */
import { parseDuration } from './duration.js';
import type { ServiceApprovalPolicy } from './types.js';
import { LIMITS, ValidationError, validatePerson } from './validate.js';

export interface IssuerConfig {
  /** DEPLOY_OIDC_ISSUER: the `iss` every token must carry; its discovery document names the keys. */
  url: string;
  /** DEPLOY_OIDC_AUDIENCE: the `aud` every token must carry. */
  audience: string;
  /** DEPLOY_OIDC_IDENTITY_CLAIM: the claim read as who someone is (GitHub: `actor`). */
  identityClaim: string;
  /** DEPLOY_OIDC_JWKS_URL: the keys, when they are not where the discovery document says. */
  jwksUrl?: string;
}

export interface ServiceRule {
  requireApproval: boolean;
  /** verified: approvers send an ID token; namespace: a name, from anyone who can signal the namespace. */
  identity: 'verified' | 'namespace';
  /** Identities (the identity claim's values) or, in namespace mode, names. Empty: anyone the mode admits. */
  approvers: string[];
  approvalTimeoutMs: number;
  /** Claims an approver's token must carry besides tokenClaims, e.g. {"environment": "production"}. */
  approverClaims: Record<string, string>;
}

export interface ApprovalConfig {
  issuer?: IssuerConfig;
  /** Claims every token (requester's and approver's) must carry, e.g. {"repository": "acme/app"}. */
  tokenClaims: Record<string, string>;
  defaults: ServiceRule;
  /** By "cluster/service". */
  services: Record<string, ServiceRule>;
  /** The policy file, or "built-in defaults". */
  source: string;
}

export const APPROVAL_DEFAULTS: ServiceRule & { identityClaim: string } = {
  requireApproval: false,
  identity: 'verified',
  approvers: [],
  approvalTimeoutMs: 60 * 60 * 1000,
  approverClaims: {},
  identityClaim: 'sub',
};

const SERVICE_KEY_RE = /^[A-Za-z0-9_-]{1,255}\/[A-Za-z0-9_-]{1,255}$/;
const CLAIM_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.:-]{0,99}$/;
/** What an identity claim may hold: one printable line (GitHub's `sub` has colons and slashes). */
const IDENTITY_RE = /^[^\s\p{C}](?:[^\p{C}]{0,198}[^\s\p{C}])?$/u;
const RULE_KEYS = ['requireApproval', 'identity', 'approvers', 'approvalTimeout', 'approverClaims'];
const POLICY_KEYS = ['tokenClaims', 'defaults', 'services'];

export function validateIdentity(value: unknown, field: string): string {
  if (typeof value !== 'string' || !IDENTITY_RE.test(value)) {
    throw new ValidationError(field, `${JSON.stringify(value)} is not an identity (one line, at most 200 characters)`);
  }
  return value;
}

/** Reads the issuer from the environment and the policy from the file's text (absent: built-in defaults). */
export function parseApprovalConfig(
  env: Record<string, string | undefined>,
  policy?: { path: string; text: string },
): ApprovalConfig {
  const issuer = readIssuer(env);
  const field = (name: string): string => `DEPLOY_APPROVAL_POLICY ${name}`;
  let raw: unknown = {};
  if (policy) {
    try {
      raw = JSON.parse(policy.text);
    } catch (err) {
      throw new ValidationError(
        'DEPLOY_APPROVAL_POLICY',
        `${policy.path} is not JSON (${err instanceof Error ? err.message : String(err)})`,
      );
    }
  }
  const top = object(raw, field('(the file)'));
  unknownKeys(top, POLICY_KEYS, (k) => field(k));
  const tokenClaims = claims(top.tokenClaims, field('tokenClaims'));
  const base: ServiceRule = {
    requireApproval: APPROVAL_DEFAULTS.requireApproval,
    identity: APPROVAL_DEFAULTS.identity,
    approvers: APPROVAL_DEFAULTS.approvers,
    approvalTimeoutMs: APPROVAL_DEFAULTS.approvalTimeoutMs,
    approverClaims: APPROVAL_DEFAULTS.approverClaims,
  };
  const defaults = rule(top.defaults, base, field('defaults'));
  if (defaults.identity === 'namespace') {
    throw new ValidationError(
      field('defaults.identity'),
      'namespace mode (approval by name, unverified) must be chosen per service, never as the default',
    );
  }
  const services: Record<string, ServiceRule> = {};
  for (const [key, value] of Object.entries(object(top.services ?? {}, field('services')))) {
    if (!SERVICE_KEY_RE.test(key))
      throw new ValidationError(field(`services."${key}"`), 'keys are "cluster/service", e.g. "prod/web"');
    services[key] = rule(value, defaults, field(`services."${key}"`));
  }
  const config: ApprovalConfig = {
    tokenClaims,
    defaults,
    services,
    source: policy?.path ?? 'built-in defaults',
  };
  if (issuer) config.issuer = issuer;
  for (const [name, r] of [['defaults', defaults] as const, ...Object.entries(services)]) {
    checkReachable(config, r, name === 'defaults' ? field('defaults') : field(`services."${name}"`));
  }
  return config;
}

/** The policy of one service: its own entry, else the defaults. */
export function policyFor(config: ApprovalConfig, cluster: string, service: string): ServiceApprovalPolicy {
  const key = `${cluster}/${service}`;
  const own = config.services[key];
  const r = own ?? config.defaults;
  const out: ServiceApprovalPolicy = {
    service: key,
    source: own ? 'service' : 'defaults',
    requireApproval: r.requireApproval,
    identity: r.identity,
    approvers: [...r.approvers],
    approvalTimeoutMs: r.approvalTimeoutMs,
    approverClaims: { ...config.tokenClaims, ...r.approverClaims },
    requesterClaims: { ...config.tokenClaims },
  };
  if (config.issuer) {
    out.issuer = config.issuer.url;
    out.identityClaim = config.issuer.identityClaim;
  }
  return out;
}

/** One line for the worker's log at start. */
export function describeApprovalConfig(config: ApprovalConfig): string {
  const trust = config.issuer
    ? `trusts ${config.issuer.url} (audience ${config.issuer.audience}, identity claim ${config.issuer.identityClaim})`
    : 'trusts no OIDC issuer';
  const required = Object.entries(config.services)
    .filter(([, r]) => r.requireApproval)
    .map(([k, r]) => `${k}${r.identity === 'namespace' ? ' (by name)' : ''}`);
  const fallback = config.defaults.requireApproval ? 'required' : 'on request';
  return `approvals: ${trust}; policy ${config.source}: required for ${required.join(', ') || 'no service by name'}, otherwise ${fallback}`;
}

function readIssuer(env: Record<string, string | undefined>): IssuerConfig | undefined {
  const url = env.DEPLOY_OIDC_ISSUER?.trim();
  const audience = env.DEPLOY_OIDC_AUDIENCE?.trim();
  if (!url) {
    if (audience)
      throw new ValidationError('DEPLOY_OIDC_ISSUER', 'not set, but DEPLOY_OIDC_AUDIENCE is; set the issuer too');
    return undefined;
  }
  checkUrl(url, 'DEPLOY_OIDC_ISSUER');
  if (!audience)
    throw new ValidationError('DEPLOY_OIDC_AUDIENCE', 'not set; tokens must be bound to an audience the worker names');
  const identityClaim = env.DEPLOY_OIDC_IDENTITY_CLAIM?.trim() || APPROVAL_DEFAULTS.identityClaim;
  if (!CLAIM_NAME_RE.test(identityClaim)) {
    throw new ValidationError('DEPLOY_OIDC_IDENTITY_CLAIM', `"${identityClaim}" is not a claim name (e.g. sub, actor)`);
  }
  const issuer: IssuerConfig = { url, audience, identityClaim };
  const jwksUrl = env.DEPLOY_OIDC_JWKS_URL?.trim();
  if (jwksUrl) issuer.jwksUrl = checkUrl(jwksUrl, 'DEPLOY_OIDC_JWKS_URL');
  return issuer;
}

/** https, or plain http to this machine only (the local stack's issuer). */
function checkUrl(url: string, field: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(field, `"${url}" is not a URL`);
  }
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && isLoopback(parsed.hostname))) {
    throw new ValidationError(field, `"${url}" must be https (plain http only to 127.0.0.1 or localhost)`);
  }
  return url;
}

export function isLoopback(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]' || hostname === '::1';
}

/** A rule that requires verified approval must be satisfiable, and must not admit anyone the issuer serves. */
function checkReachable(config: ApprovalConfig, r: ServiceRule, field: string): void {
  if (!r.requireApproval || r.identity !== 'verified') return;
  if (!config.issuer) {
    throw new ValidationError(
      field,
      'requires approval by ID token, but the worker trusts no issuer; set DEPLOY_OIDC_ISSUER and DEPLOY_OIDC_AUDIENCE',
    );
  }
  const narrowed = r.approvers.length > 0 || Object.keys({ ...config.tokenClaims, ...r.approverClaims }).length > 0;
  if (!narrowed && !isLoopback(new URL(config.issuer.url).hostname)) {
    throw new ValidationError(
      field,
      `admits every identity ${config.issuer.url} issues tokens to; list approvers, or set tokenClaims or approverClaims`,
    );
  }
}

function rule(value: unknown, base: ServiceRule, field: string): ServiceRule {
  if (value === undefined)
    return { ...base, approvers: [...base.approvers], approverClaims: { ...base.approverClaims } };
  const o = object(value, field);
  unknownKeys(o, RULE_KEYS, (k) => `${field}.${k}`);
  const out: ServiceRule = { ...base, approvers: [...base.approvers], approverClaims: { ...base.approverClaims } };
  if (o.requireApproval !== undefined) {
    if (typeof o.requireApproval !== 'boolean')
      throw new ValidationError(`${field}.requireApproval`, 'expected true or false');
    out.requireApproval = o.requireApproval;
  }
  if (o.identity !== undefined) {
    if (o.identity !== 'verified' && o.identity !== 'namespace')
      throw new ValidationError(
        `${field}.identity`,
        `expected "verified" or "namespace", got ${JSON.stringify(o.identity)}`,
      );
    out.identity = o.identity;
  }
  if (o.approvers !== undefined) {
    if (!Array.isArray(o.approvers)) throw new ValidationError(`${field}.approvers`, 'expected a list');
    out.approvers = o.approvers.map((a, i) =>
      out.identity === 'namespace'
        ? validatePerson(a, `${field}.approvers[${i}]`)
        : validateIdentity(a, `${field}.approvers[${i}]`),
    );
  }
  if (o.approvalTimeout !== undefined) {
    if (typeof o.approvalTimeout !== 'string')
      throw new ValidationError(`${field}.approvalTimeout`, 'expected a duration like "90s", "15m" or "1h"');
    out.approvalTimeoutMs = parseDuration(o.approvalTimeout, `${field}.approvalTimeout`);
    const { min, max } = LIMITS.approvalTimeoutMs;
    if (out.approvalTimeoutMs < min || out.approvalTimeoutMs > max) {
      throw new ValidationError(
        `${field}.approvalTimeout`,
        `must be between ${min / 1000} s and ${max / 86_400_000} d`,
      );
    }
  }
  if (o.approverClaims !== undefined) out.approverClaims = claims(o.approverClaims, `${field}.approverClaims`);
  if (out.identity === 'namespace' && Object.keys(out.approverClaims).length > 0) {
    throw new ValidationError(`${field}.approverClaims`, 'namespace mode checks no token, so it cannot check claims');
  }
  return out;
}

function claims(value: unknown, field: string): Record<string, string> {
  if (value === undefined) return {};
  const o = object(value, field);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (!CLAIM_NAME_RE.test(k)) throw new ValidationError(`${field}.${k}`, 'not a claim name');
    if (typeof v !== 'string' || v === '')
      throw new ValidationError(`${field}.${k}`, 'expected the exact string the claim must hold');
    out[k] = v;
  }
  return out;
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError(field, 'expected an object');
  return value as Record<string, unknown>;
}

function unknownKeys(o: Record<string, unknown>, known: string[], field: (k: string) => string): void {
  const extra = Object.keys(o).find((k) => !known.includes(k));
  if (extra !== undefined) throw new ValidationError(field(extra), `unknown setting; known: ${known.join(', ')}`);
}
