/**
 * The sandbox around the code being deployed, on the real toolchain, bubblewrap and overlayfs: what a commit's tests
 * can read, what they can change for later deploys, and whether they reach the network.
 */
import { execa, execaSync } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { basename, join } from 'node:path';
import { goActivities } from '../../src/activities/go.js';
import { WORKER_DEFAULTS } from '../../src/worker/config.js';
import { ErrorType } from '../../src/shared/errors.js';
import type { WorkspaceRef } from '../../src/shared/types.js';
import { failureOf, runActivity } from '../support/activity.js';
import { addProbe, FAKE_WORKER_SECRETS, PROBE_TEST } from '../support/probe.js';
import { ROOT } from '../../src/devstack/process.js';
import {
  COLD_GO_BUILD_MS,
  makeWorkspace,
  removeWorkspace,
  SHARED_CACHE_DIR,
  testConfig,
} from '../support/workspace.js';

const config = testConfig();
const go = goActivities(config);
const HEAD = execaSync('git', ['-C', ROOT, 'rev-parse', 'HEAD']).stdout.trim();
const ref = (ws: string): WorkspaceRef => ({ sha: HEAD, deployId: basename(ws) });
const savedEnv = { ...process.env };
const cleanup: string[] = [];

async function workspace(label: string): Promise<string> {
  const ws = await makeWorkspace(config, label);
  cleanup.push(ws);
  return ws;
}

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all(cleanup.map(removeWorkspace));
});

describe('a commit whose tests look for the worker credentials', () => {
  let home: string;
  let secretsDir: string;
  let targets: string[];

  beforeAll(async () => {
    // The worker as production runs it: credentials in its environment and HOME, and an ECR auth file written for
    // a push that runs while the tests do.
    await mkdir(config.workDir, { recursive: true });
    home = await mkdtemp(join(config.workDir, 'fake-home-'));
    cleanup.push(home);
    await mkdir(join(home, '.aws'));
    await writeFile(join(home, '.aws/credentials'), '[default]\naws_secret_access_key = fake\n', { mode: 0o600 });
    secretsDir = await mkdtemp(join(config.workDir, 'image-'));
    cleanup.push(secretsDir);
    await writeFile(join(secretsDir, 'auth.json'), '{"auths":{"r":{"auth":"ZmFrZQ=="}}}', { mode: 0o600 });
    Object.assign(process.env, FAKE_WORKER_SECRETS, { HOME: home });
    targets = [join(config.workDir, 'image-*/auth.json'), join(home, '.aws/credentials')];
  });

  afterAll(() => {
    process.env = { ...savedEnv };
  });

  it(
    'passes in testApp: its code sees none of them, not in its environment, other processes or files',
    async () => {
      const ws = await workspace('sandbox-probe');
      await addProbe(ws, targets);
      const result = await runActivity(go.testApp, ref(ws));
      // The app's own five tests and the probe.
      expect(result.passed).toBe(6);
    },
    COLD_GO_BUILD_MS,
  );

  it(
    'fails when run bare as root, as deploys ran before the sandbox, naming each credential it found',
    async () => {
      const ws = await workspace('sandbox-probe-bare');
      await addProbe(ws, targets);
      // The worker's own Go cache: the run compiles, and a cold cache would only make it slow.
      const run = await execa('go', ['test', '-count=1', '-run', PROBE_TEST, '.'], {
        cwd: join(ws, 'app'),
        env: { GOCACHE: join(savedEnv.HOME ?? '/root', '.cache/go-build'), GOFLAGS: '-buildvcs=false' },
        reject: false,
      });
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toContain('probe found running as root');
      for (const name of Object.keys(FAKE_WORKER_SECRETS)) {
        expect(run.stdout).toContain(`probe found own environment: ${name}`);
      }
      expect(run.stdout).toContain(`probe found readable: ${join(secretsDir, 'auth.json')}`);
      expect(run.stdout).toContain(`probe found readable: ${join(home, '.aws/credentials')}`);
      // It names what it found; the values never appear.
      for (const value of Object.values(FAKE_WORKER_SECRETS)) expect(run.stdout).not.toContain(value);
    },
    COLD_GO_BUILD_MS,
  );
});

describe('DEPLOY_SANDBOX=off', () => {
  it(
    'runs tests as the worker, which can read its files, but still with none of its environment',
    async () => {
      // The worker's own warm Go cache, so the sandbox's (owned by its user) gets no root-owned entries.
      const cacheDir = await mkdtemp(join(config.workDir, 'cache-off-'));
      cleanup.push(cacheDir);
      await symlink(join(savedEnv.HOME ?? '/root', '.cache/go-build'), join(cacheDir, 'go-build'));
      const off = goActivities(testConfig({ cacheDir, sandbox: { ...WORKER_DEFAULTS.sandbox, enabled: false } }));
      const secretsDir = await mkdtemp(join(config.workDir, 'image-'));
      cleanup.push(secretsDir);
      await writeFile(join(secretsDir, 'auth.json'), '{"auths":{}}', { mode: 0o600 });
      const ws = await workspace('sandbox-off');
      await writeFile(
        join(ws, 'app/whoami_test.go'),
        [
          'package main',
          '',
          'import (',
          '\t"os"',
          '\t"strings"',
          '\t"testing"',
          ')',
          '',
          'func TestWhatTheWorkerShows(t *testing.T) {',
          '\tnames := 0',
          '\tfor _, kv := range os.Environ() {',
          '\t\tif strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "TEMPORAL_") || strings.HasPrefix(kv, "DEPLOY_") {',
          '\t\t\tnames++',
          '\t\t}',
          '\t}',
          `\t_, err := os.ReadFile(${JSON.stringify(join(secretsDir, 'auth.json'))})`,
          '\tt.Fatalf("uid %d, %d credential variables, auth file readable: %v", os.Getuid(), names, err == nil)',
          '}',
          '',
        ].join('\n'),
      );
      Object.assign(process.env, FAKE_WORKER_SECRETS);
      try {
        const err = await failureOf(runActivity(off.testApp, ref(ws)));
        expect(err.message).toContain('uid 0, 0 credential variables, auth file readable: true');
      } finally {
        process.env = { ...savedEnv };
      }
    },
    COLD_GO_BUILD_MS,
  );
});

/**
 * What every Go cache index entry (the *-a files) under `dir` points at: the output and its size. Steps that only
 * compile may rewrite an entry (its time), never what it points at; a poisoned entry would.
 */
async function cacheIndex(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const sub of await readdir(dir)) {
    if (!/^[0-9a-f]{2}$/.test(sub)) continue;
    for (const name of await readdir(join(dir, sub))) {
      if (!name.endsWith('-a')) continue;
      const path = join(dir, sub, name);
      const [version, action, output, size] = (await readFile(path, 'utf8')).split(' ');
      out.set(path, [version, action, output, size].join(' '));
    }
  }
  return out;
}

describe('a commit whose tests write where later deploys read', () => {
  it(
    'cannot change the shared Go caches or the built binary: the next build makes the same bytes',
    async () => {
      const before = await runActivity(go.buildApp, ref(await workspace('sandbox-base')));
      const ws = await workspace('sandbox-poison');
      const built = await runActivity(go.buildApp, ref(ws));
      await writeFile(
        join(ws, 'app/poison_test.go'),
        [
          'package main',
          '',
          'import (',
          '\t"io/fs"',
          '\t"os"',
          '\t"path/filepath"',
          '\t"strings"',
          '\t"testing"',
          ')',
          '',
          '// Rewrites every cache index entry it can reach, and the binary the image would ship.',
          'func TestPoisonsWhatLaterDeploysUse(t *testing.T) {',
          '\tfor _, dir := range []string{os.Getenv("GOCACHE"), os.Getenv("GOMODCACHE")} {',
          '\t\tif err := os.WriteFile(filepath.Join(dir, "poisoned-by-a-test"), []byte("x"), 0o644); err != nil {',
          '\t\t\tt.Errorf("the cache should look writable to the test: %v", err)',
          '\t\t}',
          '\t\t_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {',
          '\t\t\tif err == nil && !d.IsDir() && strings.HasSuffix(p, "-a") {',
          '\t\t\t\t_ = os.WriteFile(p, []byte("v1 poisoned\\n"), 0o644)',
          '\t\t\t}',
          '\t\t\treturn nil',
          '\t\t})',
          '\t}',
          '\t_ = os.WriteFile("../build/app", []byte("#!/bin/sh\\necho pwned\\n"), 0o755)',
          '}',
          '',
        ].join('\n'),
      );
      const index = await cacheIndex(join(SHARED_CACHE_DIR, 'go-build'));

      const tested = await runActivity(go.testApp, ref(ws));

      expect(tested.passed).toBe(6);
      const after = await cacheIndex(join(SHARED_CACHE_DIR, 'go-build'));
      const changed = [...index].filter(([path, hash]) => after.get(path) !== hash);
      expect(changed).toEqual([]);
      for (const sub of ['go-build', 'go-mod']) {
        expect(await readdir(join(SHARED_CACHE_DIR, sub))).not.toContain('poisoned-by-a-test');
      }
      const binary = await readFile(join(ws, 'build/app'));
      expect(createHash('sha256').update(binary).digest('hex')).toBe(built.binarySha256);
      const next = await runActivity(go.buildApp, ref(await workspace('sandbox-next')));
      expect(next.binarySha256).toBe(before.binarySha256);
    },
    COLD_GO_BUILD_MS,
  );
});

describe('DEPLOY_SANDBOX_NETWORK', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((socket) => socket.end('hello from the worker host\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** A workspace whose test connects to the server above, on the worker's loopback. */
  async function reachingWorkspace(label: string): Promise<string> {
    const ws = await workspace(label);
    await writeFile(
      join(ws, 'app/reach_test.go'),
      [
        'package main',
        '',
        'import (',
        '\t"net"',
        '\t"testing"',
        ')',
        '',
        'func TestReachesTheWorkerHost(t *testing.T) {',
        `\tconn, err := net.Dial("tcp", "127.0.0.1:${port}")`,
        '\tif err != nil {',
        '\t\tt.Fatalf("cannot reach the worker host: %v", err)',
        '\t}',
        '\tconn.Close()',
        '}',
        '',
      ].join('\n'),
    );
    return ws;
  }

  it(
    'host (the default) lets tests reach the network; none leaves them only a loopback of their own',
    async () => {
      const open = await runActivity(go.testApp, ref(await reachingWorkspace('sandbox-net-host')));
      expect(open.passed).toBe(6);

      const closed = goActivities(testConfig({ sandbox: { ...WORKER_DEFAULTS.sandbox, network: 'none' } }));
      const err = await failureOf(runActivity(closed.testApp, ref(await reachingWorkspace('sandbox-net-none'))));
      expect(err.type).toBe(ErrorType.testFailure);
      expect(err.message).toContain('TestReachesTheWorkerHost');
      expect(err.message).toMatch(/cannot reach the worker host: .*connection refused/);
    },
    COLD_GO_BUILD_MS,
  );
});

describe('modules', () => {
  it(
    'are downloaded first, so a build and its tests need neither the module proxy nor, with network none, the network',
    async () => {
      const offline = goActivities(testConfig({ sandbox: { ...WORKER_DEFAULTS.sandbox, network: 'none' } }));
      const ws = await workspace('sandbox-modules');
      await writeFile(
        join(ws, 'app/go.mod'),
        'module example.com/hello\n\ngo 1.22\n\nrequire golang.org/x/text v0.14.0\n',
      );
      await writeFile(
        join(ws, 'app/go.sum'),
        [
          'golang.org/x/text v0.14.0 h1:ScX5w1eTa3QqT8oi6+ziP7dTV1S2+ALU0bI+0zXKWiQ=',
          'golang.org/x/text v0.14.0/go.mod h1:18ZOQIKpY8NJVqYksKHtTdi31H5itFRjB5/qKTNYzSU=',
          '',
        ].join('\n'),
      );
      await writeFile(
        join(ws, 'app/language_test.go'),
        'package main\n\nimport (\n\t"testing"\n\n\t"golang.org/x/text/language"\n)\n\n' +
          'func TestUsesAModule(t *testing.T) {\n\tif language.English.String() != "en" {\n\t\tt.Fatal("no English")\n\t}\n}\n',
      );

      const built = await runActivity(offline.buildApp, ref(ws));
      const tested = await runActivity(offline.testApp, ref(ws));

      expect(built.binarySha256).toMatch(/^[0-9a-f]{64}$/);
      expect(tested.passed).toBe(6);
    },
    COLD_GO_BUILD_MS,
  );
});

describe('output a failing test prints', () => {
  it(
    'reaches the error with workflow commands defused, each line capped, and no credential of the worker',
    async () => {
      process.env.TEMPORAL_API_KEY = 'sk-temporal-0123456789abcdef';
      try {
        const ws = await workspace('sandbox-output');
        await writeFile(
          join(ws, 'app/loud_test.go'),
          [
            'package main',
            '',
            'import (',
            '\t"fmt"',
            '\t"strings"',
            '\t"testing"',
            ')',
            '',
            'func TestLoud(t *testing.T) {',
            '\tfmt.Println("::add-mask::sk-temporal-0123456789abcdef")',
            '\tfmt.Println("::set-output name=image::attacker/image")',
            '\tfmt.Println(strings.Repeat("A", 20000))',
            '\tt.Fatal("boom")',
            '}',
            '',
          ].join('\n'),
        );

        const err = await failureOf(runActivity(go.testApp, ref(ws)));

        expect(err.type).toBe(ErrorType.testFailure);
        expect(err.message).toContain('1 test failed: example.com/hello.TestLoud');
        for (const line of err.message.split('\n')) {
          expect(line.trimStart().startsWith('::')).toBe(false);
          expect(Buffer.byteLength(line)).toBeLessThan(1100);
        }
        expect(err.message).toContain(': :set-output name=image::attacker/image');
        expect(err.message).toContain('bytes cut');
        expect(err.message).toContain(': :add-mask::***');
        expect(err.message).not.toContain('sk-temporal-0123456789abcdef');
      } finally {
        process.env = { ...savedEnv };
      }
    },
    COLD_GO_BUILD_MS,
  );
});
