/** The bench is a tool of its own: it may use src/ (the product and its local stack), never the tests' helpers. */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { ROOT } from '../../src/devstack/process.js';

const BENCH = join(ROOT, 'bench');

/** The files under ROOT that `file` imports by relative path. */
function relativeImports(file: string, source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.[^'"]+)['"]/g)) {
    found.push(relative(ROOT, resolve(join(file, '..'), m[1] ?? '')));
  }
  return found;
}

describe('bench/', () => {
  test('the check sees an import of a test helper', () => {
    const file = join(BENCH, 'x.ts');
    expect(relativeImports(file, "import { ROOT } from '../test/support/temporal.js';")).toEqual([
      'test/support/temporal.js',
    ]);
  });

  test('imports nothing from test/', async () => {
    const files = (await readdir(BENCH)).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(3);
    const fromTests: string[] = [];
    for (const f of files) {
      const file = join(BENCH, f);
      for (const target of relativeImports(file, await readFile(file, 'utf8'))) {
        if (target.startsWith('test/')) fromTests.push(`bench/${f} imports ${target}`);
      }
    }
    expect(fromTests).toEqual([]);
  });
});
