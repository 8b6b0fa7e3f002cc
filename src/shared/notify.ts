/**
 * What a deploy tells the worker's webhook, and when: the workflow sends these facts to the notify activity, which
 * words them and adds the links. Plain data: it is recorded in history, so it never holds a URL or a secret.
 */
import type { ApprovalPoint, DeployError, DeployResult, FinalStatus, Party } from './types.js';

/**
 * A deploy waits for a person, or has ended; rollback_failed: undoing a failed deploy failed too, so the run fails
 * without a result and the service needs a person now.
 */
export type NotifyEvent = 'awaiting_approval' | FinalStatus | 'rollback_failed';

export interface NotifyInput {
  event: NotifyEvent;
  /** Counts this run's events from 1, so each has its own id and receivers can drop a retried delivery. */
  seq: number;
  /** The deploy's run: the notice goes out from a run of its own (src/workflows/notify.ts), which links to this one. */
  run: { workflowId: string; runId: string };
  /** When the transition happened (workflow time). */
  at: string;
  kind: 'deploy' | 'rollback';
  sha: string;
  target: { region: string; cluster: string; service: string };
  /** Where and for whom the deploy waits, with awaiting_approval. */
  approval?: {
    point?: ApprovalPoint;
    /** The lifecycle stage of an ECS PAUSE hook, and when ECS applies its timeout action. */
    hookStage?: string;
    expiresAt?: string;
    timeoutAction?: string;
    timeoutMs?: number;
    approvers?: string[];
    requester?: Party;
    /**
     * The fields that would change (`containers[web].image`), without their values: environment values of a task
     * definition are for the people who can read it in ECS, not for every reader of a chat channel.
     */
    changes?: string[];
  };
  /** How it ended, with a final event: the result's headline fields, not its stages or readings. */
  result?: Pick<
    DeployResult,
    'imageRef' | 'imageDigest' | 'taskDefinitionArn' | 'previousTaskDefinitionArn' | 'rollback' | 'endedBy' | 'note'
  > & { error?: DeployError };
}

export interface NotifyResult {
  delivered: boolean;
  /** What happened, for the activity's result in history: never the URL. */
  detail: string;
}
