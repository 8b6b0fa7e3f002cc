/** A workflow that puts secrets where deploys must never put them: an activity's input and its result. */
import { proxyActivities } from '@temporalio/workflow';

export interface LeakyActivities {
  /** Takes a secret as input and returns another one. */
  exchange(secret: string): Promise<string>;
}

const { exchange } = proxyActivities<LeakyActivities>({ startToCloseTimeout: '30 seconds' });

export async function leaky(inputSecret: string): Promise<number> {
  // Only the length leaves the workflow, so the result secret is in the activity's result alone.
  return (await exchange(inputSecret)).length;
}
