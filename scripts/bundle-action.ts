/**
 * Bundles the GitHub Action (src/action/main.ts) into the one file action.yml runs, action/dist/index.mjs (with the
 * bundled packages' license notices beside it), so a caller's job needs no install step. The bundle is committed;
 * `--check` fails when it is stale (make lint).
 *
 *   node --import tsx scripts/bundle-action.ts          write the bundle
 *   node --import tsx scripts/bundle-action.ts --check  compare, change nothing
 */
import { build } from 'esbuild';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

async function bundle(): Promise<{ path: string; text: string }[]> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['src/action/main.ts'],
    outfile: join(root, 'action/dist/index.mjs'),
    bundle: true,
    platform: 'node',
    // action.yml says node24; node20 syntax keeps the bundle runnable on both.
    target: 'node20',
    format: 'esm',
    // Half the size; names are kept for errors and classes that report their own name.
    minify: true,
    keepNames: true,
    legalComments: 'external',
    // The SDKs' CommonJS parts call require() for Node builtins, which an ES module does not have.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    write: false,
    logLevel: 'warning',
  });
  return result.outputFiles.map((f) => ({ path: f.path, text: f.text }));
}

const files = await bundle();
if (process.argv.includes('--check')) {
  const stale: string[] = [];
  for (const file of files) {
    if ((await readFile(file.path, 'utf8').catch(() => '')) !== file.text) stale.push(relative(root, file.path));
  }
  if (stale.length) {
    process.stderr.write(
      `${stale.join(', ')}: stale, not what src/action/ and its dependencies bundle to; run npm run build:action and commit the result\n`,
    );
    process.exit(1);
  }
  process.stdout.write(`${files.map((f) => relative(root, f.path)).join(', ')}: up to date\n`);
} else {
  for (const file of files) {
    await mkdir(dirname(file.path), { recursive: true });
    await writeFile(file.path, file.text);
    process.stdout.write(`wrote ${relative(root, file.path)} (${Math.round(file.text.length / 1024)} KiB)\n`);
  }
}
