// Time for the controller, injected so tests can drive backoff, the watchdog, the lease and expiry
// without waiting.

export interface Clock {
  now(): number;
  /** Runs `fn` once after `ms`; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

// setTimeout's delay is a signed 32-bit number of milliseconds; longer waits fire at once.
const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    // Timers never keep the process alive: shutdown is explicit (stop()).
    t.unref?.();
    return () => clearTimeout(t);
  },
};

/** Resolves after `ms` on `clock`, or at once (without throwing) when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const cancel = clock.setTimer(done, ms);
    function done(): void {
      cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Exponential backoff with jitter: attempt 1 waits about `initialMs`, each further attempt doubles,
 * capped at `maxMs`; the wait is drawn from [d/2, d] so replicas that failed together do not retry
 * together.
 */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(0, attempt - 1), 30));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
