/**
 * The worker's log: one JSON object a line on stderr, for people's log pipelines. The SDK's messages (workflow and
 * activity loggers, and the core's, forwarded) and the worker's own lines all come through here, with the SDK's
 * context (workflowId, activityType, taskQueue…) as fields beside time, level and message.
 */
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import type { LogLevel, LogMetadata } from '@temporalio/common';

/** Fields the SDK attaches that are no one's business in a log: a task token lets its holder complete the task. */
const DROPPED = new Set(['taskToken']);

export function jsonLogger(level: LogLevel, write: (line: string) => void = toStderr): DefaultLogger {
  return new DefaultLogger(level, (entry) => write(formatLine(entry)));
}

/** A line for when the logger cannot be made yet (the settings it needs were refused). */
export function fatalLine(message: string): string {
  return formatLine({ level: 'ERROR', message, timestampNanos: BigInt(Date.now()) * 1_000_000n });
}

export function formatLine(entry: LogEntry): string {
  const line: Record<string, unknown> = {
    time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
    level: entry.level,
    message: entry.message,
  };
  for (const [key, value] of Object.entries(entry.meta ?? ({} as LogMetadata))) {
    if (DROPPED.has(key) || key in line || value === undefined) continue;
    line[key] = plain(value, 0);
  }
  return JSON.stringify(line);
}

/** Deeper than this, a value is shown as a string: metadata is shallow, and a cycle must not hang the worker. */
const MAX_DEPTH = 4;

/** What JSON.stringify cannot show as it is: errors (their fields are not enumerable), bigints. */
function plain(value: unknown, depth: number): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? '[…]' : '{…}';
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    if (value.stack) out.stack = value.stack;
    if (value.cause !== undefined) out.cause = plain(value.cause, depth + 1);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, depth + 1)]));
}

function toStderr(line: string): void {
  process.stderr.write(`${line}\n`);
}
