/** All activities, built from the worker's configuration. Workflows see them only as DeployActivities and RenderActivities. */
import type { DeployActivities } from '../shared/activities.js';
import type { RenderActivities } from '../shared/render.js';
import type { WorkerConfig } from '../shared/config.js';
import { awsClients, type AwsClients } from './clients.js';
import { ecrActivities } from './ecr.js';
import { ecsActivities } from './ecs.js';
import { goActivities } from './go.js';
import { imageActivities } from './image.js';
import { renderActivities } from './render.js';
import { sourceActivities } from './source.js';

export function createActivities(
  config: WorkerConfig,
  clients: AwsClients = awsClients(),
): DeployActivities & RenderActivities {
  return {
    ...sourceActivities(config),
    ...goActivities(config),
    ...ecrActivities(config, clients),
    ...imageActivities(config),
    ...ecsActivities(config, clients),
    ...renderActivities(config, clients),
  };
}
