/**
 * Where deployctl finds OIDC ID tokens: the approver's (flag, file, DEPLOY_APPROVAL_TOKEN, or GitHub Actions' own),
 * the requester's (DEPLOY_REQUESTER_TOKEN, or GitHub Actions' own), and, on the local stack only, minted ones.
 * Tokens are never printed or logged here; only `deployctl token` writes one, to stdout, on request.
 */
import { readFile } from 'node:fs/promises';
import { isLoopback } from '../shared/approval-config.js';
import { ValidationError, validateToken } from '../shared/validate.js';

type Env = Record<string, string | undefined>;

const TIMEOUT_MS = 10_000;

/** The approver's token: --token, else --token-file, else DEPLOY_APPROVAL_TOKEN, else GitHub Actions' ID token. */
export async function approvalToken(opts: {
  token?: string | undefined;
  tokenFile?: string | undefined;
  env: Env;
  note?: (line: string) => void;
}): Promise<string | undefined> {
  if (opts.token !== undefined) return validateToken(opts.token.trim(), '--token');
  if (opts.tokenFile !== undefined) {
    let text: string;
    try {
      text = await readFile(opts.tokenFile, 'utf8');
    } catch (err) {
      throw new ValidationError('--token-file', `cannot read ${opts.tokenFile}: ${(err as Error).message}`);
    }
    return validateToken(text.trim(), '--token-file');
  }
  const fromEnv = opts.env.DEPLOY_APPROVAL_TOKEN?.trim();
  if (fromEnv) return validateToken(fromEnv, 'DEPLOY_APPROVAL_TOKEN');
  return await githubIdToken(opts.env, opts.note);
}

/** The requester's token: DEPLOY_REQUESTER_TOKEN, else GitHub Actions' ID token for the job, else none. */
export async function requesterToken(env: Env, note?: (line: string) => void): Promise<string | undefined> {
  const fromEnv = env.DEPLOY_REQUESTER_TOKEN?.trim();
  if (fromEnv) return validateToken(fromEnv, 'DEPLOY_REQUESTER_TOKEN');
  return await githubIdToken(env, note);
}

/**
 * The job's ID token from GitHub Actions (a job with `permissions: id-token: write` gets the two request
 * variables), for the audience the worker expects (DEPLOY_OIDC_AUDIENCE). Undefined outside such a job.
 */
export async function githubIdToken(env: Env, note?: (line: string) => void): Promise<string | undefined> {
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer) return undefined;
  const audience = env.DEPLOY_OIDC_AUDIENCE?.trim();
  if (!audience) {
    note?.("no ID token sent: set DEPLOY_OIDC_AUDIENCE to the audience in the worker's DEPLOY_OIDC_AUDIENCE");
    return undefined;
  }
  const request = `${url}${url.includes('?') ? '&' : '?'}audience=${encodeURIComponent(audience)}`;
  const value = await fetchValue(
    request,
    bearer,
    'get an ID token from GitHub Actions',
    'give the job "permissions: id-token: write"',
  );
  return validateToken(value, 'the ID token from GitHub Actions');
}

/**
 * Mints a token on the local stack's issuer (DEPLOY_OIDC_ISSUER on loopback, with the mint key the stack wrote to
 * DEPLOY_DEV_ISSUER_KEY_FILE). Refuses any other issuer: production tokens come from the approver's own identity.
 */
export async function mintLocalToken(opts: {
  env: Env;
  as: string;
  audience?: string;
  ttlSeconds?: number;
  /** Tests: mint a token issued this long ago. */
  backdateSeconds?: number;
  claims?: Record<string, string>;
}): Promise<string> {
  const issuer = opts.env.DEPLOY_OIDC_ISSUER?.trim() ?? '';
  let host = '';
  try {
    host = new URL(issuer).hostname;
  } catch {
    /* checked below */
  }
  if (!issuer.startsWith('http://') || !isLoopback(host)) {
    throw new ValidationError(
      'DEPLOY_OIDC_ISSUER',
      `deployctl token mints only on the local stack's issuer (http://127.0.0.1:…), not ${JSON.stringify(issuer)}; ` +
        'elsewhere an approver uses their own ID token',
    );
  }
  const keyFile = opts.env.DEPLOY_DEV_ISSUER_KEY_FILE?.trim();
  if (!keyFile) throw new ValidationError('DEPLOY_DEV_ISSUER_KEY_FILE', "not set; source the local stack's .stack/env");
  let key: string;
  try {
    key = (await readFile(keyFile, 'utf8')).trim();
  } catch (err) {
    throw new ValidationError('DEPLOY_DEV_ISSUER_KEY_FILE', `cannot read ${keyFile}: ${(err as Error).message}`);
  }
  const params = new URLSearchParams({ ...opts.claims, sub: opts.as });
  const audience = opts.audience ?? opts.env.DEPLOY_OIDC_AUDIENCE;
  if (audience) params.set('audience', audience);
  if (opts.ttlSeconds !== undefined) params.set('ttl', String(Math.round(opts.ttlSeconds)));
  if (opts.backdateSeconds !== undefined) params.set('backdate', String(Math.round(opts.backdateSeconds)));
  const value = await fetchValue(
    `${issuer.replace(/\/$/, '')}/token?${params.toString()}`,
    key,
    'mint a token on the local issuer',
    'is the local stack up (make stack)?',
  );
  return validateToken(value, 'the minted token');
}

/** GET with a bearer credential, answering {"value": "…"} as GitHub's token endpoint does. */
async function fetchValue(url: string, bearer: string, what: string, fix: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${bearer}` }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new Error(`failed to ${what}: ${(err as Error).message}; ${fix}`);
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`failed to ${what}: HTTP ${res.status} ${text.slice(0, 200)}; ${fix}`);
  let value: unknown;
  try {
    value = (JSON.parse(text) as { value?: unknown }).value;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'string') throw new Error(`failed to ${what}: the answer has no "value"; ${fix}`);
  return value;
}
