/** A throwaway git repository holding this project's app, for deploys of commits made by the test. */
import { execa } from 'execa';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECSClient } from '@aws-sdk/client-ecs';
import { MOTO_CREDENTIALS } from './seed.js';
import { ROOT } from './process.js';
import { startStack, type Stack, type StackOptions } from './stack.js';

export interface SourceRepo {
  dir: string;
  /** Commits the edit and returns the new SHA. */
  commit(message: string, edit?: (dir: string) => Promise<void>): Promise<string>;
  remove(): Promise<void>;
}

export async function makeSourceRepo(): Promise<SourceRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'source-'));
  for (const path of ['app', 'deploy', 'Dockerfile', '.dockerignore']) {
    await cp(join(ROOT, path), join(dir, path), { recursive: true });
  }
  const git = (...args: string[]) => execa('git', ['-C', dir, ...args]);
  await git('init', '--quiet', '--initial-branch', 'main');
  await git('config', 'user.email', 'e2e@example.com');
  await git('config', 'user.name', 'e2e');
  const repo: SourceRepo = {
    dir,
    async commit(message, edit) {
      if (edit) await edit(dir);
      await git('add', '-A');
      await git('commit', '--quiet', '--allow-empty', '-m', message);
      return (await git('rev-parse', 'HEAD')).stdout.trim();
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
  return repo;
}

/** Makes the greeting test expect something else, so `go test` fails with a named test. */
export async function breakGreetingTest(dir: string): Promise<void> {
  const path = join(dir, 'app', 'main_test.go');
  const text = await readFile(path, 'utf8');
  if (!text.includes(`body != "Hello World"`))
    throw new Error('app/main_test.go no longer asserts "Hello World"; update this helper');
  await writeFile(path, text.replace(`body != "Hello World"`, `body != "Goodbye World"`));
}

/** The local stack deploying from a throwaway copy of the app's repository, with an ECS client on its emulator. */
export interface AppStack {
  stack: Stack;
  source: SourceRepo;
  ecs: ECSClient;
  stop(): Promise<void>;
}

export async function startAppStack(
  opts: Pick<StackOptions, 'cluster' | 'approvalPolicy' | 'webhookUrl'> = {},
): Promise<AppStack> {
  const source = await makeSourceRepo();
  let stack: Stack;
  try {
    stack = await startStack({ ...opts, sourceRepo: source.dir });
  } catch (err) {
    await source.remove();
    throw err;
  }
  const ecs = new ECSClient({
    region: stack.env.AWS_REGION,
    endpoint: stack.env.AWS_ENDPOINT_URL,
    credentials: MOTO_CREDENTIALS,
  });
  return {
    stack,
    source,
    ecs,
    async stop() {
      ecs.destroy();
      await stack.stop();
      await source.remove();
    },
  };
}
