/** The Go steps: build the static linux binary that gets shipped, and run the app's tests. */
import { ApplicationFailure } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { WorkerConfig } from '../shared/config.js';
import { ErrorType } from '../shared/errors.js';
import type { BuildInput, BuildResult, TestInput, TestResult } from '../shared/types.js';
import { describeFailure, runCommand, tail, withHeartbeat, type CommandOutput } from './command.js';
import { formatFailures, hasFailures, parseGoTestEvents } from './go-test-report.js';
import { sourceCheckouts } from './source.js';

/** Where the binary goes inside the workspace; the Dockerfile copies it from there. */
export const BINARY_PATH = 'build/app';

/**
 * Builds the app in `workspace` into build/app. Reproducible (-trimpath, no VCS stamp, the worker's own toolchain),
 * so any worker that builds the same commit gets the same bytes: packaging relies on that.
 */
export function goBuilder(config: WorkerConfig) {
  // Build and test share one environment, so the test run reuses what the build compiled.
  const env = {
    CGO_ENABLED: '0',
    GOOS: 'linux',
    GOARCH: 'amd64',
    GOCACHE: resolve(config.cacheDir, 'go-build'),
    GOMODCACHE: resolve(config.cacheDir, 'go-mod'),
    // Never download a toolchain mid-deploy: a go.mod asking for a newer Go fails with a clear message instead.
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-buildvcs=false',
  };
  const go = (args: string[], cwd: string): Promise<CommandOutput> => runCommand({ file: 'go', args, cwd, env });

  return {
    go,
    async build(workspace: string): Promise<BuildResult> {
      const binaryPath = resolve(workspace, BINARY_PATH);
      await mkdir(resolve(workspace, 'build'), { recursive: true });
      const out = await go(['build', '-trimpath', '-o', binaryPath, '.'], resolve(workspace, 'app'));
      if (out.spawnError)
        throw new Error(`failed to build app: ${describeFailure(out)}; is Go installed on the worker?`);
      if (out.exitCode !== 0) {
        throw ApplicationFailure.nonRetryable(
          `failed to build app: ${compilerErrors(out.stderr)}; fix the code at this commit and deploy again`,
          ErrorType.compile,
        );
      }
      return { binaryPath, binarySha256: await sha256File(binaryPath) };
    },
  };
}

export function goActivities(config: WorkerConfig) {
  const builder = goBuilder(config);
  const checkouts = sourceCheckouts(config);

  return {
    buildApp: async (input: BuildInput): Promise<BuildResult> =>
      withHeartbeat(async () => builder.build(await checkouts.ensure(input))),

    testApp: async (input: TestInput): Promise<TestResult> => {
      const workspace = await withHeartbeat(() => checkouts.ensure(input));
      const out = await builder.go(['test', '-json', './...'], resolve(workspace, 'app'));
      if (out.spawnError)
        throw new Error(`failed to test app: ${describeFailure(out)}; is Go installed on the worker?`);
      const report = parseGoTestEvents(out.stdout);
      if (hasFailures(report)) {
        const type = report.buildFailures.length > 0 ? ErrorType.compile : ErrorType.testFailure;
        throw ApplicationFailure.nonRetryable(`failed to test app: ${formatFailures(report)}`, type);
      }
      if (out.exitCode !== 0) {
        // go itself failed before any test ran (no go.mod, a bad pattern): only stderr says why.
        throw ApplicationFailure.nonRetryable(`failed to test app: ${describeFailure(out)}`, ErrorType.testFailure);
      }
      return { passed: report.passedTests, packages: report.passedPackages };
    },
  };
}

/** The compiler's own lines, without the `# package` headers, so the message starts at the first error. */
function compilerErrors(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('# '));
  return tail(lines.slice(0, 20).join('\n'), 20) || 'go build failed without output';
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
