/** The source step: a bare mirror of the deployed repository, and one clean workspace per deploy. */
import { ApplicationFailure, log } from '@temporalio/activity';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { WorkerConfig } from '../worker/config.js';
import { ErrorType } from '../shared/errors.js';
import type { CheckoutInput, CheckoutResult, CleanupInput, WorkspaceRef } from '../shared/types.js';
import { validateRelativePath, validateSha } from '../shared/validate.js';
import { describeFailure, runCommand, withHeartbeat, workerPath, type CommandOutput } from './command.js';
import { repositoryAccess } from './git-auth.js';
import { checked } from './input.js';
import { readRecipe } from './recipe.js';

/** A deploy id becomes a directory name: no slashes, no leading dot, so it cannot leave the workspaces folder. */
const DEPLOY_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export function workspacesRoot(config: WorkerConfig): string {
  return resolve(config.workDir, 'workspaces');
}

export function workspaceFor(config: WorkerConfig, deployId: unknown): string {
  if (typeof deployId !== 'string' || !DEPLOY_ID_RE.test(deployId)) {
    throw ApplicationFailure.nonRetryable(
      `invalid deployId: ${JSON.stringify(deployId) ?? 'nothing'} must be letters, digits, . _ - (no slashes, at most 200)`,
      ErrorType.invalidInput,
    );
  }
  return resolve(workspacesRoot(config), deployId);
}

/** Leftovers of an attempt that died mid-checkout: older than any checkout can take. */
const STALE_PARTIAL_MS = 15 * 60 * 1000;
/** A workspace whose deploy never cleaned it up (its worker died, or another worker finished the deploy). */
const STALE_WORKSPACE_MS = 24 * 60 * 60 * 1000;

/**
 * Checkouts of the source repository into per-deploy workspaces. A workspace appears by an atomic rename of a
 * complete tree, so one that exists is whole, and two steps (or two workers) materialising it at once never mix.
 */
export function sourceCheckouts(config: WorkerConfig) {
  const mirror = resolve(config.workDir, 'mirror.git');
  // A URL may carry a token (https://user:token@host/...): git gets it in its environment, never in its arguments.
  const access = repositoryAccess(config.sourceRepo, process.env);
  const repoShown = access.url;
  // git is the one tool that keeps the worker's environment: it fetches with the worker's credential helper or SSH
  // agent, and runs nothing from the repository.
  const git = (args: string[], env: Record<string, string> = {}): Promise<CommandOutput> =>
    runCommand({ file: 'git', args: ['--git-dir', mirror, ...args], secrets: access.secrets, env, inheritEnv: true });

  const hasCommit = async (sha: string): Promise<boolean> =>
    (await git(['cat-file', '-e', `${sha}^{commit}`])).exitCode === 0;

  /**
   * One fetch at a time per manager: steps of many deploys (one manager serves the whole worker) that miss a commit at
   * once wait for the fetch already under way, and fetch again only if it did not bring theirs.
   */
  let fetching: Promise<void> | undefined;
  async function fetchShared(sha: string): Promise<void> {
    while (fetching) {
      await fetching.catch(() => undefined);
      if (await hasCommit(sha)) return;
    }
    const own = fetchSource(sha).finally(() => {
      if (fetching === own) fetching = undefined;
    });
    fetching = own;
    await own;
  }

  async function fetchSource(sha: string): Promise<void> {
    const init = await runCommand({ file: 'git', args: ['init', '--quiet', '--bare', mirror], inheritEnv: true });
    if (init.exitCode !== 0) throw new Error(`failed to create git mirror ${mirror}: ${describeFailure(init)}`);
    // Its FETCH_HEAD names the source URL; nothing the sandbox users run needs to see it.
    await chmod(mirror, 0o700);
    const fetched = await git(
      ['fetch', '--quiet', '--prune', '--tags', access.url, '+refs/heads/*:refs/heads/*'],
      access.env,
    );
    // Retryable: a fetch fails for reasons that pass (network, a locked ref held by a concurrent fetch).
    if (fetched.exitCode !== 0) {
      throw new Error(`failed to fetch ${repoShown}: ${describeFailure(fetched)}; check DEPLOY_SOURCE_REPO`);
    }
    // A commit reachable only from another ref (a pull request head) can still be asked for by id.
    if (!(await hasCommit(sha))) await git(['fetch', '--quiet', access.url, sha], access.env);
  }

  /** Writes the tree of `sha` into a private directory next to `workspace`, then renames it into place. */
  async function materialize(sha: string, workspace: string): Promise<void> {
    if (!(await hasCommit(sha))) await fetchShared(sha);
    if (!(await hasCommit(sha))) {
      throw ApplicationFailure.nonRetryable(
        `sha: commit ${sha} is not in the source repository ${repoShown}; push it or pass a commit that is`,
        ErrorType.invalidInput,
      );
    }
    const partial = `${workspace}.partial-${randomUUID().slice(0, 8)}`;
    await mkdir(partial, { recursive: true });
    // Only root writes workspaces; the sandbox users read them (buildah reads the Dockerfile's context from here).
    await chmod(workspacesRoot(config), 0o711);
    try {
      // A private index per checkout, so concurrent checkouts never contend for the mirror's index lock.
      const out = await git(['--work-tree', partial, 'checkout', '--force', sha, '--', '.'], {
        GIT_INDEX_FILE: `${partial}.index`,
      });
      if (out.exitCode !== 0) {
        throw new Error(`failed to check out ${sha} into ${workspace}: ${describeFailure(out)}`);
      }
      await readableByAll(partial);
      try {
        await rename(partial, workspace);
      } catch (err) {
        // Someone else put a whole workspace there first; theirs is as good as ours.
        if (!isAlreadyThere(err)) throw err;
      }
    } finally {
      await Promise.all([rm(partial, { recursive: true, force: true }), rm(`${partial}.index`, { force: true })]);
    }
  }

  return {
    /** A fresh checkout: a retry starts from nothing, so a half-built tree from an earlier attempt never leaks in. */
    async fresh(input: WorkspaceRef): Promise<string> {
      const sha = checked(() => validateSha(input.sha));
      const workspace = workspaceFor(config, input.deployId);
      await rm(workspace, { recursive: true, force: true });
      await materialize(sha, workspace);
      await pruneStale(workspacesRoot(config));
      return workspace;
    },

    /** The deploy's workspace on this worker, checked out again when this worker has none. */
    async ensure(input: WorkspaceRef): Promise<string> {
      const sha = checked(() => validateSha(input.sha));
      const workspace = workspaceFor(config, input.deployId);
      if (await exists(workspace)) return workspace;
      log.info('workspace missing on this worker; checking the commit out again', { sha, deployId: input.deployId });
      await materialize(sha, workspace);
      return workspace;
    },
  };
}

/** The checkout manager of a worker: one, shared by every step that needs a deploy's workspace. */
export type SourceCheckouts = ReturnType<typeof sourceCheckouts>;

export function sourceActivities(config: WorkerConfig, checkouts: SourceCheckouts = sourceCheckouts(config)) {
  return {
    /** A fresh checkout, and the build recipe it holds (the target's, or the default one when there is one). */
    checkout: async (input: CheckoutInput): Promise<CheckoutResult> => {
      const named =
        input.recipePath === undefined
          ? undefined
          : checked(() => validateRelativePath(input.recipePath, 'recipePath'));
      const workspace = await withHeartbeat(() => checkouts.fresh(input));
      const recipe = await checked(() => readRecipe(workspace, named));
      return recipe ? { workspace, recipe } : { workspace };
    },

    cleanupWorkspace: async (input: CleanupInput): Promise<void> => {
      await rm(workspaceFor(config, input.deployId), { recursive: true, force: true });
    },
  };
}

/**
 * Makes a checkout readable by everyone and writable by root only, whatever the worker's umask: the sandbox users
 * build from it. `chmod -R` leaves symbolic links met on the way alone, so none can point it outside the tree.
 */
async function readableByAll(dir: string): Promise<void> {
  const out = await runCommand({ file: 'chmod', args: ['-R', 'u+rwX,go+rX,go-w', dir], env: { PATH: workerPath() } });
  if (out.exitCode !== 0) throw new Error(`failed to set the permissions of ${dir}: ${describeFailure(out)}`);
}

/** Removes half-written checkouts of dead attempts and workspaces nobody came back for. Best effort. */
async function pruneStale(root: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const path = resolve(root, name);
    const age = now - ((await stat(path).catch(() => undefined))?.mtimeMs ?? now);
    const limit = name.includes('.partial-') ? STALE_PARTIAL_MS : STALE_WORKSPACE_MS;
    if (age > limit) await rm(path, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

function isAlreadyThere(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ENOTEMPTY' || code === 'EEXIST';
}
