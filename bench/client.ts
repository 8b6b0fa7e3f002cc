/**
 * Everything the benchmarks take from the CLI's client code, in one place: a deploy is requested exactly as
 * `deployctl deploy` requests it, with the target read from the same variables.
 */
export { requestDeploy } from '../src/client/deploys.js';
export { readTarget } from '../src/client/target.js';
