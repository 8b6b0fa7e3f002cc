/**
 * Deploys back to back on the local stack with faults sprinkled in: throttling, failing rollouts, failing tests,
 * registry errors. At the end every deploy is accounted for, no process is left over (no Go toolchain, no test
 * binary, nothing running in the stack's directories), the workspaces are gone and the worker's disk use stopped
 * growing. SOAK_DEPLOYS sets how many (make soak runs 50; make test a few).
 */
import { execa } from 'execa';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeployResult } from '../../src/shared/types.js';
import { breakGreetingTest } from '../../src/devstack/source-repo.js';
import type { RuleHandle } from '../../src/devstack/fault-proxy.js';
import { leftoverProcesses, recordCounts, startFaultStack, type FaultStack, type Worker } from './harness.js';

const DEPLOYS = Number(process.env.SOAK_DEPLOYS ?? 8);
let fs: FaultStack;
let worker: Worker;

beforeAll(async () => {
  fs = await startFaultStack({ stepMs: 100 });
  worker = await fs.startWorker('soak');
}, 180_000);

afterAll(async () => {
  await fs?.stop();
});

type Plan = { fault: string; expected: DeployResult['status'] };

/** A fixed schedule, so a failure can be reproduced: deploy i gets the faults whose rule matches i. */
function plan(i: number): Plan {
  if (i % 5 === 2) return { fault: 'rollout fails', expected: 'rolled_back' };
  if (i % 7 === 3) return { fault: 'tests fail', expected: 'failed' };
  if (i % 4 === 1) return { fault: 'ECS and ECR throttle', expected: 'succeeded' };
  if (i % 6 === 4) return { fault: 'registry 503 on the manifest', expected: 'succeeded' };
  return { fault: 'none', expected: 'succeeded' };
}

/** What the deploys left running: Go processes, test binaries, anything in the stack's dirs, the worker's children. */
async function leftovers(): Promise<string[]> {
  const found = await leftoverProcesses({
    dirs: [fs.stack.dir, fs.source.dir],
    workerPids: fs.workers.map((w) => w.pid),
    // The stack's own services: the worker, Temporal, the emulator, the registry and the local OIDC issuer.
    keep: /worker\.js|temporal|moto_sim|docker-registry|devstack\/issuer\.js/,
  });
  return found.map((p) => `${p.pid} (${p.why}): ${p.args}`);
}

async function du(path: string): Promise<number> {
  const { stdout } = await execa('du', ['-sk', path], { reject: false });
  return Number(stdout.split('\t')[0] ?? 0) * 1024;
}

test(
  `${DEPLOYS} deploys back to back with faults: each ends as planned, nothing leaks`,
  async () => {
    const outcomes: { i: number; sha: string; fault: string; expected: string; status: string; ms: number }[] = [];
    let diskAfterWarmup = 0;
    let injected = 0;

    for (let i = 0; i < DEPLOYS; i++) {
      const { fault, expected } = plan(i);
      const rules: RuleHandle[] = [];
      const sha = await fs.source.commit(`soak ${i}`, fault === 'tests fail' ? breakGreetingTest : undefined);
      if (fault === 'rollout fails') await fs.nextRollout('fail', 100);
      if (fault === 'ECS and ECR throttle') {
        rules.push(
          fs.aws.addRule({ service: 'ecs', operation: 'DescribeServices', times: 3, fault: { kind: 'throttle' } }),
        );
        rules.push(
          fs.aws.addRule({ service: 'ecr', operation: 'GetAuthorizationToken', times: 2, fault: { kind: 'throttle' } }),
        );
      }
      if (fault === 'registry 503 on the manifest') {
        rules.push(
          fs.registry.addRule({
            method: 'PUT',
            path: /\/manifests\//,
            times: 1,
            fault: { kind: 'status', status: 503 },
          }),
        );
      }
      const started = Date.now();
      const { result } = await fs.deployAndWait(sha);
      for (const r of rules) {
        injected += r.injected;
        r.remove();
      }
      outcomes.push({ i, sha, fault, expected, status: result.status, ms: Date.now() - started });
      if (fault === 'tests fail') {
        await fs.source.commit(`soak ${i}: fix the test`, async (dir) => {
          await execa('git', ['-C', dir, 'checkout', 'HEAD~1', '--', 'app/main_test.go']);
        });
      }
      if (i === 1) diskAfterWarmup = await du(worker.workDir);
    }

    // Every deploy is accounted for, in Temporal as in what the CLI printed.
    expect(outcomes.map((o) => `${o.i} ${o.fault}: ${o.status}`)).toEqual(
      outcomes.map((o) => `${o.i} ${o.fault}: ${o.expected}`),
    );
    const listed: string[] = [];
    for await (const w of fs.client.workflow.list({ query: `WorkflowType = 'deploy'` })) {
      // deploy.<cluster>.<service>.<sha>.<seq>
      listed.push(`${w.workflowId.split('.')[3] ?? w.workflowId} ${w.status.name}`);
    }
    expect(listed.sort()).toEqual(outcomes.map((o) => `${o.sha} COMPLETED`).sort());

    // Nothing left over: no child processes, no workspaces, disk use no longer growing.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await leftovers()).toEqual([]);
    expect(await readdir(join(worker.workDir, 'workspaces'))).toEqual([]);
    const diskAtEnd = await du(worker.workDir);
    expect(diskAtEnd - diskAfterWarmup).toBeLessThan(64 * 1024 * 1024);
    const registryBytes = await du(join(fs.stack.dir, 'registry', 'data'));
    const log = await readFile(worker.logFile, 'utf8');
    expect(log).not.toContain('ROLLBACK FAILED');

    const hits = await fs.secretHits();
    expect(hits).toEqual([]);
    const count = (s: string) => outcomes.filter((o) => o.status === s).length;
    await recordCounts(DEPLOYS >= 50 ? 'soak' : 'soak-short', {
      deploys: DEPLOYS,
      succeeded: count('succeeded'),
      failed: count('failed'),
      rolledBack: count('rolled_back'),
      faultsInjected: injected,
      secretsFound: hits.length,
      workerDiskGrowthBytes: diskAtEnd - diskAfterWarmup,
      registryBytes,
      meanDeployMs: Math.round(outcomes.reduce((a, o) => a + o.ms, 0) / outcomes.length),
      outcomes,
    });
  },
  60 * 60 * 1000,
);
