/**
 * The contract between the workflow and the activities. The workflow proxies this interface;
 * src/activities/index.ts implements it, and workflow tests can replace any part of it.
 */
import type {
  ApprovalPolicyInput,
  BuildInput,
  BuildResult,
  CheckImageDigestInput,
  CheckImageDigestResult,
  CheckoutInput,
  CheckoutResult,
  CheckRolloutInput,
  CleanupInput,
  ContinueRolloutInput,
  DeregisterInput,
  DiscardImageInput,
  DiscardImageResult,
  DescribeTargetInput,
  DescribeTargetResult,
  IdentityCheck,
  ObservedService,
  ObserveServiceInput,
  PackageInput,
  PackageResult,
  RegisterInput,
  RegisterResult,
  RestoreRevisionInput,
  RolloutSnapshot,
  StopRolloutInput,
  StopRolloutResult,
  TestInput,
  TestResult,
  UpdateServiceInput,
  UpdateServiceResult,
  VerifyImageInput,
  VerifyImageResult,
  WatchRolloutInput,
  ServiceApprovalPolicy,
  VerifyIdentityInput,
} from './types.js';
import type { NotifyInput, NotifyResult } from './notify.js';

export interface DeployActivities {
  checkout(input: CheckoutInput): Promise<CheckoutResult>;
  cleanupWorkspace(input: CleanupInput): Promise<void>;
  buildApp(input: BuildInput): Promise<BuildResult>;
  testApp(input: TestInput): Promise<TestResult>;
  checkRepository(input: { region: string; repository: string }): Promise<{ repositoryUri: string }>;
  packageImage(input: PackageInput): Promise<PackageResult>;
  /** Removes the image this deploy pushed, when the deploy fails before the service was touched. */
  discardImage(input: DiscardImageInput): Promise<DiscardImageResult>;
  /** Whether an earlier deploy's image of the SHA still holds its tested binary at the same digest. */
  verifyImage(input: VerifyImageInput): Promise<VerifyImageResult>;
  /** Image mode: the digest is in the target's repository; refused (non-retryable) when it is not. */
  checkImageDigest(input: CheckImageDigestInput): Promise<CheckImageDigestResult>;
  describeTarget(input: DescribeTargetInput): Promise<DescribeTargetResult>;
  /** What the service runs now: read once more before any ending. */
  observeService(input: ObserveServiceInput): Promise<ObservedService>;
  registerTaskDefinition(input: RegisterInput): Promise<RegisterResult>;
  /** A rollback's revision: the earlier good one while ACTIVE, else registered again from it. */
  restoreRevision(input: RestoreRevisionInput): Promise<RegisterResult>;
  updateService(input: UpdateServiceInput): Promise<UpdateServiceResult>;
  /** One reading of the rollout (deploys started before watchRollout existed poll with it). */
  checkRollout(input: CheckRolloutInput): Promise<RolloutSnapshot>;
  /** Follows the rollout until news or a checkpoint, heartbeating the latest reading. */
  watchRollout(input: WatchRolloutInput): Promise<RolloutSnapshot>;
  /** Asks ECS to roll a service deployment back itself (StopServiceDeployment, or ROLLBACK at a paused hook). */
  stopRollout(input: StopRolloutInput): Promise<StopRolloutResult>;
  /** Answers a paused lifecycle hook with CONTINUE, as a person approved. */
  continueRollout(input: ContinueRolloutInput): Promise<StopRolloutResult>;
  deregisterTaskDefinition(input: DeregisterInput): Promise<void>;
  /** The worker's approval policy for the service, read at the start of a deploy. */
  approvalPolicy(input: ApprovalPolicyInput): Promise<ServiceApprovalPolicy>;
  /** Verifies an OIDC ID token against the trusted issuer's keys; returns the identity, or why it was refused. */
  verifyIdentity(input: VerifyIdentityInput): Promise<IdentityCheck>;
  /** Tells the worker's webhook that a deploy awaits approval or has ended; a no-op without a webhook. */
  notify(input: NotifyInput): Promise<NotifyResult>;
}
