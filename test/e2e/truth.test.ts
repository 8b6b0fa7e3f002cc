/**
 * The answer is ECS's truth: re-deploys, drift, simultaneous starts and rollbacks, through the CLI on the local
 * stack. Each result is checked against what the emulator says the service runs, and against the registry.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { manifestDigest } from '../support/registry.js';
import { deployctl, type Stack } from '../../src/devstack/stack.js';
import type { DeployResult } from '../../src/shared/types.js';
import { startAppStack, type AppStack, type SourceRepo } from '../../src/devstack/source-repo.js';

let app: AppStack | undefined;
let stack: Stack;
let source: SourceRepo;
let ecs: ECSClient;

beforeAll(async () => {
  app = await startAppStack();
  ({ stack, source, ecs } = app);
}, 120_000);

afterAll(async () => {
  await app?.stop();
});

async function service() {
  const out = await ecs.send(
    new DescribeServicesCommand({ cluster: stack.env.ECS_CLUSTER, services: [stack.env.ECS_SERVICE ?? ''] }),
  );
  const svc = out.services?.[0];
  if (!svc) throw new Error('service missing');
  return svc;
}

/** The hello container's image in the revision the service runs. */
async function runningImage(): Promise<{ taskDefinitionArn: string; image: string }> {
  const taskDefinitionArn = (await service()).taskDefinition ?? '';
  const td = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: taskDefinitionArn }));
  const image = td.taskDefinition?.containerDefinitions?.find((c) => c.name === 'hello')?.image ?? '';
  return { taskDefinitionArn, image };
}

async function run(args: string[]): Promise<{ result: DeployResult; stderr: string; exitCode: number | undefined }> {
  const out = await deployctl(stack, [...args, '--wait', '--json']);
  if (!out.stdout.trim())
    throw new Error(`deployctl ${args.join(' ')} printed no result (${out.exitCode}): ${out.stderr}`);
  return { result: JSON.parse(out.stdout) as DeployResult, stderr: out.stderr, exitCode: out.exitCode };
}

const deploy = (sha: string) => run(['deploy', '--sha', sha]);
const stageStatus = (r: DeployResult, name: string) => r.stages.find((s) => s.name === name)?.status;

/** Changes what the app says, so each commit builds a different binary. */
async function greet(dir: string, word: string): Promise<void> {
  const { readFile, writeFile } = await import('node:fs/promises');
  const path = `${dir}/app/main.go`;
  const text = await readFile(path, 'utf8');
  await writeFile(path, text.replace(/\/\/ build: .*\n|$/, `// build: ${word}\n`));
}

describe('the result is what ECS runs', () => {
  let a: string;
  let firstOfA: DeployResult;

  test('A, B, then A again: the service runs A by digest, the result observes it, and nothing is rebuilt', async () => {
    a = await source.commit('commit A', (dir) => greet(dir, 'A'));
    const b = await source.commit('commit B', (dir) => greet(dir, 'B'));
    firstOfA = (await deploy(a)).result;
    expect(firstOfA.status).toBe('succeeded');
    // Pinned by digest: the revision names the image by the digest the registry holds for A's tag.
    const registry = stack.env.DEPLOY_REGISTRY ?? '';
    const digestOfA = await manifestDigest(registry, 'hello', a);
    expect(firstOfA.imageDigest).toBe(digestOfA);
    expect((await runningImage()).image).toBe(`${registry}/hello@${digestOfA}`);

    expect((await deploy(b)).result.status).toBe('succeeded');
    expect((await runningImage()).image).not.toContain(digestOfA);

    const { result, exitCode, stderr } = await deploy(a);
    expect(exitCode).toBe(0);
    expect(result).toMatchObject({ status: 'succeeded', sha: a, imageDigest: digestOfA });
    expect(result.workflowId).not.toBe(firstOfA.workflowId);
    expect(['checkout', 'build', 'test', 'package'].map((s) => stageStatus(result, s))).toEqual([
      'skipped',
      'skipped',
      'skipped',
      'skipped',
    ]);
    expect(result.reused?.image).toMatchObject({ fromWorkflowId: firstOfA.workflowId, imageDigest: digestOfA });
    expect(result.reused?.taskDefinitionArn).toBe(firstOfA.taskDefinitionArn);
    const now = await runningImage();
    expect(now).toEqual({ taskDefinitionArn: result.taskDefinitionArn, image: `${registry}/hello@${digestOfA}` });
    expect(result.observed).toMatchObject({
      taskDefinitionArn: now.taskDefinitionArn,
      sha: a,
      stable: true,
      images: [{ container: 'hello', image: now.image, digest: digestOfA }],
    });
    expect(result.observed?.running).toBe(result.observed?.desired);
    expect(Date.parse(result.observed?.readAt ?? '')).toBeGreaterThan(Date.parse(result.stages[0]?.startedAt ?? ''));
    expect(stderr).toContain(`reused the image built and tested by ${firstOfA.workflowId}`);

    const live = await deploy(a);
    expect(live.exitCode).toBe(0);
    expect(live.result.reused?.alreadyLive).toBe(true);
    expect(live.result.note).toMatch(/is already live: hello:\d+ is the PRIMARY deployment, stable/);
    expect(live.result.stages.map((s) => s.name)).toEqual(['validate']);
    expect(live.result.observed?.taskDefinitionArn).toBe(now.taskDefinitionArn);
  });

  test('drift: after a hand update to revision 1, deploying the last SHA again puts it back', async () => {
    const wanted = await runningImage();
    const revision1 = wanted.taskDefinitionArn.replace(/:\d+$/, ':1');
    await ecs.send(
      new UpdateServiceCommand({
        cluster: stack.env.ECS_CLUSTER,
        service: stack.env.ECS_SERVICE,
        taskDefinition: revision1,
      }),
    );
    expect((await runningImage()).taskDefinitionArn).toBe(revision1);

    const { result, exitCode } = await deploy(a);
    expect(exitCode).toBe(0);
    expect(result.status).toBe('succeeded');
    expect(result.reused?.alreadyLive).toBeUndefined();
    expect(result.previousTaskDefinitionArn).toBe(revision1);
    expect(await runningImage()).toEqual(wanted);
    expect(result.observed?.taskDefinitionArn).toBe(wanted.taskDefinitionArn);
  });

  test('five deploys of five SHAs started at once: the last requested is live, and only its result claims it', async () => {
    const shas: string[] = [];
    for (const word of ['one', 'two', 'three', 'four', 'five']) {
      shas.push(await source.commit(`commit ${word}`, (dir) => greet(dir, word)));
    }
    const runs = await Promise.all(shas.map((sha) => deploy(sha)));
    const results = runs.map((r) => r.result);
    const seqs = results.map((r) => r.request?.seq ?? 0);
    expect(new Set(seqs).size).toBe(5);
    const last = results[seqs.indexOf(Math.max(...seqs))];
    const live = await runningImage();
    expect(last).toMatchObject({ status: 'succeeded', taskDefinitionArn: live.taskDefinitionArn });
    expect(live.image).toContain(last?.imageDigest ?? 'none');
    const claiming = results.filter((r) => r.status === 'succeeded' && r.taskDefinitionArn === live.taskDefinitionArn);
    expect(claiming).toEqual([last]);
    for (const r of results.filter((x) => x !== last)) {
      if (r.status === 'succeeded') {
        // It really was live when it ended: ECS said so in the same result.
        expect(r.observed?.taskDefinitionArn).toBe(r.taskDefinitionArn);
      } else {
        expect(r.status).toBe('superseded');
      }
    }
    for (const r of runs) expect(r.exitCode).toBe(r.result.status === 'succeeded' ? 0 : 1);
  });

  test('rollback after a bad but stable deploy returns to the previous good one without building', async () => {
    const good = await source.commit('a good commit', (dir) => greet(dir, 'good'));
    const goodResult = (await deploy(good)).result;
    expect(goodResult.status).toBe('succeeded');
    const bad = await source.commit('a commit that passes its tests but is wrong', (dir) => greet(dir, 'bad'));
    expect((await deploy(bad)).result.status).toBe('succeeded');

    const { result, exitCode, stderr } = await run(['rollback']);
    expect(exitCode).toBe(0);
    expect(result).toMatchObject({ status: 'succeeded', kind: 'rollback', sha: good });
    expect(result.taskDefinitionArn).toBe(goodResult.taskDefinitionArn);
    expect(stageStatus(result, 'build')).toBe('skipped');
    expect(stderr).not.toMatch(/build: started/);
    expect(await runningImage()).toEqual({
      taskDefinitionArn: goodResult.taskDefinitionArn,
      image: `${stack.env.DEPLOY_REGISTRY}/hello@${goodResult.imageDigest}`,
    });
    expect(result.observed).toMatchObject({ taskDefinitionArn: goodResult.taskDefinitionArn, sha: good, stable: true });
  });

  test('rollback with nothing good to go back to refuses and says what to do', async () => {
    const out = await deployctl(stack, ['rollback', '--to', 'f'.repeat(40), '--wait']);
    expect(out.exitCode).toBe(1);
    expect(out.stderr).toContain(
      `failed to roll back local/hello: no successful deploy of ffffffffffff is recorded for this service; deploy it with deployctl deploy --sha ${'f'.repeat(40)}`,
    );
  });
});
