/** The source step: a bare mirror of the deployed repository, and one clean workspace per deploy. */
import { ApplicationFailure } from '@temporalio/activity';
import { mkdir, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { WorkerConfig } from '../shared/config.js';
import { ErrorType } from '../shared/errors.js';
import type { CheckoutInput, CheckoutResult, CleanupInput } from '../shared/types.js';
import { validateSha } from '../shared/validate.js';
import { describeFailure, runCommand, type CommandOutput } from './command.js';
import { checked } from './input.js';

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

/** Checks that a workspace handed to a later step is one this worker made, so no step runs on an arbitrary path. */
export function checkWorkspace(config: WorkerConfig, workspace: string): string {
  const root = workspacesRoot(config);
  const path = resolve(workspace);
  if (!path.startsWith(`${root}/`) || path.slice(root.length + 1).includes('/')) {
    throw ApplicationFailure.nonRetryable(
      `invalid workspace: ${workspace} is not a workspace under ${root}; pass the one checkout returned`,
      ErrorType.invalidInput,
    );
  }
  return path;
}

export function sourceActivities(config: WorkerConfig) {
  const mirror = resolve(config.workDir, 'mirror.git');
  // A URL may carry a token (https://user:token@host/...): messages show the repository without it.
  const userinfo = /^[a-z+]+:\/\/([^/@]+)@/i.exec(config.sourceRepo)?.[1];
  const secrets = userinfo ? [userinfo] : [];
  const repoShown = userinfo ? config.sourceRepo.replace(`${userinfo}@`, '') : config.sourceRepo;
  const git = (args: string[], env?: Record<string, string>): Promise<CommandOutput> =>
    runCommand({ file: 'git', args: ['--git-dir', mirror, ...args], secrets, ...(env ? { env } : {}) });

  const hasCommit = async (sha: string): Promise<boolean> =>
    (await git(['cat-file', '-e', `${sha}^{commit}`])).exitCode === 0;

  async function fetchSource(sha: string): Promise<void> {
    const init = await runCommand({ file: 'git', args: ['init', '--quiet', '--bare', mirror] });
    if (init.exitCode !== 0) throw new Error(`failed to create git mirror ${mirror}: ${describeFailure(init)}`);
    const fetched = await git([
      'fetch',
      '--quiet',
      '--prune',
      '--tags',
      config.sourceRepo,
      '+refs/heads/*:refs/heads/*',
    ]);
    // Retryable: a fetch fails for reasons that pass (network, a locked ref held by a concurrent fetch).
    if (fetched.exitCode !== 0) {
      throw new Error(`failed to fetch ${repoShown}: ${describeFailure(fetched)}; check DEPLOY_SOURCE_REPO`);
    }
    // A commit reachable only from another ref (a pull request head) can still be asked for by id.
    if (!(await hasCommit(sha))) await git(['fetch', '--quiet', config.sourceRepo, sha]);
  }

  return {
    checkout: async (input: CheckoutInput): Promise<CheckoutResult> => {
      const sha = checked(() => validateSha(input.sha));
      const workspace = workspaceFor(config, input.deployId);
      if (!(await hasCommit(sha))) await fetchSource(sha);
      if (!(await hasCommit(sha))) {
        throw ApplicationFailure.nonRetryable(
          `sha: commit ${sha} is not in the source repository ${repoShown}; push it or pass a commit that is`,
          ErrorType.invalidInput,
        );
      }
      // A retry starts from nothing, so a half-written tree from an earlier attempt never leaks into the build.
      await rm(workspace, { recursive: true, force: true });
      await mkdir(workspace, { recursive: true });
      // A private index per deploy, so concurrent checkouts never contend for the mirror's index lock.
      const index = `${workspace}.index`;
      try {
        const out = await git(['--work-tree', workspace, 'checkout', '--force', sha, '--', '.'], {
          GIT_INDEX_FILE: index,
        });
        if (out.exitCode !== 0) {
          throw new Error(`failed to check out ${sha} into ${workspace}: ${describeFailure(out)}`);
        }
      } finally {
        await rm(index, { force: true });
      }
      return { workspace };
    },

    cleanupWorkspace: async (input: CleanupInput): Promise<void> => {
      await rm(workspaceFor(config, input.deployId), { recursive: true, force: true });
    },
  };
}
