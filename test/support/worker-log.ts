/** Reading the worker's log, which is one JSON object a line (src/worker/log.ts). */
export interface LogLine {
  time: string;
  level: string;
  message: string;
  [field: string]: unknown;
}

export function logLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LogLine);
}

export function logMessages(text: string): string[] {
  return logLines(text).map((l) => l.message);
}
