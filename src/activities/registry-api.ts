/** The registry's own HTTP API (v2), for the one question the package step asks before building: is the tag there? */
import { ApplicationFailure, cancellationSignal } from '@temporalio/activity';
import { ErrorType, errorMessage } from '../shared/errors.js';
import { redact } from './command.js';
import type { RegistryAuth } from './ecr.js';
import { secretsOf } from './image-commands.js';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface FindManifestInput {
  auth: RegistryAuth;
  registry: string;
  repository: string;
  tag: string;
  insecure: boolean;
}

/** Asks the registry for the digest of repository:tag; undefined when there is no such tag. */
export async function findManifest(i: FindManifestInput): Promise<string | undefined> {
  const url = `${i.insecure ? 'http' : 'https'}://${i.registry}/v2/${i.repository}/manifests/${i.tag}`;
  const what = `failed to check for image ${i.registry}/${i.repository}:${i.tag}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'HEAD',
      headers: {
        Accept: MANIFEST_TYPES,
        Authorization: `Basic ${Buffer.from(`${i.auth.username}:${i.auth.password}`).toString('base64')}`,
      },
      signal: AbortSignal.any([cancellationSignal(), AbortSignal.timeout(30_000)]),
    });
  } catch (err) {
    if (cancellationSignal().aborted) throw cancellationSignal().reason;
    const cause = err instanceof Error && err.cause !== undefined ? errorMessage(err.cause) : errorMessage(err);
    throw new Error(`${what}: ${redact(cause, secretsOf(i.auth))}; is the registry reachable?`);
  }
  if (res.status === 404) return undefined;
  if (res.status === 200) return res.headers.get('docker-content-digest') ?? undefined;
  if (res.status === 401) {
    throw new Error(`${what}: the registry refused the credentials (401); retrying with a fresh token`);
  }
  if (res.status === 403) {
    throw ApplicationFailure.nonRetryable(
      `${what}: access denied (403); grant the worker's IAM identity pull access to the repository`,
      ErrorType.accessDenied,
    );
  }
  throw new Error(`${what}: the registry answered ${res.status} ${res.statusText}`);
}
