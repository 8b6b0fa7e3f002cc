/**
 * The sandbox: the steps that build or run the code being deployed (go mod download, go build, go test, buildah)
 * run as unprivileged users, with an allow-listed environment, away from the worker's credentials and from what
 * later deploys reuse. What each step sees is in sandbox-commands.ts; docs/production.md says what it protects.
 *
 * Layout on the host: <workDir> and <workDir>/sandbox are 0711 root; each step gets <workDir>/sandbox/<pid>-<uuid>
 * (0711 root) whose subdirectories are 0700 and owned by the step's user. <cacheDir> is 0700 root, so only a Go
 * step's own sandbox can reach the caches inside it. A step that runs the repository's code (go test) gets an
 * overlay of the caches, mounted by the worker in the step's directory: it reads what earlier deploys compiled,
 * and what it writes goes with the step.
 */
import { execa } from 'execa';
import { randomUUID } from 'node:crypto';
import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SandboxConfig, WorkerConfig } from '../worker/config.js';
import { errorMessage } from '../shared/errors.js';
import { runCommand, tail, workerPath, type CommandInput, type CommandOutput } from './command.js';
import { prepare, root_, untraversable, type Ids, type Prepared } from './sandbox-host.js';
import { bwrapArgs, goEnv, imageEnv, imageUserArgs, IN_SANDBOX, type GoStepPaths } from './sandbox-commands.js';

export interface GoStep {
  workspace: string;
  /** Working directory inside the workspace, e.g. "app". */
  dir: string;
  args: (paths: GoStepPaths) => string[];
  /**
   * Another program than the toolchain's go: a recipe's command, found on the step's PATH (the toolchain, then the
   * host's /usr). It is the repository's code, so such a step must not write the shared caches.
   */
  program?: string;
  /** False when the step runs the repository's code: it then writes to a throwaway overlay of the shared caches. */
  writeCache: boolean;
  /** The module download: it always has the network and the module proxy settings, and runs no repository code. */
  download?: boolean;
  /** GOARCH: amd64 (the default), arm64, or native (none set: go builds and tests for the worker's own). */
  goarch?: 'amd64' | 'arm64' | 'native';
  /** Variables added to the allow-listed environment (paths as the step sees them). */
  env?: (paths: GoStepPaths) => Record<string, string>;
  /** Folders made in the out directory, owned by the step's user, before the step runs. */
  outDirs?: string[];
}

export interface ImageStep {
  /** The step's directories on the host, private to the image user: buildah's storage, runtime state, output. */
  storage: string;
  run: string;
  out: string;
  /** `file args` as the image user, in its own pid namespace, with only the step's environment. */
  command(file: string, args: string[]): CommandInput;
  dispose(): Promise<void>;
}

/** /etc entries a Go step may read: users and groups, name resolution, CA certificates, time zone. */
const ETC = [
  '/etc/passwd',
  '/etc/group',
  '/etc/nsswitch.conf',
  '/etc/hosts',
  '/etc/host.conf',
  '/etc/resolv.conf',
  '/etc/gai.conf',
  '/etc/services',
  '/etc/protocols',
  '/etc/localtime',
  '/etc/mime.types',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/pki',
];

/** Preparation runs once per worker and configuration; a failed one is tried again by the next step. */
const prepared = new Map<string, Promise<Prepared>>();

export function sandbox(config: WorkerConfig) {
  const settings = config.sandbox;
  const root = resolve(config.workDir, 'sandbox');
  const cache = { goBuild: resolve(config.cacheDir, 'go-build'), goMod: resolve(config.cacheDir, 'go-mod') };

  const ready = (): Promise<Prepared> => {
    const key = JSON.stringify([config.workDir, config.cacheDir, settings]);
    let promise = prepared.get(key);
    if (!promise) {
      promise = prepare(config);
      prepared.set(key, promise);
      promise.catch(() => prepared.delete(key));
    }
    return promise;
  };

  /** A fresh step directory whose `subdirs` belong to `owner` (root when the sandbox is off). */
  async function stepDir(owner: Ids | undefined, subdirs: string[]): Promise<string> {
    // The worker's pid in the name: a later worker removes what a dead one left (see removeStale).
    const dir = join(root, `${process.pid}-${randomUUID()}`);
    await mkdir(dir);
    // Explicit: a worker started with umask 077 would otherwise lock the image user out.
    await chmod(dir, 0o711);
    for (const sub of subdirs) {
      await mkdir(join(dir, sub), { mode: 0o700 });
      if (owner) await chown(join(dir, sub), owner.uid, owner.gid);
    }
    return dir;
  }

  /** An overlay of the shared caches in `dir`, writable by `owner`; the caller unmounts it. */
  async function cacheOverlay(dir: string, owner: Ids): Promise<{ goBuild: string; goMod: string }> {
    const [upper, work, merged] = ['cache-upper', 'cache-work', 'cache'].map((d) => join(dir, d)) as [
      string,
      string,
      string,
    ];
    await Promise.all([upper, work, merged].map((d) => mkdir(d, { mode: 0o700 })));
    // The overlay's top directory takes its owner from the upper one; the caches below keep theirs (the Go user).
    await chown(upper, owner.uid, owner.gid);
    await root_([
      'mount',
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${config.cacheDir},upperdir=${upper},workdir=${work}`,
      merged,
    ]);
    return { goBuild: join(merged, 'go-build'), goMod: join(merged, 'go-mod') };
  }

  return {
    enabled: settings.enabled,

    /** Runs go for `step`; `collect` reads the step's out directory (on the host) before the step is removed. */
    async go<T>(
      step: GoStep,
      collect?: (outDir: string, output: CommandOutput) => Promise<T>,
    ): Promise<{ output: CommandOutput; collected?: T }> {
      const p = await ready();
      const dir = await stepDir(p.goUser, ['home', 'tmp', 'out']);
      let overlaid = false;
      try {
        const host: GoStepPaths = {
          src: step.workspace,
          out: join(dir, 'out'),
          home: join(dir, 'home'),
          tmp: join(dir, 'tmp'),
          ...cache,
        };
        const paths: GoStepPaths = p.goUser ? { ...IN_SANDBOX } : host;
        const goBin = p.goUser ? `${IN_SANDBOX.goroot}/bin` : join(p.goroot, 'bin');
        const env = {
          ...goEnv({ paths, goBin, download: step.download === true, worker: process.env, goarch: step.goarch }),
          ...step.env?.(paths),
        };
        const args = step.args(paths);
        for (const sub of step.outDirs ?? []) await mkdirOwned(host.out, sub, p.goUser);
        let cmd: CommandInput;
        if (p.goUser) {
          overlaid = !step.writeCache;
          const caches = step.writeCache ? cache : await cacheOverlay(dir, p.goUser);
          const box = {
            ...p.goUser,
            roots: p.roots,
            etc: ETC,
            goroot: p.goroot,
            step: { home: host.home, tmp: host.tmp, out: host.out },
            workspace: step.workspace,
            dir: step.dir,
            cache: caches,
            network: step.download === true || settings.network === 'host',
          };
          // bwrap itself is found on the worker's PATH; the step gets the sandbox's own (--setenv wins inside).
          const program = step.program ?? `${goBin}/go`;
          const inside = ['--setenv', 'PATH', env.PATH ?? '', ...bwrapArgs(box, [program, ...args])];
          cmd = { file: 'bwrap', args: inside, env: { ...env, PATH: workerPath() } };
        } else {
          // Off: go from the worker's PATH, as the worker, still with only the allow-listed environment.
          const file = step.program ?? 'go';
          cmd = { file, args, cwd: join(step.workspace, step.dir), env: { ...env, PATH: workerPath() } };
        }
        const output = await runCommand(cmd);
        const result: { output: CommandOutput; collected?: T } = { output };
        if (collect) result.collected = await collect(host.out, output);
        return result;
      } finally {
        // Best effort: what a live worker cannot remove now, the next one does (removeStale).
        if (overlaid) await root_(['umount', '--lazy', join(dir, 'cache')]).catch(() => undefined);
        await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      }
    },

    /** A step directory for one image build; the caller disposes of it. */
    async imageStep(): Promise<ImageStep> {
      const p = await ready();
      const user = p.imageUser;
      const dir = await stepDir(user, ['storage', 'run', 'home', 'tmp', 'out']);
      const env = imageEnv({ home: join(dir, 'home'), tmp: join(dir, 'tmp'), run: join(dir, 'run') });
      return {
        storage: join(dir, 'storage'),
        run: join(dir, 'run'),
        out: join(dir, 'out'),
        command: (file, args) =>
          user
            ? { file: 'unshare', args: imageUserArgs(user.uid, user.gid, [file, ...args]), env }
            : { file, args, env: { ...env, PATH: workerPath() } },
        dispose: () => rm(dir, { recursive: true, force: true }),
      };
    },
  };
}

export type Sandbox = ReturnType<typeof sandbox>;

/** Makes `sub` (a relative path) under `root`, one folder at a time, each owned by `owner`. */
async function mkdirOwned(root: string, sub: string, owner: Ids | undefined): Promise<void> {
  let dir = root;
  for (const part of sub.split('/').filter((s) => s !== '' && s !== '.')) {
    dir = join(dir, part);
    await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    if (owner) await chown(dir, owner.uid, owner.gid);
  }
}

/**
 * Checks at the worker's start that the sandbox can run here, by running it: the worker refuses to start rather
 * than run deployed code next to its credentials. Returns a line for the worker's log.
 */
export async function checkSandbox(config: WorkerConfig): Promise<string> {
  const s = config.sandbox;
  if (!s.enabled) {
    await prepare(config);
    return 'sandbox: off (DEPLOY_SANDBOX=off): build, test and image build run as the worker, which lets the code being deployed read its credentials';
  }
  const fail = (what: string, detail: string): Error =>
    new Error(
      `failed to start the sandbox (DEPLOY_SANDBOX=on): ${what}: ${detail}; run scripts/install-tools.sh as root, ` +
        'or set DEPLOY_SANDBOX=off to run build steps as the worker (which lets deployed code read its credentials)',
    );
  let p: Prepared;
  try {
    p = await prepare(config);
  } catch (err) {
    throw fail('preparing it', errorMessage(err));
  }
  const box = sandbox(config);
  const root = resolve(config.workDir, 'sandbox');
  const probe = await box
    .go({ workspace: root, dir: '', args: () => ['version'], writeCache: false })
    .catch((err: unknown) => ({
      output: { exitCode: undefined, stdout: '', stderr: errorMessage(err) } as CommandOutput,
    }));
  if (probe.output.exitCode !== 0 || !/^go version /.test(probe.output.stdout)) {
    const why = tail(probe.output.stderr, 5) || tail(probe.output.stdout, 5) || 'no output';
    throw fail(`running go as ${s.user} in bubblewrap`, why);
  }
  if (config.imageBuilder === 'docker') return sandboxLine(s, false);
  const blocked = await untraversable(root, p.imageUser);
  if (blocked) {
    throw fail(
      `${s.imageUser} cannot reach ${config.workDir}`,
      `${blocked} is not traversable by other users (chmod o+x ${blocked}, or move DEPLOY_WORK_DIR)`,
    );
  }
  const step = await box.imageStep();
  try {
    const buildah = step.command('buildah', [
      ...['--root', step.storage, '--runroot', join(step.run, 'storage'), '--storage-driver', 'vfs'],
      ...['unshare', '/usr/bin/id', '-u'],
    ]);
    const out = await execa(buildah.file, buildah.args, { env: buildah.env ?? {}, extendEnv: false, reject: false });
    if (out.exitCode !== 0 || out.stdout.trim() !== '0') {
      throw fail(
        `running rootless buildah as ${s.imageUser}`,
        `${tail(out.stderr, 5) || out.stdout.trim()} (it needs /etc/subuid and /etc/subgid ranges and newuidmap)`,
      );
    }
  } finally {
    await step.dispose();
  }
  return sandboxLine(s, true);
}

function sandboxLine(s: SandboxConfig, buildah: boolean): string {
  const image = buildah ? `, image builds as ${s.imageUser} (rootless buildah)` : ', image builds by the Docker daemon';
  return `sandbox: on: Go steps as ${s.user} in bubblewrap (network ${s.network})${image}`;
}
