/**
 * The command lines and environments of sandboxed steps. Pure, so tests can check exactly what a step sees: which
 * directories, which variables, whether it has a network.
 */

/** Where things are inside a Go step's sandbox. Fixed paths also keep Go's cache keys the same for every deploy. */
export const IN_SANDBOX = {
  src: '/sandbox/src',
  out: '/sandbox/out',
  home: '/sandbox/home',
  tmp: '/tmp',
  goroot: '/sandbox/go',
  goBuild: '/sandbox/cache/go-build',
  goMod: '/sandbox/cache/go-mod',
} as const;

/** Paths as a Go step's command sees them: inside the sandbox, or on the host when the sandbox is off. */
export interface GoStepPaths {
  src: string;
  out: string;
  home: string;
  tmp: string;
  goBuild: string;
  goMod: string;
}

/** The PATH every step gets; the Go step puts its toolchain first. */
export const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Go settings an operator may set on the worker, passed on to every Go step (never credentials). */
const GO_SETTINGS = ['GOPRIVATE', 'GONOPROXY', 'GONOSUMDB', 'GONOSUMCHECK', 'GOSUMDB', 'GOINSECURE', 'GOVCS'];
/** Settings only the module download needs: the proxy, and HTTP proxies (which may carry a password). */
const DOWNLOAD_SETTINGS = ['GOPROXY', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

export interface GoEnvInput {
  paths: GoStepPaths;
  /** The toolchain's bin directory, first on PATH. */
  goBin: string;
  /** The module download: the only Go step that talks to a module proxy. */
  download: boolean;
  /** The worker's environment, read only for the names allowed above. */
  worker: Record<string, string | undefined>;
  /** GOARCH; default amd64. native: unset, so go builds (and runs tests) for the worker's own architecture. */
  goarch?: 'amd64' | 'arm64' | 'native' | undefined;
}

/**
 * The whole environment of a Go step: an allow-list, so AWS and Temporal credentials, DEPLOY_* settings and tokens
 * never reach the code being built and tested. Builds and tests have GOPROXY=off: modules were downloaded before.
 */
export function goEnv(i: GoEnvInput): Record<string, string> {
  const env: Record<string, string> = {
    PATH: `${i.goBin}:${SAFE_PATH}`,
    HOME: i.paths.home,
    TMPDIR: i.paths.tmp,
    GOCACHE: i.paths.goBuild,
    GOMODCACHE: i.paths.goMod,
    // The shipped binary: static, linux, for the platform asked (amd64 by default), the same bytes on every worker.
    CGO_ENABLED: '0',
    GOOS: 'linux',
    // Never download a toolchain mid-deploy: a go.mod asking for a newer Go fails with a clear message instead.
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-buildvcs=false',
  };
  if (i.goarch !== 'native') env.GOARCH = i.goarch ?? 'amd64';
  // The download uses the worker's proxy, or Go's default one; builds and tests none.
  if (!i.download) env.GOPROXY = 'off';
  for (const name of i.download ? [...GO_SETTINGS, ...DOWNLOAD_SETTINGS] : GO_SETTINGS) {
    const value = i.worker[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  return env;
}

/** A top-level directory of the host that programs expect (/bin, /lib64): bound, or a symbolic link as on the host. */
export interface HostRoot {
  path: string;
  /** Set when the host has a symbolic link here (merged /usr: /bin -> usr/bin). */
  linkTo?: string;
}

export interface BwrapInput {
  uid: number;
  gid: number;
  roots: readonly HostRoot[];
  /** Read-only files and directories of /etc the toolchain needs (users, name resolution, CA certificates). */
  etc: readonly string[];
  goroot: string;
  /** The step's own directories on the host. */
  step: { home: string; tmp: string; out: string };
  workspace: string;
  /** Working directory inside the workspace, e.g. "app". */
  dir: string;
  /** The shared caches (steps that run only the toolchain), or a throwaway overlay of them (steps that run tests). */
  cache: { goBuild: string; goMod: string };
  network: boolean;
}

/**
 * bubblewrap, started as root so it can bind any directory, then setpriv down to the sandbox user with no
 * capabilities left: the step sees only the toolchain, its workspace (read-only), the Go caches it is given, its own
 * home, tmp and out, and a /proc of its own processes.
 */
export function bwrapArgs(i: BwrapInput, command: string[]): string[] {
  const args = [
    '--die-with-parent',
    '--new-session',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(i.network ? [] : ['--unshare-net']),
    '--hostname',
    'sandbox',
    '--ro-bind',
    '/usr',
    '/usr',
  ];
  for (const root of i.roots) {
    args.push(
      ...(root.linkTo !== undefined ? ['--symlink', root.linkTo, root.path] : ['--ro-bind', root.path, root.path]),
    );
  }
  // Directories bubblewrap creates on its own are 0700 root: the sandbox user must be able to pass through.
  args.push('--perms', '0755', '--dir', '/etc');
  for (const path of i.etc) args.push('--ro-bind-try', path, path);
  args.push(
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    ...['--perms', '0755', '--dir', '/sandbox', '--perms', '0755', '--dir', '/sandbox/cache'],
    ...['--ro-bind', i.goroot, IN_SANDBOX.goroot],
    ...['--ro-bind', i.workspace, IN_SANDBOX.src],
    ...['--bind', i.cache.goBuild, IN_SANDBOX.goBuild, '--bind', i.cache.goMod, IN_SANDBOX.goMod],
    ...[
      '--bind',
      i.step.home,
      IN_SANDBOX.home,
      '--bind',
      i.step.tmp,
      IN_SANDBOX.tmp,
      '--bind',
      i.step.out,
      IN_SANDBOX.out,
    ],
    ...['--chdir', `${IN_SANDBOX.src}/${i.dir}`],
    // Only what setpriv needs to change user; it drops these, and the bounding set, before the command runs.
    ...['--cap-drop', 'ALL', '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID', '--cap-add', 'CAP_SETPCAP'],
    '--',
    ...setprivArgs(i.uid, i.gid, true),
    ...command,
  );
  return args;
}

/** setpriv's arguments that become `uid`:`gid` with no supplementary groups and no capabilities of any kind. */
export function setprivArgs(uid: number, gid: number, dropBounding: boolean): string[] {
  return [
    '/usr/bin/setpriv',
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--clear-groups',
    '--inh-caps=-all',
    ...(dropBounding ? ['--bounding-set=-all'] : []),
    '--',
  ];
}

/**
 * An image-build command as the image user: rootless buildah maps the Dockerfile's users onto that user's
 * subordinate ids with the setuid newuidmap, so this cannot run under bubblewrap (no_new_privs). It gets its own
 * pid namespace and /proc instead: it sees none of the worker's processes, and when it ends, every process it left
 * behind (a RUN step's daemon) ends with it.
 */
export function imageUserArgs(uid: number, gid: number, command: string[]): string[] {
  return [
    '--pid',
    '--fork',
    '--kill-child',
    '--mount-proc',
    '--ipc',
    '--uts',
    '--',
    ...setprivArgs(uid, gid, false),
    ...command,
  ];
}

/** The whole environment of a buildah step (rootless buildah keeps its runtime state under XDG_RUNTIME_DIR). */
export function imageEnv(step: { home: string; tmp: string; run: string }): Record<string, string> {
  return { PATH: SAFE_PATH, HOME: step.home, TMPDIR: step.tmp, XDG_RUNTIME_DIR: step.run };
}

/** Settings of the docker CLI an operator may set on the worker: which daemon, and how to reach it. */
const DOCKER_SETTINGS = ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_BUILDKIT'];

/** The docker CLI's whole environment: its daemon settings and a private config directory, nothing else. */
export function dockerEnv(configDir: string, worker: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = { PATH: worker.PATH ?? SAFE_PATH, HOME: configDir, DOCKER_CONFIG: configDir };
  for (const name of DOCKER_SETTINGS) {
    const value = worker[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  return env;
}
