export { deploy } from './deploy.js';
