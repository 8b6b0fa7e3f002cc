/** The Go steps: build the static linux binary that gets shipped, and run the app's tests, both in the sandbox. */
import { ApplicationFailure } from '@temporalio/activity';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { WorkerConfig } from '../worker/config.js';
import { ErrorType } from '../shared/errors.js';
import type { BuildInput, BuildResult, TestInput, TestResult } from '../shared/types.js';
import { carried, describeFailure, withHeartbeat, type CommandOutput } from './command.js';
import { formatFailures, hasFailures, parseGoTestEvents } from './go-test-report.js';
import { checked } from './input.js';
import { validateBuildRecipe } from './recipe.js';
import { recipeBuilder } from './recipe-build.js';
import { copyRegular } from './repo-files.js';
import { sandbox, type GoStep, type Sandbox } from './sandbox.js';
import { sourceCheckouts, type SourceCheckouts } from './source.js';

/** Where the binary goes inside the workspace; the Dockerfile copies it from there. */
export const BINARY_PATH = 'build/app';

/** The Go module inside the workspace. */
const APP_DIR = 'app';

/**
 * Builds the app in `workspace` into build/app. Reproducible (-trimpath, no VCS stamp, the worker's own toolchain),
 * so any worker that builds the same commit gets the same bytes: packaging relies on that.
 *
 * Every step runs in the sandbox. Only steps that run nothing from the repository (the module download, compiling)
 * may write the shared Go caches; the test run reads them and cannot change what later deploys build.
 */
export function goBuilder(config: WorkerConfig, box: Sandbox = sandbox(config)) {
  const step = <T = never>(
    workspace: string,
    s: Omit<GoStep, 'workspace' | 'dir'>,
    collect?: (outDir: string, output: CommandOutput) => Promise<T>,
  ) => box.go<T>({ workspace, dir: APP_DIR, ...s }, collect);

  /** Fetches the modules go.mod names, so builds and tests need no module proxy (and, if so set, no network). */
  async function download(workspace: string): Promise<void> {
    const { output } = await step(workspace, { args: () => ['mod', 'download'], writeCache: true, download: true });
    if (output.spawnError) throw noGo('download modules', output);
    if (output.exitCode !== 0) {
      throw new Error(
        `failed to download the app's Go modules: ${describeFailure(output)}; check go.mod and go.sum, ` +
          'and that the worker reaches the module proxy (GOPROXY)',
      );
    }
  }

  return {
    async build(workspace: string): Promise<BuildResult> {
      await download(workspace);
      const binaryPath = resolve(workspace, BINARY_PATH);
      // A checkout may carry a build/ of its own (even a build/app that links elsewhere): start from nothing.
      await rm(resolve(workspace, 'build'), { recursive: true, force: true });
      await mkdir(resolve(workspace, 'build'));
      // Readable by the image user, whatever the worker's umask.
      await chmod(resolve(workspace, 'build'), 0o755);
      // go writes into the step's own out directory; the worker copies the result into the workspace, so the
      // binary that is hashed, tested against and packaged is root's, and nothing in a sandbox can change it.
      const { output, collected } = await step(
        workspace,
        { args: (p) => ['build', '-trimpath', '-o', `${p.out}/app`, '.'], writeCache: true },
        async (outDir, out) => (out.exitCode === 0 ? copyRegular(join(outDir, 'app'), binaryPath, 0o755) : undefined),
      );
      if (output.spawnError) throw noGo('build app', output);
      if (output.exitCode !== 0 || collected === undefined) {
        throw ApplicationFailure.nonRetryable(
          `failed to build app: ${compilerErrors(output.stderr)}; fix the code at this commit and deploy again`,
          ErrorType.compile,
        );
      }
      return { binaryPath, binarySha256: collected };
    },

    /** Runs the tests; returns go test's output whatever the result. */
    async test(workspace: string): Promise<CommandOutput> {
      await download(workspace);
      if (box.enabled) {
        // Compiles the test binaries, and vets the packages, into the shared cache without running anything from
        // the repository, so the run below finds both there instead of redoing them in its throwaway overlay for
        // every deploy. Failures here (a test that does not compile) show again in the run, which reports them.
        await step(workspace, { args: (p) => ['test', '-c', '-o', `${p.tmp}/tests/`, './...'], writeCache: true });
        await step(workspace, { args: () => ['vet', './...'], writeCache: true });
      }
      const { output } = await step(workspace, { args: () => ['test', '-json', './...'], writeCache: false });
      if (output.spawnError) throw noGo('test app', output);
      return output;
    },
  };
}

export function goActivities(config: WorkerConfig, checkouts: SourceCheckouts = sourceCheckouts(config)) {
  const box = sandbox(config);
  const builder = goBuilder(config, box);
  const recipes = recipeBuilder(config, box);

  return {
    /** Builds by the checkout's recipe when it has one, else the Go app in app/. */
    buildApp: async (input: BuildInput): Promise<BuildResult> => {
      const recipe = input.recipe === undefined ? undefined : checked(() => validateBuildRecipe(input.recipe));
      return withHeartbeat(async () => {
        const workspace = await checkouts.ensure(input);
        return recipe ? recipes.build(workspace, recipe) : builder.build(workspace);
      });
    },

    testApp: async (input: TestInput): Promise<TestResult> => {
      const workspace = await withHeartbeat(() => checkouts.ensure(input));
      if (input.recipe !== undefined) {
        const recipe = checked(() => validateBuildRecipe(input.recipe));
        return await withHeartbeat(() => recipes.test(workspace, recipe, input.binarySha256));
      }
      const out = await builder.test(workspace);
      const report = parseGoTestEvents(out.stdout);
      if (hasFailures(report)) {
        const type = report.buildFailures.length > 0 ? ErrorType.compile : ErrorType.testFailure;
        throw ApplicationFailure.nonRetryable(`failed to test app: ${carried(formatFailures(report))}`, type);
      }
      if (out.exitCode !== 0) {
        // go itself failed before any test ran (no go.mod, a bad pattern): only stderr says why.
        throw ApplicationFailure.nonRetryable(`failed to test app: ${describeFailure(out)}`, ErrorType.testFailure);
      }
      return { passed: report.passedTests, packages: report.passedPackages };
    },
  };
}

function noGo(what: string, out: CommandOutput): Error {
  return new Error(`failed to ${what}: ${describeFailure(out)}; are Go and bubblewrap installed on the worker?`);
}

/** The compiler's own lines, without the `# package` headers, so the message starts at the first error. */
function compilerErrors(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('# '));
  return carried(lines.slice(0, 20).join('\n')) || 'go build failed without output';
}
