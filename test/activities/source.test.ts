import { SHARED_CACHE_DIR } from '../support/workspace.js';
/** checkout against a real git repository made by the test. */
import { execa } from 'execa';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sourceActivities, sourceCheckouts } from '../../src/activities/source.js';
import { WORKER_DEFAULTS, type WorkerConfig } from '../../src/worker/config.js';
import { ErrorType } from '../../src/shared/errors.js';
import { failureOf, runActivity } from '../support/activity.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http.js';

let dir: string;
let repo: string;
let config: WorkerConfig;

async function git(...args: string[]): Promise<string> {
  const { stdout } = await execa('git', ['-C', repo, ...args], {
    env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  });
  return stdout.trim();
}

async function commit(file: string, content: string): Promise<string> {
  await writeFile(join(repo, file), content);
  await git('add', file);
  await git('commit', '--quiet', '-m', `write ${file}`);
  return await git('rev-parse', 'HEAD');
}

async function exists(path: string): Promise<boolean> {
  return await stat(path).then(
    () => true,
    () => false,
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'source-test-'));
  repo = join(dir, 'repo');
  await execa('git', ['init', '--quiet', '--initial-branch', 'main', repo]);
  config = {
    sourceRepo: repo,
    workDir: join(dir, 'work'),
    cacheDir: SHARED_CACHE_DIR,
    registryInsecure: false,
    imageBuilder: 'auto',
    sandbox: WORKER_DEFAULTS.sandbox,
    maxActivities: WORKER_DEFAULTS.maxActivities,
    maxWatches: WORKER_DEFAULTS.maxWatches,
    maxCachedWorkflows: WORKER_DEFAULTS.maxCachedWorkflows,
    ecsReadsPerSecond: WORKER_DEFAULTS.ecsReadsPerSecond,
    uiUrl: WORKER_DEFAULTS.uiUrl,
    telemetry: { logLevel: WORKER_DEFAULTS.logLevel },
    taskQueue: 't',
  };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('checkout', () => {
  it('writes the tree of the commit into workspaces/<deployId>, without .git', async () => {
    const first = await commit('hello.txt', 'first\n');
    await commit('hello.txt', 'second\n');
    const source = sourceActivities(config);

    const { workspace } = await runActivity(source.checkout, { sha: first, deployId: 'deploy-1' });

    expect(workspace).toBe(join(config.workDir, 'workspaces/deploy-1'));
    expect(await readFile(join(workspace, 'hello.txt'), 'utf8')).toBe('first\n');
    expect(await exists(join(workspace, '.git'))).toBe(false);
  });

  it('fetches a commit made after the mirror was created', async () => {
    const source = sourceActivities(config);
    await runActivity(source.checkout, { sha: await git('rev-parse', 'HEAD'), deployId: 'deploy-2' });
    const later = await commit('later.txt', 'later\n');

    const { workspace } = await runActivity(source.checkout, { sha: later, deployId: 'deploy-3' });

    expect(await readFile(join(workspace, 'later.txt'), 'utf8')).toBe('later\n');
  });

  it('starts from an empty workspace when retried, so nothing from an earlier attempt remains', async () => {
    const source = sourceActivities(config);
    const sha = await git('rev-parse', 'HEAD');
    const { workspace } = await runActivity(source.checkout, { sha, deployId: 'deploy-retry' });
    await writeFile(join(workspace, 'leftover.txt'), 'from a failed attempt');

    await runActivity(source.checkout, { sha, deployId: 'deploy-retry' });

    expect(await exists(join(workspace, 'leftover.txt'))).toBe(false);
    expect(await exists(join(workspace, 'later.txt'))).toBe(true);
  });

  it('fails non-retryably, naming the sha and the repository, for a commit the repository does not have', async () => {
    const sha = 'f'.repeat(40);
    const err = await failureOf(runActivity(sourceActivities(config).checkout, { sha, deployId: 'deploy-missing' }));

    expect(err.type).toBe(ErrorType.invalidInput);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(`sha: commit ${sha} is not in the source repository ${repo}`);
  });

  it('refuses a deployId that could leave the workspaces folder', async () => {
    const sha = await git('rev-parse', 'HEAD');
    for (const deployId of ['../escape', 'a/b', '.hidden', '']) {
      const err = await failureOf(runActivity(sourceActivities(config).checkout, { sha, deployId }));
      expect(err.type).toBe(ErrorType.invalidInput);
      expect(err.nonRetryable).toBe(true);
    }
    expect(await exists(join(config.workDir, 'escape'))).toBe(false);
  });

  it('refuses a short or malformed sha before touching git', async () => {
    const err = await failureOf(runActivity(sourceActivities(config).checkout, { sha: 'abc123', deployId: 'd' }));
    expect(err.type).toBe(ErrorType.invalidInput);
    expect(err.message).toContain('invalid sha');
  });

  it('keeps a fetch failure retryable, since the source may come back', async () => {
    const broken = { ...config, sourceRepo: join(dir, 'no-such-repo'), workDir: join(dir, 'work-broken') };
    const err: unknown = await runActivity(sourceActivities(broken).checkout, {
      sha: 'e'.repeat(40),
      deployId: 'deploy-offline',
    }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^failed to fetch .*no-such-repo/);
    expect((err as { nonRetryable?: boolean }).nonRetryable).toBeFalsy();
  });

  it('never shows a token from the repository URL in its messages', async () => {
    const withToken = { ...config, sourceRepo: 'http://deploy:s3cret@127.0.0.1:9/repo.git', workDir: join(dir, 'w2') };
    const err: unknown = await runActivity(sourceActivities(withToken).checkout, {
      sha: 'e'.repeat(40),
      deployId: 'deploy-token',
    }).catch((e: unknown) => e);

    expect((err as Error).message).toContain('failed to fetch http://127.0.0.1:9/repo.git');
    expect((err as Error).message).not.toContain('s3cret');
  });
});

describe('checkout from a repository behind HTTP Basic auth (git http-backend)', () => {
  const token = 'tok-9f8e7d6c5b4a3f2e1d0c';
  let server: GitHttpServer;
  let root: string;
  let sha: string;

  beforeAll(async () => {
    sha = await commit('served.txt', 'over http\n');
    root = join(dir, 'served');
    await execa('git', ['clone', '--quiet', '--bare', repo, join(root, 'app.git')]);
    server = await startGitHttpServer({ root, user: 'deploy', password: token });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('authenticates with the token from the URL, which no process ever has in its arguments', async () => {
    const url = `${server.origin.replace('://', `://deploy:${token}@`)}/app.git`;
    const withToken = { ...config, sourceRepo: url, workDir: join(dir, 'work-http') };

    const { workspace } = await runActivity(sourceActivities(withToken).checkout, { sha, deployId: 'deploy-http' });

    expect(await readFile(join(workspace, 'served.txt'), 'utf8')).toBe('over http\n');
    expect(server.requests.filter((r) => r.authorized).length).toBeGreaterThan(0);
    // The snapshots were taken while git was talking to the server: they hold its remote helper's command line.
    expect(server.commandLines.some((l) => l.includes(`${server.origin}/app.git`))).toBe(true);
    expect(server.commandLines.filter((l) => l.includes(token))).toEqual([]);
  });

  it('steps of three deploys that miss the commit at once on one worker fetch it once, through its one manager', async () => {
    const url = `${server.origin.replace('://', `://deploy:${token}@`)}/app.git`;
    const checkouts = sourceCheckouts({ ...config, sourceRepo: url, workDir: join(dir, 'work-http-shared') });
    const fetches = () => server.requests.filter((r) => r.path.endsWith('/info/refs')).length;
    const before = fetches();

    const workspaces = await Promise.all(
      ['a', 'b', 'c'].map((id) =>
        runActivity((ref: { sha: string; deployId: string }) => checkouts.ensure(ref), {
          sha,
          deployId: `shared-${id}`,
        }),
      ),
    );

    expect(fetches() - before).toBe(1);
    for (const ws of workspaces) expect(await readFile(join(ws, 'served.txt'), 'utf8')).toBe('over http\n');
  });

  it('fails retryably with a wrong token, naming the repository without the token', async () => {
    const url = `${server.origin.replace('://', '://deploy:wrong-token-0000@')}/app.git`;
    const broken = { ...config, sourceRepo: url, workDir: join(dir, 'work-http-wrong') };
    const before = server.requests.length;

    const err: unknown = await runActivity(sourceActivities(broken).checkout, {
      sha,
      deployId: 'deploy-http-wrong',
    }).catch((e: unknown) => e);

    expect((err as Error).message).toMatch(new RegExp(`^failed to fetch ${server.origin}/app.git: `));
    expect((err as Error).message).not.toContain('wrong-token-0000');
    expect((err as { nonRetryable?: boolean }).nonRetryable).toBeFalsy();
    expect(server.requests.slice(before).some((r) => !r.authorized)).toBe(true);
    expect(server.commandLines.filter((l) => l.includes('wrong-token-0000'))).toEqual([]);
  });
});

describe('cleanupWorkspace', () => {
  it('removes the workspace and succeeds again when it is already gone', async () => {
    const source = sourceActivities(config);
    const { workspace } = await runActivity(source.checkout, { sha: await git('rev-parse', 'HEAD'), deployId: 'gone' });

    await runActivity(source.cleanupWorkspace, { deployId: 'gone' });
    await runActivity(source.cleanupWorkspace, { deployId: 'gone' });

    expect(await exists(workspace)).toBe(false);
  });
});

describe('ensure (a later step on a worker that may not have the workspace)', () => {
  it('checks the commit out again when this worker has no workspace for the deploy', async () => {
    const sha = await commit('ensure.txt', 'at this commit\n');
    await commit('ensure.txt', 'later\n');
    // Another worker: its own work dir, no mirror yet.
    const elsewhere = sourceCheckouts({ ...config, workDir: join(dir, 'other-worker') });

    const workspace = await runActivity((ref: { sha: string; deployId: string }) => elsewhere.ensure(ref), {
      sha,
      deployId: 'deploy-moved',
    });

    expect(workspace).toBe(join(dir, 'other-worker/workspaces/deploy-moved'));
    expect(await readFile(join(workspace, 'ensure.txt'), 'utf8')).toBe('at this commit\n');
  });

  it('keeps an existing workspace as it is, with what earlier steps wrote into it', async () => {
    const source = sourceActivities(config);
    const sha = await git('rev-parse', 'HEAD');
    const { workspace } = await runActivity(source.checkout, { sha, deployId: 'deploy-kept' });
    await writeFile(join(workspace, 'built-here'), 'x');

    const again = await runActivity((ref: { sha: string; deployId: string }) => sourceCheckouts(config).ensure(ref), {
      sha,
      deployId: 'deploy-kept',
    });

    expect(again).toBe(workspace);
    expect(await exists(join(workspace, 'built-here'))).toBe(true);
  });

  it('makes one whole workspace when two steps ask for it at once, and leaves no partial checkout behind', async () => {
    const sha = await git('rev-parse', 'HEAD');
    const checkouts = sourceCheckouts(config);
    const ensure = (ref: { sha: string; deployId: string }) => checkouts.ensure(ref);

    const [a, b] = await Promise.all([
      runActivity(ensure, { sha, deployId: 'deploy-race' }),
      runActivity(ensure, { sha, deployId: 'deploy-race' }),
    ]);

    expect(a).toBe(b);
    expect(await readFile(join(a, 'ensure.txt'), 'utf8')).toBe('later\n');
    const leftovers = (await readdir(join(config.workDir, 'workspaces'))).filter((n) => n.includes('.partial-'));
    expect(leftovers).toEqual([]);
  });

  it('refuses a sha not in the repository, naming the field', async () => {
    const err = await failureOf(
      runActivity((ref: { sha: string; deployId: string }) => sourceCheckouts(config).ensure(ref), {
        sha: 'd'.repeat(40),
        deployId: 'deploy-unknown-sha',
      }),
    );
    expect(err.type).toBe(ErrorType.invalidInput);
    expect(err.message).toMatch(/^sha: commit d{40} is not in the source repository/);
  });
});
