/** The registry's own HTTP API (v2): is the tag there, which deploy built it, and removing a failed deploy's image. */
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
  const res = await call(i, 'HEAD', `manifests/${i.tag}`, `check for image ${i.registry}/${i.repository}:${i.tag}`);
  if (res.status === 404) return undefined;
  return res.headers.get('docker-content-digest') ?? undefined;
}

export interface RegistryImage {
  digest: string;
  labels: Record<string, string>;
}

/** The digest and labels of repository:tag (one single-platform image); undefined when there is no such tag. */
export async function readImage(i: FindManifestInput): Promise<RegistryImage | undefined> {
  const what = `read image ${i.registry}/${i.repository}:${i.tag}`;
  const res = await call(i, 'GET', `manifests/${i.tag}`, what);
  if (res.status === 404) return undefined;
  const digest = res.headers.get('docker-content-digest') ?? '';
  const manifest = (await res.json()) as { config?: { digest?: string } };
  if (!digest || !manifest.config?.digest) throw new Error(`failed to ${what}: no digest or config in the manifest`);
  const config = await call(i, 'GET', `blobs/${manifest.config.digest}`, what);
  const body = (await config.json()) as { config?: { Labels?: Record<string, string> | null } };
  return { digest, labels: body.config?.Labels ?? {} };
}

/** Deletes a manifest by digest, which removes its tags; one already gone is fine. */
export async function deleteManifest(i: Omit<FindManifestInput, 'tag'>, digest: string): Promise<void> {
  await call(
    { ...i, tag: digest },
    'DELETE',
    `manifests/${digest}`,
    `delete image ${i.registry}/${i.repository}@${digest}`,
  );
}

/** One registry API call; 404 is returned, not thrown. Refused credentials stay retryable (a fresh token may help). */
async function call(i: FindManifestInput, method: string, path: string, action: string): Promise<Response> {
  const url = `${i.insecure ? 'http' : 'https'}://${i.registry}/v2/${i.repository}/${path}`;
  const what = `failed to ${action}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
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
  if (res.ok || res.status === 404) return res;
  if (res.status === 401) {
    throw new Error(`${what}: the registry refused the credentials (401); retrying with a fresh token`);
  }
  if (res.status === 403) {
    throw ApplicationFailure.nonRetryable(
      `${what}: access denied (403); grant the worker's IAM identity access to the repository`,
      ErrorType.accessDenied,
    );
  }
  throw new Error(`${what}: the registry answered ${res.status} ${res.statusText}`);
}
