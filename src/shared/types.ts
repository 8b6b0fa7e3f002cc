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
  /** The build recipe's path inside the repository; absent: `deployctl.yml` if there is one, else the Go recipe. */
  recipePath?: string;
}

/**
 * What the request asks for. The approval fields are at most a stricter overlay on the worker's approval policy: they
 * can ask for approval, a shorter timeout or fewer approvers, never less (src/shared/approval.ts).
 */
export interface DeployOptions {
  requireApproval?: boolean;
  /** Shorter than the policy's timeout, or ignored. */
  approvalTimeoutMs?: number;
  /** Narrows the policy's approvers; empty or absent: whoever the policy allows. */
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
  /** Who or what asked for it, for the audit trail (e.g. "github:owner/repo run 42"). Unverified. */
  requestedBy?: string;
  /**
   * An OIDC ID token proving who asked: the deploy verifies it in an activity at its start and keeps only the
   * verified identity. Short-lived and audience-bound, since the input stays in history.
   */
  requesterToken?: string;
  /** Workflow ids of running deploys of the same service that this one supersedes (deploys started before the queue). */
  supersedes?: string[];
  /** Set by the service's queue: the deploy waits for its lease before it touches the service. */
  queue?: QueueTicket;
  /** A tested image of this SHA from an earlier deploy, to verify and reuse instead of building. */
  reuse?: ReuseHint;
  /** Present for a rollback: the revision of an earlier, good deploy to put back, without building. */
  rollbackTo?: RollbackSource;
  /**
   * Image mode: deploy this digest of the target's repository, built elsewhere, instead of building the SHA. The SHA
   * then only names the commit the image came from, for the record.
   */
  imageDigest?: string;
}

/** Where a deploy stands in its service's queue. */
export interface QueueTicket {
  /** The queue workflow that grants the lease. */
  workflowId: string;
  /** Order of the request in the queue: the highest one requested wins. */
  seq: number;
  requestedAt: string;
}

/** What an earlier deploy of the same SHA built, tested and pushed, as the queue recorded it. */
export interface ReuseHint {
  fromWorkflowId: string;
  imageRef: string;
  imageDigest: string;
  binarySha256: string;
  /** The revision that deploy registered, reused when it is still ACTIVE and rendered from the same template. */
  taskDefinitionArn?: string;
  /** The recipe that deploy built with: its containers get the reused image too. */
  recipe?: RecipeSummary;
}

export interface RollbackSource {
  fromWorkflowId: string;
  taskDefinitionArn: string;
  imageRef?: string;
  imageDigest?: string;
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
  /**
   * in_progress: keep waiting; paused: a PAUSE lifecycle hook awaits ContinueServiceDeployment; completed: stable on
   * the new revision; rolling_back: ECS is rolling back by itself; rolled_back: ECS (or its circuit breaker) put the
   * old revision back; failed: ECS gave up without rolling back; rollback_failed: ECS's own rollback failed;
   * replaced: another deployment, not this deploy's, took over the service.
   */
  state:
    | 'in_progress'
    | 'paused'
    | 'completed'
    | 'rolling_back'
    | 'rolled_back'
    | 'failed'
    | 'rollback_failed'
    | 'replaced';
  deploymentId?: string;
  rolloutState?: string;
  rolloutStateReason?: string;
  desired: number;
  running: number;
  pending: number;
  failedTasks: number;
  events: ServiceEventView[];
  stoppedTasks: StoppedTaskView[];
  /** The ECS service deployment followed, when the API has one: its status is the truth for every strategy. */
  serviceDeploymentArn?: string;
  strategy?: string;
  lifecycleStage?: string;
  /** Percent of production and test traffic the new revision is asked to take (blue/green, linear, canary). */
  traffic?: { production: number; test: number };
  /** A PAUSE hook waiting for ContinueServiceDeployment; ECS applies its timeoutAction at expiresAt. */
  pausedHook?: { hookId: string; stage?: string; expiresAt?: string; timeoutAction?: string };
  circuitBreaker?: { status: string; failureCount: number; threshold: number };
  alarms?: { status: string; triggered: string[] };
  /** A lifecycle hook that failed or timed out, which made ECS roll back. */
  failedHook?: { hookId: string; status: string; stage?: string };
  /** Why ECS rolled back, when it did. */
  rollbackReason?: string;
  /** When ECS says the deployment reached its final status (for detection latency). */
  finishedAt?: string;
}

/** Where a deploy waits for a person: before it updates the service, or at an ECS PAUSE lifecycle hook. */
export type ApprovalPoint = 'before_update' | 'lifecycle_hook';

/** One decision at one approval point: a linear or canary rollout pauses, and is decided, at every step. */
export interface ApprovalDecision {
  point: ApprovalPoint;
  /** The lifecycle stage of the hook. */
  stage?: string;
  state: 'approved' | 'rejected' | 'timed_out';
  by?: string;
  proof?: Proof;
  at: string;
  comment?: string;
}

/** verified: an OIDC ID token the worker checked; unverified: a name anyone able to reach the namespace could send. */
export type Proof = 'verified' | 'unverified';

export interface Party {
  id: string;
  proof: Proof;
}

export interface ApprovalView {
  required: boolean;
  state: 'not_required' | 'pending' | 'approved' | 'rejected' | 'timed_out';
  by?: string;
  comment?: string;
  at?: string;
  /** What would change: the task-definition diff between the running revision and the new one. */
  diff?: string[];
  /* The fields below are absent for deploys started before the worker's approval policy existed. */
  /** How approvers prove who they are: an ID token (verified) or a name (namespace, unverified). */
  mode?: 'verified' | 'namespace';
  /** Who made approval necessary: the worker's policy, or the request on top of it. */
  requiredBy?: 'policy' | 'request';
  /** Who may approve; absent: any identity the mode admits, except the requester. */
  approvers?: string[];
  timeoutMs?: number;
  /** How `by` was established. */
  proof?: Proof;
  /** Who asked for the deploy, as far as it could be proven. */
  requester?: Party;
  point?: ApprovalPoint;
  /** The PAUSE hook the deploy waits at: its stage, and when ECS applies its timeout action. */
  hook?: { stage?: string; expiresAt?: string; timeoutAction?: string };
  /** The decisions before the current one, oldest first, when the deploy had more than one approval point. */
  decisions?: ApprovalDecision[];
}

export interface DeployError {
  stage: StageName;
  message: string;
  type?: string;
}

/** One container's image as the task definition names it. */
export interface ObservedImage {
  container: string;
  image: string;
  /** The digest the reference pins (`repo@sha256:…`); absent for a reference by tag. */
  digest?: string;
}

/** What ECS said about the service when the deploy last read it. */
export interface ObservedService {
  readAt: string;
  /** The PRIMARY deployment's id. */
  deploymentId?: string;
  rolloutState?: string;
  taskDefinitionArn: string;
  /** The `deploy:sha` tag of that revision: which commit it was deployed from, when this tool registered it. */
  sha?: string;
  images: ObservedImage[];
  running: number;
  desired: number;
  /** One deployment, completed, all tasks running. */
  stable: boolean;
  /** The service's current service deployment and its status, where ECS has the API. */
  serviceDeploymentArn?: string;
  serviceDeploymentStatus?: string;
}

/** What a deploy did not have to make again. */
export interface Reused {
  /** The pinned image, verified by digest and binary hash, from an earlier deploy of the same SHA. */
  image?: { imageRef: string; imageDigest: string; fromWorkflowId: string };
  /** A revision registered before from the same rendered template, still ACTIVE. */
  taskDefinitionArn?: string;
  /** The SHA was already live and stable: nothing was changed. */
  alreadyLive?: boolean;
}

export type RollbackMethod = 'ecs' | 'stop' | 'hook' | 'update';

export interface DeployResult {
  status: FinalStatus;
  /** deploy: build (or reuse) and roll out a SHA; rollback: put an earlier good deploy's revision back. */
  kind?: 'deploy' | 'rollback';
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
  /**
   * How the service was put back: ecs (ECS rolled back by itself), stop (StopServiceDeployment ROLLBACK), hook
   * (ROLLBACK at a paused lifecycle hook) or update (UpdateService to the previous revision).
   */
  rollback?: { reason: string; restoredTaskDefinitionArn: string; method?: RollbackMethod };
  approval?: ApprovalView;
  /** The service as ECS reported it just before the deploy ended. */
  observed?: ObservedService;
  /** Why the status is not what the rollout alone would say: ECS moved on, or the SHA was already live. */
  note?: string;
  reused?: Reused;
  /** Set when this deploy's binary passed its tests and its image was pushed: later deploys may reuse it. */
  binarySha256?: string;
  /** The deploy's place in its service's queue. */
  request?: { seq: number; requestedAt: string };
  /** The ECS service deployment the update created. */
  serviceDeploymentArn?: string;
  /** The build recipe the image was built with; absent: the Go recipe, image mode or a rollback. */
  recipe?: RecipeSummary;
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
  /** Each milestone of the rollout so far (state, ECS status, stage, traffic), oldest first; at most the last 100. */
  rolloutSteps?: RolloutSnapshot[];
  /** How many milestones there were in all: the first of rolloutSteps is number total - length (from 0). */
  rolloutStepsTotal?: number;
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
  /** The target's recipe path; absent: the default one, which may be missing. */
  recipePath?: string;
}
export interface CheckoutResult {
  workspace: string;
  /** The recipe found at the SHA; absent: the Go recipe applies. */
  recipe?: BuildRecipe;
}

/** linux/amd64 or linux/arm64: what a recipe's build targets and its image declares. */
export type Platform = 'linux/amd64' | 'linux/arm64';

/**
 * A build recipe as read from the repository at the deployed SHA (README, "The build recipe"), every path resolved
 * from the repository's root. Commands are argument lists, never run by a shell, and run in the sandbox.
 */
export interface BuildRecipe {
  /** Where it was read, e.g. services/worker/deploy.yml. */
  path: string;
  /** Where the build and test commands run; "." is the root. */
  workdir: string;
  /** `$OUT` (or `${OUT}`) in an argument is the build's output directory. */
  build: string[];
  test: string[];
  /** Files the build writes under $OUT; the image build finds them at the same paths under `context`. */
  artifacts: string[];
  dockerfile: string;
  context: string;
  platform: Platform;
  /** Containers of the task definition that get the image besides the target's own (CONTAINER_NAME). */
  containers?: string[];
}

/** What a deploy's result says about its recipe. */
export interface RecipeSummary {
  path: string;
  platform: Platform;
  containers?: string[];
}

/**
 * Which checkout a step works on. Workspaces live on the worker that made them, so each step names the commit and
 * the deploy, and the worker that runs it re-creates the checkout when it has none (another worker, or a restart).
 */
export interface WorkspaceRef {
  sha: string;
  deployId: string;
}

/** A step that builds the checkout: by its recipe when it has one, else by the Go recipe. */
export interface RecipeStep extends WorkspaceRef {
  recipe?: BuildRecipe;
}

export type BuildInput = RecipeStep;
export interface BuildResult {
  /** Absolute path of the static linux binary (a recipe's first artifact), inside the workspace. */
  binaryPath: string;
  /** The sha256 of the binary; of a recipe's artifacts together (artifactsSha256) when it has several. */
  binarySha256: string;
}

export interface TestInput extends RecipeStep {
  /** With a recipe: the hash of what the build stage produced; the tests run with exactly those artifacts in place. */
  binarySha256?: string;
}
export interface TestResult {
  passed: number;
  packages: number;
}

export interface PackageInput extends RecipeStep {
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
  /** The whole reading: what the service runs now. Absent in histories recorded before it existed. */
  observed?: ObservedService;
  /** ECS (this tool's kind), CODE_DEPLOY or EXTERNAL. */
  controller?: string;
  /** Lifecycle stages where the service's deployment configuration has a PAUSE hook: approval happens there. */
  pauseStages?: string[];
  /** ROLLING, BLUE_GREEN, LINEAR or CANARY. */
  strategy?: string;
}

export interface ObserveServiceInput {
  region: string;
  cluster: string;
  service: string;
}

export interface VerifyImageInput {
  region: string;
  repository: string;
  sha: string;
  imageDigest: string;
  binarySha256: string;
}
export interface VerifyImageResult {
  /** true when the registry holds `<repository>:<sha>` at that digest, labelled with that binary hash. */
  reusable: boolean;
  imageRef: string;
  /** Why it cannot be reused, for the deploy's record. */
  detail: string;
}

/** Image mode: a digest of the target's repository, built elsewhere. */
export interface CheckImageDigestInput {
  region: string;
  repository: string;
  imageDigest: string;
}
export interface CheckImageDigestResult {
  /** `<registry>/<repository>@sha256:…`: the image the task definition gets. */
  imageRef: string;
  imageDigest: string;
}

export interface RegisterInput {
  region: string;
  /** A revision registered by an earlier deploy of this SHA: reused when ACTIVE and rendered from the same template. */
  reuseTaskDefinitionArn?: string;
  /** Template path inside the workspace; absent: the current task definition is the template. */
  taskDefinitionPath?: string;
  currentTaskDefinitionArn: string;
  containerName: string;
  /** Every container that gets the image (a recipe's list, which holds containerName); absent: containerName alone. */
  containerNames?: string[];
  /** What the container gets: `<registry>/<repository>@sha256:…`, pinned, so a moved tag changes nothing. */
  imageRef: string;
  sha: string;
  deployId: string;
}
export interface RegisterResult {
  taskDefinitionArn: string;
  /** false when a retry found the revision this deploy registered before, or an earlier one was reused. */
  created: boolean;
  /** true when an earlier deploy's revision of the same rendered template was reused. */
  reused?: boolean;
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
  /** The service deployment the update created, where ECS has the API. */
  serviceDeploymentArn?: string;
  /** false when the service already ran the revision (a retry). */
  changed: boolean;
}

export interface CheckRolloutInput {
  region: string;
  cluster: string;
  service: string;
  taskDefinitionArn: string;
  deploymentId?: string;
  serviceDeploymentArn?: string;
}

/** Follows a rollout until it ends, pauses, changes stage, or `returnBy`: one activity, many reads. */
export interface WatchRolloutInput extends CheckRolloutInput {
  /** ISO time to return by even when nothing changed, so the deploy's record stays fresh. */
  returnBy: string;
  /** The milestone of the last snapshot the workflow saw (see shared/rollout.ts): return when it changes. */
  seen?: string;
  pollIntervalMs: number;
}

/** Asks ECS to roll back a service deployment: StopServiceDeployment, or ContinueServiceDeployment at a paused hook. */
export interface StopRolloutInput {
  region: string;
  serviceDeploymentArn: string;
  hookId?: string;
}
/** Answers a paused lifecycle hook with CONTINUE: the approval a person gave. */
export interface ContinueRolloutInput {
  region: string;
  serviceDeploymentArn: string;
  hookId: string;
}

export interface StopRolloutResult {
  /** false when ECS no longer takes it (the deployment already ended): roll back with an update instead. */
  accepted: boolean;
  detail: string;
}

/** Puts an earlier good revision back into use: itself when still ACTIVE, else a re-registration of it. */
export interface RestoreRevisionInput {
  region: string;
  taskDefinitionArn: string;
  currentTaskDefinitionArn: string;
  sha: string;
  deployId: string;
}

/** What the worker's approval policy says about one service. Read by an activity, so it is in the deploy's history. */
export interface ServiceApprovalPolicy {
  /** cluster/service */
  service: string;
  /** Which entry of the policy applied. */
  source: 'service' | 'defaults';
  requireApproval: boolean;
  identity: 'verified' | 'namespace';
  /** Empty: any identity the mode admits. */
  approvers: string[];
  approvalTimeoutMs: number;
  /** Claims an approver's token must carry (the policy's tokenClaims and the service's approverClaims). */
  approverClaims: Record<string, string>;
  /** Claims a requester's token must carry (the policy's tokenClaims). */
  requesterClaims: Record<string, string>;
  /** The issuer the worker trusts; absent when it trusts none, and then no token can be verified. */
  issuer?: string;
  /** The claim read as the identity. */
  identityClaim?: string;
}

export interface ApprovalPolicyInput {
  region: string;
  cluster: string;
  service: string;
}

export interface VerifyIdentityInput {
  token: string;
  role: 'approver' | 'requester';
  /** Claims the token must carry, with these exact values. */
  requireClaims: Record<string, string>;
  /** When the token was presented (workflow time): it must have been valid then. */
  at: string;
  /** An approver's token must be issued after this (when the deploy began waiting), so an old one cannot be replayed. */
  issuedAfter?: string;
}

/** A verification's answer: the identity and nothing else of the token, or why it was refused. */
export type IdentityCheck = { ok: true; identity: string; expiresAt: string } | { ok: false; reason: string };

export interface DeregisterInput {
  region: string;
  taskDefinitionArn: string;
}

export interface CleanupInput {
  deployId: string;
}
