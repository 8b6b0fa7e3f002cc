/** Workspaces for activity tests, laid out as checkout makes them, under a work dir that keeps Go's caches warm. */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { WORKER_DEFAULTS, type WorkerConfig } from '../../src/worker/config.js';
import { ROOT } from '../../src/devstack/process.js';

/**
 * One work dir per test file (jest loads this module afresh for each), so suites running side by side never see
 * each other's step directories or credential dirs. Go's caches live apart, in SHARED_CACHE_DIR, and stay warm.
 */
export const TEST_WORK_DIR = `${ROOT}/.work/activities-test/${process.pid}-${randomUUID().slice(0, 8)}`;
mkdirSync(TEST_WORK_DIR, { recursive: true });

/** One Go cache for the tests and the local stack, so only the first build of a machine is cold. */
export const SHARED_CACHE_DIR = `${ROOT}/.cache`;

/** Time for a Go build with a cold cache (a fresh machine compiles the standard library first). */
export const COLD_GO_BUILD_MS = 300_000;

export function testConfig(overrides: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    sourceRepo: ROOT,
    workDir: TEST_WORK_DIR,
    cacheDir: SHARED_CACHE_DIR,
    registryInsecure: true,
    imageBuilder: 'buildah',
    taskQueue: 'test',
    sandbox: WORKER_DEFAULTS.sandbox,
    maxActivities: WORKER_DEFAULTS.maxActivities,
    maxWatches: WORKER_DEFAULTS.maxWatches,
    maxCachedWorkflows: WORKER_DEFAULTS.maxCachedWorkflows,
    ecsReadsPerSecond: WORKER_DEFAULTS.ecsReadsPerSecond,
    uiUrl: WORKER_DEFAULTS.uiUrl,
    telemetry: { logLevel: WORKER_DEFAULTS.logLevel },
    ...overrides,
  };
}

/** A fresh workspace holding this repository's app/, Dockerfile and .dockerignore. */
export async function makeWorkspace(config: WorkerConfig, label: string): Promise<string> {
  const workspace = join(config.workDir, 'workspaces', `${label}-${randomUUID().slice(0, 8)}`);
  await mkdir(workspace, { recursive: true });
  await cp(join(ROOT, 'app'), join(workspace, 'app'), { recursive: true });
  await cp(join(ROOT, 'Dockerfile'), join(workspace, 'Dockerfile'));
  await cp(join(ROOT, '.dockerignore'), join(workspace, '.dockerignore'));
  return workspace;
}

export async function removeWorkspace(workspace: string): Promise<void> {
  await rm(workspace, { recursive: true, force: true });
}
