/**
 * Reads GitHub Actions workflow files and action.yml, gives an action step its inputs as the runner would, and runs a
 * `run:` step as the runner does (its script in `bash --noprofile --norc -eo pipefail`, with the workflow's, job's and
 * step's env merged). `${{ }}` expressions are replaced from a map the test gives. An expression the map does not
 * know fails the test, so a new secret or variable in the YAML cannot slip past it.
 */
import { execa, type Result } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/**
 * Runs one `run:` step as the runner does, to its end. `baseEnv` stands for the runner's own environment (PATH, HOME, GITHUB_*,
 * and what `permissions:` grants, such as the ID token request variables); `workspace` for the checkout the earlier
 * steps left.
 */
export async function runStep(opts: {
  workflow: Workflow;
  job: string;
  step: Step;
  known: Record<string, string>;
  workspace: string;
  baseEnv: Record<string, string>;
  scriptDir: string;
}): Promise<Result<{ all: true; reject: false }>> {
  const { workflow, step, known, workspace } = opts;
  const job = workflow.jobs[opts.job];
  if (!job) throw new Error(`no job "${opts.job}"`);
  if (step.run === undefined) throw new Error(`step ${step.name ?? step.uses ?? '?'} is not a run: step`);
  if (step.if !== undefined)
    throw new Error(`step ${step.name ?? '?'} has an if:, which this runner does not evaluate`);
  const shell = step.shell ?? job.defaults?.run?.shell ?? 'bash';
  if (shell !== 'bash') throw new Error(`step ${step.name ?? '?'} uses shell ${shell}; this runner only knows bash`);
  const env: Record<string, string> = { ...opts.baseEnv };
  for (const scope of [workflow.env, job.env, step.env]) {
    for (const [k, v] of Object.entries(scope ?? {})) env[k] = evaluate(String(v), known);
  }
  const script = join(opts.scriptDir, `step-${Math.random().toString(36).slice(2)}.sh`);
  await writeFile(script, evaluate(step.run, known));
  const dir = step['working-directory'] ?? job.defaults?.run?.['working-directory'];
  const cwd = dir ? join(workspace, evaluate(dir, known)) : workspace;
  return await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
    cwd,
    env,
    extendEnv: false,
    reject: false,
    all: true,
  });
}
