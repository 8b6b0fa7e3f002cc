/**
 * A short workflow that renders the task definition a deploy of a SHA would register, and its diff against what
 * the service runs. It registers nothing and changes nothing: the template is read at the SHA on the worker, which
 * has the repository; ECS and the registry are only read.
 */
import { ApplicationFailure, proxyActivities, uuid4 } from '@temporalio/workflow';
import { ErrorType } from '../shared/errors.js';
import type { RenderActivities, RenderInput, RenderResult } from '../shared/render.js';
import { ValidationError, validateDigest, validateSha, validateTarget } from '../shared/validate.js';

const { renderTemplate } = proxyActivities<RenderActivities>({
  startToCloseTimeout: '5 minutes',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumAttempts: 3,
    nonRetryableErrorTypes: Object.values(ErrorType),
  },
});

export async function renderTaskDefinition(input: RenderInput): Promise<RenderResult> {
  let sha: string;
  let target: RenderInput['target'];
  let imageDigest: string | undefined;
  try {
    sha = validateSha(input?.sha);
    target = validateTarget(input?.target);
    if (input.imageDigest !== undefined) imageDigest = validateDigest(input.imageDigest, 'imageDigest');
  } catch (err) {
    // Thrown as is, a validation error would fail the workflow task and retry forever.
    if (err instanceof ValidationError) throw ApplicationFailure.nonRetryable(err.message, ErrorType.invalidInput);
    throw err;
  }
  return await renderTemplate({
    sha,
    target,
    ...(imageDigest ? { imageDigest } : {}),
    workspaceId: `render-${uuid4()}`,
  });
}
