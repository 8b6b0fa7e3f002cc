/**
 * Workers die mid-stage (SIGKILL to the worker and all it started), another worker on another machine (its own
 * work dir, no workspace) takes over, and the deploy ends as it should with every side effect done exactly once.
 * Then: two workers with one killed mid-deploy, and the Temporal server restarted under a waiting CLI.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildResult, DeployResult, StageName } from '../../src/shared/types.js';
import { TOOLS_BIN, startService, type Service } from '../../src/devstack/process.js';
import { pullImage } from '../support/registry.js';
import { activityResult, recordCounts, startFaultStack, until, type FaultStack, type Worker } from './harness.js';

let fs: FaultStack;
let worker: Worker;
let temporal: Service | undefined;
const survived: string[] = [];

beforeAll(async () => {
  fs = await startFaultStack();
  worker = await fs.startWorker('w0');
}, 180_000);

afterAll(async () => {
  await recordCounts('crash', { crashPointsSurvived: survived.length, crashPoints: survived });
  for (const w of fs?.workers ?? []) await w.proc.stop();
  await temporal?.stop();
  await fs?.stop();
});

interface CrashCase {
  stage: StageName;
  /** Arms the fault that keeps the stage running long enough, and waits until the kill lands inside it. */
  arm: () => Promise<() => Promise<void>>;
  expected: DeployResult['status'];
}

/** Holds the answer to the first matching AWS call after it took effect, and waits until the call was made. */
function holdAws(operation: string, skip = 0) {
  return async () => {
    const rule = fs.aws.addRule({ service: 'ecs', operation, skip, times: 1, fault: { kind: 'hold', ms: 8_000 } });
    return async () => {
      await until(() => rule.injected > 0 || undefined, 90_000, `${operation} to be sent`);
      rule.remove();
    };
  };
}

function slowTool(tool: 'git' | 'go', sub: string, stage: StageName) {
  return async () => {
    await fs.slow(tool, sub, 8);
    return async () => {
      const run = fs.runs.at(-1);
      if (!run) throw new Error('no deploy');
      await fs.waitForStage(run, stage);
      await new Promise((r) => setTimeout(r, 1_000));
      await fs.unslow(tool, sub);
    };
  };
}

const cases: CrashCase[] = [
  { stage: 'checkout', arm: slowTool('git', 'checkout', 'checkout'), expected: 'succeeded' },
  { stage: 'build', arm: slowTool('go', 'build', 'build'), expected: 'succeeded' },
  { stage: 'test', arm: slowTool('go', 'test', 'test'), expected: 'succeeded' },
  {
    stage: 'package',
    // Killed after the manifest reached the registry and before the worker heard back: the push happened.
    arm: async () => {
      const rule = fs.registry.addRule({
        method: 'PUT',
        path: /\/manifests\//,
        times: 1,
        fault: { kind: 'hold', ms: 8_000 },
      });
      return async () => {
        await until(() => rule.injected > 0 || undefined, 90_000, 'the manifest push');
        rule.remove();
      };
    },
    expected: 'succeeded',
  },
  { stage: 'register', arm: holdAws('RegisterTaskDefinition'), expected: 'succeeded' },
  { stage: 'update', arm: holdAws('UpdateService'), expected: 'succeeded' },
  {
    stage: 'wait_stable',
    arm: async () => {
      await fs.nextRollout('succeed', 2_000);
      return async () => {
        const run = fs.runs.at(-1);
        if (!run) throw new Error('no deploy');
        await fs.waitForStage(run, 'wait_stable');
      };
    },
    expected: 'succeeded',
  },
  {
    stage: 'rollback',
    // The rollout fails; the kill lands after the rollback's UpdateService took effect, before its answer.
    arm: async () => {
      await fs.nextRollout('fail');
      return await holdAws('UpdateService', 1)();
    },
    expected: 'rolled_back',
  },
];

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

describe('a worker killed mid-stage', () => {
  test.each(cases)(
    'at $stage: a new worker on another machine finishes the deploy ($expected), each side effect once',
    async ({ stage, arm, expected }) => {
      const sha = await fs.source.commit(`crash at ${stage}`);
      const before = await fs.service();
      const revisionsBefore = (await fs.revisions()).length;
      const updatesBefore = fs.aws.count('ecs', 'UpdateService');

      const landed = await arm();
      const run = await fs.startDeploy(sha);
      await landed();
      await fs.crash(worker);
      worker = await fs.startWorker(`after-${stage}`);

      const result = await fs.result(run);
      expect({ status: result.status, failedAt: result.error?.stage }).toEqual({
        status: expected,
        failedAt: expected === 'succeeded' ? undefined : 'wait_stable',
      });
      // One new revision, one push of the SHA, one update (and one more to roll back).
      expect((await fs.revisions()).length - revisionsBefore).toBe(1);
      expect(fs.pushes(sha)).toBe(1);
      expect(fs.aws.count('ecs', 'UpdateService') - updatesBefore).toBe(expected === 'rolled_back' ? 2 : 1);
      const after = await fs.service();
      expect(after.taskDefinition).toBe(expected === 'succeeded' ? result.taskDefinitionArn : before.taskDefinition);
      expect(after.deployments?.find((d) => d.status === 'PRIMARY')?.rolloutState).toBe('COMPLETED');
      survived.push(stage);
    },
    240_000,
  );
});

describe('two workers on one task queue', () => {
  // Which worker ran checkout, build or package is Temporal's choice; assert only what must hold whichever did.
  test('when the worker running a step is killed, the other finishes the deploy with the tested binary', async () => {
    const other = await fs.startWorker('second');
    const sha = await fs.source.commit('two workers');
    const revisionsBefore = (await fs.revisions()).length;
    await fs.slow('go', 'build', 6);
    const run = await fs.startDeploy(sha);
    await fs.waitForStage(run, 'build');
    // Kill whichever worker holds the build.
    const holder = await until(
      async () => {
        const described = await run.handle.describe();
        const identity = described.raw.pendingActivities?.[0]?.lastWorkerIdentity ?? '';
        return fs.workers.find((w) => identity.startsWith(`${w.pid}@`));
      },
      30_000,
      'the build to be picked up',
    );
    await fs.unslow('go', 'build');
    await fs.crash(holder);
    const survivor = holder === other ? worker : other;

    const result = await fs.result(run);

    expect(result.status).toBe('succeeded');
    expect(fs.pushes(sha)).toBe(1);
    expect((await fs.revisions()).length - revisionsBefore).toBe(1);
    expect((await fs.service()).taskDefinition).toBe(result.taskDefinitionArn);
    // The image holds the binary the build stage hashed and the tests ran against, wherever each step ran.
    const built = activityResult<BuildResult>(await run.handle.fetchHistory(), 'buildApp');
    const image = await pullImage(fs.stack.env.DEPLOY_REGISTRY ?? '', 'hello', sha);
    try {
      expect(await sha256Of(join(image.rootfs, 'app'))).toBe(built?.binarySha256);
    } finally {
      await image.remove();
    }
    // Nothing of this deploy is left on the survivor: no workspace, no credentials directory.
    const workspaces = await readdir(join(survivor.workDir, 'workspaces')).catch(() => [] as string[]);
    expect(workspaces.filter((n) => n.startsWith(run.workflowId))).toEqual([]);
    expect((await readdir(survivor.workDir)).filter((n) => n.startsWith('image-'))).toEqual([]);
    worker = survivor;
    survived.push('two-workers:build');
  }, 240_000);
});

describe('the Temporal server restarted mid-deploy', () => {
  test('the deploy continues once the server is back, and the waiting CLI reconnects and prints the result', async () => {
    const sha = await fs.source.commit('server restart');
    await fs.slow('go', 'test', 6);
    const waiting = fs.deployAndWait(sha);
    await until(
      async () => {
        const found = await (async () => {
          for await (const w of fs.client.workflow.list({ query: `WorkflowType = 'deploy' AND DeploySha = '${sha}'` }))
            return w.workflowId;
          return undefined;
        })().catch(() => undefined);
        const run = found
          ? await fs.client.workflow
              .getHandle(found)
              .describe()
              .catch(() => undefined)
          : undefined;
        return run?.raw.pendingActivities?.some((a) => a.activityType?.name === 'testApp') || undefined;
      },
      60_000,
      'the test step to run',
    );

    const pids = await readFile(join(fs.stack.dir, 'pids'), 'utf8');
    const serverPid = Number(
      pids
        .split('\n')
        .find((l) => l.endsWith(' temporal'))
        ?.split(' ')[0],
    );
    process.kill(-serverPid, 'SIGKILL');
    await until(
      () => {
        try {
          process.kill(serverPid, 0);
          return undefined;
        } catch {
          return true;
        }
      },
      10_000,
      'the server to die',
    );
    await new Promise((r) => setTimeout(r, 2_000));
    await fs.unslow('go', 'test');
    const port = fs.stack.env.TEMPORAL_ADDRESS?.split(':')[1] ?? '';
    temporal = await startService({
      name: 'temporal-restarted',
      command: `${TOOLS_BIN}/temporal`,
      args: [
        ...['server', 'start-dev', '--ip', '127.0.0.1', '--port', port, '--headless'],
        ...['--db-filename', join(fs.stack.dir, 'temporal.db'), '--log-level', 'warn'],
        ...['--search-attribute', 'DeployService=Keyword', '--search-attribute', 'DeploySha=Keyword'],
        ...['--search-attribute', 'DeployStage=Keyword', '--search-attribute', 'DeployStatus=Keyword'],
      ],
      logFile: join(fs.stack.dir, 'logs', 'temporal-restarted.log'),
      waitPort: Number(port),
    });

    const { result, exitCode, stderr } = await waiting;

    expect(exitCode).toBe(0);
    expect(result.status).toBe('succeeded');
    expect(result.sha).toBe(sha);
    expect(stderr).toContain('local/hello wait_stable');
    expect(fs.pushes(sha)).toBe(1);
    survived.push('temporal-restart:test');
  }, 240_000);

  test('no secret appears in any history, worker or stack log, or deployctl output of these deploys', async () => {
    expect(await fs.secretHits()).toEqual([]);
  });
});
