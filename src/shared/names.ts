/** Names shared by the workflow, the worker, the CLI and the tests. */

export const DEFAULT_TASK_QUEUE = 'ecs-deploy';
export const DEFAULT_NAMESPACE = 'default';
export const WORKFLOW_TYPE = 'deploy';

/** Custom search attributes; the local stack registers them, production must too (see docs/production.md). */
export const SEARCH_ATTRIBUTES = {
  service: 'DeployService',
  sha: 'DeploySha',
  stage: 'DeployStage',
  status: 'DeployStatus',
} as const;

/** Tags written on every task-definition revision a deploy registers, so a retry finds its own earlier work. */
export const TAG_SHA = 'deploy:sha';
export const TAG_DEPLOY_ID = 'deploy:id';

/** Readable, stable workflow id: one per (cluster, service, sha). */
export function deployWorkflowId(cluster: string, service: string, sha: string): string {
  return `deploy-${cluster}-${service}-${sha.slice(0, 7)}`;
}
