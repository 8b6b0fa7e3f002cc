/**
 * deployctl on the cluster stack: a Temporal server built from source, with persistence and advanced visibility on
 * PostgreSQL, and two workers. Listing and superseding read visibility, so they are what differs from the dev server.
 * Only through the CLI, so the test holds however deploys are started inside. Run with `make test-cluster`.
 */
import type { DeployListing } from '../../src/client/deploys.js';
import type { DeployResult } from '../../src/shared/types.js';
import { clusterToolsMissing, deployctl, type Stack } from '../../src/devstack/stack.js';
import { startAppStack, type AppStack, type SourceRepo } from '../../src/devstack/source-repo.js';

const missing = clusterToolsMissing();
if (missing) console.warn(`test/cluster/visibility.test.ts skipped: ${missing}`);
const describeOnCluster = missing ? describe.skip : describe;

const FINAL = ['succeeded', 'failed', 'rolled_back', 'cancelled', 'superseded'];

describeOnCluster('deployctl on Temporal with PostgreSQL visibility', () => {
  let app: AppStack | undefined;
  let stack: Stack;
  let source: SourceRepo;

  beforeAll(async () => {
    app = await startAppStack({ cluster: true });
    ({ stack, source } = app);
  }, 300_000);

  afterAll(async () => {
    await app?.stop();
  });

  async function list(args: string[]): Promise<DeployListing[]> {
    const run = await deployctl(stack, ['list', ...args, '--json']);
    if (run.exitCode !== 0) throw new Error(`deployctl list ${args.join(' ')} failed (${run.exitCode}): ${run.stderr}`);
    return JSON.parse(run.stdout) as DeployListing[];
  }

  /** Visibility is written after the fact, so a listing is read until it holds or the time is up. */
  async function listUntil(
    args: string[],
    holds: (rows: DeployListing[]) => boolean,
    timeoutMs = 30_000,
  ): Promise<DeployListing[]> {
    const deadline = Date.now() + timeoutMs;
    let rows = await list(args);
    while (!holds(rows) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      rows = await list(args);
    }
    return rows;
  }

  /** Starts a deploy without waiting, through deployctl; returns the workflow id it reports. */
  async function start(sha: string): Promise<string> {
    const run = await deployctl(stack, ['deploy', '--sha', sha, '--json']);
    if (run.exitCode !== 0) throw new Error(`deployctl deploy failed (${run.exitCode}): ${run.stderr}`);
    return (JSON.parse(run.stdout) as { workflowId: string }).workflowId;
  }

  async function finished(workflowId: string, timeoutMs = 240_000): Promise<DeployResult> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const run = await deployctl(stack, ['status', workflowId, '--json']);
      last = `${run.stdout}\n${run.stderr}`;
      if (run.stdout.trim()) {
        const result = JSON.parse(run.stdout) as DeployResult;
        if (FINAL.includes(result.status)) return result;
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
    throw new Error(`deploy ${workflowId} did not finish; last status:\n${last}`);
  }

  test('a deploy that succeeded is listed, overall and for its service, with the DeployStatus it wrote', async () => {
    const sha = await source.commit('a commit deployed on the cluster');
    const run = await deployctl(stack, ['deploy', '--sha', sha, '--wait', '--json']);
    expect(run.exitCode).toBe(0);
    const result = JSON.parse(run.stdout) as DeployResult;
    expect(result).toMatchObject({ status: 'succeeded', sha });

    const expected = {
      workflowId: result.workflowId,
      runId: result.runId,
      status: 'succeeded',
      sha,
      service: 'local/hello',
    };
    const isListed = (rows: DeployListing[]) =>
      rows.some((r) => r.workflowId === result.workflowId && r.status === 'succeeded');
    for (const args of [[], ['--service']]) {
      const rows = await listUntil(args, isListed);
      // 'succeeded' is the workflow's own DeployStatus; without that attribute the listing says COMPLETED.
      expect(rows.find((r) => r.workflowId === result.workflowId)).toMatchObject(expected);
    }
    expect(await listUntil(['--running'], (rows) => rows.length === 0)).toEqual([]);
  });

  test('of two deploys of the same service started one after the other, the older ends superseded and the newer succeeds', async () => {
    const olderSha = await source.commit('an older commit');
    const older = await start(olderSha);
    // The newer deploy finds the older one through a visibility query for running deploys of the service.
    const running = await listUntil(['--service', '--running'], (rows) => rows.some((r) => r.workflowId === older));
    expect(running.find((r) => r.workflowId === older)).toMatchObject({ sha: olderSha, service: 'local/hello' });

    const newerSha = await source.commit('a newer commit');
    const newer = await start(newerSha);
    expect(newer).not.toBe(older);

    const olderResult = await finished(older);
    const newerResult = await finished(newer);
    expect(olderResult.status).toBe('superseded');
    // Ended by the newer deploy, named by its workflow id or its SHA.
    expect(JSON.stringify(olderResult.endedBy)).toContain(newerSha.slice(0, 7));
    expect(newerResult.status).toBe('succeeded');

    const rows = await listUntil(['--service'], (all) =>
      all.some((r) => r.workflowId === older && r.status === 'superseded'),
    );
    expect(rows.find((r) => r.workflowId === older)).toMatchObject({ status: 'superseded', sha: olderSha });
    expect(rows.find((r) => r.workflowId === newer)).toMatchObject({ status: 'succeeded', sha: newerSha });
    expect(await listUntil(['--service', '--running'], (all) => all.length === 0)).toEqual([]);
  });
});
