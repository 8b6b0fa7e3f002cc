/**
 * Where deployctl finds ID tokens: flag, file or environment for the approver, DEPLOY_REQUESTER_TOKEN for the
 * requester, and GitHub Actions' token endpoint in a job, played here by the local issuer, which answers in the same
 * shape ({"value": …} for a bearer-authenticated GET with &audience=).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { approvalToken, mintLocalToken, requesterToken } from '../../src/cli/identity.js';
import { ROOT, freePort, startService, type Service } from '../../src/devstack/process.js';

let issuer: Service;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  const port = await freePort();
  dir = await mkdtemp(join(tmpdir(), 'client-issuer-'));
  issuer = await startService({
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
      'aud-default',
    ],
    waitPort: port,
  });
  env = {
    DEPLOY_OIDC_ISSUER: `http://127.0.0.1:${port}`,
    DEPLOY_OIDC_AUDIENCE: 'deploys',
    DEPLOY_DEV_ISSUER_KEY_FILE: join(dir, 'mint.key'),
  };
}, 60_000);

afterAll(async () => {
  await issuer?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The two variables a GitHub Actions job with `id-token: write` gets, pointing at the local issuer. */
async function actionsEnv(claims: Record<string, string>): Promise<Record<string, string>> {
  const params = new URLSearchParams(claims);
  return {
    ACTIONS_ID_TOKEN_REQUEST_URL: `${env.DEPLOY_OIDC_ISSUER}/token?${params.toString()}`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: (await readFile(env.DEPLOY_DEV_ISSUER_KEY_FILE ?? '', 'utf8')).trim(),
  };
}

describe("the approver's token", () => {
  test('comes from --token first, then --token-file, then DEPLOY_APPROVAL_TOKEN', async () => {
    const [a, b, c] = await Promise.all(['alice', 'bob', 'carol'].map((as) => mintLocalToken({ env, as })));
    const file = join(dir, 'token');
    await writeFile(file, `${b}\n`);
    const withEnv = { ...env, DEPLOY_APPROVAL_TOKEN: c ?? '' };
    expect(await approvalToken({ token: a, tokenFile: file, env: withEnv })).toBe(a);
    expect(await approvalToken({ tokenFile: file, env: withEnv })).toBe(b);
    expect(await approvalToken({ env: withEnv })).toBe(c);
    expect(await approvalToken({ env })).toBeUndefined();
  });

  test('in a GitHub Actions job, is the job’s own ID token for the audience the worker expects', async () => {
    const token = await approvalToken({
      env: {
        ...env,
        ...(await actionsEnv({ sub: 'repo:acme/app:environment:production', actor: 'bob', environment: 'production' })),
      },
    });
    expect(decodeJwt(token ?? '')).toMatchObject({
      aud: 'deploys',
      actor: 'bob',
      environment: 'production',
      iss: env.DEPLOY_OIDC_ISSUER,
    });
  });

  test('a file that holds no token is refused, naming the flag and never echoing the content', async () => {
    const file = join(dir, 'not-a-token');
    await writeFile(file, 'hunter2-secret-value\n');
    const err = await approvalToken({ tokenFile: file, env }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      'invalid --token-file: expected an OIDC ID token (a JWT: three base64url parts), got 20 characters that are not one',
    );
  });
});

describe("the requester's token", () => {
  test('is DEPLOY_REQUESTER_TOKEN when set', async () => {
    const token = await mintLocalToken({ env, as: 'alice' });
    expect(await requesterToken({ ...env, DEPLOY_REQUESTER_TOKEN: token })).toBe(token);
  });

  test("in a GitHub Actions job, is the deploy job's ID token; without DEPLOY_OIDC_AUDIENCE none is sent, with a note", async () => {
    const actions = await actionsEnv({ sub: 'repo:acme/app:ref:refs/heads/main', actor: 'alice' });
    expect(decodeJwt((await requesterToken({ ...env, ...actions })) ?? '')).toMatchObject({
      actor: 'alice',
      aud: 'deploys',
    });
    const notes: string[] = [];
    const noAudience = { ...env };
    delete noAudience.DEPLOY_OIDC_AUDIENCE;
    expect(await requesterToken({ ...noAudience, ...actions }, (l) => notes.push(l))).toBeUndefined();
    expect(notes).toEqual([
      "no ID token sent: set DEPLOY_OIDC_AUDIENCE to the audience in the worker's DEPLOY_OIDC_AUDIENCE",
    ]);
  });

  test('outside Actions and without DEPLOY_REQUESTER_TOKEN there is none', async () => {
    expect(await requesterToken(env)).toBeUndefined();
  });

  test('a refused request to the token endpoint says what to fix', async () => {
    const actions = { ...(await actionsEnv({ sub: 'x' })), ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong' };
    await expect(requesterToken({ ...env, ...actions })).rejects.toThrow(
      /^failed to get an ID token from GitHub Actions: HTTP 401 .*; give the job "permissions: id-token: write"$/,
    );
  });
});
