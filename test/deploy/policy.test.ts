/**
 * The worker's IAM policy grants what the code does in AWS, read from the code (test/deploy/code-actions.ts), scoped
 * to the target wherever the Service Authorization Reference allows, and nothing else. The OIDC trust policy is
 * limited to one repository and branch.
 */
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderIamPolicy, type PolicyDocument, type PolicyStatement } from '../../src/shared/iam-policy.js';
import { ROOT } from '../../src/devstack/process.js';
import { SDK_OPERATIONS, sourceFiles, usage, type Usage } from './code-actions.js';

const list = (v: string[] | string): string[] => (Array.isArray(v) ? v : [v]);

async function readPolicy(
  name: string,
): Promise<PolicyDocument & { Statement: (PolicyStatement & { Principal?: unknown })[] }> {
  return JSON.parse(await readFile(join(ROOT, 'deploy', name), 'utf8')) as PolicyDocument & {
    Statement: (PolicyStatement & { Principal?: unknown })[];
  };
}

/** The actions in `needed` that no Allow statement of `policy` grants. */
function missingFrom(policy: PolicyDocument, needed: Iterable<string>): string[] {
  const granted = new Set(policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => list(s.Action)));
  return [...needed].filter((a) => !granted.has(a)).sort();
}

const TARGET = {
  region: 'ap-northeast-1',
  accountId: '123456789012',
  cluster: 'web-cluster',
  service: 'web',
  repository: 'web-api',
  family: 'web',
  taskRoleArn: 'arn:aws:iam::123456789012:role/web-task',
  executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
};
const ARN = 'arn:aws:ecs:ap-northeast-1:123456789012';

describe('deploy/iam-policy.json', () => {
  let template: PolicyDocument;
  let policy: PolicyDocument;
  let code: Usage;

  beforeAll(async () => {
    template = await readPolicy('iam-policy.json');
    policy = renderIamPolicy(template, TARGET);
    code = usage(await sourceFiles(ROOT));
  });

  test('the scan finds the SDK commands and registry requests the activities make, and maps every one', () => {
    expect([...code.found.keys()]).toEqual(
      expect.arrayContaining([
        'ecr:GetAuthorizationToken',
        'ecs:UpdateService',
        'ecs:RegisterTaskDefinition',
        'HEAD manifests',
        'GET blobs',
        'push',
      ]),
    );
    expect(code.unmapped).toEqual([]);
  });

  test('grants every action the code needs: each SDK command, what it implies, and the registry requests', () => {
    expect(missingFrom(policy, code.needed)).toEqual([]);
  });

  test('the check fails for a policy that lacks one needed action', () => {
    const without = (action: string): PolicyDocument => ({
      ...policy,
      Statement: policy.Statement.map((s) => ({ ...s, Action: list(s.Action).filter((a) => a !== action) })),
    });
    expect(missingFrom(without('ecr:GetDownloadUrlForLayer'), code.needed)).toEqual(['ecr:GetDownloadUrlForLayer']);
    expect(missingFrom(without('iam:PassRole'), code.needed)).toEqual(['iam:PassRole']);
  });

  test('an SDK command without a row in the action table is reported, so it cannot ship without a permission', () => {
    const scanned = usage([
      {
        path: 'src/activities/new.ts',
        text: "import { FrobnicateClusterCommand } from '@aws-sdk/client-ecs';\nnew FrobnicateClusterCommand({});",
      },
      {
        path: 'src/activities/sts.ts',
        text: "import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';\nnew GetCallerIdentityCommand({});",
      },
    ]);
    expect(scanned.unmapped).toEqual([
      'src/activities/sts.ts: @aws-sdk/client-sts has no IAM prefix in test/deploy/code-actions.ts',
      'ecs:FrobnicateCluster (src/activities/new.ts) has no row in test/deploy/code-actions.ts',
    ]);
  });

  test('already knows the ECS deployment APIs the workflow is adopting', () => {
    for (const op of [
      'DescribeServiceDeployments',
      'ListServiceDeployments',
      'StopServiceDeployment',
      'ContinueServiceDeployment',
      'DescribeServiceRevisions',
    ]) {
      expect(SDK_OPERATIONS[`ecs:${op}`]?.actions).toEqual([`ecs:${op}`]);
    }
  });

  test('grants nothing the code does not use, each action once', () => {
    const granted = policy.Statement.flatMap((s) => list(s.Action));
    expect(granted.filter((a) => !code.needed.has(a))).toEqual([]);
    expect(new Set(granted).size).toBe(granted.length);
    for (const s of policy.Statement) {
      expect(s.Effect).toBe('Allow');
      for (const a of list(s.Action)) expect(a).not.toContain('*');
    }
  });

  test('scopes each action as far as the Service Authorization Reference allows', () => {
    const grant = (action: string) => {
      const s = policy.Statement.find((st) => list(st.Action).includes(action));
      return { Resource: s?.Resource, Condition: s?.Condition };
    };
    const repository = 'arn:aws:ecr:ap-northeast-1:123456789012:repository/web-api';
    const family = `${ARN}:task-definition/web:*`;
    const inCluster = { ArnEquals: { 'ecs:cluster': `${ARN}:cluster/web-cluster` } };
    const expected: Record<string, { Resource: string | string[]; Condition?: unknown }> = {
      // No resource type in the reference: "*" is the only choice.
      'ecr:GetAuthorizationToken': { Resource: '*' },
      'ecs:DescribeTaskDefinition': { Resource: '*' },
      'ecs:DeregisterTaskDefinition': { Resource: '*' },
      'ecs:ListTaskDefinitions': { Resource: '*' },
      'ecr:DescribeRepositories': { Resource: repository },
      'ecr:BatchGetImage': { Resource: repository },
      'ecr:GetDownloadUrlForLayer': { Resource: repository },
      'ecr:PutImage': { Resource: repository },
      'ecr:BatchDeleteImage': { Resource: repository },
      'ecs:DescribeServices': { Resource: `${ARN}:service/web-cluster/web` },
      // Only this service, and only to revisions of the family (the key is the ARN the request names).
      'ecs:UpdateService': {
        Resource: `${ARN}:service/web-cluster/web`,
        Condition: { ArnLike: { 'ecs:task-definition': family } },
      },
      'ecs:RegisterTaskDefinition': { Resource: family },
      'ecs:TagResource': {
        Resource: family,
        Condition: { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } },
      },
      // ListTasks is authorized on container instances, which Fargate tasks have none of: the cluster key scopes it.
      'ecs:ListTasks': { Resource: '*', Condition: inCluster },
      'ecs:DescribeTasks': { Resource: `${ARN}:task/web-cluster/*`, Condition: inCluster },
      'iam:PassRole': {
        Resource: ['arn:aws:iam::123456789012:role/web-task', 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole'],
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      },
    };
    for (const [action, scope] of Object.entries(expected)) {
      expect({ action, ...grant(action) }).toEqual({ action, Resource: scope.Resource, Condition: scope.Condition });
    }
    // Every other granted action sits in a statement checked above.
    for (const s of policy.Statement.filter((st) => list(st.Resource).includes('*'))) {
      for (const a of list(s.Action)) expect(Object.keys(expected)).toContain(a);
    }
  });

  test('takes the partition from the region: aws-cn in China, aws-us-gov in GovCloud', () => {
    for (const [region, partition] of [
      ['cn-north-1', 'aws-cn'],
      ['us-gov-west-1', 'aws-us-gov'],
    ] as const) {
      const roles = (name: string) => `arn:${partition}:iam::123456789012:role/${name}`;
      const rendered = JSON.stringify(
        renderIamPolicy(template, {
          ...TARGET,
          region,
          taskRoleArn: roles('web-task'),
          executionRoleArn: roles('ecsTaskExecutionRole'),
        }),
      );
      const arns = [...rendered.matchAll(/"arn:([a-z-]+):/g)].map((m) => m[1]);
      expect(new Set(arns)).toEqual(new Set([partition]));
      expect(rendered).toContain(`arn:${partition}:ecs:${region}:123456789012:service/web-cluster/web`);
    }
  });
});

describe('scripts/render-iam-policy.ts', () => {
  const render = (env: Record<string, string>) =>
    execa('node', ['--import', 'tsx', join(ROOT, 'scripts/render-iam-policy.ts')], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      extendEnv: false,
      reject: false,
    });
  const target = {
    AWS_REGION: 'ap-northeast-1',
    AWS_ACCOUNT_ID: '123456789012',
    ECS_CLUSTER: 'web-cluster',
    ECS_SERVICE: 'web',
    ECR_REPOSITORY: 'web-api',
  };

  test('prints the policy for the family and roles of the task-definition template', async () => {
    const out = await render({ ...target, ECS_TASK_DEFINITION: 'deploy/task-definition.json' });
    expect(out.exitCode).toBe(0);
    const policy = JSON.parse(out.stdout) as PolicyDocument;
    const passRole = policy.Statement.find((st) => list(st.Action).includes('iam:PassRole'));
    expect(passRole?.Resource).toEqual([
      'arn:aws:iam::123456789012:role/hello-task',
      'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
    ]);
    expect(out.stdout).toContain(`${ARN}:task-definition/hello:*`);
    expect(out.stdout).not.toContain('${');
  });

  test('refuses a bad value with one line naming it, and prints no policy', async () => {
    const out = await render({ ...target, AWS_ACCOUNT_ID: '1234', TASK_FAMILY: 'web' });
    expect(out.exitCode).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr.trim().split('\n')).toEqual([
      'render-iam-policy: invalid AWS_ACCOUNT_ID: "1234" is not a 12-digit account id',
    ]);
  });
});

describe('deploy/oidc-trust-policy.json', () => {
  test("trusts GitHub's OIDC provider for one repository's main branch, with the STS audience, exactly", async () => {
    const trust = await readPolicy('oidc-trust-policy.json');
    expect(trust.Statement).toHaveLength(1);
    const s = trust.Statement[0];
    expect(s?.Action).toBe('sts:AssumeRoleWithWebIdentity');
    expect(s?.Principal).toEqual({
      Federated: 'arn:aws:iam::${AWS_ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com',
    });
    expect(s?.Condition).toEqual({
      StringEquals: {
        'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
        'token.actions.githubusercontent.com:sub': 'repo:${GITHUB_ORG}/${GITHUB_REPO}:ref:refs/heads/main',
      },
    });
  });
});

describe('the policies and the production guide', () => {
  test('every ${PLACEHOLDER} in the policies is explained in docs/production.md', async () => {
    const guide = await readFile(join(ROOT, 'docs/production.md'), 'utf8');
    for (const name of ['iam-policy.json', 'oidc-trust-policy.json']) {
      const text = await readFile(join(ROOT, 'deploy', name), 'utf8');
      for (const m of new Set([...text.matchAll(/\$\{([A-Z_]+)\}/g)].map((x) => x[1] ?? '')))
        expect(guide).toContain(`\`\${${m}}\``);
    }
  });
});
