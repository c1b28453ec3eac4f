// Percentiles of a sample of milliseconds, for the benchmarks that time requests one by one.
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
