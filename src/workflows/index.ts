export { deploy } from './deploy.js';
export { serviceQueue } from './queue.js';
export { renderTaskDefinition } from './render.js';
export { notifyWebhook } from './notify.js';
