/**
 * The machine side of the sandbox (see sandbox.ts): its users, the directories and caches with the owners and modes
 * the layout needs, the toolchain it binds in, and cleaning up after a worker that died mid-step.
 */
import { execa } from 'execa';
import { chmod, lstat, mkdir, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { WorkerConfig } from '../worker/config.js';
import { workerPath } from './command.js';
import type { HostRoot } from './sandbox-commands.js';

export interface Ids {
  uid: number;
  gid: number;
}

export interface Prepared {
  goroot: string;
  goUser?: Ids;
  imageUser?: Ids;
  roots: HostRoot[];
}

/** Top-level directories programs expect; a merged-/usr host has them as links into /usr. */
const HOST_ROOTS = ['/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32'];

/** Creates the directories the sandbox uses, with the owners and modes its layout needs (sandbox.ts). */
export async function prepare(config: WorkerConfig): Promise<Prepared> {
  const goroot = await goRoot();
  const root = resolve(config.workDir, 'sandbox');
  await mkdir(root, { recursive: true });
  await removeStale(root);
  const goBuild = resolve(config.cacheDir, 'go-build');
  const goMod = resolve(config.cacheDir, 'go-mod');
  await mkdir(goBuild, { recursive: true });
  await mkdir(goMod, { recursive: true });
  if (!config.sandbox.enabled) return { goroot, roots: [] };

  if (process.getuid?.() !== 0) {
    throw new Error('the worker does not run as root, which it needs to start steps as the sandbox users');
  }
  if (/[,:\\\s]/.test(config.cacheDir)) {
    throw new Error(
      `DEPLOY_CACHE_DIR ${config.cacheDir} holds a comma, colon or blank, which an overlay mount cannot name`,
    );
  }
  const [goUser, imageUser] = await Promise.all([
    lookupUser(config.sandbox.user),
    lookupUser(config.sandbox.imageUser),
  ]);
  // Everyone may pass through to a step directory (the image user must); nobody but root may list them.
  await chmod(config.workDir, 0o711);
  await chmod(root, 0o711);
  // The caches belong to the Go user, behind a directory only root can enter: only a Go step's sandbox, which
  // binds them in, reaches them. A deploy with the sandbox off leaves root-owned entries: hand them over once.
  await chmod(config.cacheDir, 0o700);
  const foreign = await execa('find', [goBuild, goMod, '!', '-user', String(goUser.uid), '-print', '-quit'], {
    env: { PATH: workerPath() },
    extendEnv: false,
  });
  if (foreign.stdout.trim() !== '') await root_(['chown', '-R', `${goUser.uid}:${goUser.gid}`, goBuild, goMod]);
  return { goroot, goUser, imageUser, roots: await hostRoots() };
}

/** Runs a tool of the system as root (mount, umount, chown), failing with its stderr. */
export async function root_(args: string[]): Promise<void> {
  const [file, ...rest] = args as [string, ...string[]];
  const out = await execa(file, rest, { env: { PATH: workerPath() }, extendEnv: false, reject: false });
  if (out.exitCode !== 0) throw new Error(`failed to run ${file}: ${out.stderr.trim() || `exit code ${out.exitCode}`}`);
}

/**
 * Unmounts and removes what steps of dead workers left in `root` (a worker killed mid-step). Steps of live ones,
 * another worker process sharing the directory, stay.
 */
async function removeStale(root: string): Promise<void> {
  const dead = (name: string): boolean => {
    const pid = Number(name.split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  };
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4] ?? '');
  for (const mount of mounts.filter((m) => m.startsWith(`${root}/`))) {
    const step = mount.slice(root.length + 1).split('/')[0] ?? '';
    if (dead(step)) await root_(['umount', '--lazy', mount]).catch(() => undefined);
  }
  for (const name of await readdir(root)) {
    if (dead(name)) await rm(join(root, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

async function goRoot(): Promise<string> {
  const out = await execa('go', ['env', 'GOROOT'], {
    env: { PATH: workerPath(), HOME: '/nonexistent', GOTOOLCHAIN: 'local' },
    extendEnv: false,
    reject: false,
  });
  const goroot = out.stdout.trim();
  if (out.exitCode !== 0 || !goroot.startsWith('/')) {
    throw new Error(
      `failed to find the Go toolchain (go env GOROOT): ${out.stderr.trim() || 'no output'}; is Go installed?`,
    );
  }
  return goroot;
}

async function lookupUser(name: string): Promise<Ids> {
  const out = await execa('getent', ['passwd', name], { env: { PATH: workerPath() }, extendEnv: false, reject: false });
  const [, , uid, gid] = out.stdout.trim().split(':');
  if (out.exitCode !== 0 || uid === undefined || gid === undefined) {
    throw new Error(`the sandbox user ${name} does not exist (scripts/install-tools.sh creates it)`);
  }
  if (Number(uid) === 0) throw new Error(`the sandbox user ${name} is root`);
  return { uid: Number(uid), gid: Number(gid) };
}

async function hostRoots(): Promise<HostRoot[]> {
  const roots: HostRoot[] = [];
  for (const path of HOST_ROOTS) {
    const st = await lstat(path).catch(() => undefined);
    if (st?.isSymbolicLink()) roots.push({ path, linkTo: await readlink(path) });
    else if (st?.isDirectory()) roots.push({ path });
  }
  return roots;
}

/** The first directory from `dir` up to / that `user` may not pass through, if any. */
export async function untraversable(dir: string, user: Ids | undefined): Promise<string | undefined> {
  for (let d = dir; ; d = dirname(d)) {
    const st = await stat(d);
    const mine = user !== undefined && st.uid === user.uid;
    if (!(mine ? st.mode & 0o100 : st.mode & 0o001)) return d;
    if (d === '/') return undefined;
  }
}
