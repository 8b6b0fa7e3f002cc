/**
 * The image a deploy rolls out: built from the SHA (build, then test and package side by side), an earlier deploy's
 * tested image of the same SHA once the registry proves it unchanged, or, for a rollback, the earlier deploy's own.
 */
import { CancellationScope } from '@temporalio/workflow';
import type { DeployInput } from '../shared/types.js';
import { aws, go, image, source } from './activities.js';
import type { Progress } from './settle.js';
import type { DeployState } from './state.js';

export interface Image {
  /** `<registry>/<repository>:<sha>`, for people. */
  imageRef: string;
  imageDigest?: string;
}

export async function obtainImage(opts: {
  input: DeployInput;
  state: DeployState;
  done: Progress;
  deployId: string;
}): Promise<Image> {
  const { input, state } = opts;
  if (input.rollbackTo) {
    skipBuild(state, `rollback to the revision of ${input.rollbackTo.fromWorkflowId}: nothing is built`);
    const out: Image = { imageRef: input.rollbackTo.imageRef ?? '' };
    if (input.rollbackTo.imageDigest) out.imageDigest = input.rollbackTo.imageDigest;
    setImage(state, out);
    return out;
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
      const out = { imageRef: verified.imageRef, imageDigest: reuse.imageDigest };
      setImage(state, out);
      state.binarySha256 = reuse.binarySha256;
      state.reused.image = { ...out, fromWorkflowId: reuse.fromWorkflowId };
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
  const { workspace } = await state.run('checkout', () =>
    source.checkout.executeWithOptions({ summary: `check out ${short}` }, [{ sha, deployId }]),
  );
  done.workspace = workspace;
  // Later steps name the checkout by (sha, deployId): whichever worker runs them re-creates it if it has none.
  const ref = { sha, deployId };
  const built = await state.run('build', () =>
    go.buildApp.executeWithOptions({ summary: `build the Go binary at ${short}` }, [ref]),
  );
  // The image packages the binary that was just built (checked by its hash), so testing and packaging can run side by side.
  done.imagePushedFor = ref;
  const [, packaged] = await allOrCancel([
    () => state.run('test', () => go.testApp.executeWithOptions({ summary: `go test the binary at ${short}` }, [ref])),
    () =>
      state.run('package', () =>
        image.packageImage.executeWithOptions({ summary: `build and push image ${target.repository}:${short}` }, [
          { ...ref, binarySha256: built.binarySha256, region: target.region, repository: target.repository },
        ]),
      ),
  ] as const);
  const out = { imageRef: packaged.imageRef, imageDigest: packaged.imageDigest };
  setImage(state, out);
  state.binarySha256 = built.binarySha256;
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
