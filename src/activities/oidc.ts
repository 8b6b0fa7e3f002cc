/**
 * Verifying OIDC ID tokens against the trusted issuer's published keys, with `jose`. The keys are found through the
 * issuer's discovery document (or DEPLOY_OIDC_JWKS_URL) and cached; a token signed with a key the cache lacks makes
 * jose fetch the set again. A token that fails a check is an answer (`ok: false` and why); an issuer that cannot be
 * reached is an error, so the activity retries.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { IssuerConfig } from '../shared/approval-config.js';
import type { IdentityCheck } from '../shared/types.js';
import { isLoopback, validateIdentity } from '../shared/approval-config.js';

/** Asymmetric signatures only: a shared secret would let anyone holding it mint identities. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Clocks of the issuer, the Temporal server and this worker disagree a little. */
const CLOCK_TOLERANCE_S = 30;
const FETCH_TIMEOUT_MS = 5_000;

export interface VerifyRequest {
  token: string;
  requireClaims: Record<string, string>;
  /** Judge the token as of this moment (when it was presented), not when the check happens to run. */
  at: Date;
  /** The token must have been issued after this, less the clock tolerance. */
  issuedAfter?: Date;
}

export class OidcVerifier {
  private keys: Promise<{ getKey: JWTVerifyGetKey; url: string }> | undefined;

  constructor(private readonly issuer: IssuerConfig) {}

  async verify(req: VerifyRequest): Promise<IdentityCheck> {
    const { getKey, url } = await this.jwks();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(req.token, getKey, {
        issuer: this.issuer.url,
        audience: this.issuer.audience,
        algorithms: ALGORITHMS,
        currentDate: req.at,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp', 'iat'],
      }));
    } catch (err) {
      const reason = this.refusal(err, url);
      if (reason === undefined) throw new Error(`failed to verify a token against ${url}: ${message(err)}`);
      return { ok: false, reason };
    }
    for (const [claim, want] of Object.entries(req.requireClaims)) {
      if (payload[claim] !== want)
        return { ok: false, reason: `its "${claim}" claim is ${show(payload[claim])}, where "${want}" is required` };
    }
    const issuedAt = (payload.iat ?? 0) * 1000;
    if (req.issuedAfter && issuedAt < req.issuedAfter.getTime() - CLOCK_TOLERANCE_S * 1000) {
      return {
        ok: false,
        reason: `it was issued at ${iso(issuedAt)}, before the deploy began waiting for approval at ${req.issuedAfter.toISOString()}; get a fresh token`,
      };
    }
    const claim = this.issuer.identityClaim;
    let identity: string;
    try {
      identity = validateIdentity(payload[claim], claim);
    } catch {
      return { ok: false, reason: `its "${claim}" claim, which names who it is, is ${show(payload[claim])}` };
    }
    return { ok: true, identity, expiresAt: iso((payload.exp ?? 0) * 1000) };
  }

  /** Why jose refused the token, in words; undefined when the failure is the issuer's, not the token's. */
  private refusal(err: unknown, url: string): string | undefined {
    if (err instanceof errors.JWTExpired) return `it expired at ${iso(Number(err.payload.exp) * 1000)}`;
    if (err instanceof errors.JWTClaimValidationFailed) {
      if (err.claim === 'aud') return `it is for the audience ${show(err.payload.aud)}, not "${this.issuer.audience}"`;
      if (err.claim === 'iss') return `it was issued by ${show(err.payload.iss)}, not ${this.issuer.url}`;
      if (err.claim === 'nbf') return `it is not valid before ${iso(Number(err.payload.nbf) * 1000)}`;
      return `its "${err.claim}" claim is not acceptable (${err.reason})`;
    }
    if (err instanceof errors.JWSSignatureVerificationFailed)
      return `its signature does not verify against the issuer's keys (${url})`;
    if (err instanceof errors.JWKSNoMatchingKey) return `it is signed with a key the issuer does not publish at ${url}`;
    if (err instanceof errors.JOSEAlgNotAllowed) return 'it is signed with an algorithm that is not accepted';
    if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported)
      return `it is not a valid signed JWT (${err.message})`;
    return undefined;
  }

  /** The issuer's key set, found once; a failed discovery is tried again at the next verification. */
  private async jwks(): Promise<{ getKey: JWTVerifyGetKey; url: string }> {
    this.keys ??= (async () => {
      const url = this.issuer.jwksUrl ?? (await this.discover());
      return { getKey: createRemoteJWKSet(new URL(url), { timeoutDuration: FETCH_TIMEOUT_MS }), url };
    })();
    try {
      return await this.keys;
    } catch (err) {
      this.keys = undefined;
      throw err;
    }
  }

  private async discover(): Promise<string> {
    const url = `${this.issuer.url.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let doc: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = (await res.json()) as typeof doc;
    } catch (err) {
      throw new Error(`failed to read the OIDC discovery document ${url}: ${message(err)}; check DEPLOY_OIDC_ISSUER`);
    }
    // OIDC Discovery: the document must name the issuer it was fetched for, or it describes someone else.
    if (doc.issuer !== this.issuer.url)
      throw new Error(`the discovery document ${url} names the issuer ${show(doc.issuer)}, not ${this.issuer.url}`);
    if (typeof doc.jwks_uri !== 'string' || !trustedUrl(doc.jwks_uri))
      throw new Error(`the discovery document ${url} has no https jwks_uri (got ${show(doc.jwks_uri)})`);
    return doc.jwks_uri;
  }
}

function trustedUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname));
  } catch {
    return false;
  }
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : 'an unreadable time';
}

function show(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function message(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
  return String(err);
}
