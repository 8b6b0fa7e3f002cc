/**
 * ECR: the repository check (an activity) and registry credentials (a helper only: a password must never be an
 * activity result, or it would be written into workflow history).
 */
import { DescribeRepositoriesCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type { WorkerConfig } from '../worker/config.js';
import { LABEL_BINARY_SHA256 } from '../shared/names.js';
import { ApplicationFailure } from '@temporalio/activity';
import { ErrorType } from '../shared/errors.js';
import type {
  CheckImageDigestInput,
  CheckImageDigestResult,
  VerifyImageInput,
  VerifyImageResult,
} from '../shared/types.js';
import { validateDigest, validateName, validateRegion, validateSha } from '../shared/validate.js';
import { AWS_CLIENT_RETRY, awsFailure, isAwsError, notFound } from './aws-errors.js';
import { awsClients, type AwsClients } from './clients.js';
import { checked } from './input.js';
import { findManifest, readImage } from './registry-api.js';

export interface RegistryAuth {
  /** Registry host (and port), without a scheme, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com. */
  registry: string;
  username: string;
  password: string;
}

export interface RegistryAuthInput {
  region: string;
  /** A client to reuse; absent: one is made for this call. */
  ecr?: ECRClient;
}

export interface CheckRepositoryInput {
  region: string;
  repository: string;
}
export interface CheckRepositoryResult {
  repositoryUri: string;
}

/** Fetches a fresh registry login from ECR. Call it at each attempt: tokens expire after 12 hours. */
export async function getRegistryAuth(input: RegistryAuthInput): Promise<RegistryAuth> {
  const region = checked(() => validateRegion(input.region));
  const ecr = input.ecr ?? new ECRClient({ region, ...AWS_CLIENT_RETRY });
  try {
    const out = await ecr.send(new GetAuthorizationTokenCommand({}));
    const data = out.authorizationData?.[0];
    if (!data?.authorizationToken || !data.proxyEndpoint) {
      throw new Error('ECR answered without a token or endpoint; try again');
    }
    const decoded = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new Error('the ECR token is not user:password; try again');
    return {
      registry: data.proxyEndpoint.replace(/^[a-z]+:\/\//, '').replace(/\/+$/, ''),
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
    };
  } catch (err) {
    throw awsFailure(`get ECR authorization in ${region}`, err);
  } finally {
    if (!input.ecr) ecr.destroy();
  }
}

export function ecrActivities(config: WorkerConfig, clients: AwsClients = awsClients()) {
  const client = (region: string): ECRClient => clients.ecr(region);

  return {
    /**
     * Whether an earlier deploy's image of this SHA can be trusted now: the tag still points at the digest that
     * deploy pushed, and the image's label names the binary that deploy built and tested. A moved tag is not reused.
     */
    verifyImage: async (input: VerifyImageInput): Promise<VerifyImageResult> => {
      const region = checked(() => validateRegion(input.region));
      const sha = checked(() => validateSha(input.sha));
      const auth = await getRegistryAuth({ region, ecr: client(region) });
      const registry = config.registry ?? auth.registry;
      const imageRef = `${registry}/${input.repository}:${sha}`;
      const found = await readImage({
        auth,
        registry,
        repository: input.repository,
        tag: sha,
        insecure: config.registryInsecure,
      });
      if (!found) return { reusable: false, imageRef, detail: `${imageRef} is no longer in the registry` };
      if (found.digest !== input.imageDigest) {
        return {
          reusable: false,
          imageRef,
          detail: `${imageRef} now points at ${found.digest}, not ${input.imageDigest}`,
        };
      }
      const binary = found.labels[LABEL_BINARY_SHA256];
      if (binary !== input.binarySha256) {
        return {
          reusable: false,
          imageRef,
          detail: `${imageRef} is labelled with binary ${binary ?? '(none)'}, not the tested ${input.binarySha256}`,
        };
      }
      return { reusable: true, imageRef, detail: `${imageRef}@${found.digest} holds the tested binary` };
    },

    /**
     * Image mode: the image must already be in the target's repository, found by its digest through the registry's
     * own API (the one ECS pulls from). Missing is an answer no retry changes.
     */
    checkImageDigest: async (input: CheckImageDigestInput): Promise<CheckImageDigestResult> => {
      const region = checked(() => validateRegion(input.region));
      const repository = checked(() => validateName('repository', input.repository, 'repository'));
      const imageDigest = checked(() => validateDigest(input.imageDigest, 'imageDigest'));
      const auth = await getRegistryAuth({ region, ecr: client(region) });
      const registry = config.registry ?? auth.registry;
      const where = `${registry}/${repository}`;
      const found = await findManifest({
        auth,
        registry,
        repository,
        tag: imageDigest,
        insecure: config.registryInsecure,
      });
      if (found === undefined) {
        throw ApplicationFailure.nonRetryable(
          `invalid imageDigest: ${imageDigest} is not in ${where}; push the image there first, or fix --image-digest`,
          ErrorType.notFound,
        );
      }
      return { imageRef: `${where}@${imageDigest}`, imageDigest };
    },

    checkRepository: async (input: CheckRepositoryInput): Promise<CheckRepositoryResult> => {
      const region = checked(() => validateRegion(input.region));
      try {
        const out = await client(region).send(new DescribeRepositoriesCommand({ repositoryNames: [input.repository] }));
        const uri = out.repositories?.[0]?.repositoryUri;
        if (!uri) throw new Error(`ECR answered without a URI for ${input.repository}; try again`);
        return { repositoryUri: uri };
      } catch (err) {
        if (isAwsError(err, 'RepositoryNotFoundException')) {
          throw notFound(
            'repository',
            `ECR repository "${input.repository}" not found in ${region}; create it or fix ECR_REPOSITORY`,
          );
        }
        throw awsFailure(`check ECR repository "${input.repository}" in ${region}`, err);
      }
    },
  };
}
