/**
 * The build recipe: a small YAML (or JSON) file in the deployed repository that says how to build, test and package
 * its service (README, "The build recipe"). A commit controls it, so it is read like the task-definition template
 * (a regular file inside the checkout, size-limited) and checked field by field; every refusal names the field.
 */
import { posix } from 'node:path';
import { parse } from 'yaml';
import type { BuildRecipe } from '../shared/types.js';
import { ValidationError, validateContainerName, validatePlatform, validateRelativePath } from '../shared/validate.js';
import { MissingRepoFile, readRepoFile } from './repo-files.js';

/** The recipe a repository has when the target names none; without it, the Go recipe applies. */
export const DEFAULT_RECIPE_PATH = 'deployctl.yml';

/** A recipe is a dozen lines. */
const MAX_RECIPE_BYTES = 64 * 1024;
const MAX_ARGS = 256;
const MAX_ARG_CHARS = 4096;
const MAX_ARTIFACTS = 32;
const MAX_CONTAINERS = 10;

const FIELDS = ['version', 'workdir', 'build', 'test', 'artifact', 'dockerfile', 'context', 'platform', 'containers'];

/** One path segment of a folder or file inside the repository; `.` and `..` are resolved, never kept. */
const SEGMENT_RE = /^[A-Za-z0-9_.-]+$/;

/**
 * The recipe at `named` (the target's recipe path), else at DEFAULT_RECIPE_PATH; undefined when the target names
 * none and the default file is not there. A named recipe that is missing is an error.
 */
export async function readRecipe(workspace: string, named?: string): Promise<BuildRecipe | undefined> {
  const path = named ?? DEFAULT_RECIPE_PATH;
  let text: string;
  try {
    text = await readRepoFile(workspace, path, { field: named ? 'recipePath' : 'recipe', maxBytes: MAX_RECIPE_BYTES });
  } catch (err) {
    if (err instanceof MissingRepoFile && named === undefined) return undefined;
    throw err;
  }
  return parseRecipe(text, path);
}

/** The recipe in `text`, read from `path`: paths resolved from the recipe's folder to the repository's root. */
export function parseRecipe(text: string, path: string): BuildRecipe {
  const fail = (key: string, message: string): ValidationError =>
    new ValidationError(key ? `recipe.${key} (${path})` : `recipe (${path})`, message);
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 10, prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
    throw fail('', `not valid YAML or JSON: ${first}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw fail('', 'expected a mapping of fields (build, test, artifact, platform, ...)');
  }
  const r = doc as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!FIELDS.includes(key)) throw fail(key, `is not a recipe field (fields: ${FIELDS.join(', ')})`);
  }
  if (r.version !== undefined && r.version !== 1) throw fail('version', `expected 1, got ${show(r.version)}`);
  const folder = posix.dirname(path);
  const at = (key: string, fallback: string): string => {
    const value = r[key] ?? fallback;
    try {
      return resolveInRepo(folder, value, key);
    } catch (err) {
      if (err instanceof ValidationError) throw fail(key, err.message.replace(/^invalid [^:]+: /, ''));
      throw err;
    }
  };
  const recipe: BuildRecipe = {
    path,
    workdir: at('workdir', '.'),
    build: command(r.build, (m) => fail('build', m)),
    test: command(r.test, (m) => fail('test', m)),
    artifacts: artifacts(r.artifact, (key, m) => fail(key, m)),
    dockerfile: at('dockerfile', 'Dockerfile'),
    context: at('context', '.'),
    platform: checked(
      () => validatePlatform(r.platform ?? 'linux/amd64', 'platform'),
      (m) => fail('platform', m),
    ),
  };
  if (r.containers !== undefined) {
    const list = typeof r.containers === 'string' ? [r.containers] : r.containers;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CONTAINERS) {
      throw fail('containers', `expected 1 to ${MAX_CONTAINERS} container names of the task definition`);
    }
    recipe.containers = list.map((c, i) =>
      checked(
        () => validateContainerName(c, `containers[${i}]`),
        (m) => fail(`containers[${i}]`, m),
      ),
    );
  }
  return recipe;
}

/**
 * Checks a recipe that travelled through the workflow, as an activity receives it: the same rules as the file, on
 * the resolved form. Throws ValidationError naming the field.
 */
export function validateBuildRecipe(value: unknown): BuildRecipe {
  if (typeof value !== 'object' || value === null) throw new ValidationError('recipe', 'expected an object');
  const r = value as Record<string, unknown>;
  const path = validateRelativePath(r.path, 'recipe.path');
  const inRepo = (key: string): string => resolveInRepo('.', r[key], `recipe.${key}`);
  const fail = (key: string) => (m: string) => new ValidationError(`recipe.${key}`, m);
  const out: BuildRecipe = {
    path,
    workdir: inRepo('workdir'),
    build: command(r.build, fail('build')),
    test: command(r.test, fail('test')),
    artifacts: artifacts(r.artifacts, (key, m) => new ValidationError(`recipe.${key}`, m)),
    dockerfile: inRepo('dockerfile'),
    context: inRepo('context'),
    platform: validatePlatform(r.platform, 'recipe.platform'),
  };
  if (r.containers !== undefined) {
    if (!Array.isArray(r.containers)) throw new ValidationError('recipe.containers', 'expected a list');
    out.containers = r.containers.map((c, i) => validateContainerName(c, `recipe.containers[${i}]`));
  }
  return out;
}

/** `value`, relative to `folder`, as a normalised path from the repository's root ("." for the root itself). */
function resolveInRepo(folder: string, value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '' || value.startsWith('/')) {
    throw new ValidationError(field, `expected a relative path inside the repository, got ${show(value)}`);
  }
  if (!value.split('/').every((s) => s === '' || SEGMENT_RE.test(s))) {
    throw new ValidationError(field, `${show(value)} holds characters a path here may not (letters, digits, . _ - /)`);
  }
  const resolved = posix.normalize(posix.join(folder, value)).replace(/\/+$/, '');
  if (resolved === '..' || resolved.startsWith('../')) {
    throw new ValidationError(field, `${show(value)} leads outside the repository`);
  }
  return resolved === '' ? '.' : resolved;
}

function command(value: unknown, fail: (message: string) => ValidationError): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw fail(
      `expected the command as a list of arguments, e.g. [go, build, -o, $OUT/app, .]; it runs without a shell, got ${show(value)}`,
    );
  }
  if (value.length > MAX_ARGS) throw fail(`has ${value.length} arguments; at most ${MAX_ARGS}`);
  value.forEach((arg, i) => {
    if (typeof arg !== 'string' || (i === 0 && arg.trim() === '')) {
      throw fail(`argument ${i} is ${show(arg)}; every argument is a string, and the first names the program`);
    }
    if (arg.length > MAX_ARG_CHARS || arg.includes('\0')) {
      throw fail(`argument ${i} is longer than ${MAX_ARG_CHARS} characters or holds a NUL`);
    }
  });
  return value as string[];
}

function artifacts(value: unknown, fail: (key: string, message: string) => ValidationError): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_ARTIFACTS) {
    throw fail(
      'artifact',
      `expected the path (or up to ${MAX_ARTIFACTS} paths) of what the build writes under $OUT, e.g. build/app; got ${show(value)}`,
    );
  }
  const paths = list.map((p, i) =>
    checked(
      () => validateRelativePath(p, 'artifact'),
      (m) => fail(`artifact[${i}]`, m),
    ),
  );
  for (const p of paths) {
    const clash = paths.find((q) => q !== p && (q === p || q.startsWith(`${p}/`)));
    if (clash !== undefined || paths.indexOf(p) !== paths.lastIndexOf(p)) {
      throw fail('artifact', `"${p}" is listed twice or holds "${clash ?? p}"; name each file once`);
    }
  }
  return paths;
}

/** Runs a shared validator, turning its error into the recipe's own form. */
function checked<T>(fn: () => T, fail: (message: string) => ValidationError): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ValidationError) throw fail(err.message.replace(/^invalid [^:]+: /, ''));
    throw err;
  }
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
