// Token buckets by key (a source address, a user), pure: the caller passes the time. The map is
// bounded; when full, the key seen least recently goes (Map keeps insertion order and a take()
// re-inserts), so a flood of new sources cannot grow memory without limit.
export interface RateLimiter {
  /** Takes one unit for `key`; false when its bucket is empty. */
  take(key: string, now: number): boolean;
  /** Whether `key` has a unit left, without taking it. */
  allows(key: string, now: number): boolean;
  readonly size: number;
}

export function createRateLimiter(perMinute: number, maxKeys = 10_000): RateLimiter {
  const capacity = Math.max(1, perMinute);
  const perMs = perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const current = (key: string, now: number): { tokens: number; at: number } => {
    const b = buckets.get(key);
    if (!b) return { tokens: capacity, at: now };
    const elapsed = Math.max(0, now - b.at);
    return { tokens: Math.min(capacity, b.tokens + elapsed * perMs), at: now };
  };
  return {
    take(key, now) {
      const b = current(key, now);
      buckets.delete(key);
      if (buckets.size >= maxKeys) {
        const oldest = buckets.keys().next().value;
        if (oldest !== undefined) buckets.delete(oldest);
      }
      const ok = b.tokens >= 1;
      buckets.set(key, { tokens: ok ? b.tokens - 1 : b.tokens, at: now });
      return ok;
    },
    allows(key, now) {
      return current(key, now).tokens >= 1;
    },
    get size() {
      return buckets.size;
    },
  };
}
