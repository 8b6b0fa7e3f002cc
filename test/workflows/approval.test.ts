/**
 * The approval gate's rules on the time-skipping server: the worker's policy with the request as a stricter overlay,
 * four eyes, approvals only while the deploy waits, and payloads that are refused without harming the deploy. The
 * verifier here is a fake (fakes.ts): these tests are about the workflow's logic; test/activities/identity.test.ts
 * and test/e2e/approvals.test.ts verify real tokens.
 */
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DeployActivities } from '../../src/shared/activities.js';
import type { DeployInput, DeployProgress } from '../../src/shared/types.js';
import type { deploy } from '../../src/workflows/deploy.js';
import { approveSignal, approveUpdate, cancelSignal, progressQuery } from '../../src/workflows/messages.js';
import { fakeActivities, fakeToken, input, policy } from './fakes.js';
import { startDeploy, statusIs, waitForProgress, withWorker, serverPerTest } from './harness.js';

let env: TestWorkflowEnvironment;

// A server of its own per test: a deploy's last notice ends after the deploy, and the time-skipping server then holds
// its clock for good (temporalio/sdk-typescript#1101, abandoned children).
serverPerTest((e) => (env = e));

/** The policy requires approval of prod/web by alice or bob, within two hours. */
const requiring: Partial<DeployActivities> = {
  approvalPolicy: async () =>
    policy({ source: 'service', requireApproval: true, approvers: ['alice', 'bob'], approvalTimeoutMs: 2 * 3_600_000 }),
};

const asking = (options: DeployInput['options'], overrides: Partial<DeployInput> = {}): DeployInput =>
  input({ options: { pollIntervalMs: 1000, stableTimeoutMs: 60_000, ...options }, ...overrides });

/** Sends the approve update and returns why it was refused. */
async function refusal(handle: WorkflowHandle<typeof deploy>, req: object): Promise<string> {
  const err = await handle.executeUpdate(approveUpdate, { args: [req] }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return (err as WorkflowUpdateFailedError).cause?.message ?? '';
}

const pending = (p: DeployProgress): boolean => p.status === 'awaiting_approval' && p.approval.state === 'pending';

describe('the policy, with the request as a stricter overlay', () => {
  test('a request that turns approval off still waits when the policy requires it, and counts the policy as why', async () => {
    const acts = fakeActivities(requiring);
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(
        env,
        tq,
        asking({ requireApproval: false }, { requesterToken: fakeToken('carol') }),
      );
      const p = await waitForProgress(handle, statusIs('awaiting_approval'));
      expect(p.approval).toMatchObject({
        required: true,
        requiredBy: 'policy',
        approvers: ['alice', 'bob'],
        requester: { id: 'carol', proof: 'verified' },
      });
      expect(acts.count('updateService')).toBe(0);
      await handle.signal(cancelSignal, { by: 'test', reason: 'seen it wait' });
      return await handle.result();
    });
    expect(result.status).toBe('cancelled');
    expect(acts.calls.filter((c) => c.name === 'approvalPolicy').map((c) => c.input)).toEqual([
      { region: 'us-east-1', cluster: 'prod', service: 'web' },
    ]);
  });

  test('a longer timeout in the request is ignored: the deploy gives up after the policy’s two hours', async () => {
    const acts = fakeActivities(requiring);
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(
        env,
        tq,
        asking({ approvalTimeoutMs: 24 * 3_600_000 }, { requesterToken: fakeToken('carol') }),
      );
      return await handle.result();
    });
    expect(result.status).toBe('cancelled');
    expect(result.endedBy).toMatchObject({ by: 'approval timeout', reason: 'no approval within 2 h' });
    expect(result.approval?.timeoutMs).toBe(2 * 3_600_000);
  });

  test('a shorter timeout and fewer approvers in the request are honoured', async () => {
    const acts = fakeActivities(requiring);
    await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(
        env,
        tq,
        asking({ approvalTimeoutMs: 60_000, approvers: ['bob', 'mallory'] }, { requesterToken: fakeToken('carol') }),
      );
      const p = await waitForProgress(handle, pending);
      expect(p.approval).toMatchObject({ approvers: ['bob'], timeoutMs: 60_000 });
      expect(await refusal(handle, { token: fakeToken('alice') })).toMatch(
        /^approver "alice" is not allowed to approve wf-\S+; allowed: bob$/,
      );
      await handle.signal(cancelSignal, { by: 'test', reason: 'done' });
      await handle.result();
    });
  });

  test('a request naming only approvers the policy does not allow is refused before anything is built', async () => {
    const acts = fakeActivities(requiring);
    const result = await withWorker(env, acts, async (tq) =>
      (await startDeploy(env, tq, asking({ approvers: ['mallory'] }, { requesterToken: fakeToken('carol') }))).result(),
    );
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ stage: 'validate', type: 'InvalidInput' });
    expect(result.error?.message).toBe(
      "none of the requested approvers (mallory) may approve prod/web under the worker's approval policy (allowed: alice, bob); name some of them, or leave the approvers out",
    );
    expect(acts.count('checkout')).toBe(0);
  });

  test('a policy that requires approval refuses a request without a verified requester: four eyes need one', async () => {
    const acts = fakeActivities(requiring);
    const result = await withWorker(env, acts, async (tq) =>
      (await startDeploy(env, tq, asking({}, { requestedBy: 'deployctl by alice' }))).result(),
    );
    expect(result.status).toBe('failed');
    expect(result.error?.stage).toBe('validate');
    expect(result.error?.message).toMatch(
      /^the worker's policy requires approval of prod\/web, and four eyes need a verified requester/,
    );
    expect(acts.count('checkout')).toBe(0);
  });

  test('asking for approval from a worker that trusts no issuer fails at once instead of waiting for the timeout', async () => {
    const acts = fakeActivities({
      approvalPolicy: async () => policy({ issuer: undefined, identityClaim: undefined }),
    });
    const result = await withWorker(env, acts, async (tq) =>
      (await startDeploy(env, tq, asking({ requireApproval: true }))).result(),
    );
    expect(result.status).toBe('failed');
    expect(result.error?.message).toBe(
      'approval of prod/web was asked for, but the worker trusts no OIDC issuer, so no approval could be verified; set DEPLOY_OIDC_ISSUER and DEPLOY_OIDC_AUDIENCE on the worker',
    );
    expect(acts.count('checkout')).toBe(0);
  });

  test('a requester token the verifier refuses fails the deploy at validate, saying why', async () => {
    const acts = fakeActivities(requiring);
    const result = await withWorker(env, acts, async (tq) =>
      (
        await startDeploy(
          env,
          tq,
          asking({}, { requesterToken: fakeToken('carol', 'it expired at 2026-01-01T00:00:00.000Z') }),
        )
      ).result(),
    );
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(
      /^the requester's ID token was refused: it expired at 2026-01-01T00:00:00.000Z; /,
    );
  });
});

describe('who may approve', () => {
  test('the requester cannot approve their own deploy; another allowed identity can', async () => {
    const acts = fakeActivities(requiring);
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, asking({}, { requesterToken: fakeToken('alice') }));
      await waitForProgress(handle, pending);
      expect(await refusal(handle, { token: fakeToken('alice') })).toMatch(
        /^approver "alice" requested wf-\S+ and cannot approve it too; four eyes need another approver$/,
      );
      // The same refusal by signal is logged and ignored.
      await handle.signal(approveSignal, { token: fakeToken('alice') });
      expect((await waitForProgress(handle, pending)).approval.state).toBe('pending');
      const approved = await handle.executeUpdate(approveUpdate, {
        args: [{ token: fakeToken('bob'), comment: 'ok' }],
      });
      expect(approved).toMatchObject({ state: 'approved', by: 'bob', proof: 'verified', comment: 'ok' });
      return await handle.result();
    });
    expect(result.status).toBe('succeeded');
    expect(result.approval).toMatchObject({ by: 'bob', requester: { id: 'alice', proof: 'verified' } });
  });

  test('a token the verifier refuses is refused with its reason; an unreachable issuer is refused as "try again"', async () => {
    let issuerDown = true;
    const acts = fakeActivities({
      ...requiring,
      verifyIdentity: async ({ token, role }) => {
        if (role === 'approver' && issuerDown) throw new Error('failed to read the OIDC discovery document');
        const body = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
          identity: string;
          refuse?: string;
        };
        return body.refuse ? { ok: false, reason: body.refuse } : { ok: true, identity: body.identity, expiresAt: '' };
      },
    });
    await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, asking({}, { requesterToken: fakeToken('carol') }));
      await waitForProgress(handle, pending);
      expect(await refusal(handle, { token: fakeToken('bob') })).toMatch(
        /^could not verify the token: failed to read the OIDC discovery document; try again$/,
      );
      issuerDown = false;
      expect(await refusal(handle, { token: fakeToken('bob', 'it is for the audience "x", not "deploys"') })).toBe(
        'the token was refused: it is for the audience "x", not "deploys"',
      );
      expect((await handle.query(progressQuery)).approval.state).toBe('pending');
      await handle.signal(cancelSignal, { by: 'test', reason: 'done' });
      await handle.result();
    });
  });

  test('a service in namespace mode takes a name, records it as unverified, and refuses a name off its list', async () => {
    const acts = fakeActivities({
      approvalPolicy: async () =>
        policy({ source: 'service', requireApproval: true, identity: 'namespace', approvers: ['alice', 'bob'] }),
    });
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, asking({}));
      await waitForProgress(handle, pending);
      expect(await refusal(handle, { by: 'mallory' })).toMatch(/^approver "mallory" is not allowed/);
      expect(await refusal(handle, { token: fakeToken('bob') })).toBe(
        'approve needs "by": the approver\'s name (this service takes approvals by name)',
      );
      await handle.signal(approveSignal, { by: 'bob' });
      return await handle.result();
    });
    expect(result.status).toBe('succeeded');
    expect(result.approval).toMatchObject({ mode: 'namespace', by: 'bob', proof: 'unverified' });
    expect(acts.count('verifyIdentity')).toBe(0);
  });

  test('a name alone does not approve a deploy whose policy takes tokens', async () => {
    const acts = fakeActivities();
    await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, asking({ requireApproval: true }));
      await waitForProgress(handle, pending);
      expect(await refusal(handle, { by: 'alice' })).toMatch(
        /^deploy wf-\S+ takes approvals by OIDC ID token: send \{"token": "<ID token>", "comment": "..."\}; "by" alone counts only for services whose policy takes approvals by name$/,
      );
      await handle.signal(cancelSignal, { by: 'test', reason: 'done' });
      await handle.result();
    });
  });
});

describe('when an approval counts', () => {
  test('an approval sent before the deploy waits for it is ignored; the deploy still waits once the diff is known', async () => {
    let release = (): void => undefined;
    const building = new Promise<void>((r) => (release = r));
    const acts = fakeActivities({
      ...requiring,
      buildApp: async () => {
        await building;
        return { binaryPath: '/b', binarySha256: 'f'.repeat(64) };
      },
    });
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, asking({}, { requesterToken: fakeToken('carol') }));
      try {
        await waitForProgress(handle, statusIs('building'));
        await handle.signal(approveSignal, { token: fakeToken('bob'), comment: 'too early' });
        expect((await handle.query(progressQuery)).approval.state).toBe('pending');
      } finally {
        release();
      }
      const p = await waitForProgress(handle, statusIs('awaiting_approval'));
      expect(p.approval).toMatchObject({ state: 'pending', diff: ['containers[web].image: old -> new'] });
      await handle.signal(approveSignal, { token: fakeToken('bob'), comment: 'now' });
      return await handle.result();
    });
    expect(result.status).toBe('succeeded');
    expect(result.approval).toMatchObject({ by: 'bob', comment: 'now' });
    // Only the signal sent while waiting was verified: the early one was refused before any activity.
    expect(
      acts.calls.filter((c) => c.name === 'verifyIdentity').map((c) => (c.input as { role: string }).role),
    ).toEqual(['requester', 'approver']);
  });

  test('malformed approve signals are logged and ignored; a cancel afterwards still ends the deploy cancelled', async () => {
    const acts = fakeActivities(requiring);
    const result = await withWorker(env, acts, async (tq) => {
      const handle = await startDeploy(env, tq, asking({}, { requesterToken: fakeToken('carol') }));
      await waitForProgress(handle, pending);
      const raw = env.client.workflow.getHandle(handle.workflowId);
      for (const payload of [
        null,
        'approve',
        42,
        [],
        {},
        { token: 42 },
        { token: 'not a jwt' },
        { token: fakeToken('bob'), comment: { x: 1 } },
        { by: { name: 'x' } },
      ]) {
        await raw.signal<[unknown]>(approveSignal.name, payload);
      }
      await raw.signal(approveSignal.name);
      const p = await waitForProgress(handle, pending);
      expect(p.approval.state).toBe('pending');
      await handle.signal(cancelSignal, { by: 'dave', reason: 'enough' });
      return await handle.result();
    });
    expect(result.status).toBe('cancelled');
    expect(result.endedBy).toMatchObject({ by: 'dave', reason: 'enough' });
    expect(result.approval).toMatchObject({ state: 'rejected', by: 'dave' });
    expect(
      acts.calls.filter((c) => c.name === 'verifyIdentity').map((c) => (c.input as { role: string }).role),
    ).toEqual(['requester']);
  });
});
