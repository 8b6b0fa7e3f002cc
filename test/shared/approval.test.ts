/** The request's approval options are a stricter overlay on the worker's policy: never less than the policy. */
import { overlayApproval } from '../../src/shared/approval.js';
import type { ServiceApprovalPolicy } from '../../src/shared/types.js';

const policy = (overrides: Partial<ServiceApprovalPolicy> = {}): ServiceApprovalPolicy => ({
  service: 'prod/web',
  source: 'service',
  requireApproval: true,
  identity: 'verified',
  approvers: ['alice', 'bob'],
  approvalTimeoutMs: 3_600_000,
  approverClaims: {},
  requesterClaims: {},
  ...overrides,
});

describe('the request on top of the policy', () => {
  test('cannot turn approval off, lengthen the wait or name other approvers', () => {
    expect(
      overlayApproval(policy(), {
        requireApproval: false,
        approvalTimeoutMs: 86_400_000,
        approvers: ['bob', 'mallory'],
      }),
    ).toEqual({
      required: true,
      requiredBy: 'policy',
      mode: 'verified',
      approvers: ['bob'],
      timeoutMs: 3_600_000,
      approverClaims: {},
    });
  });

  test('can ask for approval the policy does not require, with a shorter wait', () => {
    expect(
      overlayApproval(policy({ requireApproval: false }), { requireApproval: true, approvalTimeoutMs: 60_000 }),
    ).toMatchObject({
      required: true,
      requiredBy: 'request',
      approvers: ['alice', 'bob'],
      timeoutMs: 60_000,
    });
  });

  test('narrows a policy that admits anyone to the approvers it names', () => {
    expect(overlayApproval(policy({ approvers: [] }), { approvers: ['carol'] })).toMatchObject({
      approvers: ['carol'],
    });
    expect(overlayApproval(policy({ approvers: [] }), {})).not.toHaveProperty('approvers');
  });

  test('naming only approvers the policy does not allow is refused rather than leaving nobody to approve', () => {
    expect(overlayApproval(policy(), { approvers: ['mallory'] })).toEqual({
      refusal:
        "none of the requested approvers (mallory) may approve prod/web under the worker's approval policy (allowed: alice, bob); name some of them, or leave the approvers out",
    });
  });

  test('keeps the mode the policy chose: a request cannot switch a service to approvals by name', () => {
    expect(overlayApproval(policy({ identity: 'namespace' }), { requireApproval: true })).toMatchObject({
      mode: 'namespace',
    });
  });
});
