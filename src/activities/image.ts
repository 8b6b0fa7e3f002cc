/**
 * The package step: put the tested binary into an image and push it as <registry>/<repository>:<sha>, once.
 * Credentials come from ECR at each attempt and stay in this process: in a 0700 directory, on stdin, never in
 * arguments, results, logs or error messages. The build itself, which runs the Dockerfile, never has them: buildah
 * builds as the sandbox's image user into an archive, which the worker then pushes.
 */
import { BatchDeleteImageCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { ApplicationFailure, log } from '@temporalio/activity';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import type { ImageBuilder, WorkerConfig } from '../worker/config.js';
import { ErrorType } from '../shared/errors.js';
import type {
  BuildRecipe,
  DiscardImageInput,
  DiscardImageResult,
  PackageInput,
  PackageResult,
} from '../shared/types.js';
import { ValidationError, validateSha } from '../shared/validate.js';
import {
  carried,
  describeFailure,
  runCommand,
  tail,
  withHeartbeat,
  workerPath,
  type CommandOutput,
} from './command.js';
import { awsFailure } from './aws-errors.js';
import { getRegistryAuth } from './ecr.js';
import { BINARY_PATH, goBuilder } from './go.js';
import {
  authFileContent,
  authFilePath,
  buildahCommands,
  buildFailure,
  DEPLOY_ID_LABEL,
  digestFilePath,
  digestFromPushOutput,
  dockerCommands,
  pushedArchivePath,
  pushFailure,
  secretsOf,
  type Command,
  type ImageCommands,
} from './image-commands.js';
import { checked } from './input.js';
import { deleteManifest, findManifest, readImage, type FindManifestInput } from './registry-api.js';
import { validateBuildRecipe } from './recipe.js';
import { recipeBuilder } from './recipe-build.js';
import { checkRepoFile, copyRegular, realDirectory, sha256Regular } from './repo-files.js';
import { sandbox, type ImageStep } from './sandbox.js';
import { dockerEnv } from './sandbox-commands.js';
import { sourceCheckouts, type SourceCheckouts } from './source.js';
import { awsClients, type AwsClients } from './clients.js';

/** ECR repository names; the workflow validated them already, this keeps the URL and tag safe regardless. */
const REPOSITORY_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

export function imageActivities(
  config: WorkerConfig,
  parts: { clients?: AwsClients; checkouts?: SourceCheckouts } = {},
) {
  const checkouts = parts.checkouts ?? sourceCheckouts(config);
  const clients = parts.clients ?? awsClients();
  const registryAuth = (region: string) => getRegistryAuth({ region, ecr: clients.ecr(region) });
  const box = sandbox(config);
  const go = goBuilder(config, box);
  const recipes = recipeBuilder(config, box);

  /**
   * The binary in the image must be the one the build stage hashed and the test stage tested. On another worker,
   * or after a restart, it is missing: the build is reproducible, so build it again and prove it is the same.
   */
  async function requireTestedBinary(workspace: string, expected: string): Promise<void> {
    const path = resolve(workspace, BINARY_PATH);
    const present = await sha256Regular(path);
    if (present === expected) return;
    log.info('the built binary is not on this worker; building it again', { workspace });
    const rebuilt = await go.build(workspace);
    if (rebuilt.binarySha256 !== expected) {
      throw ApplicationFailure.nonRetryable(
        `failed to package image: the binary rebuilt on this worker has sha256 ${rebuilt.binarySha256}, but the ` +
          `build stage produced ${expected}; the build is not reproducible here (a different Go toolchain on this ` +
          `worker?), so the tested binary cannot be packaged. Give all workers the same Go version and deploy again`,
        ErrorType.binaryMismatch,
      );
    }
  }

  return {
    packageImage: (input: PackageInput): Promise<PackageResult> => withHeartbeat(() => packageImage(input)),

    /**
     * Undoes a push when the deploy failed before the service used the image (tests failed while it was pushed).
     * Only an image whose label names this deploy is removed: one pushed by an earlier deploy of the SHA stays.
     */
    discardImage: async (input: DiscardImageInput): Promise<DiscardImageResult> => {
      const sha = checked(() => validateSha(input.sha));
      const repository = checkRepository(input.repository);
      const auth = await registryAuth(input.region);
      const registry = config.registry ?? auth.registry;
      const where = { auth, registry, repository, insecure: config.registryInsecure };
      const found = await readImage({ ...where, tag: sha });
      if (!found) return { discarded: false, detail: `${registry}/${repository}:${sha} was never pushed` };
      const by = found.labels[DEPLOY_ID_LABEL];
      if (by !== input.deployId) {
        return {
          discarded: false,
          detail: `${registry}/${repository}:${sha} was pushed by ${by ?? 'another deploy'}; kept`,
        };
      }
      if (config.registry) {
        await deleteManifest(where, found.digest);
      } else {
        await deleteFromEcr(clients.ecr(input.region), repository, found.digest);
      }
      log.info('removed the image this failed deploy pushed', { repository, sha, digest: found.digest });
      return { discarded: true, detail: `removed ${registry}/${repository}@${found.digest}` };
    },
  };

  async function packageImage(input: PackageInput): Promise<PackageResult> {
    const { sha, repository, binarySha256 } = checkInput(input);
    const recipe = input.recipe === undefined ? undefined : checked(() => validateBuildRecipe(input.recipe));
    const auth = await registryAuth(input.region);
    const registry = config.registry ?? auth.registry;
    const imageRef = `${registry}/${repository}:${sha}`;
    const insecure = config.registryInsecure;

    const existing = await findManifest({ auth, registry, repository, tag: sha, insecure });
    if (existing) return { imageRef, imageDigest: existing, pushed: false };

    const workspace = await checkouts.ensure(input);
    if (recipe) await recipes.requireArtifacts(workspace, recipe, binarySha256, 'package');
    else await requireTestedBinary(workspace, binarySha256);
    const files = await checkBuildFiles(workspace, recipe);
    const builder = await chooseBuilder(config.imageBuilder);
    await mkdir(config.workDir, { recursive: true });
    const secretsDir = await mkdtemp(join(config.workDir, 'image-'));
    let step: ImageStep | undefined;
    try {
      step = builder === 'buildah' ? await box.imageStep() : undefined;
      const commandInput = {
        workspace,
        ...files,
        ...(recipe ? { platform: recipe.platform } : {}),
        localTag: builder === 'docker' ? imageRef : `localhost/deploy-${sha.slice(0, 12)}:${randomUUID().slice(0, 8)}`,
        imageRef,
        registry,
        insecure,
        username: auth.username,
        password: auth.password,
        secretsDir,
        storageDir: step?.storage ?? '',
        runDir: step?.run ?? '',
        archivePath: step ? join(step.out, 'image.tar') : '',
        deployId: input.deployId,
        binarySha256,
        toolEnv: builder === 'docker' ? dockerEnv(secretsDir, process.env) : { PATH: workerPath() },
      };
      const commands = builder === 'docker' ? dockerCommands(commandInput) : buildahCommands(commandInput);
      const buildStep = step;
      const pushed = await buildAndPush(commands, {
        imageRef,
        secrets: secretsOf(auth),
        // buildah's build runs as the image user; Docker's runs in the daemon.
        asBuilder: (cmd) => (buildStep ? buildStep.command(cmd.file, cmd.args) : cmd),
        beforePush: async () => {
          if (!buildStep) return;
          // The worker's own copy, never through a link the image user could have left, then the credentials.
          await copyRegular(commandInput.archivePath, pushedArchivePath(commandInput), 0o600);
          await writeFile(authFilePath(commandInput), authFileContent(commandInput), { mode: 0o600 });
        },
      });
      const digest =
        builder === 'docker'
          ? digestFromPushOutput(pushed.stdout)
          : (await readFile(digestFilePath(commandInput), 'utf8')).trim();
      return {
        imageRef,
        imageDigest: digest || (await pushedDigest({ auth, registry, repository, sha, insecure })),
        pushed: true,
      };
    } finally {
      await rm(secretsDir, { recursive: true, force: true });
      await step?.dispose();
    }
  }
}

/**
 * The files the image build reads from the checkout besides the context: a Dockerfile (or .dockerignore) committed
 * as a link to a credential, or to /dev/zero, must not be read by a builder that runs as root (the docker CLI). A
 * recipe's context must be a real folder of the checkout, not a link that would make the whole disk the context.
 * Returns the absolute Dockerfile and context, for a recipe.
 */
async function checkBuildFiles(
  workspace: string,
  recipe: BuildRecipe | undefined,
): Promise<{ dockerfile?: string; context?: string }> {
  const dockerfile = recipe?.dockerfile ?? 'Dockerfile';
  const ignore = recipe ? posix.join(recipe.context, '.dockerignore') : '.dockerignore';
  try {
    const context = recipe
      ? await realDirectory(workspace, recipe.context, { field: 'recipe.context', create: false })
      : undefined;
    if (!(await checkRepoFile(workspace, dockerfile, { field: recipe ? 'recipe.dockerfile' : 'Dockerfile' }))) {
      throw new ValidationError(
        recipe ? 'recipe.dockerfile' : 'Dockerfile',
        `"${dockerfile}" does not exist in the repository at this commit`,
      );
    }
    await checkRepoFile(workspace, ignore, { field: '.dockerignore' });
    return context ? { dockerfile: resolve(workspace, dockerfile), context } : {};
  } catch (err) {
    if (err instanceof ValidationError) {
      throw ApplicationFailure.nonRetryable(`failed to build image: ${err.message}`, ErrorType.invalidInput);
    }
    throw err;
  }
}

interface BuildAndPushOptions {
  imageRef: string;
  secrets: string[];
  /** The command as the builder runs it. */
  asBuilder: (cmd: Command) => Command;
  /** Runs between the build and the push: the credentials appear only now. */
  beforePush: () => Promise<void>;
}

/** Builds, then (Docker) logs in and pushes; a Docker image built locally is removed whatever happens. */
async function buildAndPush(commands: ImageCommands, o: BuildAndPushOptions): Promise<CommandOutput> {
  const run = (cmd: Command): Promise<CommandOutput> => runCommand({ ...cmd, secrets: o.secrets });
  try {
    for (const cmd of commands.build) {
      const built = await run(o.asBuilder(cmd));
      if (built.exitCode !== 0) throw buildFailure(buildError(built));
    }
    await o.beforePush();
    if (commands.login) {
      const login = await run(commands.login);
      if (login.exitCode !== 0) throw pushFailure(o.imageRef, describeFailure(login));
    }
    const pushed = await run(commands.push);
    if (pushed.exitCode !== 0) throw pushFailure(o.imageRef, describeFailure(pushed, 5));
    return pushed;
  } finally {
    // Best effort: a leftover local image costs disk, not correctness.
    if (commands.remove) await run(commands.remove);
  }
}

async function pushedDigest(i: Omit<FindManifestInput, 'tag'> & { sha: string }): Promise<string> {
  const digest = await findManifest({ ...i, tag: i.sha });
  if (!digest) throw new Error(`failed to read the digest of ${i.registry}/${i.repository}:${i.sha} after the push`);
  return digest;
}

/** Docker when asked, or when `auto` finds a daemon that answers; buildah otherwise. */
async function chooseBuilder(wanted: ImageBuilder): Promise<'docker' | 'buildah'> {
  if (wanted !== 'auto') return wanted;
  const info = await runCommand({
    file: 'docker',
    args: ['info', '--format', '{{.ServerVersion}}'],
    env: dockerEnv('/nonexistent', process.env),
    timeoutMs: 5_000,
  });
  return info.exitCode === 0 ? 'docker' : 'buildah';
}

/** buildah's `Error:` lines say what in the Dockerfile failed; the progress lines before them do not. */
function buildError(out: CommandOutput): string {
  const errors = out.stderr.split('\n').filter((l) => /^(Error|error)\b/.test(l.trim()));
  if (errors.length === 0) return describeFailure(out, 10);
  // A failed RUN step says why on stdout, just before the error.
  const said = tail(out.stdout, 10);
  return carried(said ? `${errors.join('\n')}\n${said}` : errors.join('\n'));
}

/** ECR removes images through its API; its registry endpoint does not take DELETE. */
async function deleteFromEcr(ecr: ECRClient, repository: string, digest: string): Promise<void> {
  try {
    const out = await ecr.send(
      new BatchDeleteImageCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] }),
    );
    const failure = out.failures?.find((f) => f.failureCode !== 'ImageNotFound');
    if (failure) throw new Error(`${failure.failureCode ?? 'failure'}: ${failure.failureReason ?? ''}`);
  } catch (err) {
    throw awsFailure(`delete image ${repository}@${digest} from ECR`, err);
  }
}

function checkRepository(repository: string): string {
  if (!REPOSITORY_RE.test(repository)) {
    throw ApplicationFailure.nonRetryable(
      `invalid repository: ${JSON.stringify(repository)} is not an ECR repository name`,
      ErrorType.invalidInput,
    );
  }
  return repository;
}

function checkInput(input: PackageInput): { sha: string; repository: string; binarySha256: string } {
  const sha = checked(() => validateSha(input.sha));
  checkRepository(input.repository);
  if (typeof input.binarySha256 !== 'string' || !/^[0-9a-f]{64}$/.test(input.binarySha256)) {
    throw ApplicationFailure.nonRetryable(
      `invalid binarySha256: ${JSON.stringify(input.binarySha256) ?? 'nothing'} is not the sha256 the build stage returned`,
      ErrorType.invalidInput,
    );
  }
  return { sha, repository: input.repository, binarySha256: input.binarySha256 };
}
