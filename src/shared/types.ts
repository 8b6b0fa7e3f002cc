/** Types that cross the boundary between workflow, activities, CLI and tests. Plain data only. */

export type StageName =
  | 'validate'
  | 'checkout'
  | 'build'
  | 'test'
  | 'package'
  | 'register'
  | 'approval'
  | 'update'
  | 'wait_stable'
  | 'rollback';

export type DeployStatus =
  | 'queued'
  | 'building'
  | 'testing'
  | 'packaging'
  | 'registering'
  | 'awaiting_approval'
  | 'updating'
  | 'waiting_stable'
  | 'rolling_back'
  | 'succeeded'
  | 'failed'
  | 'rolled_back'
  | 'cancelled'
  | 'superseded';

export type FinalStatus = 'succeeded' | 'failed' | 'rolled_back' | 'cancelled' | 'superseded';

/** Where a deploy goes. Travels in the workflow input so a deploy can be replayed and audited. */
export interface DeployTarget {
  region: string;
  cluster: string;
  service: string;
  /** ECR repository name, e.g. "my-app". */
  repository: string;
  /** The container in the task definition whose image is replaced. */
  containerName: string;
  /** Path of a task-definition JSON template inside the repository; absent: start from the service's current one. */
  taskDefinitionPath?: string;
}

export interface DeployOptions {
  requireApproval?: boolean;
  /** Default one hour. */
  approvalTimeoutMs?: number;
  /** Who may approve; empty or absent: anyone. */
  approvers?: string[];
  /** How long the rollout may take before it counts as failed. Default 15 minutes. */
  stableTimeoutMs?: number;
  /** Time between rollout reads. Default 1 second. */
  pollIntervalMs?: number;
}

export interface DeployInput {
  sha: string;
  target: DeployTarget;
  options?: DeployOptions;
  /** Who or what asked for it, for the audit trail (e.g. "github:owner/repo run 42"). */
  requestedBy?: string;
  /** Workflow ids of running deploys of the same service that this one supersedes. */
  supersedes?: string[];
}

export type StageStatus = 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

export interface StageRecord {
  name: StageName;
  status: StageStatus;
  startedAt: string;
  durationMs?: number;
  detail?: string;
}

export interface ServiceEventView {
  createdAt: string;
  message: string;
}

export interface StoppedTaskView {
  taskArn: string;
  stoppedReason?: string;
  containers: { name: string; exitCode?: number; reason?: string }[];
}

/** One reading of an ECS rollout, as the stability wait sees it. */
export interface RolloutSnapshot {
  /** in_progress: keep waiting; completed: stable on the new revision; failed: ECS gave up; rolled_back: the circuit breaker put the old revision back. */
  state: 'in_progress' | 'completed' | 'failed' | 'rolled_back';
  deploymentId?: string;
  rolloutState?: string;
  rolloutStateReason?: string;
  desired: number;
  running: number;
  pending: number;
  failedTasks: number;
  events: ServiceEventView[];
  stoppedTasks: StoppedTaskView[];
}

export interface ApprovalView {
  required: boolean;
  state: 'not_required' | 'pending' | 'approved' | 'rejected' | 'timed_out';
  by?: string;
  comment?: string;
  at?: string;
  /** What would change: the task-definition diff between the running revision and the new one. */
  diff?: string[];
}

export interface DeployError {
  stage: StageName;
  message: string;
  type?: string;
}

export interface DeployResult {
  status: FinalStatus;
  sha: string;
  workflowId: string;
  runId: string;
  service: string;
  cluster: string;
  imageRef?: string;
  imageDigest?: string;
  taskDefinitionArn?: string;
  previousTaskDefinitionArn?: string;
  stages: StageRecord[];
  error?: DeployError;
  /** Who cancelled or what superseded it, and why. */
  endedBy?: { by: string; reason: string; at: string };
  rollback?: { reason: string; restoredTaskDefinitionArn: string };
  approval?: ApprovalView;
}

/** What the `progress` query returns while a deploy runs, and after it ends. */
export interface DeployProgress {
  status: DeployStatus;
  stage?: StageName;
  sha: string;
  service: string;
  cluster: string;
  stages: StageRecord[];
  rollout?: RolloutSnapshot;
  approval: ApprovalView;
  imageRef?: string;
  taskDefinitionArn?: string;
  previousTaskDefinitionArn?: string;
  result?: DeployResult;
}

/* ---- activity inputs and results ---- */

export interface CheckoutInput {
  sha: string;
  deployId: string;
}
export interface CheckoutResult {
  workspace: string;
}

/**
 * Which checkout a step works on. Workspaces live on the worker that made them, so each step names the commit and
 * the deploy, and the worker that runs it re-creates the checkout when it has none (another worker, or a restart).
 */
export interface WorkspaceRef {
  sha: string;
  deployId: string;
}

export type BuildInput = WorkspaceRef;
export interface BuildResult {
  /** Absolute path of the static linux binary, inside the workspace. */
  binaryPath: string;
  binarySha256: string;
}

export type TestInput = WorkspaceRef;
export interface TestResult {
  passed: number;
  packages: number;
}

export interface PackageInput extends WorkspaceRef {
  /** What the build stage produced: the image must hold exactly this binary, rebuilt or not. */
  binarySha256: string;
  region: string;
  repository: string;
}
export interface PackageResult {
  /** registry/repository:sha */
  imageRef: string;
  imageDigest: string;
  /** false when the tag was already in the registry and nothing was pushed. */
  pushed: boolean;
}

export interface DiscardImageInput extends WorkspaceRef {
  region: string;
  repository: string;
}
export interface DiscardImageResult {
  /** true when this deploy's image was removed from the registry. */
  discarded: boolean;
  /** Why it was or was not removed, for the deploy's record. */
  detail: string;
}

export interface DescribeTargetInput {
  region: string;
  cluster: string;
  service: string;
  repository: string;
}
export interface DescribeTargetResult {
  serviceArn: string;
  taskDefinitionArn: string;
  desiredCount: number;
  /** The PRIMARY deployment id at the time of reading. */
  primaryDeploymentId?: string;
}

export interface RegisterInput {
  region: string;
  /** Template path inside the workspace; absent: the current task definition is the template. */
  taskDefinitionPath?: string;
  currentTaskDefinitionArn: string;
  containerName: string;
  imageRef: string;
  sha: string;
  deployId: string;
}
export interface RegisterResult {
  taskDefinitionArn: string;
  /** false when a retry found the revision this deploy registered before. */
  created: boolean;
  /** Human-readable lines of what differs from the current revision. */
  diff: string[];
}

export interface UpdateServiceInput {
  region: string;
  cluster: string;
  service: string;
  taskDefinitionArn: string;
}
export interface UpdateServiceResult {
  previousTaskDefinitionArn: string;
  /** The PRIMARY deployment the update created (or found, on a retry). */
  deploymentId?: string;
  /** false when the service already ran the revision (a retry). */
  changed: boolean;
}

export interface CheckRolloutInput {
  region: string;
  cluster: string;
  service: string;
  taskDefinitionArn: string;
  deploymentId?: string;
}

export interface DeregisterInput {
  region: string;
  taskDefinitionArn: string;
}

export interface CleanupInput {
  deployId: string;
}
