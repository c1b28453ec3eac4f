// How fast the RBAC applier writes: as fast as the API server takes it, never above the configured
// budget. Three limits, all of which a write passes before it is sent:
// - a token bucket of `ratePerSecond` (authorization.rbac.writesPerSecond): the ceiling;
// - a window of writes in flight that starts at `maxInFlight`, halves on every throttling answer
//   (429 from API Priority and Fairness or max-inflight) and grows back by one per success
//   (additive increase, multiplicative decrease, as TCP does), so the API server's own answers set
//   the pace;
// - a pause until the server's Retry-After has passed, shared by every worker (one 429 stops them
//   all, not one at a time).
// A throttled or failed-to-connect write is retried here, at most `maxAttempts` times in all; any
// other error goes to the caller at once (the work queue retries the key later with its backoff).
import { backoffMs, sleep, type Clock } from './clock.js';
import { isThrottled, KubeApiError } from './kube.js';

export interface WritePaceOptions {
  clock: Clock;
  ratePerSecond: number;
  maxInFlight: number;
  /** Attempts per write, the first included. */
  maxAttempts?: number;
  /** Wait after a throttling answer without Retry-After, or a connection failure (doubles per attempt). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
}

export interface WritePaceStats {
  /** Throttling answers (429, or 5xx with Retry-After) received. */
  throttled: number;
  /** Attempts retried after a throttling answer or a connection failure. */
  retries: number;
  /** The window of writes in flight now. */
  window: number;
  inFlight: number;
}

export interface WritePace {
  /** Sends `fn` when the pace allows, retrying throttled and unanswered attempts; aborts with `signal`. */
  run<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T>;
  readonly stats: Readonly<WritePaceStats>;
}

export class NotLeaderError extends Error {
  constructor() {
    super('not the leader any more');
  }
}

export function createWritePace(opts: WritePaceOptions): WritePace {
  const { clock } = opts;
  const rate = opts.ratePerSecond;
  const maxInFlight = Math.max(1, Math.floor(opts.maxInFlight));
  const maxAttempts = opts.maxAttempts ?? 5;
  const initialMs = opts.backoffInitialMs ?? 200;
  const maxMs = opts.backoffMaxMs ?? 10_000;
  const stats: WritePaceStats = { throttled: 0, retries: 0, window: maxInFlight, inFlight: 0 };
  let tokens = Math.max(1, rate);
  let at = clock.now();
  let window = maxInFlight;
  let pausedUntil = 0;
  const waiters: Array<() => void> = [];
  let timer: (() => void) | null = null;

  /** Wakes every waiter; those that still cannot go wait again (a handful at most per event). */
  function wake(): void {
    timer?.();
    timer = null;
    for (const w of waiters.splice(0)) w();
  }

  function wakeAt(ms: number): void {
    if (timer !== null) return;
    timer = clock.setTimer(() => {
      timer = null;
      wake();
    }, Math.max(1, ms));
  }

  /** Takes a slot and a token, or says how long to wait (0: wait for a slot to free). */
  function tryTake(): number | true {
    const now = clock.now();
    if (now < pausedUntil) return pausedUntil - now;
    if (stats.inFlight >= window) return 0;
    tokens = Math.min(Math.max(1, rate), tokens + ((now - at) / 1000) * rate);
    at = now;
    if (tokens < 1) return Math.ceil(((1 - tokens) / rate) * 1000);
    tokens -= 1;
    stats.inFlight++;
    return true;
  }

  async function acquire(signal: AbortSignal): Promise<void> {
    for (;;) {
      if (signal.aborted) throw new NotLeaderError();
      const r = tryTake();
      if (r === true) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        waiters.push(done);
        signal.addEventListener('abort', done, { once: true });
        if (r > 0) wakeAt(r);
      });
    }
  }

  function release(): void {
    stats.inFlight--;
    wake();
  }

  return {
    stats,
    async run<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        let pauseMs = 0;
        await acquire(signal);
        try {
          const value = await fn();
          if (window < maxInFlight) stats.window = ++window;
          return value;
        } catch (err) {
          const throttled = isThrottled(err);
          const unanswered = err instanceof KubeApiError && err.statusCode === 0 && !signal.aborted;
          if (!throttled && !unanswered) throw err;
          if (attempt >= maxAttempts) throw err;
          stats.retries++;
          const wait = (throttled ? (err as KubeApiError).retryAfterMs : undefined) ?? backoffMs(attempt, initialMs, maxMs, opts.random);
          if (throttled) {
            stats.throttled++;
            window = Math.max(1, Math.floor(window / 2));
            stats.window = window;
            // Everyone waits: the server said it is overloaded, not that this one write was.
            pausedUntil = Math.max(pausedUntil, clock.now() + wait);
          } else {
            pauseMs = wait;
          }
        } finally {
          release();
        }
        // The slot is free while this one waits.
        if (pauseMs > 0) await sleep(clock, pauseMs, signal);
      }
    },
  };
}
