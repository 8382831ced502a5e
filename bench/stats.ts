/** Latency summary from raw samples (milliseconds). */
export function percentile(sortedMs: readonly number[], fraction: number): number {
  if (sortedMs.length === 0) return Number.NaN;
  const index = Math.min(sortedMs.length - 1, Math.ceil(fraction * sortedMs.length) - 1);
  return sortedMs[Math.max(0, index)] as number;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export function summarize(samplesMs: number[]): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  const values = Array.from(sorted);
  return {
    count: values.length,
    p50Ms: percentile(values, 0.5),
    p99Ms: percentile(values, 0.99),
    p999Ms: percentile(values, 0.999),
    maxMs: values.at(-1) ?? Number.NaN,
  };
}

export function formatLatency(summary: LatencySummary): string {
  const f = (ms: number) => ms.toFixed(2);
  return `p50 ${f(summary.p50Ms)} ms, p99 ${f(summary.p99Ms)} ms, p999 ${f(summary.p999Ms)} ms, max ${f(summary.maxMs)} ms (n=${summary.count})`;
}
