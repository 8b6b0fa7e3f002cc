/**
 * The approval rules of one deploy: the worker's policy for the service, with the request's options on top as a
 * stricter overlay. A request can ask for approval, a shorter timeout or fewer approvers; it can never turn approval
 * off, lengthen the wait or name approvers the policy does not allow. Pure, for the workflow sandbox.
 */
import type { DeployOptions, ServiceApprovalPolicy } from './types.js';

export interface ApprovalRules {
  required: boolean;
  /** Absent when approval is not required. */
  requiredBy?: 'policy' | 'request';
  mode: 'verified' | 'namespace';
  /** Absent: any identity the mode admits. */
  approvers?: string[];
  timeoutMs: number;
  approverClaims: Record<string, string>;
}

/** The rules for a deploy, or why the request cannot be honoured (it names approvers none of whom may approve). */
export function overlayApproval(
  policy: ServiceApprovalPolicy,
  options: DeployOptions | undefined,
): ApprovalRules | { refusal: string } {
  const asked = options?.requireApproval === true;
  const required = policy.requireApproval || asked;
  const rules: ApprovalRules = {
    required,
    mode: policy.identity,
    timeoutMs: Math.min(policy.approvalTimeoutMs, options?.approvalTimeoutMs ?? Infinity),
    approverClaims: policy.approverClaims,
  };
  if (required) rules.requiredBy = policy.requireApproval ? 'policy' : 'request';
  const requested = options?.approvers ?? [];
  if (requested.length === 0) {
    if (policy.approvers.length > 0) rules.approvers = [...policy.approvers];
    return rules;
  }
  const allowed = policy.approvers.length === 0 ? requested : requested.filter((a) => policy.approvers.includes(a));
  if (allowed.length === 0 && required) {
    return {
      refusal:
        `none of the requested approvers (${requested.join(', ')}) may approve ${policy.service} under the worker's ` +
        `approval policy (allowed: ${policy.approvers.join(', ')}); name some of them, or leave the approvers out`,
    };
  }
  rules.approvers = [...new Set(allowed)];
  return rules;
}
