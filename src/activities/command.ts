/**
 * Runs a child process inside an activity: argument arrays only (never a shell), a heartbeat while it runs so the
 * server can deliver a cancellation, and the child killed when that cancellation comes. The child gets only the
 * environment it is given: the worker's own (AWS and Temporal credentials) stays with the worker.
 */
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import { execa } from 'execa';
import { redact, safeOutput, secretValues } from '../shared/output.js';

export { redact };

export interface CommandInput {
  file: string;
  args: string[];
  cwd?: string;
  /** The child's whole environment (give it a PATH), unless inheritEnv. */
  env?: Record<string, string>;
  /**
   * Adds the worker's environment. Only for trusted tools that need the worker's credentials and run nothing from
   * the repository (git fetching with the worker's credential helper or SSH agent).
   */
  inheritEnv?: boolean;
  /** Written to the child's stdin, e.g. a password for `--password-stdin`. */
  stdin?: string;
  /** Heartbeat period while the child runs; 0 turns heartbeats off. */
  heartbeatMs?: number;
  /** Kill the child after this long; absent: no limit (cancellation still applies). */
  timeoutMs?: number;
  /** Values that must never appear in what this returns (passwords, tokens). */
  secrets?: string[];
}

export interface CommandOutput {
  /** Undefined when the child could not be started or was killed by a signal. */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** Why the child could not start or died (ENOENT, a signal, the timeout); undefined when it exited by itself. */
  spawnError?: string;
}

const DEFAULT_HEARTBEAT_MS = 5_000;

/** Runs `file args`; resolves whatever the exit code, and throws only when the activity was cancelled. */
export async function runCommand(cmd: CommandInput): Promise<CommandOutput> {
  const { signal, beat } = activityContext();
  const every = cmd.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const timer = every > 0 ? setInterval(beat, every) : undefined;
  // Its own process group, so a cancellation also stops what it started (`go test` leaves its test binary behind).
  const child = execa(cmd.file, cmd.args, {
    cwd: cmd.cwd,
    env: cmd.env ?? {},
    extendEnv: cmd.inheritEnv === true,
    input: cmd.stdin ?? '',
    reject: false,
    detached: true,
    cancelSignal: signal,
    forceKillAfterDelay: 5_000,
    ...(cmd.timeoutMs !== undefined ? { timeout: cmd.timeoutMs } : {}),
    stripFinalNewline: false,
    maxBuffer: 64 * 1024 * 1024,
  });
  const killGroup = (): void => {
    if (child.pid !== undefined) signalGroup(child.pid, 'SIGTERM');
  };
  signal.addEventListener('abort', killGroup, { once: true });
  try {
    const result = await child;
    // The activity's own CancelledFailure, so Temporal records a cancellation rather than a failure.
    if (result.isCanceled || signal.aborted) throw signal.reason;
    const secrets = [...(cmd.secrets ?? []), ...secretValues(process.env)];
    const out: CommandOutput = {
      exitCode: result.exitCode,
      stdout: redact(result.stdout, secrets),
      stderr: redact(result.stderr, secrets),
    };
    if (result.exitCode === undefined) {
      out.spawnError = redact(result.shortMessage ?? result.code ?? 'unknown error', secrets);
    }
    return out;
  } finally {
    signal.removeEventListener('abort', killGroup);
    if (timer) clearInterval(timer);
  }
}

/**
 * Heartbeats while `fn` runs, so a step made of many short commands (each too short for its own heartbeat) still
 * tells the server it is alive, and a dead worker is noticed within the heartbeat timeout.
 */
export async function withHeartbeat<T>(fn: () => Promise<T>, everyMs = DEFAULT_HEARTBEAT_MS): Promise<T> {
  heartbeat();
  const timer = setInterval(() => heartbeat(), everyMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** The activity's cancellation and heartbeat; outside an activity (the worker's start-up checks), neither. */
function activityContext(): { signal: AbortSignal; beat: () => void } {
  try {
    return { signal: cancellationSignal(), beat: () => heartbeat() };
  } catch {
    return { signal: new AbortController().signal, beat: () => undefined };
  }
}

function signalGroup(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(-pid, name);
  } catch {
    // The group is gone already.
  }
}

/** The worker's PATH for tools it runs itself; children get it instead of the whole environment. */
export function workerPath(): string {
  return process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
}

/**
 * Output of a command, or of the code it ran, made fit for an error message: the worker's own secrets redacted,
 * workflow commands defused, the size capped (see src/shared/output.ts).
 */
export function carried(text: string): string {
  return safeOutput(text, { secrets: secretValues(process.env) });
}

/** The last `max` non-empty lines of `text`, for error messages that must stay readable. */
export function tail(text: string, max: number): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(-max).join('\n');
}

/** How a failed command reads in an error message: its stderr tail, else its stdout tail, else the spawn error. */
export function describeFailure(out: CommandOutput, maxLines = 20): string {
  const text = tail(out.stderr, maxLines) || tail(out.stdout, maxLines);
  if (out.spawnError) return carried(text ? `${out.spawnError}: ${text}` : out.spawnError);
  return carried(text) || `exit code ${String(out.exitCode)}`;
}
