/**
 * The worker's IAM policy holds exactly what the code does in AWS: every SDK command in src/ maps to an action
 * in deploy/iam-policy.json, and the policy holds nothing else. The OIDC trust policy is limited to one repository
 * and branch.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ROOT } from '../support/process.js';

interface Statement {
  Sid: string;
  Effect: string;
  Action: string[] | string;
  Resource: string[] | string;
  Condition?: Record<string, Record<string, string>>;
  Principal?: Record<string, string>;
}
interface Policy {
  Version: string;
  Statement: Statement[];
}

/** The local stack's seeding (src/devstack) creates the repository, cluster and service on the emulator only. */
const NOT_RUN_AGAINST_AWS = ['src/devstack/'];

/** IAM prefix of each SDK client package. */
const PREFIX: Record<string, string> = { '@aws-sdk/client-ecr': 'ecr', '@aws-sdk/client-ecs': 'ecs' };

/** Actions an SDK command needs besides its own, per AWS's docs. */
const ALSO_NEEDED: Record<string, { actions: string[]; why: string }> = {
  'ecs:RegisterTaskDefinition': {
    actions: ['ecs:TagResource', 'iam:PassRole'],
    why: 'the revision is registered with tags (deploy:sha, deploy:id), and names the task and execution roles',
  },
};

/**
 * The image push and the "is the tag there" check speak the registry (v2) protocol through buildah or docker and
 * fetch, not the SDK; ECR authorizes each request as one of these actions.
 */
const REGISTRY_PROTOCOL: Record<string, string> = {
  'ecr:BatchGetImage': 'HEAD /v2/<repo>/manifests/<sha> (registry-api.ts findManifest, before building)',
  'ecr:BatchCheckLayerAvailability': 'HEAD /v2/<repo>/blobs/<digest> (the pusher asks which layers exist)',
  'ecr:InitiateLayerUpload': 'POST /v2/<repo>/blobs/uploads/',
  'ecr:UploadLayerPart': 'PATCH /v2/<repo>/blobs/uploads/<id>',
  'ecr:CompleteLayerUpload': 'PUT /v2/<repo>/blobs/uploads/<id>?digest=...',
  'ecr:PutImage': 'PUT /v2/<repo>/manifests/<sha>',
};

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Every `new XxxCommand(` in src/, as the IAM action it needs, with the files that send it. */
async function sdkActions(): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const file of await sourceFiles(join(ROOT, 'src'))) {
    const rel = relative(ROOT, file);
    if (NOT_RUN_AGAINST_AWS.some((p) => rel.startsWith(p))) continue;
    const text = await readFile(file, 'utf8');
    const imported = new Map<string, string>();
    for (const m of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'(@aws-sdk\/client-[a-z0-9-]+)'/g)) {
      for (const name of (m[1] ?? '').split(',').map((s) => s.trim().replace(/^type\s+/, ''))) {
        if (name) imported.set(name, m[2] ?? '');
      }
    }
    for (const m of text.matchAll(/new\s+([A-Z][A-Za-z0-9]*)Command\s*\(/g)) {
      const command = `${m[1]}Command`;
      const pkg = imported.get(command);
      if (!pkg) throw new Error(`${rel}: ${command} is not imported from an @aws-sdk client package`);
      const prefix = PREFIX[pkg];
      if (!prefix) throw new Error(`${rel}: ${pkg} has no IAM prefix in this test; add it and its actions`);
      const action = `${prefix}:${m[1]}`;
      found.set(action, [...(found.get(action) ?? []), rel]);
    }
  }
  return found;
}

const list = (v: string[] | string): string[] => (Array.isArray(v) ? v : [v]);

async function readPolicy(name: string): Promise<Policy> {
  return JSON.parse(await readFile(join(ROOT, 'deploy', name), 'utf8')) as Policy;
}

describe('deploy/iam-policy.json', () => {
  let policy: Policy;
  let used: Map<string, string[]>;
  let granted: string[];

  beforeAll(async () => {
    policy = await readPolicy('iam-policy.json');
    used = await sdkActions();
    granted = policy.Statement.flatMap((s) => list(s.Action));
  });

  test('the scan finds the SDK commands the activities send', () => {
    expect([...used.keys()]).toEqual(
      expect.arrayContaining(['ecr:GetAuthorizationToken', 'ecs:UpdateService', 'ecs:DeregisterTaskDefinition']),
    );
  });

  test('grants every action the code needs: each SDK command, what it implies, and the registry protocol', () => {
    const needed = [
      ...used.keys(),
      ...[...used.keys()].flatMap((a) => ALSO_NEEDED[a]?.actions ?? []),
      ...Object.keys(REGISTRY_PROTOCOL),
    ];
    const missing = needed.filter((a) => !granted.includes(a));
    expect(missing).toEqual([]);
  });

  test('grants nothing the code does not use', () => {
    const needed = new Set([
      ...used.keys(),
      ...[...used.keys()].flatMap((a) => ALSO_NEEDED[a]?.actions ?? []),
      ...Object.keys(REGISTRY_PROTOCOL),
    ]);
    expect(granted.filter((a) => !needed.has(a))).toEqual([]);
    expect(new Set(granted).size).toBe(granted.length);
  });

  test('allows only, with no wildcard actions, and scopes to the repository, service and cluster', () => {
    for (const s of policy.Statement) {
      expect(s.Effect).toBe('Allow');
      for (const a of list(s.Action)) expect(a).not.toContain('*');
    }
    const resourceOf = (action: string) => policy.Statement.filter((s) => list(s.Action).includes(action));
    expect(resourceOf('ecr:PutImage')[0]?.Resource).toBe(
      'arn:aws:ecr:${REGION}:${AWS_ACCOUNT_ID}:repository/${REPOSITORY}',
    );
    expect(resourceOf('ecs:UpdateService')[0]?.Resource).toBe(
      'arn:aws:ecs:${REGION}:${AWS_ACCOUNT_ID}:service/${CLUSTER}/${SERVICE}',
    );
    for (const a of ['ecs:ListTasks', 'ecs:DescribeTasks'])
      expect(resourceOf(a)[0]?.Condition?.ArnEquals?.['ecs:cluster']).toBe(
        'arn:aws:ecs:${REGION}:${AWS_ACCOUNT_ID}:cluster/${CLUSTER}',
      );
    const passRole = resourceOf('iam:PassRole')[0];
    expect(passRole?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    expect(list(passRole?.Resource ?? [])).toEqual([
      'arn:aws:iam::${AWS_ACCOUNT_ID}:role/${TASK_ROLE}',
      'arn:aws:iam::${AWS_ACCOUNT_ID}:role/${EXECUTION_ROLE}',
    ]);
  });

  test('uses "*" only for actions that AWS does not scope to a resource, or with a condition', () => {
    // Per the service authorization reference: these take no resource ARN.
    const unscoped = new Set([
      'ecr:GetAuthorizationToken',
      'ecs:RegisterTaskDefinition',
      'ecs:DescribeTaskDefinition',
      'ecs:DeregisterTaskDefinition',
      'ecs:ListTaskDefinitions',
    ]);
    for (const s of policy.Statement.filter((st) => list(st.Resource).includes('*'))) {
      for (const a of list(s.Action)) expect(unscoped.has(a) || s.Condition !== undefined ? a : `${a} on *`).toBe(a);
    }
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
