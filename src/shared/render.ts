/**
 * Rendering the task definition a deploy of a SHA would register, without registering it (`deployctl diff`,
 * `deploy --dry-run`). Plain data shared by the render workflow, its activity and the client.
 */
import type { DeployTarget } from './types.js';

export const RENDER_WORKFLOW_TYPE = 'renderTaskDefinition';

export interface RenderInput {
  sha: string;
  target: DeployTarget;
  /** Image mode: the digest, built elsewhere, the deploy would register instead of the SHA's image. */
  imageDigest?: string;
}

export interface RenderTemplateInput extends RenderInput {
  /** The private checkout the template is read from; removed before the activity returns. */
  workspaceId: string;
}

export interface RenderResult {
  sha: string;
  cluster: string;
  service: string;
  /** The revision the service's PRIMARY deployment runs: what the diff is against. */
  currentTaskDefinitionArn: string;
  /** Where the template came from: a path in the repository at the SHA, or the running revision. */
  template: string;
  /** The image the container would get: pinned by digest when the registry holds the SHA's image already. */
  imageRef: string;
  imagePinned: boolean;
  /** One line per changed value, as the approval gate shows it: `containers[web].image: old -> new`. */
  diff: string[];
  /** The rendered definition, as RegisterTaskDefinition would receive it (without the deploy's tags). */
  taskDefinition: Record<string, unknown>;
}

export interface RenderActivities {
  renderTemplate(input: RenderTemplateInput): Promise<RenderResult>;
}
