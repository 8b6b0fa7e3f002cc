/** Durations as people write them. Pure, so the worker's configuration, the CLI and the workflow can share it. */
import { ValidationError } from './validate.js';

/** "90s", "15m", "1h" or plain milliseconds. */
export function parseDuration(text: string, field: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!m?.[1]) throw new ValidationError(field, `"${text}" is not a duration like 90s, 15m or 1h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms'] ?? 1;
  return Number(m[1]) * unit;
}
