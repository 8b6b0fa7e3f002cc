/** What a deploy knows about itself while it runs: stages, status, approval, rollout. Pure bookkeeping. */
import { knownArtifacts } from '../shared/artifacts.js';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES } from '../shared/names.js';
import { milestone, rolloutPhase } from '../shared/rollout.js';
import { countOutcome, recordStage } from './metrics.js';

/** Milestones kept for people following a deploy; a rollback of a long linear rollout has a few dozen. */
const MAX_ROLLOUT_STEPS = 100;
import type {
  ApprovalView,
  DeployInput,
  DeployProgress,
  DeployResult,
  DeployStatus,
  FinalStatus,
  ObservedService,
  RecipeSummary,
  Reused,
  RolloutSnapshot,
  StageName,
  StageRecord,
  StageStatus,
} from '../shared/types.js';

const saService = defineSearchAttributeKey(SEARCH_ATTRIBUTES.service, SearchAttributeType.KEYWORD);
const saSha = defineSearchAttributeKey(SEARCH_ATTRIBUTES.sha, SearchAttributeType.KEYWORD);
const saStage = defineSearchAttributeKey(SEARCH_ATTRIBUTES.stage, SearchAttributeType.KEYWORD);
const saStatus = defineSearchAttributeKey(SEARCH_ATTRIBUTES.status, SearchAttributeType.KEYWORD);

/** The status people see while a stage runs. */
const STATUS_OF_STAGE: Partial<Record<StageName, DeployStatus>> = {
  checkout: 'building',
  build: 'building',
  test: 'testing',
  package: 'packaging',
  register: 'registering',
  approval: 'awaiting_approval',
  update: 'updating',
  wait_stable: 'waiting_stable',
  rollback: 'rolling_back',
};

export class DeployState {
  status: DeployStatus = 'queued';
  stage: StageName | undefined;
  /** The first stage that failed (test and package overlap, so this is not always the latest stage). */
  failedStage: StageName | undefined;
  readonly stages: StageRecord[] = [];
  rollout: RolloutSnapshot | undefined;
  readonly rolloutSteps: RolloutSnapshot[] = [];
  rolloutStepsTotal = 0;
  approval: ApprovalView;
  imageRef: string | undefined;
  imageDigest: string | undefined;
  taskDefinitionArn: string | undefined;
  previousTaskDefinitionArn: string | undefined;
  /** The hash of the binary in the image, once it was tested (or reused from a tested deploy). */
  binarySha256: string | undefined;
  /** The ECS service deployment the update created. */
  serviceDeploymentArn: string | undefined;
  /** The recipe the image was built with (or its reused image was). */
  recipe: RecipeSummary | undefined;
  /** The latest reading of what the service runs. */
  observed: ObservedService | undefined;
  readonly reused: Reused = {};
  /** Facts for the result that no other field carries. */
  readonly notes: string[] = [];
  result: DeployResult | undefined;
  /** How a person approves this deploy, for the UI (set by the controls, which know the rules). */
  howToApprove: () => string = () => 'send the `approve` signal `{"by": "you"}`';
  /** Told of every change of status (the webhook's notifier listens). */
  onStatus: ((status: DeployStatus) => void) | undefined;

  constructor(
    readonly input: DeployInput,
    private readonly searchAttributes: boolean,
  ) {
    const required = input.options?.requireApproval === true;
    this.approval = { required, state: required ? 'pending' : 'not_required' };
    if (searchAttributes) {
      upsertSearchAttributes([
        { key: saService, value: `${input.target.cluster}/${input.target.service}` },
        { key: saSha, value: input.sha },
        { key: saStatus, value: this.status },
      ]);
    }
    this.publish();
  }

  /** Runs one stage, recording its timing and outcome. Stages may overlap (test and package do). */
  async run<T>(name: StageName, fn: () => Promise<T>): Promise<T> {
    const record: StageRecord = { name, status: 'running', startedAt: new Date().toISOString() };
    this.stages.push(record);
    this.stage = name;
    this.setStatus(STATUS_OF_STAGE[name] ?? this.status);
    const started = Date.now();
    try {
      const value = await fn();
      this.finish(record, 'succeeded', started);
      return value;
    } catch (err) {
      const cancelled = isCancelled(err);
      if (!cancelled) this.failedStage ??= name;
      this.finish(record, cancelled ? 'cancelled' : 'failed', started);
      throw err;
    }
  }

  skip(name: StageName, detail: string): void {
    this.stages.push({ name, status: 'skipped', startedAt: new Date().toISOString(), durationMs: 0, detail });
    this.publish();
  }

  setStatus(status: DeployStatus): void {
    if (status === this.status) return;
    this.status = status;
    if (this.searchAttributes) {
      const pairs = [{ key: saStatus, value: status }];
      upsertSearchAttributes(this.stage ? [...pairs, { key: saStage, value: this.stage }] : pairs);
    }
    this.publish();
    if (this.result && status === this.result.status) countOutcome(status as FinalStatus, this.input);
    this.onStatus?.(status);
  }

  setRollout(snapshot: RolloutSnapshot): void {
    this.rollout = snapshot;
    const last = this.rolloutSteps[this.rolloutSteps.length - 1];
    if (!last || milestone(last) !== milestone(snapshot)) {
      this.rolloutSteps.push(snapshot);
      this.rolloutStepsTotal += 1;
      this.rolloutSteps.splice(0, Math.max(0, this.rolloutSteps.length - MAX_ROLLOUT_STEPS));
    }
    this.publish();
  }

  progress(): DeployProgress {
    const { sha, target } = this.input;
    const view: DeployProgress = {
      status: this.status,
      sha,
      service: target.service,
      cluster: target.cluster,
      stages: this.stages,
      approval: this.approval,
      ...knownArtifacts(this),
    };
    if (this.stage) view.stage = this.stage;
    if (this.rollout) view.rollout = this.rollout;
    if (this.rolloutSteps.length > 0) {
      view.rolloutSteps = this.rolloutSteps;
      view.rolloutStepsTotal = this.rolloutStepsTotal;
    }
    if (this.result) view.result = this.result;
    return view;
  }

  private finish(record: StageRecord, status: StageStatus, started: number): void {
    record.status = status;
    record.durationMs = Date.now() - started;
    recordStage(record.name, status, record.durationMs);
    this.publish();
  }

  /** Keeps the Temporal UI's "current details" in step with the deploy, in words. */
  publish(): void {
    const { sha, target } = this.input;
    const lines = [
      `**${target.cluster}/${target.service}** at \`${sha.slice(0, 12)}\`: **${this.status}**`,
      '',
      '| stage | status | time |',
      '|---|---|---|',
      ...this.stages.map(
        (s) => `| ${s.name} | ${s.status} | ${s.durationMs === undefined ? '' : `${s.durationMs} ms`} |`,
      ),
    ];
    // One fact per list item: plain lines would run together in the UI's markdown.
    const facts: string[] = [];
    if (this.imageRef) facts.push(`image: \`${this.imageRef}\``);
    if (this.taskDefinitionArn) facts.push(`task definition: \`${this.taskDefinitionArn}\``);
    if (this.rollout) {
      const r = this.rollout;
      facts.push(
        `rollout: ${r.rolloutState ?? r.state}, ${r.running} of ${r.desired} running, ${r.pending} pending, ${r.failedTasks} failed`,
      );
      const phase = rolloutPhase(r);
      if (phase) facts.push(`stage: ${phase}`);
      if (r.serviceDeploymentArn) facts.push(`service deployment: \`${r.serviceDeploymentArn}\``);
      if (r.pausedHook) {
        facts.push(
          `paused at ${r.pausedHook.stage ?? 'a lifecycle hook'}: ECS applies ${r.pausedHook.timeoutAction ?? 'its timeout action'} at ${r.pausedHook.expiresAt ?? "the hook's timeout"} unless answered`,
        );
      }
    }
    if (this.approval.required) {
      const a = this.approval;
      const proof = a.proof === 'unverified' ? ' (unverified)' : '';
      facts.push(`approval: ${a.state}${a.by ? ` by ${a.by}${proof}` : ''}${a.comment ? ` (${a.comment})` : ''}`);
      if (a.approvers) facts.push(`approvers: ${a.approvers.join(', ')}`);
      if (a.requester) facts.push(`requested by: ${a.requester.id} (${a.requester.proof})`);
    }
    if (facts.length) lines.push('', ...facts.map((f) => `- ${f}`));
    if (this.approval.state === 'pending' && this.status === 'awaiting_approval') {
      lines.push(
        '',
        `Waiting for approval: ${this.howToApprove()}, or \`cancel\` \`{"by": "you", "reason": "..."}\`.`,
        ...(this.approval.diff?.length
          ? ['', 'What would change:', '', ...this.approval.diff.map((d) => `- ${d}`)]
          : []),
      );
    }
    setCurrentDetails(lines.join('\n'));
  }
}

function isCancelled(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === 'CancelledFailure' || (err.cause instanceof Error && err.cause.name === 'CancelledFailure'))
  );
}
