/** All activities, built from the worker's configuration. Workflows see them only as DeployActivities and RenderActivities. */
import type { DeployActivities } from '../shared/activities.js';
import { parseApprovalConfig, type ApprovalConfig } from '../shared/approval-config.js';
import type { RenderActivities } from '../shared/render.js';
import type { WorkerConfig } from '../worker/config.js';
import { awsClients, type AwsClients } from './clients.js';
import { ecrActivities } from './ecr.js';
import { ecsActivities } from './ecs.js';
import { watchActivities } from './ecs-watch.js';
import { goActivities } from './go.js';
import { identityActivities } from './identity.js';
import { imageActivities } from './image.js';
import { notifyActivities } from './notify.js';
import { renderActivities } from './render.js';
import { sourceActivities, sourceCheckouts } from './source.js';

export function createActivities(
  config: WorkerConfig,
  clients: AwsClients = awsClients(),
  approval: ApprovalConfig = parseApprovalConfig({}),
): DeployActivities & RenderActivities {
  // One checkout manager and one client per service and region for every step of every deploy on this worker.
  const checkouts = sourceCheckouts(config);
  return {
    ...sourceActivities(config, checkouts),
    ...goActivities(config, checkouts),
    ...ecrActivities(config, clients),
    ...imageActivities(config, { clients, checkouts }),
    ...ecsActivities(config, clients, checkouts),
    ...watchActivities(clients),
    ...identityActivities(approval),
    ...renderActivities(config, clients, checkouts),
    ...notifyActivities({ ...(config.notify ? { notify: config.notify } : {}), uiUrl: config.uiUrl }),
  };
}
