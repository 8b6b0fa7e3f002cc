/**
 * ECR: the repository check (an activity) and registry credentials (a helper only: a password must never be an
 * activity result, or it would be written into workflow history).
 */
import { DescribeRepositoriesCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type { WorkerConfig } from '../shared/config.js';
import { validateRegion } from '../shared/validate.js';
import { AWS_CLIENT_RETRY, awsFailure, isAwsError, notFound } from './aws-errors.js';
import { checked } from './input.js';

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

export function ecrActivities(_config: WorkerConfig) {
  const clients = new Map<string, ECRClient>();
  const client = (region: string): ECRClient => {
    const existing = clients.get(region);
    if (existing) return existing;
    const made = new ECRClient({ region, ...AWS_CLIENT_RETRY });
    clients.set(region, made);
    return made;
  };

  return {
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
