/**
 * The approval activities: the worker's policy for a service, and verifying an ID token. The token never leaves
 * this file: the result holds the verified identity, or why the token was refused.
 */
import { readFileSync } from 'node:fs';
import { parseApprovalConfig, policyFor, type ApprovalConfig } from '../shared/approval-config.js';
import type {
  ApprovalPolicyInput,
  IdentityCheck,
  ServiceApprovalPolicy,
  VerifyIdentityInput,
} from '../shared/types.js';
import { ValidationError, validateToken, validateTarget } from '../shared/validate.js';
import { checked } from './input.js';
import { OidcVerifier } from './oidc.js';

/** Reads DEPLOY_OIDC_* and the file DEPLOY_APPROVAL_POLICY names, once, when the worker starts. */
export function loadApprovalConfig(env: Record<string, string | undefined>): ApprovalConfig {
  const path = env.DEPLOY_APPROVAL_POLICY?.trim();
  if (!path) return parseApprovalConfig(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ValidationError(
      'DEPLOY_APPROVAL_POLICY',
      `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return parseApprovalConfig(env, { path, text });
}

export function identityActivities(config: ApprovalConfig): {
  approvalPolicy(input: ApprovalPolicyInput): Promise<ServiceApprovalPolicy>;
  verifyIdentity(input: VerifyIdentityInput): Promise<IdentityCheck>;
} {
  const verifier = config.issuer ? new OidcVerifier(config.issuer) : undefined;
  return {
    approvalPolicy(input) {
      const target = checked(() =>
        validateTarget({ ...input, repository: 'unused', containerName: 'unused' }, 'approvalPolicy.'),
      );
      return Promise.resolve(policyFor(config, target.cluster, target.service));
    },
    async verifyIdentity(input) {
      if (!verifier) {
        return {
          ok: false,
          reason: 'the worker trusts no OIDC issuer (DEPLOY_OIDC_ISSUER is not set), so no token can be verified',
        };
      }
      try {
        validateToken(input.token, 'token');
      } catch (err) {
        return { ok: false, reason: err instanceof Error ? err.message : String(err) };
      }
      return await verifier.verify({
        token: input.token,
        requireClaims: input.requireClaims,
        at: new Date(input.at),
        ...(input.issuedAfter ? { issuedAfter: new Date(input.issuedAfter) } : {}),
      });
    },
  };
}
