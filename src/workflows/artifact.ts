/**
 * The image a deploy rolls out: built from the SHA (build, then test and package side by side, by the repository's
 * recipe or the Go one), an earlier deploy's tested image of the same SHA once the registry proves it unchanged, an
 * image built elsewhere (image mode, checked at validate), or, for a rollback, the earlier deploy's own.
 */
import { CancellationScope } from '@temporalio/workflow';
import type { BuildRecipe, DeployInput, RecipeSummary } from '../shared/types.js';
import { aws, go, image, source } from './activities.js';
import type { Progress } from './settle.js';
import type { DeployState } from './state.js';

export interface Image {
  /** `<registry>/<repository>:<sha>`, or `@sha256:…` in image mode, for people. */
  imageRef: string;
  imageDigest?: string;
  /** Containers besides the target's own that get the image: the recipe's. */
  containers?: string[];
}

/**
 * Image mode: the digest must be in the target's repository before anything changes, so this runs in the validate
 * stage. Every other deploy schedules nothing here.
 */
export async function checkGivenImage(input: DeployInput): Promise<Image | undefined> {
  const { imageDigest, target } = input;
  if (!imageDigest) return undefined;
  return await aws.checkImageDigest.executeWithOptions(
    { summary: `find ${target.repository}@${imageDigest.slice(0, 19)} in the registry` },
    [{ region: target.region, repository: target.repository, imageDigest }],
  );
}

export async function obtainImage(opts: {
  input: DeployInput;
  state: DeployState;
  done: Progress;
  deployId: string;
  /** Image mode: the image checkGivenImage found. */
  given?: Image | undefined;
}): Promise<Image> {
  const { input, state, given } = opts;
  if (input.rollbackTo) {
    skipBuild(state, `rollback to the revision of ${input.rollbackTo.fromWorkflowId}: nothing is built`);
    const out: Image = { imageRef: input.rollbackTo.imageRef ?? '' };
    if (input.rollbackTo.imageDigest) out.imageDigest = input.rollbackTo.imageDigest;
    setImage(state, out);
    return out;
  }
  if (given) {
    skipBuild(state, `image mode: ${given.imageDigest ?? given.imageRef} was built elsewhere; nothing is built here`);
    setImage(state, given);
    return given;
  }
  if (input.reuse) {
    const { reuse, target, sha } = input;
    const verified = await aws.verifyImage.executeWithOptions(
      { summary: `check the image ${reuse.fromWorkflowId} pushed for ${sha.slice(0, 7)}` },
      [
        {
          region: target.region,
          repository: target.repository,
          sha,
          imageDigest: reuse.imageDigest,
          binarySha256: reuse.binarySha256,
        },
      ],
    );
    if (verified.reusable) {
      skipBuild(state, `reused the image ${reuse.fromWorkflowId} built and tested`);
      const out: Image = { imageRef: verified.imageRef, imageDigest: reuse.imageDigest };
      setImage(state, out);
      state.binarySha256 = reuse.binarySha256;
      state.reused.image = {
        imageRef: verified.imageRef,
        imageDigest: reuse.imageDigest,
        fromWorkflowId: reuse.fromWorkflowId,
      };
      if (reuse.recipe) {
        state.recipe = reuse.recipe;
        if (reuse.recipe.containers) out.containers = reuse.recipe.containers;
      }
      return out;
    }
    state.notes.push(`built again: ${verified.detail}`);
  }
  return await buildTestPackage(opts);
}

async function buildTestPackage(opts: {
  input: DeployInput;
  state: DeployState;
  done: Progress;
  deployId: string;
}): Promise<Image> {
  const { input, state, done, deployId } = opts;
  const { sha, target } = input;
  const short = sha.slice(0, 7);
  const { workspace, recipe } = await state.run('checkout', () =>
    source.checkout.executeWithOptions({ summary: `check out ${short}` }, [
      { sha, deployId, ...(target.recipePath ? { recipePath: target.recipePath } : {}) },
    ]),
  );
  done.workspace = workspace;
  // Later steps name the checkout by (sha, deployId): whichever worker runs them re-creates it if it has none.
  const ref = { sha, deployId };
  // Without a recipe (and in histories from before recipes) every step runs the Go recipe, with the same input.
  const step = recipe ? { ...ref, recipe } : ref;
  const by = recipe ? summarise(recipe) : undefined;
  const built = await state.run('build', () =>
    go.buildApp.executeWithOptions(
      { summary: by ? `build by ${by.path} at ${short}` : `build the Go binary at ${short}` },
      [step],
    ),
  );
  // The image packages the binary that was just built (checked by its hash), so testing and packaging can run side by side.
  done.imagePushedFor = ref;
  const [, packaged] = await allOrCancel([
    () =>
      state.run('test', () =>
        go.testApp.executeWithOptions(
          { summary: by ? `test by ${by.path} at ${short}` : `go test the binary at ${short}` },
          [recipe ? { ...step, binarySha256: built.binarySha256 } : step],
        ),
      ),
    () =>
      state.run('package', () =>
        image.packageImage.executeWithOptions(
          {
            summary: `build and push image ${target.repository}:${short}${by ? ` for ${by.platform}` : ''}`,
          },
          [{ ...step, binarySha256: built.binarySha256, region: target.region, repository: target.repository }],
        ),
      ),
  ] as const);
  const out: Image = { imageRef: packaged.imageRef, imageDigest: packaged.imageDigest };
  if (by?.containers) out.containers = by.containers;
  if (by) state.recipe = by;
  setImage(state, out);
  state.binarySha256 = built.binarySha256;
  return out;
}

/** What the result keeps of a recipe. */
function summarise(recipe: BuildRecipe): RecipeSummary {
  const out: RecipeSummary = { path: recipe.path, platform: recipe.platform };
  if (recipe.containers) out.containers = recipe.containers;
  return out;
}

function setImage(state: DeployState, image: Image): void {
  if (image.imageRef) state.imageRef = image.imageRef;
  if (image.imageDigest) state.imageDigest = image.imageDigest;
}

function skipBuild(state: DeployState, detail: string): void {
  for (const stage of ['checkout', 'build', 'test', 'package'] as const) state.skip(stage, detail);
}

/**
 * Runs branches side by side; the first failure cancels the others, and waits until they have really stopped
 * (a push cancelled mid-way may still finish), so compensation sees everything they did.
 */
async function allOrCancel<A, B>(branches: readonly [() => Promise<A>, () => Promise<B>]): Promise<[A, B]> {
  const inner = new CancellationScope();
  return await inner.run(async () => {
    let failed: { err: unknown } | undefined;
    const cancelOnFailure = <T>(p: Promise<T>): Promise<T> =>
      p.catch((err: unknown) => {
        if (!failed) {
          failed = { err };
          inner.cancel();
        }
        throw err;
      });
    const [a, b] = await Promise.allSettled([cancelOnFailure(branches[0]()), cancelOnFailure(branches[1]())]);
    if (failed) throw failed.err;
    if (a.status === 'rejected' || b.status === 'rejected') throw new Error('unreachable: a branch failed unseen');
    return [a.value, b.value];
  });
}
