/**
 * docker-compose.yml and Dockerfile.worker, checked by reading them: no compose tool with an engine runs here
 * (the docker CLI has no daemon, and PyPI's docker-compose 1.x does not install on this Python).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../../src/devstack/process.js';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  network_mode?: string;
  command?: string[] | string;
  stop_signal?: string;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

let compose: Compose;

beforeAll(async () => {
  compose = parse(await readFile(join(ROOT, 'docker-compose.yml'), 'utf8')) as Compose;
});

/** Every environment variable the worker's code reads: `env.NAME` and `process.env.NAME` in what the worker loads. */
async function variablesTheWorkerReads(): Promise<Set<string>> {
  const files = ['src/worker.ts', 'src/worker/config.ts', 'src/client/connection.ts'];
  for (const f of await readdir(join(ROOT, 'src/activities'))) if (f.endsWith('.ts')) files.push(`src/activities/${f}`);
  const names = new Set<string>();
  for (const f of files) {
    const text = await readFile(join(ROOT, f), 'utf8');
    // Reads only: `env.GOARCH = …` sets a variable for a child process, which the worker's environment need not hold.
    for (const m of text.matchAll(/\b(?:process\.)?env\.([A-Z][A-Z0-9_]+)\b(?!\s*=[^=])/g)) names.add(m[1] ?? '');
  }
  return names;
}

/** Variables the worker may leave unset in the demo, and why. */
const OPTIONAL_IN_DEMO: Record<string, string> = {
  TEMPORAL_API_KEY: 'the demo server is plaintext',
  TEMPORAL_TLS: 'the demo server is plaintext',
  TEMPORAL_TLS_CLIENT_CERT_PATH: 'no mTLS in the demo',
  TEMPORAL_TLS_CLIENT_KEY_PATH: 'no mTLS in the demo',
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: 'no mTLS in the demo',
  TEMPORAL_TLS_SERVER_NAME: 'no mTLS in the demo',
  PATH: 'the image sets it',
  GOPROXY: "Go's default module proxy",
  DEPLOY_SANDBOX_NETWORK: 'the demo runs with DEPLOY_SANDBOX=off',
  DEPLOY_SANDBOX_USER: 'the demo runs with DEPLOY_SANDBOX=off',
  DEPLOY_SANDBOX_IMAGE_USER: 'the demo runs with DEPLOY_SANDBOX=off',
  DEPLOY_APPROVAL_POLICY: 'the demo runs on the built-in policy: approval on request only',
  DEPLOY_WEBHOOK_SECRET: 'the demo posts no notifications',
  DEPLOY_LOG_LEVEL: 'INFO by default',
};

describe('docker-compose.yml', () => {
  test('brings up Temporal on PostgreSQL, its UI, the emulator, a registry and the worker', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['postgresql', 'temporal', 'temporal-ui', 'moto', 'registry', 'worker']),
    );
    expect(compose.services.temporal?.image).toMatch(/^temporalio\/auto-setup:\d/);
    expect(compose.services.temporal?.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
    expect(compose.services.postgresql?.image).toMatch(/^postgres:\d+/);
    expect(compose.services['temporal-ui']?.image).toMatch(/^temporalio\/ui:\d/);
    expect(compose.services.registry?.image).toBe('registry:2');
    expect(compose.services.moto?.volumes).toContain('./scripts/moto_sim:/sim/moto_sim:ro');
  });

  test('publishes the ports the worker and deployctl use on the host', () => {
    const ports = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    expect(ports).toEqual(expect.arrayContaining(['7233:7233', '8080:8080', '4566:4566', '5055:5000']));
    const worker = compose.services.worker?.environment ?? {};
    expect(worker.TEMPORAL_ADDRESS).toBe('localhost:7233');
    expect(worker.AWS_ENDPOINT_URL).toBe('http://localhost:4566');
    expect(worker.DEPLOY_REGISTRY).toBe('localhost:5055');
  });

  test('the worker is built from Dockerfile.worker, uses the host Docker, and stops on SIGTERM', () => {
    const seed = compose.services.seed;
    expect(seed?.build).toEqual({ context: '.', dockerfile: 'Dockerfile.worker' });
    const worker = compose.services.worker;
    expect(worker?.image).toBe(seed?.image);
    expect(worker?.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
    expect(worker?.network_mode).toBe('host');
    expect(worker?.environment?.DEPLOY_IMAGE_BUILDER).toBe('docker');
    expect(worker?.stop_signal).toBe('SIGTERM');
    expect(worker?.depends_on).toMatchObject({
      seed: { condition: 'service_completed_successfully' },
      'temporal-setup': { condition: 'service_completed_successfully' },
    });
  });

  test("the worker's environment sets every variable the worker reads, except the TLS ones", async () => {
    const env = compose.services.worker?.environment ?? {};
    const unset = [...(await variablesTheWorkerReads())].filter((n) => !(n in env) && !(n in OPTIONAL_IN_DEMO));
    expect(unset).toEqual([]);
  });

  test('registers the search attributes the workflow writes', async () => {
    const names = await readFile(join(ROOT, 'src/shared/names.ts'), 'utf8');
    const setup = JSON.stringify(compose.services['temporal-setup']?.command);
    for (const m of names.matchAll(/: '(Deploy[A-Za-z]+)'/g)) expect(setup).toContain(m[1]);
  });
});

describe('Dockerfile.worker', () => {
  test('builds in a Node 20 stage and runs dist/worker.js with git, Go, buildah and the docker CLI', async () => {
    const text = await readFile(join(ROOT, 'Dockerfile.worker'), 'utf8');
    expect(text).toMatch(/^FROM node:20[^\s]* AS build$/m);
    expect(text).toContain('RUN npm ci');
    expect(text).toMatch(/apt-get install .*\bgit\b.*\bbuildah\b/);
    expect(text).toContain('COPY --from=go /usr/local/go /usr/local/go');
    expect(text).toContain('COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker');
    expect(text).toMatch(/^CMD \["node", "dist\/worker\.js"\]$/m);
  });

  test('has its own ignore file, since .dockerignore keeps everything but the app binary out', async () => {
    const ignore = await readFile(join(ROOT, 'Dockerfile.worker.dockerignore'), 'utf8');
    for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/'])
      expect(ignore).toContain(`!${path}`);
    const copied = [...(await readFile(join(ROOT, 'Dockerfile.worker'), 'utf8')).matchAll(/^COPY (?!--)(.+) \S+$/gm)];
    for (const m of copied) for (const src of (m[1] ?? '').split(' ')) expect(ignore).toContain(`!${src}`);
  });
});
