/**
 * The command lines that build, push and remove an image with buildah or Docker, and how their failures read.
 * Pure, so both builders share one shape and tests can check that no password ever sits in an argument.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../shared/errors.js';
import { LABEL_BINARY_SHA256, LABEL_DEPLOY_ID } from '../shared/names.js';

export interface Command {
  file: string;
  args: string[];
  env?: Record<string, string>;
  stdin?: string;
}

export interface ImageCommands {
  /**
   * What builds the image from the Dockerfile, with no registry credentials anywhere in reach. buildah: the build,
   * then an archive of the image in the step's own directory, both run as the sandbox's image user. Docker: the
   * build, whose RUN steps run in the daemon's containers.
   */
  build: Command[];
  /** Docker only: after the build, so nothing the Dockerfile runs (a BuildKit frontend) can ask for the token. */
  login?: Command;
  /** Run by the worker with the credentials: buildah's archive through skopeo, or docker push. */
  push: Command;
  /** Docker only: the local image. buildah's storage goes with its step directory. */
  remove?: Command;
}

export interface ImageCommandInput {
  workspace: string;
  /** The Dockerfile and the build context (absolute); default: the workspace's Dockerfile, the workspace itself. */
  dockerfile?: string;
  context?: string;
  /** A recipe's platform, e.g. linux/arm64; absent: the builder's own (the Go recipe's image). */
  platform?: string;
  /** What the build tags; buildah pushes it under imageRef, Docker tags imageRef directly. */
  localTag: string;
  imageRef: string;
  registry: string;
  insecure: boolean;
  username: string;
  password: string;
  /** A private directory (mode 0700, root) for credentials, the digest file and the image archive it pushes. */
  secretsDir: string;
  /** buildah only: the build step's storage, runtime directory and the archive it writes, all the image user's. */
  storageDir: string;
  runDir: string;
  archivePath: string;
  /** Written into the image as the DEPLOY_ID_LABEL, so a failed deploy can tell the image it pushed from others. */
  deployId: string;
  /** The tested binary the image holds, written as the BINARY_SHA256_LABEL. */
  binarySha256: string;
  /** Environment of the docker CLI (its daemon settings, DOCKER_CONFIG=secretsDir), or of skopeo (PATH). */
  toolEnv: Record<string, string>;
}

/** The image label naming the deploy that built it. */
export const DEPLOY_ID_LABEL = LABEL_DEPLOY_ID;
/** The image label holding the sha256 of the binary inside, the one the build stage produced and the tests ran. */
export const BINARY_SHA256_LABEL = LABEL_BINARY_SHA256;

/**
 * buildah builds and archives as the image user; the worker pushes the archive with skopeo. Credentials come from
 * an auth file in the private secrets directory, never from arguments, which any local user can read in /proc.
 */
export function buildahCommands(i: ImageCommandInput): ImageCommands {
  const global = ['--root', i.storageDir, '--runroot', `${i.runDir}/storage`, '--storage-driver', 'vfs'];
  return {
    build: [
      {
        file: 'buildah',
        // Docker format keeps HEALTHCHECK, which the OCI format drops; docker-archive keeps the format as built.
        args: [...global, 'bud', '--isolation', 'chroot', '--format', 'docker', ...dockerfileArgs(i)],
      },
      { file: 'buildah', args: [...global, 'push', i.localTag, `docker-archive:${i.archivePath}:${i.localTag}`] },
    ],
    push: {
      file: 'skopeo',
      args: [
        'copy',
        `--dest-tls-verify=${String(!i.insecure)}`,
        '--authfile',
        authFilePath(i),
        '--digestfile',
        digestFilePath(i),
        `docker-archive:${pushedArchivePath(i)}`,
        `docker://${i.imageRef}`,
      ],
      env: { ...i.toolEnv, HOME: i.secretsDir, TMPDIR: i.secretsDir },
    },
  };
}

/** Docker cannot be told to skip TLS per push: an insecure registry has to be in the daemon's own settings. */
export function dockerCommands(i: ImageCommandInput): ImageCommands {
  const env = i.toolEnv;
  return {
    build: [{ file: 'docker', args: ['build', ...dockerfileArgs(i)], env }],
    login: {
      file: 'docker',
      args: ['login', '--username', i.username, '--password-stdin', i.registry],
      env,
      stdin: i.password,
    },
    push: { file: 'docker', args: ['push', i.imageRef], env },
    remove: { file: 'docker', args: ['rmi', '--force', i.imageRef], env },
  };
}

function dockerfileArgs(i: ImageCommandInput): string[] {
  return [
    '-f',
    i.dockerfile ?? `${i.workspace}/Dockerfile`,
    // Another architecture needs no emulator as long as the Dockerfile runs nothing (FROM scratch, COPY).
    ...(i.platform ? ['--platform', i.platform] : []),
    '--label',
    `${DEPLOY_ID_LABEL}=${i.deployId}`,
    '--label',
    `${BINARY_SHA256_LABEL}=${i.binarySha256}`,
    '-t',
    i.localTag,
    i.context ?? i.workspace,
  ];
}

/** The worker's own copy of the image user's archive: what skopeo pushes, out of that user's reach. */
export function pushedArchivePath(i: Pick<ImageCommandInput, 'secretsDir'>): string {
  return `${i.secretsDir}/image.tar`;
}

export function authFilePath(i: Pick<ImageCommandInput, 'secretsDir'>): string {
  return `${i.secretsDir}/auth.json`;
}

export function digestFilePath(i: Pick<ImageCommandInput, 'secretsDir'>): string {
  return `${i.secretsDir}/digest`;
}

/** The containers-auth.json that buildah reads. */
export function authFileContent(i: Pick<ImageCommandInput, 'registry' | 'username' | 'password'>): string {
  const auth = Buffer.from(`${i.username}:${i.password}`).toString('base64');
  return JSON.stringify({ auths: { [i.registry]: { auth } } });
}

/** Every form a password could take in a builder's output: as is, and inside base64 basic auth. */
export function secretsOf(i: Pick<ImageCommandInput, 'username' | 'password'>): string[] {
  return [i.password, Buffer.from(`${i.username}:${i.password}`).toString('base64')];
}

/** `docker push` prints `<tag>: digest: sha256:... size: N`. */
export function digestFromPushOutput(output: string): string | undefined {
  return /digest: (sha256:[0-9a-f]{64})/.exec(output)?.[1];
}

/** Failures that pass by themselves: the network, the registry's load, local storage contention. */
const TRANSIENT =
  /dial tcp|connection (refused|reset)|i\/o timeout|timed? ?out|TLS handshake|no such host|unexpected EOF|\b50[234]\b|toomanyrequests|too many requests|no space left|resource temporarily unavailable|locking/i;

/** Turns a failed build into an error: a Dockerfile problem cannot be retried away; a pull of a base image can. */
export function buildFailure(detail: string): Error {
  if (TRANSIENT.test(detail)) return new Error(`failed to build image: ${detail}; retrying`);
  return ApplicationFailure.nonRetryable(
    `failed to build image from the Dockerfile: ${detail}; fix the Dockerfile or the files it copies`,
    ErrorType.imageBuild,
  );
}

/** Turns a failed push into an error. 401 stays retryable: the next attempt fetches a fresh ECR token. */
export function pushFailure(imageRef: string, detail: string): Error {
  const what = `failed to push image ${imageRef}`;
  if (/name unknown|NAME_UNKNOWN|repository with name .* does not exist/i.test(detail)) {
    return ApplicationFailure.nonRetryable(
      `${what}: ${detail}; create the ECR repository or fix the repository name`,
      ErrorType.notFound,
    );
  }
  if (/\bdenied\b/i.test(detail) && !/unauthorized|authentication required/i.test(detail)) {
    return ApplicationFailure.nonRetryable(
      `${what}: ${detail}; grant the worker's IAM identity push access to the repository`,
      ErrorType.accessDenied,
    );
  }
  if (/unauthorized|authentication required|\b401\b/i.test(detail)) {
    return new Error(`${what}: the registry refused the credentials (${detail}); retrying with a fresh token`);
  }
  return new Error(`${what}: ${detail}`);
}
