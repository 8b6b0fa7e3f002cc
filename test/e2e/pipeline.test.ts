/** The whole product on the real local stack, driven through the CLI as the Actions job drives it. */
import type { ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionsCommand,
} from '@aws-sdk/client-ecs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setNextRollout } from '../../src/devstack/moto.js';
import { manifestDigest } from '../support/registry.js';
import { deployctl, type Stack } from '../../src/devstack/stack.js';
import type { DeployListing } from '../../src/client/deploys.js';
import type { RenderResult } from '../../src/shared/render.js';
import type { DeployResult } from '../../src/shared/types.js';
import { addProbe } from '../support/probe.js';
import { breakGreetingTest, startAppStack, type AppStack, type SourceRepo } from '../../src/devstack/source-repo.js';

let stack: Stack;
let source: SourceRepo;
let ecs: ECSClient;

let app: AppStack | undefined;

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

async function deploy(sha: string): Promise<{ result: DeployResult; stderr: string; exitCode: number | undefined }> {
  const run = await deployctl(stack, ['deploy', '--sha', sha, '--wait', '--json']);
  return { result: JSON.parse(run.stdout) as DeployResult, stderr: run.stderr, exitCode: run.exitCode };
}

describe('deployctl on the local stack', () => {
  let good: string;
  /** The commit the service runs: the last one deployed successfully. */
  let live: string;

  test('deploys a real commit: the service runs <registry>/<repository>:<sha>, and that image is in the registry', async () => {
    good = await source.commit('a good commit');
    const { result, stderr, exitCode } = await deploy(good);
    expect(exitCode).toBe(0);
    live = good;
    expect(result).toMatchObject({ status: 'succeeded', sha: good, workflowId: `deploy.local.hello.${good}.1` });
    expect(result.runId).toMatch(/^[0-9a-f-]{36}$/);
    const imageRef = `${stack.env.DEPLOY_REGISTRY}/hello:${good}`;
    expect(result.imageRef).toBe(imageRef);
    expect(result.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.previousTaskDefinitionArn).toMatch(/task-definition\/hello:1$/);
    expect(result.stages.map((s) => s.name)).toEqual(
      expect.arrayContaining(['checkout', 'build', 'test', 'package', 'register', 'update', 'wait_stable']),
    );
    expect(result.stages.every((s) => s.status === 'succeeded' || s.status === 'skipped')).toBe(true);
    // The rollout as ECS reports it (its service deployment's status), then what ECS runs once it ended.
    expect(stderr).toMatch(/local\/hello rollout: (PENDING|IN_PROGRESS) .*running \d\/2/);
    expect(stderr).toMatch(
      /local\/hello ECS at [\dT:.Z-]+: PRIMARY ecs-svc\/\d+ on \S+:task-definition\/hello:2 .* 2\/2 running, stable/,
    );
    expect(stderr).toMatch(/ui: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/deploy\.local\.hello\./);

    const svc = await service();
    expect(svc.taskDefinition).toBe(result.taskDefinitionArn);
    const td = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: svc.taskDefinition }));
    // The revision pins the image by the digest the registry holds for the SHA's tag.
    expect(td.taskDefinition?.containerDefinitions?.find((c) => c.name === 'hello')?.image).toBe(
      `${stack.env.DEPLOY_REGISTRY}/hello@${result.imageDigest}`,
    );
    expect(await manifestDigest(stack.env.DEPLOY_REGISTRY ?? '', 'hello', good)).toBe(result.imageDigest);
  });

  test('a commit whose Go test fails ends failed at stage test, names the test, and leaves the service untouched', async () => {
    const before = (await service()).taskDefinition;
    const bad = await source.commit('break the greeting test', breakGreetingTest);
    const { result, exitCode } = await deploy(bad);
    expect(exitCode).toBe(1);
    expect(result.status).toBe('failed');
    expect(result.error?.stage).toBe('test');
    expect(result.error?.message).toContain('TestRootSaysHelloWorld');
    expect(result.error?.message).toContain('--- FAIL: TestRootSaysHelloWorld');
    expect(result.error?.message).toContain('main_test.go:');
    expect((await service()).taskDefinition).toBe(before);
    await source.commit('fix the greeting test', async (dir) => {
      const { execa } = await import('execa');
      await execa('git', ['-C', dir, 'checkout', good, '--', 'app/main_test.go']);
    });
  });

  test('a commit whose Go test looks for the worker credentials deploys succeeded: the test found none', async () => {
    // Where this stack keeps credentials: its env file, the registry's password file, the worker's ECR auth files.
    const targets = [`${stack.dir}/env`, `${stack.dir}/registry/htpasswd`, `${stack.dir}/work/image-*/auth.json`];
    // First a probe that must find something (a file every sandbox can read): it runs, and it reports.
    const control = await source.commit('a probe that finds /etc/passwd', (dir) =>
      addProbe(dir, [...targets, '/etc/passwd']),
    );
    const found = await deploy(control);
    expect(found.result.status).toBe('failed');
    expect(found.result.error?.stage).toBe('test');
    expect(found.result.error?.message).toContain('probe found readable: /etc/passwd');

    const sha = await source.commit('the credential probe', (dir) => addProbe(dir, targets));
    const { result, exitCode } = await deploy(sha);
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ status: 'succeeded', sha });
    expect(exitCode).toBe(0);
    live = sha;
  });

  test('a rollout that fails in ECS is rolled back: the service is back on its previous revision, stable', async () => {
    const before = await service();
    const sha = await source.commit('a commit whose tasks will not start');
    await setNextRollout({
      endpoint: stack.env.AWS_ENDPOINT_URL ?? '',
      region: stack.env.AWS_REGION ?? '',
      serviceArn: before.serviceArn ?? '',
      outcome: 'fail',
    });
    const { result, exitCode } = await deploy(sha);
    expect(result).toMatchObject({ status: 'rolled_back' });
    expect(exitCode).toBe(1);
    expect(result.error?.stage).toBe('wait_stable');
    expect(result.error?.message).toContain('Essential container in task exited');
    expect(result.rollback?.restoredTaskDefinitionArn).toBe(before.taskDefinition);
    const after = await service();
    expect(after.taskDefinition).toBe(before.taskDefinition);
    const primary = after.deployments?.find((d) => d.status === 'PRIMARY');
    expect(primary?.rolloutState).toBe('COMPLETED');
    expect(primary?.runningCount).toBe(primary?.desiredCount);
    const failedRevision = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: result.taskDefinitionArn }),
    );
    expect(failedRevision.taskDefinition?.status).toBe('INACTIVE');
  });

  test('diff --sha renders the template at that commit against the running revision; deploy --dry-run too; neither registers or requests anything', async () => {
    const before = (await service()).taskDefinition;
    const revisions = async () =>
      (await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'hello' }))).taskDefinitionArns ?? [];
    const revisionsBefore = await revisions();

    // The running revision is the live commit's, pinned by digest: rendering that commit again changes nothing.
    const same = await deployctl(stack, ['diff', '--sha', live]);
    expect(same.exitCode).toBe(0);
    expect(same.stdout).toBe('');
    expect(same.stderr).toContain(`local/hello against ${before}: no change`);

    const sha = await source.commit('more memory and a greeting', async (dir) => {
      const path = join(dir, 'deploy/task-definition.json');
      const template = JSON.parse(await readFile(path, 'utf8')) as {
        memory: string;
        containerDefinitions: { environment: { name: string; value: string }[] }[];
      };
      template.memory = '1024';
      template.containerDefinitions[0]?.environment.push({ name: 'GREETING', value: 'hi' });
      await writeFile(path, JSON.stringify(template, null, 2));
    });
    const diff = await deployctl(stack, ['diff', '--sha', sha]);
    expect(diff.exitCode).toBe(0);
    const lines = diff.stdout.trim().split('\n');
    expect(lines).toContain('memory: 512 -> 1024');
    expect(lines).toContain('containers[hello].environment[GREETING].value: (none) -> hi');
    // Not built yet: the image is named by its tag, as the deploy would push it.
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^containers\\[hello\\]\\.image: .*@sha256:[0-9a-f]{64} -> .*/hello:${sha}$`)),
    );
    expect(lines).toHaveLength(3);
    expect(diff.stderr).toContain(`local/hello against ${before}: 3 changes`);

    const dry = await deployctl(stack, ['deploy', '--sha', sha, '--dry-run', '--json']);
    expect(dry.exitCode).toBe(0);
    const render = JSON.parse(dry.stdout) as RenderResult & { dryRun: boolean };
    expect(render).toMatchObject({ dryRun: true, sha, currentTaskDefinitionArn: before, imagePinned: false });
    expect(render.diff).toEqual(lines);
    expect(render.taskDefinition).toMatchObject({ family: 'hello', memory: '1024' });

    const unknown = await deployctl(stack, ['diff', '--sha', 'e'.repeat(40)]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain(`commit ${'e'.repeat(40)} is not in the source repository`);

    expect(await revisions()).toEqual(revisionsBefore);
    expect((await service()).taskDefinition).toBe(before);
    const list = await deployctl(stack, ['list', '--service', '--json']);
    expect((JSON.parse(list.stdout) as DeployListing[]).filter((d) => d.sha === sha)).toEqual([]);
  });
});
