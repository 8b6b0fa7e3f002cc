/**
 * Prints the worker's IAM policy for one target: deploy/iam-policy.json with its placeholders filled.
 *
 *   AWS_REGION=ap-northeast-1 AWS_ACCOUNT_ID=123456789012 ECS_CLUSTER=c ECS_SERVICE=s ECR_REPOSITORY=r \
 *   ECS_TASK_DEFINITION=deploy/task-definition.json npx tsx scripts/render-iam-policy.ts > policy.json
 *
 * The family and the roles come from the task-definition template; without one (the deploys reuse the service's
 * current task definition), set TASK_FAMILY, and TASK_ROLE_ARN / EXECUTION_ROLE_ARN for the roles it names.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderIamPolicy, type PolicyDocument } from '../src/shared/iam-policy.js';
import { errorMessage } from '../src/shared/errors.js';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const env = process.env;

function taskDefinition(): { family?: string; taskRoleArn?: string; executionRoleArn?: string } {
  const path = env.ECS_TASK_DEFINITION?.trim();
  if (!path) {
    return { family: env.TASK_FAMILY, taskRoleArn: env.TASK_ROLE_ARN, executionRoleArn: env.EXECUTION_ROLE_ARN };
  }
  try {
    return JSON.parse(readFileSync(resolve(root, path), 'utf8')) as ReturnType<typeof taskDefinition>;
  } catch (err) {
    throw new Error(`failed to read ECS_TASK_DEFINITION ${path}: ${errorMessage(err)}`);
  }
}

try {
  const template = JSON.parse(readFileSync(resolve(root, 'deploy/iam-policy.json'), 'utf8')) as PolicyDocument;
  const td = taskDefinition();
  const policy = renderIamPolicy(template, {
    region: env.AWS_REGION ?? '',
    accountId: env.AWS_ACCOUNT_ID ?? '',
    cluster: env.ECS_CLUSTER ?? '',
    service: env.ECS_SERVICE ?? '',
    repository: env.ECR_REPOSITORY ?? '',
    family: td.family ?? '',
    ...(td.taskRoleArn ? { taskRoleArn: td.taskRoleArn } : {}),
    ...(td.executionRoleArn ? { executionRoleArn: td.executionRoleArn } : {}),
  });
  process.stdout.write(`${JSON.stringify(policy, null, 2)}\n`);
} catch (err) {
  process.stderr.write(`render-iam-policy: ${errorMessage(err)}\n`);
  process.exit(1);
}
