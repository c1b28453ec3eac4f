// Percentiles of a sample of milliseconds, for the benchmarks that time requests one by one, and
// decide() timed call by call for the index benchmarks.
import type { PermissionIndex } from '../src/authz/index.js';
import type { AccessRequest } from '../src/authz/types.js';
import { decide } from '../src/authz/decide.js';
export interface Stats {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

export function stats(ms: number[]): Stats {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
  return { n: s.length, p50: at(50), p99: at(99), mean: s.reduce((x, y) => x + y, 0) / s.length };
}

/** The value at percentile `p` of an ascending sample (nearest rank, as the index benchmarks report). */
export const pctOf = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** decide() timed call by call over `reqs` after a forced GC (when exposed): microseconds, ascending. */
export function decideTimesUs(index: PermissionIndex, reqs: readonly AccessRequest[]): number[] {
  (globalThis as { gc?: () => void }).gc?.();
  const t: number[] = new Array(reqs.length);
  for (let i = 0; i < reqs.length; i++) {
    const s = performance.now();
    decide(index, reqs[i]!);
    t[i] = (performance.now() - s) * 1000;
  }
  return t.sort((a, b) => a - b);
}
