#!/usr/bin/env node
/** deployctl: start, watch, approve, cancel and list deploys. Thin: parsing and printing only. */
import { parseArgs } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { readConnectionSettings } from '../shared/connection.js';
import { errorMessage } from '../shared/errors.js';
import { ValidationError, validateDigest, validatePerson, validateSha } from '../shared/validate.js';
import type { DeployOptions } from '../shared/types.js';
import { openClient } from '../client/connect.js';
import { approveDeploy, cancelDeploy, deployStatus, listDeploys, requestDeploy } from '../client/deploys.js';
import { approvalToken, mintLocalToken, requesterToken } from '../client/identity.js';
import { parseDuration, readOptions, readTarget } from '../client/target.js';
import { waitWithProgress } from '../client/watch.js';
import { writeGithubFiles } from './github.js';
import { printResult, uiLink } from './output.js';

const USAGE = `usage:
  deployctl deploy --sha <40-hex sha> [--image-digest sha256:<64 hex>] [--wait] [--json] [--github-summary] [--require-approval] [--approval-timeout 1h] [--stable-timeout 15m]
  deployctl rollback [--to <40-hex sha>] [--wait] [--json] [--require-approval] [--approval-timeout 1h] [--stable-timeout 15m]
  deployctl status <workflowId> [--json]
  deployctl approve <workflowId> [--token-file <path> | --token <jwt>] [--comment <text>]
      (the token may come from DEPLOY_APPROVAL_TOKEN, or in GitHub Actions from the job's own ID token;
       --by <name> instead, only for services whose policy takes approvals by name)
  deployctl cancel <workflowId> --by <name> --reason <text>
  deployctl list [--service] [--running] [--json]
  deployctl token --as <name> [--audience <aud>] [--ttl 5m]   (the local stack's issuer only)
requester: DEPLOY_REQUESTER_TOKEN, or in GitHub Actions the job's ID token for DEPLOY_OIDC_AUDIENCE
target: AWS_REGION ECR_REPOSITORY ECS_CLUSTER ECS_SERVICE [ECS_TASK_DEFINITION] CONTAINER_NAME [DEPLOY_RECIPE]
temporal: TEMPORAL_ADDRESS TEMPORAL_NAMESPACE TEMPORAL_TASK_QUEUE [TEMPORAL_API_KEY | TEMPORAL_TLS_CLIENT_CERT_PATH/KEY_PATH]`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      sha: { type: 'string' },
      'image-digest': { type: 'string' },
      to: { type: 'string' },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'github-summary': { type: 'boolean', default: false },
      'require-approval': { type: 'boolean' },
      'approval-timeout': { type: 'string' },
      'stable-timeout': { type: 'string' },
      by: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      as: { type: 'string' },
      audience: { type: 'string' },
      ttl: { type: 'string' },
      comment: { type: 'string' },
      reason: { type: 'string' },
      service: { type: 'boolean', default: false },
      running: { type: 'boolean', default: false },
    },
  });
  const settings = readConnectionSettings(process.env);
  const err = (line: string): void => void process.stderr.write(`${line}\n`);

  switch (command) {
    case 'deploy':
    case 'rollback': {
      const sha = command === 'deploy' ? validateSha(values.sha, '--sha') : undefined;
      const toSha = command === 'rollback' && values.to !== undefined ? validateSha(values.to, '--to') : undefined;
      const given = values['image-digest'];
      if (given !== undefined && command !== 'deploy') throw new UsageError('--image-digest is for deploy only');
      const imageDigest = given === undefined ? undefined : validateDigest(given, '--image-digest');
      const target = readTarget(process.env);
      const flags: DeployOptions = {};
      if (values['require-approval'] !== undefined) flags.requireApproval = values['require-approval'];
      if (values['approval-timeout'])
        flags.approvalTimeoutMs = parseDuration(values['approval-timeout'], '--approval-timeout');
      if (values['stable-timeout']) flags.stableTimeoutMs = parseDuration(values['stable-timeout'], '--stable-timeout');
      const options = readOptions(process.env, flags);
      const requestedBy = process.env.GITHUB_ACTIONS
        ? `github:${process.env.GITHUB_REPOSITORY ?? '?'} run ${process.env.GITHUB_RUN_ID ?? '?'} by ${process.env.GITHUB_ACTOR ?? '?'}`
        : `deployctl by ${process.env.USER ?? 'unknown'}`;
      const token = await requesterToken(process.env, (line) => err(`deployctl: ${line}`));
      const who = { requestedBy, ...(token ? { requesterToken: token } : {}) };
      const client = await openClient(settings);
      const started = await requestDeploy({
        client,
        taskQueue: settings.taskQueue,
        request: sha
          ? { kind: 'deploy', sha, ...(imageDigest ? { imageDigest } : {}), target, options, ...who }
          : { kind: 'rollback', ...(toSha ? { toSha } : {}), target, options, ...who },
      });
      const { workflowId } = started.handle;
      const runId = started.runId;
      const where = `${target.cluster}/${target.service}`;
      const what = sha
        ? `deploy ${sha.slice(0, 7)}${imageDigest ? ` as image ${imageDigest.slice(0, 19)}` : ''}`
        : `rollback${toSha ? ` to ${toSha.slice(0, 7)}` : ''}`;
      err(`${where} ${what}: ${started.mode === 'started' ? 'started' : 'already running, attached to'} ${workflowId}`);
      if (started.superseding.length) err(`${where} superseding ${started.superseding.join(', ')}`);
      err(`${where} watch: ${uiLink(settings, workflowId, runId)}`);
      if (!values.wait) {
        if (values.json)
          process.stdout.write(`${JSON.stringify({ workflowId, runId, status: 'queued', sha: sha ?? toSha })}\n`);
        return 0;
      }
      const stop = cancelOnSignals(async (signal) => {
        err(`${where} ${signal}: cancelling the deploy; waiting for it to compensate (send again to stop waiting)`);
        await cancelDeploy({ client, workflowId, by: 'deployctl', reason: `${signal} received by the waiting job` });
      });
      try {
        const result = await waitWithProgress({ handle: started.handle, print: err });
        if (values['github-summary']) writeGithubFiles(result, uiLink(settings, workflowId, result.runId), process.env);
        return printResult(result, { json: values.json, settings });
      } finally {
        stop();
      }
    }
    case 'status': {
      const id = positionals[0];
      if (!id) throw new UsageError('status needs a workflow id');
      const client = await openClient(settings);
      return printResult(await deployStatus(client, id), { json: values.json, settings, running: true });
    }
    case 'approve': {
      const id = positionals[0];
      if (!id) throw new UsageError('approve needs a workflow id');
      const by = values.by !== undefined ? validatePerson(values.by, '--by') : undefined;
      const token = await approvalToken({
        token: values.token,
        tokenFile: values['token-file'],
        env: process.env,
        note: (line) => err(`deployctl: ${line}`),
      });
      if (!token && !by)
        throw new UsageError(
          "approve needs the approver's ID token: --token-file <path>, DEPLOY_APPROVAL_TOKEN or --token <jwt> (--by <name> only for services whose policy takes approvals by name)",
        );
      const client = await openClient(settings);
      const approval = await approveDeploy({ client, workflowId: id, token, by, comment: values.comment });
      err(`${id}: approved by ${approval.by ?? by}${approval.proof ? ` (${approval.proof})` : ''}`);
      return 0;
    }
    case 'cancel': {
      const id = positionals[0];
      if (!id) throw new UsageError('cancel needs a workflow id');
      const by = validatePerson(values.by, '--by');
      if (!values.reason?.trim()) throw new ValidationError('--reason', 'say why the deploy is cancelled');
      const client = await openClient(settings);
      await cancelDeploy({ client, workflowId: id, by, reason: values.reason });
      err(`${id}: cancel sent; the deploy compensates and ends cancelled (deployctl status ${id})`);
      return 0;
    }
    case 'list': {
      const client = await openClient(settings);
      const scope = values.service ? readTarget(process.env) : undefined;
      const rows = await listDeploys({
        client,
        ...(scope ? { cluster: scope.cluster, service: scope.service } : {}),
        runningOnly: values.running,
      });
      if (values.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
      else
        for (const r of rows)
          process.stdout.write(
            `${r.workflowId}\t${r.status}\t${r.stage ?? ''}\t${r.sha?.slice(0, 12) ?? ''}\t${r.startTime.toISOString()}\n`,
          );
      return 0;
    }
    case 'token': {
      if (!values.as) throw new UsageError('token needs --as <name>');
      const token = await mintLocalToken({
        env: process.env,
        as: values.as,
        ...(values.audience ? { audience: values.audience } : {}),
        ...(values.ttl ? { ttlSeconds: parseDuration(values.ttl, '--ttl') / 1000 } : {}),
      });
      process.stdout.write(`${token}\n`);
      return 0;
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
}

/** The first SIGINT/SIGTERM asks the deploy to cancel (and compensate); a second one stops waiting. */
function cancelOnSignals(onFirst: (signal: string) => Promise<void>): () => void {
  let count = 0;
  const handler = (signal: NodeJS.Signals): void => {
    count += 1;
    if (count > 1) process.exit(130);
    onFirst(signal).catch((e: unknown) => process.stderr.write(`deployctl: failed to cancel: ${errorMessage(e)}\n`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`deployctl: ${e.message}\n${USAGE}\n`);
      process.exit(2);
    }
    if (e instanceof ValidationError) {
      process.stderr.write(`deployctl: ${e.message}\n`);
      process.exit(2);
    }
    const text = e instanceof WorkflowFailedError && e.cause ? e.cause.message : errorMessage(e);
    process.stderr.write(`deployctl: ${text}\n`);
    process.exit(1);
  },
);
