/**
 * What the code does in AWS, read from src/: every AWS SDK command it constructs and every registry (v2) request it
 * makes, each mapped to the IAM actions AWS authorizes it as. The tables are the AWS Service Authorization Reference
 * (SAR) for ECS and ECR, cut down to the operations this project uses or is about to; a command found in src/ that
 * has no row fails the policy test, so a new call cannot ship without its permission.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

export interface Need {
  actions: string[];
  /** Why, and the resource types and condition keys the SAR lists, which the policy's scoping follows. */
  why: string;
}

/** IAM prefix of each SDK client package. */
export const PREFIX: Record<string, string> = { '@aws-sdk/client-ecr': 'ecr', '@aws-sdk/client-ecs': 'ecs' };

/** SDK operation (prefix:Operation) → the IAM actions it needs. */
export const SDK_OPERATIONS: Record<string, Need> = {
  'ecr:GetAuthorizationToken': { actions: ['ecr:GetAuthorizationToken'], why: 'SAR: no resource type, so "*"' },
  'ecr:DescribeRepositories': { actions: ['ecr:DescribeRepositories'], why: 'SAR: repository*' },
  'ecr:BatchDeleteImage': { actions: ['ecr:BatchDeleteImage'], why: 'SAR: repository*' },
  'ecs:DescribeServices': { actions: ['ecs:DescribeServices'], why: 'SAR: service*; keys ecs:cluster' },
  'ecs:UpdateService': {
    actions: ['ecs:UpdateService'],
    why:
      'SAR: service*; keys ecs:cluster, ecs:task-definition; its dependent iam:PassRole is for roles the request ' +
      'passes (infrastructure roles), and the update passes none',
  },
  'ecs:RegisterTaskDefinition': {
    actions: ['ecs:RegisterTaskDefinition', 'ecs:TagResource', 'iam:PassRole'],
    why:
      'SAR: task-definition*; dependent actions ecs:TagResource (the revision is registered with deploy:sha and ' +
      'deploy:id tags) and iam:PassRole (for the task and execution roles the definition names)',
  },
  'ecs:DescribeTaskDefinition': {
    actions: ['ecs:DescribeTaskDefinition'],
    why: 'SAR: no resource type, so "*"; no dependent action, also with include: TAGS',
  },
  'ecs:ListTaskDefinitions': { actions: ['ecs:ListTaskDefinitions'], why: 'SAR: no resource type, so "*"' },
  'ecs:DeregisterTaskDefinition': { actions: ['ecs:DeregisterTaskDefinition'], why: 'SAR: no resource type, so "*"' },
  'ecs:ListTasks': { actions: ['ecs:ListTasks'], why: 'SAR: container-instance*; keys ecs:cluster' },
  'ecs:DescribeTasks': { actions: ['ecs:DescribeTasks'], why: 'SAR: task*; keys ecs:cluster' },
  // ECS's deployment APIs, which the workflow is adopting: the test asks the policy for them once the code uses them.
  'ecs:DescribeServiceDeployments': {
    actions: ['ecs:DescribeServiceDeployments'],
    why: 'SAR: service* and service-deployment* (…:service-deployment/<cluster>/<service>/<id>); keys ecs:cluster, ecs:service',
  },
  'ecs:ListServiceDeployments': { actions: ['ecs:ListServiceDeployments'], why: 'SAR: service*; keys ecs:cluster' },
  'ecs:StopServiceDeployment': {
    actions: ['ecs:StopServiceDeployment'],
    why: 'SAR: service* and service-deployment*; keys ecs:cluster, ecs:service',
  },
  'ecs:ContinueServiceDeployment': {
    actions: ['ecs:ContinueServiceDeployment'],
    why: 'SAR: service* and service-deployment*; keys ecs:cluster, ecs:service',
  },
  'ecs:DescribeServiceRevisions': {
    actions: ['ecs:DescribeServiceRevisions'],
    why: 'SAR: service* and service-revision* (…:service-revision/<cluster>/<service>/<id>); keys ecs:cluster, ecs:service',
  },
  'ecs:TagResource': {
    actions: ['ecs:TagResource'],
    why:
      'SAR: cluster, service, task, task-definition, …; key ecs:CreateAction. The policy allows it only as part of ' +
      'RegisterTaskDefinition: tagging anything afterwards needs its own statement',
  },
  'ecs:ListTagsForResource': {
    actions: ['ecs:ListTagsForResource'],
    why: 'SAR: service, task-definition, cluster, … (none required)',
  },
};

/**
 * Registry (v2) requests, made by fetch (registry-api.ts) and by `buildah push` / `docker push`. ECR's registry
 * endpoint authorizes each as an IAM action on the repository (SAR: repository* for all of them).
 */
export const REGISTRY_REQUESTS: Record<string, Need> = {
  'HEAD manifests': { actions: ['ecr:BatchGetImage'], why: 'is the SHA already pushed' },
  'GET manifests': { actions: ['ecr:BatchGetImage'], why: 'reading the manifest of an image to discard' },
  'GET blobs': {
    actions: ['ecr:GetDownloadUrlForLayer'],
    why: 'reading the image config blob (its deploy.id label) before discarding a failed deploy’s image',
  },
  'DELETE manifests': {
    actions: [],
    why: 'only sent to a local DEPLOY_REGISTRY: ECR does not take it, so on ECR the code calls BatchDeleteImage',
  },
  push: {
    actions: [
      'ecr:BatchGetImage',
      'ecr:BatchCheckLayerAvailability',
      'ecr:InitiateLayerUpload',
      'ecr:UploadLayerPart',
      'ecr:CompleteLayerUpload',
      'ecr:PutImage',
    ],
    why: 'the pusher checks which layers exist, uploads the missing ones, then puts the manifest',
  },
};

/** The local stack's seeding creates the repository, cluster and service on the emulator only. */
const NOT_RUN_AGAINST_AWS = ['src/devstack/'];

export interface SourceFile {
  path: string;
  text: string;
}

export async function sourceFiles(root: string, dir = 'src'): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(root, path)));
    else if (entry.name.endsWith('.ts'))
      out.push({ path: relative(root, join(root, path)), text: await readFile(join(root, path), 'utf8') });
  }
  return out;
}

export interface Usage {
  /** What the code does ('ecs:UpdateService', 'GET blobs', 'push'), with the files that do it. */
  found: Map<string, string[]>;
  /** Found operations with no row in the tables: each needs one before the policy test can pass. */
  unmapped: string[];
  /** The IAM actions all found operations need. */
  needed: Set<string>;
}

export function usage(files: SourceFile[]): Usage {
  const found = new Map<string, string[]>();
  const add = (what: string, path: string): void => {
    found.set(what, [...new Set([...(found.get(what) ?? []), path])]);
  };
  const unmapped: string[] = [];
  for (const { path, text } of files) {
    if (NOT_RUN_AGAINST_AWS.some((p) => path.startsWith(p))) continue;
    const imported = new Map<string, string>();
    for (const m of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'(@aws-sdk\/client-[a-z0-9-]+)'/g)) {
      for (const name of (m[1] ?? '').split(',').map((s) => s.trim().replace(/^type\s+/, ''))) {
        if (name) imported.set(name, m[2] ?? '');
      }
    }
    for (const m of text.matchAll(/new\s+([A-Z][A-Za-z0-9]*)Command\s*\(/g)) {
      const pkg = imported.get(`${m[1]}Command`);
      if (!pkg) {
        unmapped.push(`${path}: ${m[1]}Command is not imported from an @aws-sdk client package`);
        continue;
      }
      const prefix = PREFIX[pkg];
      if (!prefix) {
        unmapped.push(`${path}: ${pkg} has no IAM prefix in test/deploy/code-actions.ts`);
        continue;
      }
      add(`${prefix}:${m[1]}`, path);
    }
    for (const m of text.matchAll(/'(HEAD|GET|PUT|POST|PATCH|DELETE)',\s*`(manifests|blobs)\//g)) {
      add(`${m[1]} ${m[2]}`, path);
    }
    if (/file: '(?:buildah|docker)',\s*args: \[[^\]]*'push'/.test(text)) add('push', path);
  }
  const needed = new Set<string>();
  for (const what of found.keys()) {
    const need = SDK_OPERATIONS[what] ?? REGISTRY_REQUESTS[what];
    if (!need)
      unmapped.push(`${what} (${(found.get(what) ?? []).join(', ')}) has no row in test/deploy/code-actions.ts`);
    for (const a of need?.actions ?? []) needed.add(a);
  }
  return { found, unmapped, needed };
}
