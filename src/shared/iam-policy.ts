/**
 * The worker's IAM policy for one deploy target. deploy/iam-policy.json is a template; this fills its
 * ${PLACEHOLDERS}, with the partition taken from the region. Pure (scripts/render-iam-policy.ts prints the result).
 */
import { ValidationError, validateName, validateRegion } from './validate.js';

export type Partition = 'aws' | 'aws-cn' | 'aws-us-gov';

/** Every ARN in a region starts arn:<partition>:, and a role can only be passed within its partition. */
export function partitionOf(region: string): Partition {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

export interface IamPolicyTarget {
  /** AWS_REGION */
  region: string;
  /** AWS_ACCOUNT_ID: the account of the cluster, the repository and the roles. */
  accountId: string;
  /** ECS_CLUSTER */
  cluster: string;
  /** ECS_SERVICE */
  service: string;
  /** ECR_REPOSITORY */
  repository: string;
  /** The task definition family deploys register (`family` in the template). */
  family: string;
  /** The roles the task definition names; a role it does not name is left out of iam:PassRole. */
  taskRoleArn?: string;
  executionRoleArn?: string;
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: string;
  Statement: PolicyStatement[];
}

/** Placeholders that may be unset: a Resource entry naming one is dropped, and a statement left with none too. */
const OPTIONAL = new Set(['TASK_ROLE', 'EXECUTION_ROLE']);

const ACCOUNT_RE = /^\d{12}$/;
/** arn:<partition>:iam::<account>:role/<path/>name */
const ROLE_ARN_RE = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/((?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64})$/;

export function renderIamPolicy(template: PolicyDocument, target: IamPolicyTarget): PolicyDocument {
  const values = placeholderValues(target);
  const unset = Symbol('unset');
  const fill = (text: string): string | typeof unset => {
    let missing = false;
    const out = text.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
      const value = values[name];
      if (value !== undefined) return value;
      if (!OPTIONAL.has(name)) throw new Error(`the IAM policy template names an unknown placeholder \${${name}}`);
      missing = true;
      return '';
    });
    return missing ? unset : out;
  };
  const required = (text: string): string => {
    const out = fill(text);
    if (out === unset) throw new Error(`the IAM policy template uses an optional placeholder outside a Resource list`);
    return out;
  };
  const statements: PolicyStatement[] = [];
  for (const s of template.Statement) {
    const resources = (Array.isArray(s.Resource) ? s.Resource : [s.Resource])
      .map(fill)
      .filter((r): r is string => r !== unset);
    if (resources.length === 0) continue;
    const out: PolicyStatement = {
      ...s,
      Action: Array.isArray(s.Action) ? s.Action.map(required) : required(s.Action),
      Resource: Array.isArray(s.Resource) ? resources : (resources[0] ?? ''),
    };
    if (s.Condition) {
      out.Condition = Object.fromEntries(
        Object.entries(s.Condition).map(([op, keys]) => [
          op,
          Object.fromEntries(
            Object.entries(keys).map(([k, v]) => [k, Array.isArray(v) ? v.map(required) : required(v)]),
          ),
        ]),
      );
    }
    statements.push(out);
  }
  return { Version: template.Version, Statement: statements };
}

function placeholderValues(t: IamPolicyTarget): Record<string, string | undefined> {
  const region = validateRegion(t.region, 'AWS_REGION');
  if (typeof t.accountId !== 'string' || !ACCOUNT_RE.test(t.accountId)) {
    throw new ValidationError(
      'AWS_ACCOUNT_ID',
      `${JSON.stringify(t.accountId) ?? 'nothing'} is not a 12-digit account id`,
    );
  }
  const partition = partitionOf(region);
  const role = (arn: string | undefined, field: string): string | undefined => {
    if (arn === undefined || arn === '') return undefined;
    const m = ROLE_ARN_RE.exec(arn);
    if (!m) throw new ValidationError(field, `${JSON.stringify(arn)} is not an IAM role ARN`);
    if (m[1] !== partition) {
      throw new ValidationError(field, `${arn} is in partition ${m[1] ?? ''}, but ${region} is in ${partition}`);
    }
    if (m[2] !== t.accountId) {
      throw new ValidationError(
        field,
        `${arn} belongs to account ${m[2] ?? ''}; the worker in ${t.accountId} can only pass its own account's roles`,
      );
    }
    return m[3];
  };
  return {
    PARTITION: partition,
    REGION: region,
    AWS_ACCOUNT_ID: t.accountId,
    CLUSTER: validateName('cluster', t.cluster, 'ECS_CLUSTER'),
    SERVICE: validateName('service', t.service, 'ECS_SERVICE'),
    REPOSITORY: validateName('repository', t.repository, 'ECR_REPOSITORY'),
    TASK_FAMILY: validateName('family', t.family, 'family'),
    TASK_ROLE: role(t.taskRoleArn, 'taskRoleArn'),
    EXECUTION_ROLE: role(t.executionRoleArn, 'executionRoleArn'),
  };
}
