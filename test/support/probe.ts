/**
 * The sandbox probe (test/fixtures/probe/probe_test.go): a Go test that looks for the worker's credentials the way a
 * malicious commit would, and fails naming what it found.
 */
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from '../../src/devstack/process.js';

export const PROBE_TEST = 'TestProbeFindsNoCredentials';

/** Adds the probe to the app in `dir` (a workspace or a source repository), also trying to read `targets` (globs). */
export async function addProbe(dir: string, targets: readonly string[]): Promise<void> {
  await cp(join(ROOT, 'test/fixtures/probe/probe_test.go'), join(dir, 'app/probe_test.go'));
  const list = targets.map((t) => JSON.stringify(t)).join(', ');
  await writeFile(join(dir, 'app/probe_targets_test.go'), `package main\n\nvar probeTargets = []string{${list}}\n`);
}

/** Credentials of the kinds a worker holds, fake, for the probe to find if they leak. */
export const FAKE_WORKER_SECRETS: Readonly<Record<string, string>> = {
  AWS_ACCESS_KEY_ID: 'AKIAPROBEFAKEKEY0001',
  AWS_SECRET_ACCESS_KEY: 'probe/fake/secret/wJalrXUtnFEMI/K7MDENG',
  AWS_SESSION_TOKEN: 'probe-fake-session-token-0123456789',
  AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.2/v2/credentials/probe-fake',
  AWS_CONTAINER_AUTHORIZATION_TOKEN: 'probe-fake-authorization-token',
  TEMPORAL_API_KEY: 'probe-fake-temporal-api-key-0123456789',
  DEPLOY_SOURCE_REPO: 'https://deploy:probe-fake-git-token@git.example.com/acme/app.git',
  GITHUB_TOKEN: 'ghs_probefakegithubtoken0123456789',
};
