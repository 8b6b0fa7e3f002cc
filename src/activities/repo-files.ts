/**
 * Files the worker itself opens inside a checkout (task-definition template, Dockerfile, the built binary). A commit
 * controls them, so each must be a regular file inside the checkout: a symbolic link (to /dev/zero, to a credential),
 * a FIFO or a device is refused before anything reads from it, and text files are bounded in size.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, realpath, type FileHandle } from 'node:fs/promises';
import { basename, dirname, relative, resolve } from 'node:path';
import { errorMessage } from '../shared/errors.js';
import { ValidationError } from '../shared/validate.js';

/** Larger than any task definition or Dockerfile a person writes. */
export const MAX_REPO_FILE_BYTES = 1024 * 1024;

/** O_NONBLOCK: opening a FIFO must not wait for a writer; the type check after the open refuses it. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

export interface RepoFileOptions {
  /** Named in the error: the input field or the file's role, e.g. taskDefinitionPath or Dockerfile. */
  field: string;
  maxBytes?: number;
}

/** Reads `relPath` inside `root` as UTF-8; every refusal is a ValidationError naming `field`. */
export async function readRepoFile(root: string, relPath: string, opts: RepoFileOptions): Promise<string> {
  const max = opts.maxBytes ?? MAX_REPO_FILE_BYTES;
  const handle = await openRepoFile(root, relPath, opts.field);
  try {
    const { size } = await handle.stat();
    if (size > max) throw tooLarge(relPath, opts.field, max);
    // The size can change after stat: read one byte past the limit to notice.
    const buffer = Buffer.alloc(max + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > max) throw tooLarge(relPath, opts.field, max);
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Checks that `relPath` is a regular file of at most `maxBytes` inside `root`; false when it does not exist. */
export async function checkRepoFile(root: string, relPath: string, opts: RepoFileOptions): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await openRepoFile(root, relPath, opts.field);
  } catch (err) {
    if (err instanceof MissingRepoFile) return false;
    throw err;
  }
  try {
    const max = opts.maxBytes ?? MAX_REPO_FILE_BYTES;
    if ((await handle.stat()).size > max) throw tooLarge(relPath, opts.field, max);
    return true;
  } finally {
    await handle.close();
  }
}

/** Thrown (as a ValidationError) when the file is not in the checkout at all. */
export class MissingRepoFile extends ValidationError {}

/** Opens a regular file inside `root` without following a symbolic link anywhere inside the checkout. */
export async function openRepoFile(root: string, relPath: string, field: string): Promise<FileHandle> {
  const file = resolve(root, relPath);
  const shown = JSON.stringify(relPath);
  if (relative(root, file).startsWith('..')) throw new ValidationError(field, `${shown} is outside the repository`);
  let dir: string;
  let realRoot: string;
  try {
    [realRoot, dir] = await Promise.all([realpath(root), realpath(dirname(file))]);
  } catch (err) {
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') throw missing(relPath, field);
    throw new ValidationError(field, `${shown} cannot be read: ${errorMessage(err)}`);
  }
  if (dir !== realRoot && !dir.startsWith(`${realRoot}/`)) {
    throw new ValidationError(field, `${shown} leads outside the repository through a symbolic link`);
  }
  let handle: FileHandle;
  try {
    handle = await open(resolve(dir, basename(file)), OPEN_FLAGS);
  } catch (err) {
    if (code(err) === 'ENOENT') throw missing(relPath, field);
    if (code(err) === 'ELOOP') {
      throw new ValidationError(field, `${shown} is a symbolic link; commit the file itself`);
    }
    throw new ValidationError(field, `${shown} cannot be read: ${errorMessage(err)}`);
  }
  const stats = await handle.stat();
  if (!stats.isFile()) {
    await handle.close();
    const kind = stats.isDirectory()
      ? 'a directory'
      : stats.isFIFO()
        ? 'a named pipe'
        : stats.isSocket()
          ? 'a socket'
          : 'a device';
    throw new ValidationError(field, `${shown} is ${kind}, not a regular file`);
  }
  return handle;
}

/**
 * The sha256 of a regular file, or undefined when `path` is missing, a symbolic link or anything else: a checkout
 * may carry a build/app of its own, and reading one that points at /dev/zero would never end.
 */
export async function sha256Regular(path: string): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch {
    return undefined;
  }
  try {
    if (!(await handle.stat()).isFile()) return undefined;
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

/** Copies the regular file `from` (never through a symbolic link) to a new file `to`; returns its sha256. */
export async function copyRegular(from: string, to: string, mode: number): Promise<string> {
  const source = await open(from, OPEN_FLAGS);
  try {
    if (!(await source.stat()).isFile()) throw new Error(`${from} is not a regular file`);
    return await copyOpened(source, to, mode);
  } finally {
    await source.close();
  }
}

/** Copies an open regular file to a new file `to` (never through a symbolic link); returns its sha256. */
export async function copyOpened(source: FileHandle, to: string, mode: number): Promise<string> {
  const target = await open(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  const hash = createHash('sha256');
  try {
    for await (const chunk of source.createReadStream({ autoClose: false, start: 0 })) {
      hash.update(chunk as Buffer);
      await target.write(chunk as Buffer);
    }
    await target.chmod(mode);
  } finally {
    await target.close();
  }
  return hash.digest('hex');
}

/**
 * The folder `relPath` inside `root` as a real directory: every part a directory, none a symbolic link, so a write
 * into it cannot land outside the checkout. With `create`, missing parts are made (mode 0755, the worker's own);
 * without, a missing part is a ValidationError naming `field`.
 */
export async function realDirectory(
  root: string,
  relPath: string,
  opts: { field: string; create: boolean },
): Promise<string> {
  const shown = JSON.stringify(relPath);
  let dir = root;
  for (const part of relPath.split('/').filter((p) => p !== '' && p !== '.')) {
    if (part === '..') throw new ValidationError(opts.field, `${shown} is outside the repository`);
    dir = resolve(dir, part);
    const st = await lstat(dir).catch((err: unknown) => {
      if (code(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (st === undefined) {
      if (!opts.create) throw missing(relPath, opts.field);
      await mkdir(dir, { mode: 0o755 });
      await chmod(dir, 0o755);
    } else if (st.isSymbolicLink()) {
      throw new ValidationError(opts.field, `${shown} passes through a symbolic link; commit the folder itself`);
    } else if (!st.isDirectory()) {
      throw new ValidationError(opts.field, `${shown} is not a folder`);
    }
  }
  return dir;
}

function missing(relPath: string, field: string): MissingRepoFile {
  return new MissingRepoFile(field, `${JSON.stringify(relPath)} does not exist in the repository at this commit`);
}

function tooLarge(relPath: string, field: string, max: number): ValidationError {
  return new ValidationError(field, `${JSON.stringify(relPath)} is larger than ${max} bytes`);
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}
