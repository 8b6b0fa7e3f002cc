/** Rendering the IAM policy template for one target: the partition from the region, roles from the task definition. */
import { partitionOf, renderIamPolicy, type PolicyDocument } from '../../src/shared/iam-policy.js';

const template: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Repo',
      Effect: 'Allow',
      Action: ['ecr:PutImage'],
      Resource: 'arn:${PARTITION}:ecr:${REGION}:${AWS_ACCOUNT_ID}:repository/${REPOSITORY}',
    },
    {
      Sid: 'Pass',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: [
        'arn:${PARTITION}:iam::${AWS_ACCOUNT_ID}:role/${TASK_ROLE}',
        'arn:${PARTITION}:iam::${AWS_ACCOUNT_ID}:role/${EXECUTION_ROLE}',
      ],
    },
  ],
};

const target = {
  region: 'eu-west-1',
  accountId: '111122223333',
  cluster: 'c',
  service: 's',
  repository: 'team/api',
  family: 'api',
  taskRoleArn: 'arn:aws:iam::111122223333:role/service-role/api-task',
  executionRoleArn: 'arn:aws:iam::111122223333:role/ecsTaskExecutionRole',
};

describe('partitionOf', () => {
  it('is aws-cn for China, aws-us-gov for GovCloud and aws elsewhere', () => {
    expect(['cn-north-1', 'cn-northwest-1', 'us-gov-east-1', 'us-east-1', 'ap-northeast-1'].map(partitionOf)).toEqual([
      'aws-cn',
      'aws-cn',
      'aws-us-gov',
      'aws',
      'aws',
    ]);
  });
});

describe('renderIamPolicy', () => {
  it('fills every placeholder, keeping role paths', () => {
    expect(renderIamPolicy(template, target).Statement.map((s) => s.Resource)).toEqual([
      'arn:aws:ecr:eu-west-1:111122223333:repository/team/api',
      ['arn:aws:iam::111122223333:role/service-role/api-task', 'arn:aws:iam::111122223333:role/ecsTaskExecutionRole'],
    ]);
  });

  it('passes only the roles the task definition names, and drops iam:PassRole when it names none', () => {
    const executionOnly = { ...target, taskRoleArn: undefined };
    expect(renderIamPolicy(template, executionOnly).Statement[1]?.Resource).toEqual([
      'arn:aws:iam::111122223333:role/ecsTaskExecutionRole',
    ]);
    const noRoles = { ...executionOnly, executionRoleArn: undefined };
    expect(renderIamPolicy(template, noRoles).Statement.map((s) => s.Sid)).toEqual(['Repo']);
  });

  it.each([
    [{ region: 'mars-1' }, /^invalid AWS_REGION: "mars-1" is not an AWS region/],
    [{ accountId: '1234' }, /^invalid AWS_ACCOUNT_ID: "1234" is not a 12-digit account id$/],
    [{ cluster: 'a b' }, /^invalid ECS_CLUSTER: "a b" is not a valid ECS cluster name$/],
    [{ repository: 'Team/API' }, /^invalid ECR_REPOSITORY: /],
    [{ family: '' }, /^invalid family: "" is not a valid task definition family/],
    [{ taskRoleArn: 'web-task' }, /^invalid taskRoleArn: "web-task" is not an IAM role ARN$/],
    [
      { executionRoleArn: 'arn:aws:iam::999988887777:role/x' },
      /^invalid executionRoleArn: .* belongs to account 999988887777; the worker in 111122223333 can only pass/,
    ],
    [
      { region: 'cn-north-1' },
      /^invalid taskRoleArn: arn:aws:iam::111122223333:role\/service-role\/api-task is in partition aws, but cn-north-1 is in aws-cn$/,
    ],
  ])('refuses %j, naming the field', (patch, message) => {
    expect(() => renderIamPolicy(template, { ...target, ...patch })).toThrow(message);
  });

  it('refuses a template with a placeholder it does not know, rather than leaving it in the policy', () => {
    const broken = {
      ...template,
      Statement: [{ ...template.Statement[0]!, Resource: 'arn:${PARTITION}:x:${BUCKET}' }],
    };
    expect(() => renderIamPolicy(broken, target)).toThrow(
      'the IAM policy template names an unknown placeholder ${BUCKET}',
    );
  });
});
