/**
 * A real registry (Debian's docker-registry, distribution 2.8) for tests, with htpasswd auth whose user and password
 * match the token moto's ECR GetAuthorizationToken hands out, so the code under test logs in exactly as on ECR.
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOOLS_BIN, freePort, startService } from '../../src/devstack/process.js';

/** moto's default account is 123456789012, and its ECR token decodes to AWS:<account>-auth-token. */
export const REGISTRY_USERNAME = 'AWS';
export const REGISTRY_PASSWORD = '123456789012-auth-token';

export interface TestRegistry {
  /** 127.0.0.1:PORT */
  address: string;
  username: string;
  password: string;
  stop(): Promise<void>;
}

export async function startRegistry(): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-'));
  const port = await freePort();
  const { stdout: hash } = await execa(
    `${TOOLS_BIN}/python`,
    ['-c', 'import bcrypt, sys; print(bcrypt.hashpw(sys.stdin.read().encode(), bcrypt.gensalt(rounds=5)).decode())'],
    { input: REGISTRY_PASSWORD },
  );
  await writeFile(join(dir, 'htpasswd'), `${REGISTRY_USERNAME}:${hash.trim()}\n`);
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: test-only-secret',
      'auth:',
      '  htpasswd:',
      '    realm: test-registry',
      `    path: ${join(dir, 'htpasswd')}`,
      '',
    ].join('\n'),
  );
  const service = await startService({
    name: 'docker-registry',
    command: 'docker-registry',
    args: ['serve', config],
    waitPort: port,
  });
  return {
    address: `127.0.0.1:${port}`,
    username: REGISTRY_USERNAME,
    password: REGISTRY_PASSWORD,
    async stop() {
      await service.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The digest of repo:tag in the registry at `address`, read with skopeo (a client independent of the code under test). */
export async function manifestDigest(address: string, repo: string, tag: string): Promise<string | undefined> {
  const out = await execa(
    'skopeo',
    [
      'inspect',
      '--tls-verify=false',
      '--creds',
      `${REGISTRY_USERNAME}:${REGISTRY_PASSWORD}`,
      '--format',
      '{{.Digest}}',
      `docker://${address}/${repo}:${tag}`,
    ],
    { reject: false },
  );
  if (out.exitCode === 0) return out.stdout.trim();
  if (/manifest unknown|not found/i.test(out.stderr)) return undefined;
  throw new Error(`failed to inspect ${address}/${repo}:${tag}: ${out.stderr}`);
}

export async function manifestExists(address: string, repo: string, tag: string): Promise<boolean> {
  return (await manifestDigest(address, repo, tag)) !== undefined;
}

export interface PulledImage {
  /** The image config (User, Entrypoint, ExposedPorts, ...). */
  config: { config?: Record<string, unknown> };
  /** A directory holding the unpacked layers. */
  rootfs: string;
  remove(): Promise<void>;
}

/** Copies repo:tag out of the registry and unpacks it, to check what the image really holds. */
export async function pullImage(address: string, repo: string, tag: string): Promise<PulledImage> {
  const dir = await mkdtemp(join(tmpdir(), 'pulled-image-'));
  const rootfs = join(dir, 'rootfs');
  await mkdir(rootfs);
  await execa('skopeo', [
    '--insecure-policy',
    'copy',
    '--src-tls-verify=false',
    '--src-creds',
    `${REGISTRY_USERNAME}:${REGISTRY_PASSWORD}`,
    `docker://${address}/${repo}:${tag}`,
    `dir:${join(dir, 'image')}`,
  ]);
  const blob = (digest: string): string => join(dir, 'image', digest.replace(/^sha256:/, ''));
  const manifest = JSON.parse(await readFile(join(dir, 'image/manifest.json'), 'utf8')) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  for (const layer of manifest.layers) await execa('tar', ['-xf', blob(layer.digest), '-C', rootfs]);
  return {
    config: JSON.parse(await readFile(blob(manifest.config.digest), 'utf8')) as PulledImage['config'],
    rootfs,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
