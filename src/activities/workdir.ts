/** The worker's work dir when the worker starts: what a worker killed mid-step left there that must not stay. */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The package step keeps registry credentials in `<workDir>/image-XXXXXX` (mkdtemp in image.ts) for the length of
 * one push and removes it in a `finally`; SIGKILL skips the `finally`.
 */
export const SECRETS_DIR_PREFIX = 'image-';

/**
 * Removes the credential directories of pushes that never finished, and returns their names. Call it before the
 * worker polls: no push of this worker runs yet, and the work dir is this worker's alone (docs/production.md).
 */
export async function removeLeftoverSecrets(workDir: string): Promise<string[]> {
  const entries = await readdir(workDir, { withFileTypes: true }).catch(() => []);
  const leftovers = entries.filter((e) => e.isDirectory() && e.name.startsWith(SECRETS_DIR_PREFIX)).map((e) => e.name);
  for (const name of leftovers) await rm(join(workDir, name), { recursive: true, force: true });
  return leftovers;
}
