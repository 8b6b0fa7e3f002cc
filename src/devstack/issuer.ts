/**
 * A small OIDC issuer for the local stack, so approvals there use real signed ID tokens: a key pair made at start,
 * the discovery document at /.well-known/openid-configuration and the key set at /jwks, over plain HTTP on
 * 127.0.0.1 only. It mints a token for whoever holds the mint key, which it writes to <dir>/mint.key (0600) in the
 * stack's directory: GET /token?sub=alice[&audience=…][&ttl=300][&backdate=0][&<claim>=<value>…] with
 * `Authorization: Bearer <mint key>` answers {"value": "<jwt>"}, the shape of GitHub Actions' token endpoint.
 *   node dist/devstack/issuer.js --port 4455 --dir .stack/issuer --audience ecs-deploy-local
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

export interface IssuerOptions {
  port: number;
  /** Where the mint key is written: the stack's directory, private to whoever runs the stack. */
  dir: string;
  /** The audience minted tokens carry unless the request names another. */
  audience: string;
}

export interface RunningIssuer {
  url: string;
  keyFile: string;
  close(): Promise<void>;
}

const ALG = 'ES256';
/** Claims a mint request cannot set: the issuer decides them. */
const RESERVED = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'sub', 'audience', 'ttl', 'backdate']);

export async function startIssuer(opts: IssuerOptions): Promise<RunningIssuer> {
  const url = `http://127.0.0.1:${opts.port}`;
  const { publicKey, privateKey } = await generateKeyPair(ALG, { extractable: true });
  const jwk: JWK = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const publicJwk = { ...jwk, kid, alg: ALG, use: 'sig' };
  const mintKey = randomBytes(32).toString('hex');
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const keyFile = join(opts.dir, 'mint.key');
  writeFileSync(keyFile, mintKey, { mode: 0o600 });

  const mint = async (params: URLSearchParams): Promise<string> => {
    const sub = params.get('sub') ?? '';
    if (!/^[^\s\p{C}]{1,200}$/u.test(sub)) throw new BadRequest('sub: the identity to mint a token for (one word)');
    const ttl = bounded(params.get('ttl'), 300, 1, 3600, 'ttl');
    const backdate = bounded(params.get('backdate'), 0, 0, 86_400, 'backdate');
    const claims: Record<string, string> = {};
    for (const [k, v] of params) if (!RESERVED.has(k)) claims[k] = v;
    const iat = Math.floor(Date.now() / 1000) - backdate;
    return await new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, kid, typ: 'JWT' })
      .setIssuer(url)
      .setSubject(sub)
      .setAudience(params.get('audience') || opts.audience)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + ttl)
      .setJti(randomUUID())
      .sign(privateKey);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', url);
    if (req.method !== 'GET') return send(res, 405, { error: 'only GET' });
    if (path.pathname === '/.well-known/openid-configuration') {
      return send(res, 200, {
        issuer: url,
        jwks_uri: `${url}/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [ALG],
        claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf'],
      });
    }
    if (path.pathname === '/jwks') return send(res, 200, { keys: [publicJwk] });
    if (path.pathname === '/token') {
      if (!holdsKey(req.headers.authorization, mintKey))
        return send(res, 401, { error: `minting needs "Authorization: Bearer <the key in ${keyFile}>"` });
      try {
        return send(res, 200, { value: await mint(path.searchParams) });
      } catch (err) {
        if (err instanceof BadRequest) return send(res, 400, { error: err.message });
        throw err;
      }
    }
    return send(res, 404, { error: 'not found' });
  };

  const server: Server = createServer((req, res) => {
    // Bound to loopback already; refusing anything else as well keeps a misconfigured bind from minting for others.
    if (!isLoopbackAddress(req.socket.remoteAddress)) return send(res, 403, { error: 'local stack only' });
    handle(req, res).catch((err: unknown) => send(res, 500, { error: err instanceof Error ? err.message : 'error' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', resolve);
  });
  return {
    url,
    keyFile,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

class BadRequest extends Error {}

function bounded(text: string | null, fallback: number, min: number, max: number, name: string): number {
  if (text === null || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new BadRequest(`${name}: a whole number of seconds, ${min} to ${max}`);
  return n;
}

function holdsKey(header: string | undefined, key: string): boolean {
  const m = /^bearer\s+(\S+)$/i.exec(header ?? '');
  const given = Buffer.from(m?.[1] ?? '');
  const want = Buffer.from(key);
  return given.length === want.length && timingSafeEqual(given, want);
}

function isLoopbackAddress(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** `node dist/devstack/issuer.js --port P --dir D --audience A` runs it until SIGTERM. */
if (/\/devstack\/issuer\.(js|ts)$/.test(process.argv[1] ?? '')) {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, dir: { type: 'string' }, audience: { type: 'string' } },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0 || !values.dir || !values.audience) {
    console.error('usage: issuer --port <port> --dir <stack dir for the mint key> --audience <default audience>');
    process.exit(2);
  }
  startIssuer({ port, dir: values.dir, audience: values.audience }).then(
    (issuer) => {
      console.error(`issuer: ${issuer.url} (mint key in ${issuer.keyFile})`);
      const stop = (): void => void issuer.close().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    },
    (err: unknown) => {
      console.error(`issuer: failed to start: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
