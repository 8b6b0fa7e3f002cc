/** What every deployctl command shares: the environment, one Temporal client, the UI link, and where lines go. */
import type { Client } from '@temporalio/client';
import { Option, type Command } from 'commander';
import { openClient } from '../client/connect.js';
import { readConnectionSettings, type ConnectionSettings } from '../client/connection.js';
import { secretValues } from '../shared/output.js';
import { targetSources, TARGET_ENV, type TargetField, type TargetFlags, type TargetSources } from './env.js';
import { DEFAULT_UI_URL, type UiSettings } from './output.js';

type Env = Record<string, string | undefined>;

export class CliContext {
  /** What the command decided; main exits with it. */
  exitCode = 0;
  private settingsRead?: ConnectionSettings;
  private clientOpened?: Client;

  constructor(readonly env: Env) {}

  /** Read when a command first needs Temporal, so --help works without any settings. */
  settings(): ConnectionSettings {
    this.settingsRead ??= readConnectionSettings(this.env);
    return this.settingsRead;
  }

  async client(): Promise<Client> {
    this.clientOpened ??= await openClient(this.settings());
    return this.clientOpened;
  }

  ui(): UiSettings {
    return { uiUrl: this.env.TEMPORAL_UI_URL?.trim() || DEFAULT_UI_URL, namespace: this.settings().namespace };
  }

  /** The credentials this process holds: never printed, even when text from the deployed code quotes them. */
  secrets(): string[] {
    return secretValues(this.env);
  }

  target(flags: TargetFlags): TargetSources {
    return targetSources(this.env, flags);
  }

  /** Human text and progress. */
  readonly err = (line: string): void => void process.stderr.write(`${line}\n`);
  /** Results, to pipe. */
  readonly out = (line: string): void => void process.stdout.write(`${line}\n`);
}

const TARGET_HELP: Record<TargetField, [string, string]> = {
  region: ['--region <region>', 'AWS region of the service'],
  cluster: ['--cluster <name>', 'ECS cluster'],
  service: ['--service <name>', 'ECS service'],
  repository: ['--repository <name>', 'ECR repository the image is pushed to'],
  containerName: ['--container-name <name>', 'container in the task definition whose image is replaced'],
  taskDefinitionPath: [
    '--task-definition <path>',
    "task-definition JSON template in the repository at the SHA (empty: the service's current one)",
  ],
  recipePath: [
    '--recipe <path>',
    'build recipe in the repository at the SHA (empty: deployctl.yml when there is one, else the Go recipe; docs/recipe.md)',
  ],
};

/** Adds the target flags, each defaulting to the pipeline's variable (named in the help). */
export function targetOptions(command: Command, fields: TargetField[]): Command {
  for (const field of fields) {
    const [flags, what] = TARGET_HELP[field];
    command.addOption(new Option(flags, `${what} (default: $${TARGET_ENV[field]})`));
  }
  return command;
}

export const ALL_TARGET_FIELDS = Object.keys(TARGET_HELP) as TargetField[];

/** The target flags commander parsed, under the target's field names. */
export function targetFlags(opts: {
  region?: string;
  cluster?: string;
  service?: string | boolean;
  repository?: string;
  containerName?: string;
  taskDefinition?: string;
  recipe?: string;
}): TargetFlags {
  const flags: TargetFlags = {};
  if (opts.region !== undefined) flags.region = opts.region;
  if (opts.cluster !== undefined) flags.cluster = opts.cluster;
  if (typeof opts.service === 'string') flags.service = opts.service;
  if (opts.repository !== undefined) flags.repository = opts.repository;
  if (opts.containerName !== undefined) flags.containerName = opts.containerName;
  if (opts.taskDefinition !== undefined) flags.taskDefinitionPath = opts.taskDefinition;
  if (opts.recipe !== undefined) flags.recipePath = opts.recipe;
  return flags;
}

export const JSON_HELP = 'print the result as one JSON object on stdout';
