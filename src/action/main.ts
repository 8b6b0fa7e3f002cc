/**
 * The GitHub Action (action.yml): request a deploy of a SHA from the service's queue and follow it to its end, with
 * progress in the log, a job summary and step outputs. The runner runs the bundle of this file
 * (action/dist/index.mjs) with node, so a caller's job needs no install or build step.
 *
 * With `id-token: write` and an audience (the oidc-audience input or DEPLOY_OIDC_AUDIENCE), the job's own OIDC ID token
 * goes with the request as the requester's proof; the worker verifies it.
 *
 * When the job is cancelled, the runner sends SIGINT to this process, SIGTERM 7.5 s later, and kills it 2.5 s after
 * that. The first signal cancels the deploy, which compensates on the worker; if it has not ended by the second,
 * the step stops waiting and says so in the summary.
 */
import * as core from '@actions/core';
import { openClient } from '../client/connect.js';
import { describeFailure, resultExitCode } from '../cli/exit.js';
import { followWithProgress, requestAndReport, requester, StoppedWaiting } from '../cli/follow.js';
import { jobSummary, noResultSummary, outcomeText, queuedSummary, stepOutputs } from '../cli/github.js';
import { resultLines, uiLink } from '../cli/output.js';
import { secretValues } from '../shared/output.js';
import { readActionInputs, SECRET_INPUTS } from './inputs.js';

/** Step outputs, each written once unless its value changes (the outputs file is appended to). */
class Outputs {
  private readonly written = new Map<string, string>();

  set(values: Record<string, string>): void {
    for (const [name, value] of Object.entries(values)) {
      if (this.written.get(name) === value) continue;
      this.written.set(name, value);
      core.setOutput(name, value);
    }
  }
}

/** Appends to the job summary; outside a job (no $GITHUB_STEP_SUMMARY) there is none to write. */
async function writeSummary(markdown: string): Promise<void> {
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(markdown).write();
}

/**
 * What must never show in the log or the summary: the secret inputs and the job's credentials (masked by the runner
 * too, but the summary is not masked). Text from the deployed code is redacted of them.
 */
const secrets: string[] = [];

function addSecret(value: string | undefined): void {
  if (!value) return;
  core.setSecret(value);
  // As secretValues does: redacting a very short value would garble every line.
  if (value.length >= 8) secrets.push(value);
}

async function run(outputs: Outputs): Promise<number> {
  for (const name of SECRET_INPUTS) addSecret(core.getInput(name));
  secrets.push(...secretValues(process.env));
  const inputs = readActionInputs((name) => core.getInput(name), process.env);
  const { sha, imageDigest, target, ui } = inputs;
  const where = `${target.cluster}/${target.service}`;
  const who = await requester({ ...process.env, DEPLOY_OIDC_AUDIENCE: inputs.oidcAudience ?? '' }, () =>
    core.notice("no ID token sent as the requester: set the oidc-audience input to the worker's DEPLOY_OIDC_AUDIENCE"),
  );
  addSecret(who.requesterToken);
  const client = await openClient(inputs.settings);
  const started = await requestAndReport({
    client,
    taskQueue: inputs.settings.taskQueue,
    request: { kind: 'deploy', sha, ...(imageDigest ? { imageDigest } : {}), target, options: inputs.options, ...who },
    ui,
    log: core.info,
  });
  const { workflowId } = started.handle;
  const uiUrl = uiLink(ui, workflowId, started.runId);
  outputs.set({ sha, 'workflow-id': workflowId, 'run-id': started.runId, 'ui-url': uiUrl });
  if (!inputs.wait) {
    outputs.set({ status: 'queued' });
    await writeSummary(queuedSummary({ sha, where, workflowId, uiUrl }));
    return 0;
  }
  const result = await followWithProgress({
    client,
    handle: started.handle,
    log: core.info,
    secrets,
    cancelOnStop: { where, by: 'github-actions', reason: (signal) => `the job was cancelled (${signal})` },
  });
  const resultUrl = uiLink(ui, workflowId, result.runId);
  for (const line of resultLines(result, ui, secrets)) core.info(line);
  outputs.set(stepOutputs(result, resultUrl));
  await writeSummary(jobSummary(result, resultUrl, secrets));
  if (result.status !== 'succeeded') core.setFailed(`${where}: the deploy ${outcomeText(result)}`);
  return resultExitCode(result);
}

async function main(): Promise<number> {
  const outputs = new Outputs();
  try {
    return await run(outputs);
  } catch (err) {
    const { code, message } = err instanceof StoppedWaiting ? { code: 1, message: err.message } : describeFailure(err);
    core.setFailed(message);
    const sha = core.getInput('sha') || process.env.GITHUB_SHA;
    await writeSummary(noResultSummary({ ...(sha ? { sha } : {}), message, secrets }));
    return code;
  }
}

// The gRPC connection keeps the event loop alive: exit once the outputs and the summary are written.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    core.setFailed(String(err));
    process.exit(1);
  },
);
