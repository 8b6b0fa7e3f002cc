/**
 * src/shared/ is what the workflow sandbox loads: no Node builtin, and nothing outside the folder, may be imported
 * there, directly or by a type-only import that a later edit turns into a value import.
 */
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import { ROOT } from '../../src/devstack/process.js';

const SHARED = join(ROOT, 'src/shared');

/** Every module specifier of an import, export-from or dynamic import in a TypeScript source. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) found.push(m[1] ?? '');
  return found;
}

/** Why `spec`, imported from a file of src/shared, would not load in the sandbox; undefined when it would. */
function unloadable(spec: string): string | undefined {
  const bare = spec.replace(/^node:/, '');
  if (spec.startsWith('node:') || builtinModules.includes(bare.split('/')[0] ?? '')) return 'a Node builtin';
  if (spec.startsWith('.')) {
    const target = resolve(SHARED, spec);
    if (!target.startsWith(`${SHARED}/`)) return 'outside src/shared';
    return undefined;
  }
  return 'a package (add it here only if it runs in the workflow sandbox)';
}

describe('src/shared', () => {
  test('the check catches what the sandbox cannot load', () => {
    expect(specifiers(`import { readFileSync } from 'node:fs';\nexport * from "./names.js";`)).toEqual([
      'node:fs',
      './names.js',
    ]);
    expect(unloadable('node:fs')).toBe('a Node builtin');
    expect(unloadable('crypto')).toBe('a Node builtin');
    expect(unloadable('../worker/config.js')).toBe('outside src/shared');
    expect(unloadable('./names.js')).toBeUndefined();
  });

  test('imports only its own modules: no Node builtin, nothing from the worker or the CLI', async () => {
    const files = (await readdir(SHARED)).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(5);
    const offending: string[] = [];
    for (const f of files) {
      for (const spec of specifiers(await readFile(join(SHARED, f), 'utf8'))) {
        const why = unloadable(spec);
        if (why) offending.push(`src/shared/${f} imports ${spec}: ${why}`);
      }
    }
    expect(offending).toEqual([]);
  });
});
