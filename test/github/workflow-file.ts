/**
 * Reads GitHub Actions workflow files and action.yml, and gives an action step its inputs as the runner would, with
 * `${{ }}` expressions replaced from a map the test gives. An expression the map does not know fails the test, so
 * a new secret or variable in the YAML cannot slip past it.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';

export interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string | number | boolean>;
  with?: Record<string, unknown>;
  shell?: string;
  'working-directory'?: string;
}

export interface Job {
  'runs-on': string;
  env?: Record<string, string>;
  steps: Step[];
  defaults?: { run?: { shell?: string; 'working-directory'?: string } };
  [key: string]: unknown;
}

export interface Workflow {
  name: string;
  on: Record<string, unknown>;
  env?: Record<string, string>;
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

export async function readWorkflow(path: string): Promise<Workflow> {
  return parse(await readFile(path, 'utf8')) as Workflow;
}

/** Replaces each `${{ expr }}`: a known name, or `a || b` (the first non-empty), or a quoted string. */
export function evaluate(text: string, known: Record<string, string>): string {
  return text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
    const values = expr.split('||').map((part) => {
      const term = part.trim();
      const quoted = /^'(.*)'$/.exec(term);
      if (quoted) return quoted[1] ?? '';
      const value = known[term];
      if (value === undefined) throw new Error(`the workflow uses \${{ ${term} }}, which this test does not know`);
      return value;
    });
    return values.find((v) => v !== '') ?? '';
  });
}

export interface ActionMetadata {
  name: string;
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string };
}

export async function readAction(path: string): Promise<ActionMetadata> {
  return parse(await readFile(path, 'utf8')) as ActionMetadata;
}

/**
 * The INPUT_* variables the runner gives a JavaScript action: every input action.yml declares, from the step's
 * `with:` or else its default, both evaluated; the name upper-cased with spaces as underscores (hyphens stay).
 * A `with:` key the action does not declare fails the test.
 */
export function actionInputEnv(
  action: ActionMetadata,
  step: Step,
  known: Record<string, string>,
): Record<string, string> {
  const given = step.with ?? {};
  for (const key of Object.keys(given)) {
    if (!(key in action.inputs)) throw new Error(`the step passes input "${key}", which action.yml does not declare`);
  }
  const env: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs)) {
    const raw = name in given ? String(given[name]) : (spec.default ?? '');
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = evaluate(raw, known);
  }
  return env;
}
