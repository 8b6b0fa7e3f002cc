export { deploy } from './deploy.js';
export { serviceQueue } from './queue.js';
