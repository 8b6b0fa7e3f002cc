/**
 * Building and testing by a recipe (recipe.ts): its commands are the repository's code, so they run in the sandbox
 * exactly as the Go steps do (sandbox.ts), as the sandbox user with the allow-listed environment, and never write
 * the shared caches. The build writes under $OUT; the worker copies the artifacts into the checkout, where the
 * tests and the image build find them, and hashes them: that hash is what the image must hold.
 */
import { ApplicationFailure, log } from '@temporalio/activity';
import { createHash, randomUUID } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { basename, join, posix, resolve } from 'node:path';
import type { WorkerConfig } from '../worker/config.js';
import { ErrorType } from '../shared/errors.js';
import type { BuildRecipe, BuildResult } from '../shared/types.js';
import { ValidationError } from '../shared/validate.js';
import { carried, describeFailure, type CommandOutput } from './command.js';
import { formatFailures, hasFailures, parseGoTestEvents } from './go-test-report.js';
import { checkRepoFile, copyOpened, MissingRepoFile, openRepoFile, realDirectory } from './repo-files.js';
import { sandbox, type Sandbox } from './sandbox.js';
import type { GoStepPaths } from './sandbox-commands.js';

/** `$OUT` or `${OUT}` in a build argument: the step's output directory, as the step sees it. */
const OUT_RE = /\$\{OUT\}|\$OUT(?![A-Za-z0-9_])/g;

/**
 * The hash the image label and the ledger carry: a single artifact's own sha256 (as for the Go recipe's build/app),
 * else the sha256 of `sha256sum`'s listing of them, sorted by path.
 */
export function artifactsSha256(files: { path: string; sha256: string }[]): string {
  const [only, ...rest] = files;
  if (only && rest.length === 0) return only.sha256;
  const listing = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `${f.sha256}  ${f.path}\n`)
    .join('');
  return createHash('sha256').update(listing).digest('hex');
}

/** The variables a recipe's steps get besides the allow-listed ones: the platform the image is for. */
function platformEnv(recipe: BuildRecipe): Record<string, string> {
  const [os = 'linux', arch = 'amd64'] = recipe.platform.split('/');
  return { TARGETPLATFORM: recipe.platform, TARGETOS: os, TARGETARCH: arch };
}

function goarchOf(recipe: BuildRecipe): 'amd64' | 'arm64' {
  return recipe.platform === 'linux/arm64' ? 'arm64' : 'amd64';
}

export function recipeBuilder(config: WorkerConfig, box: Sandbox = sandbox(config)) {
  /**
   * A Go module in the working directory is prepared by the toolchain alone, which runs no repository code and so may
   * write the shared caches: its modules are fetched (the recipe's commands then run with GOPROXY=off), and the
   * standard library is compiled for the step's architecture and flags once for every deploy, instead of in each
   * step's throwaway overlay.
   */
  async function prepareGo(
    workspace: string,
    recipe: BuildRecipe,
    std: { goarch: 'amd64' | 'arm64' | 'native'; command: string[] },
  ): Promise<void> {
    const goMod = recipe.workdir === '.' ? 'go.mod' : `${recipe.workdir}/go.mod`;
    if (!(await checkRepoFile(workspace, goMod, { field: 'recipe.workdir' }).catch(() => false))) return;
    await downloadModules(workspace, recipe);
    if (std.command[0] !== 'go') return;
    // An empty folder of the worker's, not the checkout: nothing of the repository (go.mod, go.work) is read.
    const { output } = await box.go({
      workspace: resolve(config.workDir, 'sandbox'),
      dir: '',
      args: () => ['build', ...(std.command.includes('-trimpath') ? ['-trimpath'] : []), 'std'],
      goarch: std.goarch,
      writeCache: true,
    });
    if (output.exitCode !== 0) log.warn('could not compile the standard library ahead', { detail: output.stderr });
  }

  async function downloadModules(workspace: string, recipe: BuildRecipe): Promise<void> {
    const { output } = await box.go({
      workspace,
      dir: recipe.workdir,
      args: () => ['mod', 'download'],
      writeCache: true,
      download: true,
    });
    if (output.exitCode !== 0) {
      throw new Error(
        `failed to download the Go modules of ${recipe.workdir}: ${describeFailure(output)}; check go.mod and ` +
          'go.sum, and that the worker reaches the module proxy (GOPROXY)',
      );
    }
  }

  /** The hash of the artifacts in the checkout, or undefined when any is missing or not a regular file there. */
  async function artifactsInCheckout(workspace: string, recipe: BuildRecipe): Promise<string | undefined> {
    const files: { path: string; sha256: string }[] = [];
    for (const path of recipe.artifacts) {
      const handle = await openRepoFile(workspace, posix.join(recipe.context, path), 'artifact').catch(() => undefined);
      if (!handle) return undefined;
      try {
        const hash = createHash('sha256');
        for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
        files.push({ path, sha256: hash.digest('hex') });
      } finally {
        await handle.close();
      }
    }
    return artifactsSha256(files);
  }

  /**
   * Copies the artifacts from the step's out directory into the checkout, at the same paths under the context. The
   * out directory was the sandbox's: each file is opened without following a link out of it. Each lands by a rename,
   * so a test and a package step that both rebuild on one worker never see half a file.
   */
  async function placeArtifacts(
    workspace: string,
    recipe: BuildRecipe,
    outDir: string,
  ): Promise<{ path: string; sha256: string }[]> {
    const context = await realDirectory(workspace, recipe.context, { field: 'recipe.context', create: false });
    const placed: { path: string; sha256: string }[] = [];
    for (const path of recipe.artifacts) {
      let source;
      try {
        source = await openRepoFile(outDir, path, 'recipe.artifact');
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        const what = err instanceof MissingRepoFile ? 'did not write' : 'left something other than a regular file at';
        throw ApplicationFailure.nonRetryable(
          `failed to build by ${recipe.path}: the build ${what} $OUT/${path}; write the artifact there, or fix "artifact"`,
          ErrorType.compile,
        );
      }
      try {
        const dir = await realDirectory(context, posix.dirname(path), { field: 'recipe.artifact', create: true });
        const mode = (await source.stat()).mode & 0o111 ? 0o755 : 0o644;
        const target = join(dir, basename(path));
        const partial = join(dir, `.${basename(path)}.${randomUUID().slice(0, 8)}.partial`);
        try {
          const sha256 = await copyOpened(source, partial, mode);
          await rename(partial, target);
          placed.push({ path, sha256 });
        } finally {
          await rm(partial, { force: true });
        }
      } finally {
        await source.close();
      }
    }
    return placed;
  }

  async function buildOnce(workspace: string, recipe: BuildRecipe): Promise<BuildResult> {
    await prepareGo(workspace, recipe, { goarch: goarchOf(recipe), command: recipe.build });
    const [program = '', ...rest] = recipe.build;
    const { output, collected } = await box.go(
      {
        workspace,
        dir: recipe.workdir,
        program,
        args: (p: GoStepPaths) => rest.map((arg) => arg.replace(OUT_RE, p.out)),
        env: (p: GoStepPaths) => ({ OUT: p.out, ...platformEnv(recipe) }),
        goarch: goarchOf(recipe),
        outDirs: [...new Set(recipe.artifacts.map((a) => posix.dirname(a)))],
        writeCache: false,
      },
      async (outDir, out) => (out.exitCode === 0 ? await placeArtifacts(workspace, recipe, outDir) : undefined),
    );
    if (output.exitCode !== 0 || collected === undefined) {
      throw ApplicationFailure.nonRetryable(
        `failed to build by ${recipe.path} (${program} in ${recipe.workdir}): ${commandFailure(output)}; fix the ` +
          'code or the recipe at this commit and deploy again',
        ErrorType.compile,
      );
    }
    const first = collected[0]?.path ?? '';
    return { binaryPath: join(workspace, recipe.context, first), binarySha256: artifactsSha256(collected) };
  }

  const builder = {
    async build(workspace: string, recipe: BuildRecipe): Promise<BuildResult> {
      try {
        return await buildOnce(workspace, recipe);
      } catch (err) {
        // A context or artifact folder that is a link or a file in the commit: no retry changes the commit.
        if (!(err instanceof ValidationError)) throw err;
        throw ApplicationFailure.nonRetryable(
          `failed to build by ${recipe.path}: ${err.message}`,
          ErrorType.invalidInput,
        );
      }
    },

    /**
     * Runs the recipe's test command in the checkout with the built artifacts in place: the very files the build
     * stage hashed, rebuilt and checked on a worker that has none.
     */
    async test(
      workspace: string,
      recipe: BuildRecipe,
      artifactsSha: string | undefined,
    ): Promise<{ passed: number; packages: number }> {
      if (artifactsSha !== undefined) await builder.requireArtifacts(workspace, recipe, artifactsSha, 'test');
      await prepareGo(workspace, recipe, { goarch: 'native', command: recipe.test });
      const [program = '', ...rest] = recipe.test;
      const { output } = await box.go({
        workspace,
        dir: recipe.workdir,
        program,
        args: () => rest,
        env: () => platformEnv(recipe),
        // Tests run here, on the worker's own architecture, whatever the image is built for.
        goarch: 'native',
        writeCache: false,
      });
      const report = parseGoTestEvents(output.stdout);
      if (hasFailures(report)) {
        const type = report.buildFailures.length > 0 ? ErrorType.compile : ErrorType.testFailure;
        throw ApplicationFailure.nonRetryable(
          `failed to test by ${recipe.path}: ${carried(formatFailures(report))}`,
          type,
        );
      }
      if (output.exitCode !== 0) {
        throw ApplicationFailure.nonRetryable(
          `failed to test by ${recipe.path} (${program} in ${recipe.workdir}): ${commandFailure(output)}`,
          ErrorType.testFailure,
        );
      }
      return { passed: report.passedTests, packages: report.passedPackages };
    },

    /**
     * The artifacts in the checkout must be the ones the build stage hashed. On another worker, or after a restart,
     * they are missing: build again and prove the result is the same.
     */
    async requireArtifacts(workspace: string, recipe: BuildRecipe, expected: string, step: string): Promise<void> {
      if ((await artifactsInCheckout(workspace, recipe)) === expected) return;
      log.info('the built artifacts are not on this worker; building them again', { workspace, recipe: recipe.path });
      const rebuilt = await builder.build(workspace, recipe);
      if (rebuilt.binarySha256 !== expected) {
        throw ApplicationFailure.nonRetryable(
          `failed to ${step} by ${recipe.path}: the artifacts rebuilt on this worker hash to ${rebuilt.binarySha256}, ` +
            `but the build stage produced ${expected}; the build is not reproducible here, so what was built and ` +
            'tested cannot be packaged. Make the build reproducible (pinned tools, no timestamps) and deploy again',
          ErrorType.binaryMismatch,
        );
      }
    },
  };
  return builder;
}

/** What a failed command said, or why it could not start (a program the worker does not have). */
function commandFailure(out: CommandOutput): string {
  const why = describeFailure(out);
  return out.spawnError ? `${why} (is the program installed on the worker?)` : why;
}
