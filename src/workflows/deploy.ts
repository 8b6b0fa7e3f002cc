/**
 * The deploy workflow: checkout, build, test and package in parallel, register, (approve), update, wait stable.
 * Anything that goes wrong after the service was touched is compensated by putting the previous revision back
 * (settle.ts); approval and superseding are the gates before the update (gates.ts).
 */
import { CancellationScope, allHandlersFinished, condition, isCancellation, workflowInfo } from '@temporalio/workflow';
import { errorMessage } from '../shared/errors.js';
import { validateDeployInput } from '../shared/validate.js';
import type { DeployError, DeployInput, DeployResult } from '../shared/types.js';
import { aws, go, image, source } from './activities.js';
import { Controls } from './controls.js';
import { awaitApproval, awaitPredecessors, claimService, notifySuccessors } from './gates.js';
import { DEFAULTS, type Progress, rejectInput, revision, settle, toDeployError } from './settle.js';
import { DeployState } from './state.js';
import { waitStable } from './wait-stable.js';

export async function deploy(rawInput: DeployInput): Promise<DeployResult> {
  const info = workflowInfo();
  let input: DeployInput;
  try {
    input = validateDeployInput(rawInput);
  } catch (err) {
    return rejectInput(rawInput, errorMessage(err));
  }
  const { sha, target } = input;
  const short = sha.slice(0, 7);
  const where = `${target.cluster}/${target.service}`;
  const options = { ...DEFAULTS, ...input.options };
  const deployId = `${info.workflowId}.${info.runId.slice(0, 8)}`;
  const state = new DeployState(input, true);
  const scope = new CancellationScope();
  const controls = new Controls(state, scope);
  const done: Progress = { registeredNew: false, serviceTouched: false };
  let failure: DeployError | undefined;

  try {
    await scope.run(async () => {
      await claimService(input, controls);
      const current = await state.run('validate', async () => {
        const [described] = await Promise.all([
          aws.describeTarget.executeWithOptions({ summary: `read ${where} from ECS` }, [
            { region: target.region, cluster: target.cluster, service: target.service, repository: target.repository },
          ]),
          aws.checkRepository.executeWithOptions({ summary: `check ECR repository ${target.repository}` }, [
            { region: target.region, repository: target.repository },
          ]),
        ]);
        return described;
      });
      state.previousTaskDefinitionArn = current.taskDefinitionArn;

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
        () =>
          state.run('test', () => go.testApp.executeWithOptions({ summary: `go test the binary at ${short}` }, [ref])),
        () =>
          state.run('package', () =>
            image.packageImage.executeWithOptions({ summary: `build and push image ${target.repository}:${short}` }, [
              { ...ref, binarySha256: built.binarySha256, region: target.region, repository: target.repository },
            ]),
          ),
      ] as const);
      state.imageRef = packaged.imageRef;
      state.imageDigest = packaged.imageDigest;

      const registered = await state.run('register', () =>
        aws.registerTaskDefinition.executeWithOptions({ summary: `register a task definition for ${short}` }, [
          {
            region: target.region,
            ...(target.taskDefinitionPath ? { taskDefinitionPath: target.taskDefinitionPath } : {}),
            currentTaskDefinitionArn: current.taskDefinitionArn,
            containerName: target.containerName,
            imageRef: packaged.imageRef,
            sha,
            deployId,
          },
        ]),
      );
      done.registeredArn = registered.taskDefinitionArn;
      done.registeredNew = registered.created || registered.taskDefinitionArn !== current.taskDefinitionArn;
      state.taskDefinitionArn = registered.taskDefinitionArn;
      state.approval.diff = registered.diff;

      await awaitApproval(state, controls, options.approvalTimeoutMs);
      await awaitPredecessors(controls, options.predecessorTimeoutMs);

      done.serviceTouched = true;
      const updated = await state.run('update', () =>
        aws.updateService.executeWithOptions(
          { summary: `update ${where} to ${revision(registered.taskDefinitionArn)}` },
          [
            {
              region: target.region,
              cluster: target.cluster,
              service: target.service,
              taskDefinitionArn: registered.taskDefinitionArn,
            },
          ],
        ),
      );
      if (updated.changed) state.previousTaskDefinitionArn = updated.previousTaskDefinitionArn;
      if (updated.deploymentId) done.deploymentId = updated.deploymentId;

      await state.run('wait_stable', () =>
        waitStable({
          rollout: {
            region: target.region,
            cluster: target.cluster,
            service: target.service,
            taskDefinitionArn: registered.taskDefinitionArn,
            ...(updated.deploymentId ? { deploymentId: updated.deploymentId } : {}),
          },
          check: (i) =>
            aws.checkRollout.executeWithOptions({ summary: `read the rollout of ${revision(i.taskDefinitionArn)}` }, [
              i,
            ]),
          onSnapshot: (s) => state.setRollout(s),
          timeoutMs: options.stableTimeoutMs,
          pollIntervalMs: options.pollIntervalMs,
        }),
      );
    });
  } catch (err) {
    if (!controls.ended && !isCancellation(err))
      failure = toDeployError(state.failedStage ?? state.stage ?? 'validate', err);
    if (!controls.ended && isCancellation(err)) {
      controls.ended = {
        kind: 'cancelled',
        by: 'temporal',
        reason: 'workflow cancellation requested',
        at: new Date().toISOString(),
      };
    }
  }

  // Temporal's own cancellation leaves the root scope cancelled: nothing after this point may be interrupted.
  return await CancellationScope.nonCancellable(async () => {
    const result = await settle(state, controls, done, failure);
    await condition(allHandlersFinished);
    await notifySuccessors(controls);
    return result;
  });
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
