/** Signals, queries and updates of the deploy and queue workflows. Defined once here; clients import them. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  ApprovalView,
  DeployOptions,
  DeployProgress,
  DeployResult,
  DeployTarget,
  RecipeSummary,
} from '../shared/types.js';

/**
 * An approval. `token`: the approver's OIDC ID token, verified by the worker (kept in this signal's or update's
 * history event, so it must be short-lived and audience-bound). `by`: a name, counted only for services whose
 * policy takes approvals by name (namespace mode), and for deploys started before the policy existed.
 */
export interface ApproveRequest {
  token?: string;
  by?: string;
  comment?: string;
}

export interface CancelRequest {
  by: string;
  reason: string;
}

export interface SupersedeRequest {
  /** The workflow id of the newer deploy. */
  by: string;
  sha: string;
}

/** Fixed names, so the Temporal UI's signal form can send them with a JSON body. */
export const approveSignal = defineSignal<[ApproveRequest]>('approve');
export const cancelSignal = defineSignal<[CancelRequest]>('cancel');
/** Sent by the service's queue (or, before the queue, a newer deploy) when a newer deploy was requested. */
export const supersedeSignal = defineSignal<[SupersedeRequest]>('supersede');
/** Sent by a superseded deploy to its successor once it has let go of the service (deploys started before the queue). */
export const predecessorDoneSignal = defineSignal<[{ workflowId: string }]>('predecessorDone');
/** Sent by the service's queue: no other deploy holds the service any more, this one may update it. */
export const leaseSignal = defineSignal<[{ queue: string }]>('lease');

/** Like the approve signal, but answers: a refused approval comes back as the update's failure, saying why. */
/** A person says no: before the update the deploy fails; at a lifecycle hook ECS rolls back. Same body as approve. */
export const rejectSignal = defineSignal<[ApproveRequest]>('reject');
export const rejectUpdate = defineUpdate<ApprovalView, [ApproveRequest]>('reject');

export const approveUpdate = defineUpdate<ApprovalView, [ApproveRequest]>('approve');

export const progressQuery = defineQuery<DeployProgress>('progress');

/* ---- the service's queue ---- */

/** A request to the service's queue: deploy a SHA, or roll back to an earlier good deploy. */
export type QueueRequest =
  | ({
      kind: 'deploy';
      sha: string;
      target: DeployTarget;
      options?: DeployOptions;
      /** Image mode: deploy this digest of the target's repository instead of building the SHA. */
      imageDigest?: string;
    } & Requester)
  | ({ kind: 'rollback'; toSha?: string; target: DeployTarget; options?: DeployOptions } & Requester);

/** Who asks: a name for the record, and an OIDC ID token the deploy verifies (see DeployInput). */
export interface Requester {
  requestedBy?: string;
  requesterToken?: string;
}

export interface QueueAnswer {
  /** The deploy that carries the request. */
  workflowId: string;
  runId: string;
  /** started: a new deploy; attached: the newest deploy of the service was already this SHA. */
  mode: 'started' | 'attached';
  seq: number;
  /** Older deploys of the service told to stand down. */
  superseding: string[];
}

/** One finished deploy, as the queue remembers it. */
export interface LedgerEntry {
  workflowId: string;
  seq: number;
  kind: 'deploy' | 'rollback';
  sha: string;
  status: string;
  endedAt: string;
  taskDefinitionArn?: string;
  imageRef?: string;
  imageDigest?: string;
  /** Set when the deploy's binary passed its tests and its image was pushed. */
  binarySha256?: string;
  /** The recipe it was built with: a deploy that reuses its image gives the same containers the image. */
  recipe?: RecipeSummary;
  /** A later rollback went back past this deploy: it is not a known-good target any more. */
  rolledBack?: boolean;
  /** Who or what asked for it (`deployctl history`). Absent in entries recorded before it was kept. */
  requestedBy?: string;
  /** Who approved it, when it needed an approval and got one. */
  approvedBy?: string;
}

export interface QueueView {
  service: string;
  seq: number;
  running: {
    workflowId: string;
    sha: string;
    seq: number;
    kind: 'deploy' | 'rollback';
    holdsLease: boolean;
    requestedBy?: string;
  }[];
  /** Newest first. */
  ledger: LedgerEntry[];
}

export const requestUpdate = defineUpdate<QueueAnswer, [QueueRequest]>('request');
/**
 * Sent by a deploy to its queue as its last act, before its result is visible: a request that follows the result
 * at once then finds the queue already knowing how the deploy ended.
 */
export const deployEndedSignal = defineSignal<[DeployResult]>('deployEnded');
export const queueQuery = defineQuery<QueueView>('queue');
