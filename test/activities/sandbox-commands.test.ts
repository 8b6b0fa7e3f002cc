import {
  bwrapArgs,
  dockerEnv,
  goEnv,
  imageEnv,
  imageUserArgs,
  IN_SANDBOX,
  type BwrapInput,
} from '../../src/activities/sandbox-commands.js';

/** A worker's environment as production has it: credentials next to the settings a Go step may use. */
const worker = {
  PATH: '/root/bin:/usr/bin',
  HOME: '/root',
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG',
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc',
  TEMPORAL_API_KEY: 'temporal-key',
  DEPLOY_SOURCE_REPO: 'https://x:token@git.example.com/r.git',
  GOPROXY: 'https://proxy.example.com',
  GOPRIVATE: 'example.com/private',
  HTTPS_PROXY: 'http://user:pass@proxy.example.com:3128',
  DOCKER_HOST: 'unix:///run/docker.sock',
  GOFLAGS: '-toolexec=/tmp/evil',
};

describe('goEnv', () => {
  const paths = { ...IN_SANDBOX };

  test('is an allow-list: the Go settings and private paths, none of the credentials around it', () => {
    const env = goEnv({ paths, goBin: '/sandbox/go/bin', download: false, worker });
    for (const name of Object.keys(env)) expect(name).toMatch(/^(GO[A-Z]+|CGO_ENABLED|HOME|PATH|TMPDIR)$/);
    for (const value of Object.values(env)) expect(value).not.toMatch(/EXAMPLE|wJalr|temporal-key|token|pass@/);
    expect(env.GOPRIVATE).toBe('example.com/private');
    expect(env).toMatchObject({ HOME: '/sandbox/home', TMPDIR: '/tmp', GOCACHE: '/sandbox/cache/go-build' });
    expect(env.PATH?.startsWith('/sandbox/go/bin:')).toBe(true);
  });

  test('keeps builds and tests off the module proxy, and away from HTTP proxies and their passwords', () => {
    const env = goEnv({ paths, goBin: '/g', download: false, worker });
    expect(env.GOPROXY).toBe('off');
    expect(env.HTTPS_PROXY).toBeUndefined();
  });

  test('gives the module download the proxy settings of the worker', () => {
    const env = goEnv({ paths, goBin: '/g', download: true, worker });
    expect(env).toMatchObject({ GOPROXY: 'https://proxy.example.com', HTTPS_PROXY: worker.HTTPS_PROXY });
    expect(env.AWS_SECRET_ACCESS_KEY).toBeUndefined();
    expect(goEnv({ paths, goBin: '/g', download: true, worker: {} }).GOPROXY).toBeUndefined();
  });

  test('never takes GOFLAGS from the worker, which could name a -toolexec program', () => {
    expect(goEnv({ paths, goBin: '/g', download: true, worker }).GOFLAGS).toBe('-buildvcs=false');
  });
});

describe('bwrapArgs', () => {
  const input: BwrapInput = {
    uid: 999,
    gid: 995,
    roots: [{ path: '/bin', linkTo: 'usr/bin' }, { path: '/lib64' }],
    etc: ['/etc/passwd', '/etc/ssl'],
    goroot: '/usr/local/go',
    step: { home: '/w/sandbox/s/home', tmp: '/w/sandbox/s/tmp', out: '/w/sandbox/s/out' },
    workspace: '/w/workspaces/d1',
    dir: 'app',
    cache: { goBuild: '/c/go-build', goMod: '/c/go-mod' },
    network: true,
  };
  const pairs = (args: string[], flag: string): string[][] =>
    args.flatMap((a, i) => (a === flag ? [[args[i + 1] ?? '', args[i + 2] ?? '']] : []));

  test('binds the workspace read-only, the step directories and caches read-write, and nothing else', () => {
    const args = bwrapArgs(input, ['/sandbox/go/bin/go', 'test', './...']);
    expect(pairs(args, '--bind')).toEqual([
      ['/c/go-build', '/sandbox/cache/go-build'],
      ['/c/go-mod', '/sandbox/cache/go-mod'],
      ['/w/sandbox/s/home', '/sandbox/home'],
      ['/w/sandbox/s/tmp', '/tmp'],
      ['/w/sandbox/s/out', '/sandbox/out'],
    ]);
    expect(pairs(args, '--ro-bind')).toEqual([
      ['/usr', '/usr'],
      ['/lib64', '/lib64'],
      ['/usr/local/go', '/sandbox/go'],
      ['/w/workspaces/d1', '/sandbox/src'],
    ]);
    expect(pairs(args, '--ro-bind-try')).toEqual([
      ['/etc/passwd', '/etc/passwd'],
      ['/etc/ssl', '/etc/ssl'],
    ]);
    expect(pairs(args, '--symlink')).toEqual([['usr/bin', '/bin']]);
    expect(args).toEqual(expect.arrayContaining(['--unshare-pid', '--die-with-parent', '--new-session']));
    // bubblewrap makes missing parents 0700 root: the sandbox user could not read /etc/ssl through them.
    for (const dir of ['/etc', '/sandbox', '/sandbox/cache']) {
      expect(args.join(' ')).toContain(`--perms 0755 --dir ${dir}`);
    }
  });

  test('runs the command as the sandbox user with every capability dropped, in the workspace directory', () => {
    const args = bwrapArgs(input, ['/sandbox/go/bin/go', 'test', './...']);
    const command = args.slice(args.indexOf('--') + 1);
    expect(command).toEqual([
      '/usr/bin/setpriv',
      '--reuid=999',
      '--regid=995',
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--',
      '/sandbox/go/bin/go',
      'test',
      './...',
    ]);
    expect(args.slice(args.indexOf('--chdir'), args.indexOf('--chdir') + 2)).toEqual(['--chdir', '/sandbox/src/app']);
  });

  test('takes the network away only when asked', () => {
    expect(bwrapArgs(input, ['go'])).not.toContain('--unshare-net');
    expect(bwrapArgs({ ...input, network: false }, ['go'])).toContain('--unshare-net');
  });
});

describe('image steps', () => {
  test('run buildah as the image user in a pid namespace of their own, with the step environment only', () => {
    expect(imageUserArgs(998, 994, ['buildah', 'bud'])).toEqual([
      '--pid',
      '--fork',
      '--kill-child',
      '--mount-proc',
      '--ipc',
      '--uts',
      '--',
      '/usr/bin/setpriv',
      '--reuid=998',
      '--regid=994',
      '--clear-groups',
      '--inh-caps=-all',
      '--',
      'buildah',
      'bud',
    ]);
    expect(Object.keys(imageEnv({ home: '/h', tmp: '/t', run: '/r' })).sort()).toEqual([
      'HOME',
      'PATH',
      'TMPDIR',
      'XDG_RUNTIME_DIR',
    ]);
  });

  test('give the docker CLI its daemon settings and a private config, none of the credentials', () => {
    expect(dockerEnv('/w/image-x', worker)).toEqual({
      PATH: worker.PATH,
      HOME: '/w/image-x',
      DOCKER_CONFIG: '/w/image-x',
      DOCKER_HOST: 'unix:///run/docker.sock',
    });
  });
});
