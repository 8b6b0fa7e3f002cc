/** Signals, queries and updates of the deploy workflow. Defined once here; clients import them. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApprovalView, DeployProgress } from '../shared/types.js';

export interface ApproveRequest {
  by: string;
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
/** Sent by a newer deploy of the same service. */
export const supersedeSignal = defineSignal<[SupersedeRequest]>('supersede');
/** Sent by a superseded deploy to its successor once it has let go of the service. */
export const predecessorDoneSignal = defineSignal<[{ workflowId: string }]>('predecessorDone');

/** Like the approve signal, but answers: a validator refuses approvers outside the allow-list and deploys not waiting. */
export const approveUpdate = defineUpdate<ApprovalView, [ApproveRequest]>('approve');

export const progressQuery = defineQuery<DeployProgress>('progress');
