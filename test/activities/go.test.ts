/** The Go activities run the real toolchain on copies of app/. */
import { execaSync } from 'execa';
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { goActivities } from '../../src/activities/go.js';
import { ErrorType } from '../../src/shared/errors.js';
import type { WorkspaceRef } from '../../src/shared/types.js';
import { activityEnv, failureOf, runActivity } from '../support/activity.js';
import { ROOT } from '../../src/devstack/process.js';
import { COLD_GO_BUILD_MS, makeWorkspace, removeWorkspace, testConfig } from '../support/workspace.js';

const config = testConfig();
const HEAD = execaSync('git', ['-C', ROOT, 'rev-parse', 'HEAD']).stdout.trim();
const go = goActivities(config);
const workspaces: string[] = [];

async function workspace(label: string): Promise<string> {
  const ws = await makeWorkspace(config, label);
  workspaces.push(ws);
  return ws;
}

/** How the workflow names a workspace; the sha only matters when the workspace is missing and checked out again. */
const ref = (ws: string): WorkspaceRef => ({ sha: HEAD, deployId: basename(ws) });

/** Names (comm) of the processes descended from this one: the Go steps the activities start, in or out of bubblewrap. */
async function descendants(): Promise<string[]> {
  const parents = new Map<number, { ppid: number; comm: string }>();
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(pid), { ppid, comm });
    } catch {
      // Gone already.
    }
  }
  const mine = (pid: number): boolean => {
    for (let p = parents.get(pid)?.ppid; p !== undefined && p > 1; p = parents.get(p)?.ppid) {
      if (p === process.pid) return true;
    }
    return false;
  };
  return [...parents].filter(([pid]) => mine(pid)).map(([, v]) => v.comm);
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True when the ELF file has no PT_INTERP program header, i.e. needs no dynamic loader. */
function isStaticElf(bytes: Buffer): boolean {
  const phoff = Number(bytes.readBigUInt64LE(0x20));
  const phentsize = bytes.readUInt16LE(0x36);
  const phnum = bytes.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (bytes.readUInt32LE(phoff + i * phentsize) === 3) return false;
  }
  return true;
}

afterAll(async () => {
  await Promise.all(workspaces.map(removeWorkspace));
});

describe('buildApp', () => {
  it(
    'builds a static linux/amd64 binary into build/app and returns its sha256',
    async () => {
      const ws = await workspace('go-build');
      const result = await runActivity(go.buildApp, ref(ws));

      expect(result.binaryPath).toBe(join(ws, 'build/app'));
      const bytes = await readFile(result.binaryPath);
      expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
      expect(bytes[4]).toBe(2); // 64-bit
      expect(bytes.readUInt16LE(0x12)).toBe(0x3e); // x86-64
      expect(isStaticElf(bytes)).toBe(true);
      expect(result.binarySha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    },
    COLD_GO_BUILD_MS,
  );

  it(
    'fails with a non-retryable CompileError quoting the compiler when the code does not compile',
    async () => {
      const ws = await workspace('go-compile-error');
      await writeFile(join(ws, 'app/broken.go'), 'package main\n\nfunc broken() int { return undefinedThing }\n');

      const err = await failureOf(runActivity(go.buildApp, ref(ws)));
      expect(err.type).toBe(ErrorType.compile);
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toMatch(/^failed to build app: .*broken\.go:3:\d+: undefined: undefinedThing/);
    },
    COLD_GO_BUILD_MS,
  );

  it('refuses a deploy id that would lead out of the workspaces folder', async () => {
    const err = await failureOf(runActivity(go.buildApp, { sha: HEAD, deployId: '../../etc' }));
    expect(err.type).toBe(ErrorType.invalidInput);
    expect(err.nonRetryable).toBe(true);
  });
});

describe('testApp', () => {
  it(
    'runs the app tests and counts the passed tests and packages',
    async () => {
      const ws = await workspace('go-test');
      const result = await runActivity(go.testApp, ref(ws));
      expect(result.packages).toBe(1);
      expect(result.passed).toBeGreaterThanOrEqual(2);
    },
    COLD_GO_BUILD_MS,
  );

  it(
    'fails with a non-retryable TestFailure naming the failing test and showing its output',
    async () => {
      const ws = await workspace('go-test-fail');
      await writeFile(
        join(ws, 'app/broken_test.go'),
        'package main\n\nimport "testing"\n\nfunc TestBroken(t *testing.T) {\n\tt.Log("some context")\n\tt.Errorf("want 1, got 2")\n}\n',
      );

      const err = await failureOf(runActivity(go.testApp, ref(ws)));
      expect(err.type).toBe(ErrorType.testFailure);
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toContain('1 test failed: example.com/hello.TestBroken');
      expect(err.message).toContain('some context');
      expect(err.message).toContain('want 1, got 2');
      expect(err.message).not.toContain('TestRootSaysHelloWorld');
    },
    COLD_GO_BUILD_MS,
  );

  it(
    'fails with a CompileError when a test file does not compile',
    async () => {
      const ws = await workspace('go-test-compile');
      await writeFile(join(ws, 'app/broken_test.go'), 'package main\n\nfunc helper() { undefinedThing() }\n');

      const err = await failureOf(runActivity(go.testApp, ref(ws)));
      expect(err.type).toBe(ErrorType.compile);
      expect(err.message).toContain('did not compile');
      expect(err.message).toContain('undefined: undefinedThing');
    },
    COLD_GO_BUILD_MS,
  );

  it(
    'stops go test and its test binary when the activity is cancelled',
    async () => {
      const ws = await workspace('go-test-cancel');
      await writeFile(
        join(ws, 'app/slow_test.go'),
        'package main\n\nimport (\n\t"testing"\n\t"time"\n)\n\nfunc TestSlow(t *testing.T) { time.Sleep(time.Minute) }\n',
      );
      const env = activityEnv();
      const running = env.run(go.testApp, ref(ws));
      await until(async () => (await descendants()).includes('hello.test'), COLD_GO_BUILD_MS - 20_000);

      env.cancel();
      await expect(running).rejects.toBeInstanceOf(CancelledFailure);
      await until(async () => (await descendants()).length === 0, 10_000);
    },
    COLD_GO_BUILD_MS,
  );
});
