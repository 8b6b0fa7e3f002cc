import {
  authFileContent,
  buildFailure,
  buildahCommands,
  digestFromPushOutput,
  dockerCommands,
  pushFailure,
  secretsOf,
  type ImageCommandInput,
} from '../../src/activities/image-commands.js';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../src/shared/errors.js';

const input: ImageCommandInput = {
  workspace: '/w/workspaces/d1',
  localTag: 'localhost/deploy-abc:1234',
  imageRef: 'registry.example:5000/my-app:abc',
  registry: 'registry.example:5000',
  insecure: true,
  username: 'AWS',
  password: 's3cret-token',
  secretsDir: '/w/image-x',
  deployId: 'deploy-prod-web-abc1234.0f0f0f0f',
  binarySha256: 'b'.repeat(64),
  storageDir: '/w/sandbox/s1/storage',
  runDir: '/w/sandbox/s1/run',
  archivePath: '/w/sandbox/s1/out/image.tar',
  toolEnv: { PATH: '/usr/bin', DOCKER_CONFIG: '/w/image-x' },
};

describe('buildahCommands', () => {
  const cmds = buildahCommands(input);

  it('builds the workspace Dockerfile with vfs storage in the step directory, labelled with the deploy and the binary', () => {
    expect(cmds.build[0]?.args).toEqual([
      '--root',
      '/w/sandbox/s1/storage',
      '--runroot',
      '/w/sandbox/s1/run/storage',
      '--storage-driver',
      'vfs',
      'bud',
      '--isolation',
      'chroot',
      '--format',
      'docker',
      '-f',
      '/w/workspaces/d1/Dockerfile',
      '--label',
      'deploy.id=deploy-prod-web-abc1234.0f0f0f0f',
      '--label',
      `deploy.binary-sha256=${'b'.repeat(64)}`,
      '-t',
      'localhost/deploy-abc:1234',
      '/w/workspaces/d1',
    ]);
  });

  it("builds a recipe's Dockerfile and context for its platform", () => {
    const recipe = buildahCommands({
      ...input,
      dockerfile: '/w/workspaces/d1/services/worker/Dockerfile',
      context: '/w/workspaces/d1/services/worker',
      platform: 'linux/arm64',
    });
    const args = recipe.build[0]?.args ?? [];
    expect(args.slice(args.indexOf('-f'), args.indexOf('-f') + 4)).toEqual([
      '-f',
      '/w/workspaces/d1/services/worker/Dockerfile',
      '--platform',
      'linux/arm64',
    ]);
    expect(args[args.length - 1]).toBe('/w/workspaces/d1/services/worker');
    expect(dockerCommands({ ...input, platform: 'linux/arm64' }).build[0]?.args).toContain('--platform');
  });

  it('writes the built image to an archive in the step directory, which needs no credentials', () => {
    expect(cmds.build[1]?.args.slice(-3)).toEqual([
      'push',
      'localhost/deploy-abc:1234',
      'docker-archive:/w/sandbox/s1/out/image.tar:localhost/deploy-abc:1234',
    ]);
  });

  it("pushes the worker's copy of the archive with skopeo and an auth file, plain HTTP only for an insecure registry", () => {
    expect(cmds.push.file).toBe('skopeo');
    expect(cmds.push.args).toEqual([
      'copy',
      '--dest-tls-verify=false',
      '--authfile',
      '/w/image-x/auth.json',
      '--digestfile',
      '/w/image-x/digest',
      'docker-archive:/w/image-x/image.tar',
      'docker://' + input.imageRef,
    ]);
    expect(buildahCommands({ ...input, insecure: false }).push.args).toContain('--dest-tls-verify=true');
  });

  it('never puts the password in an argument or the environment', () => {
    const all = JSON.stringify(
      [buildahCommands(input), dockerCommands(input)].flatMap((c) => [...c.build, c.push, c.remove]),
    );
    for (const secret of secretsOf(input)) expect(all).not.toContain(secret);
  });

  it('builds with nothing from the private secrets directory, where the credentials go', () => {
    expect(JSON.stringify(cmds.build)).not.toContain(input.secretsDir);
  });
});

describe('dockerCommands', () => {
  it('logs in with the password on stdin, with the given environment only', () => {
    const { login, push } = dockerCommands(input);
    expect(login?.args).toEqual(['login', '--username', 'AWS', '--password-stdin', 'registry.example:5000']);
    expect(login?.stdin).toBe('s3cret-token');
    expect(login?.env).toEqual(input.toolEnv);
    expect(push.args).toEqual(['push', input.imageRef]);
    expect(push.env).toEqual(input.toolEnv);
  });

  it('labels the image with the deploy and the sha256 of the binary it holds', () => {
    const [build] = dockerCommands(input).build;
    expect(build?.args).toEqual(
      expect.arrayContaining(['deploy.id=deploy-prod-web-abc1234.0f0f0f0f', `deploy.binary-sha256=${'b'.repeat(64)}`]),
    );
  });
});

describe('authFileContent', () => {
  it('holds base64 user:password for the registry, as containers-auth.json expects', () => {
    const parsed = JSON.parse(authFileContent(input)) as { auths: Record<string, { auth: string }> };
    const auth = parsed.auths['registry.example:5000']?.auth ?? '';
    expect(Buffer.from(auth, 'base64').toString()).toBe('AWS:s3cret-token');
  });
});

describe('digestFromPushOutput', () => {
  it('reads the digest docker push prints', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(digestFromPushOutput(`abc: digest: ${digest} size: 528\n`)).toBe(digest);
    expect(digestFromPushOutput('nothing here')).toBeUndefined();
  });
});

describe('buildFailure', () => {
  it('makes a Dockerfile problem a non-retryable ImageBuildError that says what to fix', () => {
    const err = buildFailure('Error: building at STEP "COPY missing /x": no such file or directory');
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe(ErrorType.imageBuild);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect(err.message).toMatch(/^failed to build image from the Dockerfile: .*COPY missing.*; fix the Dockerfile/);
  });

  it('keeps a network failure (pulling a base image) retryable', () => {
    const err = buildFailure('Error: pinging container registry docker.io: dial tcp: i/o timeout');
    expect(err).not.toBeInstanceOf(ApplicationFailure);
  });
});

describe('pushFailure', () => {
  const ref = input.imageRef;

  it('keeps 401 retryable, so the next attempt fetches a fresh token', () => {
    const err = pushFailure(ref, 'unauthorized: authentication required');
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect(err.message).toContain('refused the credentials');
  });

  it('makes a missing repository a non-retryable NotFound', () => {
    const err = pushFailure(ref, "name unknown: The repository with name 'my-app' does not exist");
    expect((err as ApplicationFailure).type).toBe(ErrorType.notFound);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
  });

  it('makes a denied push a non-retryable AccessDenied', () => {
    const err = pushFailure(ref, 'denied: User: x is not authorized to perform: ecr:InitiateLayerUpload');
    expect((err as ApplicationFailure).type).toBe(ErrorType.accessDenied);
  });

  it('keeps a network failure retryable', () => {
    const err = pushFailure(ref, 'dial tcp 127.0.0.1:5000: connect: connection refused');
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect(err.message).toBe(`failed to push image ${ref}: dial tcp 127.0.0.1:5000: connect: connection refused`);
  });
});
