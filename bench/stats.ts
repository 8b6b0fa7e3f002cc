/** Summaries of measured samples, and the words the tables use for them. Pure. */

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  max: number;
}

/** The nearest-rank percentile (p in 0..100) of `xs`; 0 for no samples. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function summarize(xs: readonly number[]): Summary {
  return { n: xs.length, p50: percentile(xs, 50), p95: percentile(xs, 95), max: xs.length ? Math.max(...xs) : 0 };
}

export const seconds = (ms: number, digits = 1): string => `${(ms / 1000).toFixed(digits)} s`;

export function formatSummary(s: Summary, unit: (x: number) => string = seconds): string {
  return s.n === 0 ? 'no samples' : `${unit(s.p50)} / ${unit(s.p95)} / ${unit(s.max)} (n=${s.n})`;
}

/** The met column: a measure with no samples has not met anything. */
export function met(ok: boolean, samples = 1): string {
  return samples === 0 ? 'not measured' : ok ? 'met' : 'NOT MET';
}
