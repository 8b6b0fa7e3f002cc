/**
 * The approval activities against the real local OIDC issuer (src/devstack/issuer.ts, started as its own process):
 * real ES256 keys, the discovery document and key set over HTTP, tokens minted through its endpoint.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, decodeProtectedHeader, generateKeyPair } from 'jose';
import { identityActivities } from '../../src/activities/identity.js';
import { mintLocalToken } from '../../src/cli/identity.js';
import { parseApprovalConfig } from '../../src/shared/approval-config.js';
import type { IdentityCheck, VerifyIdentityInput } from '../../src/shared/types.js';
import { ROOT, freePort, startService, type Service } from '../../src/devstack/process.js';

const AUDIENCE = 'deploys-test';

interface Issuer {
  service: Service;
  url: string;
  dir: string;
  /** What deployctl reads to mint on it. */
  env: Record<string, string>;
}

async function startIssuer(): Promise<Issuer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'issuer-'));
  const service = await startService({
    name: 'issuer',
    command: 'node',
    args: [
      '--import',
      'tsx',
      `${ROOT}/src/devstack/issuer.ts`,
      '--port',
      String(port),
      '--dir',
      dir,
      '--audience',
      AUDIENCE,
    ],
    waitPort: port,
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    service,
    url,
    dir,
    env: { DEPLOY_OIDC_ISSUER: url, DEPLOY_OIDC_AUDIENCE: AUDIENCE, DEPLOY_DEV_ISSUER_KEY_FILE: join(dir, 'mint.key') },
  };
}

let issuer: Issuer;
let other: Issuer;

beforeAll(async () => {
  [issuer, other] = await Promise.all([startIssuer(), startIssuer()]);
}, 60_000);

afterAll(async () => {
  for (const i of [issuer, other]) {
    await i?.service.stop();
    if (i) await rm(i.dir, { recursive: true, force: true });
  }
});

const policyText = JSON.stringify({
  tokenClaims: { repository: 'acme/app' },
  services: {
    'prod/web': { requireApproval: true, approvers: ['alice', 'bob'], approverClaims: { environment: 'production' } },
  },
});

function activities() {
  return identityActivities(
    parseApprovalConfig(
      { DEPLOY_OIDC_ISSUER: issuer.url, DEPLOY_OIDC_AUDIENCE: AUDIENCE },
      { path: 'test-policy.json', text: policyText },
    ),
  );
}

const approverClaims = { repository: 'acme/app', environment: 'production' };

function mint(as: string, opts: Partial<Parameters<typeof mintLocalToken>[0]> = {}): Promise<string> {
  return mintLocalToken({ env: issuer.env, as, claims: approverClaims, ...opts });
}

async function verify(token: string, overrides: Partial<VerifyIdentityInput> = {}): Promise<IdentityCheck> {
  return await activities().verifyIdentity({
    token,
    role: 'approver',
    requireClaims: approverClaims,
    at: new Date().toISOString(),
    ...overrides,
  });
}

describe('the approval policy activity', () => {
  test("answers a service's own entry, with the policy's token claims merged into what an approver must carry", async () => {
    const policy = await activities().approvalPolicy({ region: 'us-east-1', cluster: 'prod', service: 'web' });
    expect(policy).toEqual({
      service: 'prod/web',
      source: 'service',
      requireApproval: true,
      identity: 'verified',
      approvers: ['alice', 'bob'],
      approvalTimeoutMs: 3_600_000,
      approverClaims: { repository: 'acme/app', environment: 'production' },
      requesterClaims: { repository: 'acme/app' },
      issuer: issuer.url,
      identityClaim: 'sub',
    });
  });

  test('answers the defaults for a service the policy does not name', async () => {
    const policy = await activities().approvalPolicy({ region: 'us-east-1', cluster: 'prod', service: 'other' });
    expect(policy).toMatchObject({ service: 'prod/other', source: 'defaults', requireApproval: false, approvers: [] });
  });
});

describe('verifying ID tokens against the local issuer', () => {
  test('a token the issuer minted verifies to the identity in its sub claim, and nothing of the token comes back', async () => {
    const check = await verify(await mint('alice'));
    expect(check).toEqual({ ok: true, identity: 'alice', expiresAt: expect.stringMatching(/^\d{4}-/) as string });
    if (!check.ok) return;
    const lifetime = Date.parse(check.expiresAt) - Date.now();
    expect(lifetime).toBeGreaterThan(250_000);
    expect(lifetime).toBeLessThanOrEqual(300_000);
  });

  test('an expired token is refused, saying when it expired', async () => {
    const check = await verify(await mint('alice', { backdateSeconds: 600, ttlSeconds: 60 }));
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toMatch(/^it expired at \d{4}-\d\d-\d\dT[\d:.]+Z$/);
  });

  test('a token is judged as of when it was presented: valid then, it passes even if it has expired since', async () => {
    const token = await mint('alice', { backdateSeconds: 600, ttlSeconds: 60 });
    const presented = new Date(Date.now() - 580_000).toISOString();
    expect(await verify(token, { at: presented })).toMatchObject({ ok: true, identity: 'alice' });
  });

  test('a token for another audience is refused, naming both audiences', async () => {
    const check = await verify(await mint('alice', { audience: 'someone-else' }));
    expect(check).toEqual({ ok: false, reason: `it is for the audience "someone-else", not "${AUDIENCE}"` });
  });

  test("a token signed with another key under the issuer's key id is refused: the signature does not verify", async () => {
    const genuine = await mint('alice');
    const { kid } = decodeProtectedHeader(genuine);
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ ...approverClaims })
      .setProtectedHeader({ alg: 'ES256', ...(kid ? { kid } : {}) })
      .setIssuer(issuer.url)
      .setSubject('bob')
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    expect(await verify(forged)).toEqual({
      ok: false,
      reason: `its signature does not verify against the issuer's keys (${issuer.url}/jwks)`,
    });
  });

  test('a token from another issuer is refused: the trusted issuer does not publish its key', async () => {
    const foreign = await mintLocalToken({ env: other.env, as: 'bob', audience: AUDIENCE, claims: approverClaims });
    expect(await verify(foreign)).toEqual({
      ok: false,
      reason: `it is signed with a key the issuer does not publish at ${issuer.url}/jwks`,
    });
  });

  test('a token without the claims the policy requires is refused, naming the claim', async () => {
    const staging = await mint('alice', { claims: { repository: 'acme/app', environment: 'staging' } });
    expect(await verify(staging)).toEqual({
      ok: false,
      reason: 'its "environment" claim is "staging", where "production" is required',
    });
  });

  test("an approver's token issued before the deploy began waiting is refused, so an old one cannot be replayed", async () => {
    const old = await mint('alice', { backdateSeconds: 120 });
    const check = await verify(old, { issuedAfter: new Date().toISOString() });
    expect(!check.ok && check.reason).toMatch(
      /^it was issued at .*, before the deploy began waiting for approval at .*; get a fresh token$/,
    );
  });

  test('something that is not a token is refused without reaching the issuer', async () => {
    expect(await verify('not-a-token')).toEqual({
      ok: false,
      reason:
        'invalid token: expected an OIDC ID token (a JWT: three base64url parts), got 11 characters that are not one',
    });
  });

  test('a worker that trusts no issuer refuses every token, saying so', async () => {
    const none = identityActivities(parseApprovalConfig({}));
    const check = await none.verifyIdentity({
      token: await mint('alice'),
      role: 'approver',
      requireClaims: {},
      at: new Date().toISOString(),
    });
    expect(check).toEqual({
      ok: false,
      reason: 'the worker trusts no OIDC issuer (DEPLOY_OIDC_ISSUER is not set), so no token can be verified',
    });
  });

  test('an issuer that cannot be reached fails the activity, so it is retried, naming the discovery document', async () => {
    const gone = `http://127.0.0.1:${await freePort()}`;
    const acts = identityActivities(parseApprovalConfig({ DEPLOY_OIDC_ISSUER: gone, DEPLOY_OIDC_AUDIENCE: AUDIENCE }));
    await expect(
      acts.verifyIdentity({
        token: await mint('alice'),
        role: 'approver',
        requireClaims: {},
        at: new Date().toISOString(),
      }),
    ).rejects.toThrow(`failed to read the OIDC discovery document ${gone}/.well-known/openid-configuration`);
  });
});

describe('the local issuer mints only for the local stack', () => {
  test('a mint request without the key from the stack directory is refused', async () => {
    const res = await fetch(`${issuer.url}/token?sub=mallory`, { headers: { authorization: 'Bearer guessed' } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe(
      `minting needs "Authorization: Bearer <the key in ${join(issuer.dir, 'mint.key')}>"`,
    );
  });

  test('deployctl refuses to mint on an issuer that is not on this machine', async () => {
    await expect(
      mintLocalToken({
        env: { ...issuer.env, DEPLOY_OIDC_ISSUER: 'https://token.actions.githubusercontent.com' },
        as: 'alice',
      }),
    ).rejects.toThrow(/^invalid DEPLOY_OIDC_ISSUER: deployctl token mints only on the local stack's issuer/);
  });
});
