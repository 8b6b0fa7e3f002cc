/** Task-definition templates: loading, replacing the image, Fargate sizes, and the diff a person reviews. */
import { createHash } from 'node:crypto';
import type { RegisterTaskDefinitionCommandInput, TaskDefinition } from '@aws-sdk/client-ecs';
import { errorMessage } from '../shared/errors.js';
import { ValidationError } from '../shared/validate.js';
import { readRepoFile } from './repo-files.js';

export type TaskDefinitionTemplate = RegisterTaskDefinitionCommandInput;

/** Fields DescribeTaskDefinition returns that RegisterTaskDefinition refuses. */
export const READ_ONLY_FIELDS = [
  'taskDefinitionArn',
  'revision',
  'status',
  'requiresAttributes',
  'compatibilities',
  'registeredAt',
  'registeredBy',
  'deregisteredAt',
] as const;

/** A described (or hand-written) task definition as a template to register from. */
export function toTemplate(definition: TaskDefinition | TaskDefinitionTemplate): TaskDefinitionTemplate {
  const copy = structuredClone(definition) as Record<string, unknown>;
  for (const field of READ_ONLY_FIELDS) delete copy[field];
  return copy as unknown as TaskDefinitionTemplate;
}

/**
 * A fingerprint of what a template registers: sha256 of its JSON with keys sorted, tags left out. Two templates
 * with the same fingerprint register the same definition.
 */
export function templateHash(template: TaskDefinitionTemplate): string {
  return createHash('sha256')
    .update(canonicalJson({ ...template, tags: undefined }))
    .digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Reads `${workspace}/${path}`; accepts a bare task definition or `describe-task-definition` output. The file must be
 * a regular file inside the checkout, read without following a symbolic link, of at most MAX_REPO_FILE_BYTES.
 */
export async function loadTemplate(workspace: string, path: string): Promise<TaskDefinitionTemplate> {
  const text = await readRepoFile(workspace, path, { field: 'taskDefinitionPath' });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ValidationError('taskDefinitionPath', `"${path}" is not valid JSON: ${errorMessage(err)}`);
  }
  if (isRecord(json) && json.family === undefined && isRecord(json.taskDefinition)) json = json.taskDefinition;
  if (!isRecord(json) || typeof json.family !== 'string' || !Array.isArray(json.containerDefinitions)) {
    throw new ValidationError(
      'taskDefinitionPath',
      `"${path}" is not a task definition (expected an object with "family" and "containerDefinitions")`,
    );
  }
  // ECS stores "1 vCPU" as "1024" and the API wants strings; normalise so diffs compare like with like.
  for (const field of ['cpu', 'memory'] as const) {
    const value = json[field];
    if (typeof value === 'number' || typeof value === 'string') json[field] = normaliseSize(String(value), field);
  }
  return toTemplate(json as unknown as TaskDefinitionTemplate);
}

/** The template with the named container's image replaced, and nothing else changed. */
export function withImage(
  template: TaskDefinitionTemplate,
  containerName: string,
  image: string,
): TaskDefinitionTemplate {
  const names = (template.containerDefinitions ?? []).map((c) => c.name);
  if (!names.includes(containerName)) {
    const known = names.length > 0 ? names.map((n) => `"${n}"`).join(', ') : 'none';
    throw new ValidationError(
      'containerName',
      `task definition "${template.family}" has no container named "${containerName}" (containers: ${known})`,
    );
  }
  const next = structuredClone(template);
  for (const container of next.containerDefinitions ?? []) {
    if (container.name === containerName) container.image = image;
  }
  return next;
}

/** The target's container and the recipe's others, each given `image`; a name twice is set once. */
export function withImageIn(
  template: TaskDefinitionTemplate,
  names: { containerName: string; containerNames?: string[] | undefined },
  image: string,
): TaskDefinitionTemplate {
  const all = new Set([names.containerName, ...(names.containerNames ?? [])]);
  return [...all].reduce((t, name) => withImage(t, name, image), template);
}

function steps(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/** Task memory (MiB) Fargate offers for each task cpu (units). */
export const FARGATE_SIZES: ReadonlyMap<number, readonly number[]> = new Map([
  [256, [512, 1024, 2048]],
  [512, steps(1024, 4096, 1024)],
  [1024, steps(2048, 8192, 1024)],
  [2048, steps(4096, 16384, 1024)],
  [4096, steps(8192, 30720, 1024)],
  [8192, steps(16384, 61440, 4096)],
  [16384, steps(32768, 122880, 8192)],
]);

/** "1 vCPU", "0.25 vcpu" -> "1024", "256"; "2 GB" -> "2048"; anything else unchanged. */
export function normaliseSize(value: string, field: 'cpu' | 'memory'): string {
  const unit = field === 'cpu' ? /^\s*(\d+(?:\.\d+)?)\s*vcpu\s*$/i : /^\s*(\d+(?:\.\d+)?)\s*gb\s*$/i;
  const scaled = unit.exec(value)?.[1];
  return scaled === undefined ? value.trim() : String(Number(scaled) * 1024);
}

function parseSize(value: string | undefined, field: 'cpu' | 'memory'): number {
  const size = value === undefined ? NaN : Number(normaliseSize(value, field));
  if (value === undefined || value.trim() === '' || !Number.isInteger(size)) {
    throw new ValidationError(field, `Fargate needs a task-level ${field}, got ${JSON.stringify(value) ?? 'nothing'}`);
  }
  return size;
}

/** Refuses cpu/memory pairs Fargate does not offer, before RegisterTaskDefinition or the rollout does. */
export function validateFargateSize(template: TaskDefinitionTemplate): void {
  if (!template.requiresCompatibilities?.includes('FARGATE')) return;
  const cpu = parseSize(template.cpu, 'cpu');
  const memory = parseSize(template.memory, 'memory');
  const allowed = FARGATE_SIZES.get(cpu);
  if (allowed === undefined) {
    throw new ValidationError('cpu', `Fargate offers cpu ${[...FARGATE_SIZES.keys()].join(', ')}; got ${cpu}`);
  }
  if (!allowed.includes(memory)) {
    const first = allowed[0] ?? 0;
    const last = allowed[allowed.length - 1] ?? 0;
    const range =
      allowed.length <= 4 ? allowed.join(', ') : `${first} to ${last} in steps of ${(allowed[1] ?? 0) - first}`;
    throw new ValidationError('memory', `Fargate with cpu ${cpu} takes memory ${range} (MiB); got ${memory}`);
  }
}

/**
 * What changes between two task definitions, one line per changed value, e.g.
 * `containers[web].image: repo:old -> repo:new` or `cpu: 256 -> 512`.
 */
export function taskDefinitionDiff(current: object, next: object): string[] {
  const before = flatten(current);
  const after = flatten(next);
  const lines: string[] = [];
  for (const path of new Set([...before.keys(), ...after.keys()])) {
    const a = before.get(path);
    const b = after.get(path);
    if (a !== b) lines.push(`${path}: ${a ?? '(none)'} -> ${b ?? '(none)'}`);
  }
  return lines;
}

const NOT_DIFFED = new Set<string>([...READ_ONLY_FIELDS, 'tags']);

function flatten(definition: object): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(definition)) {
    if (NOT_DIFFED.has(key)) continue;
    flattenValue(value, key === 'containerDefinitions' ? 'containers' : key, out);
  }
  return out;
}

/** Objects by key, lists of named items (containers, environment) by name, other lists whole. */
function flattenValue(value: unknown, path: string, out: Map<string, string>): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    if (value.length === 0) return;
    if (value.every((item) => isRecord(item) && typeof item.name === 'string')) {
      for (const item of value as Record<string, unknown>[]) {
        const rest = { ...item };
        delete rest.name;
        flattenValue(rest, `${path}[${String(item.name)}]`, out);
      }
    } else {
      // Keys sorted: ECS answers with its own key order, which is not a change.
      out.set(path, canonicalJson(value));
    }
  } else if (value instanceof Date) {
    out.set(path, value.toISOString());
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) flattenValue(item, `${path}.${key}`, out);
  } else {
    out.set(path, typeof value === 'string' ? value : JSON.stringify(value));
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
