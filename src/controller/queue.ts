// A keyed, level-based work queue (controller-runtime's shape): it carries keys, not events; a key
// added many times before a worker takes it is processed once; a key is never processed by two
// workers at once (added again while in flight, it runs once more afterwards); a failure requeues
// it with per-key exponential backoff, a success forgets the failures. A success may say when to
// look at the key again (controller-runtime's RequeueAfter: a binding's expiry); the key is added
// then, unless something adds it sooner. Those waits are not work: idle() does not wait for them.
import { backoffMs, type Clock } from './clock.js';
import type { Logger } from '../log.js';

export interface WorkQueueOptions {
  clock: Clock;
  logger: Logger;
  backoffInitialMs: number;
  backoffMaxMs: number;
  concurrency?: number;
  random?: () => number;
}

export interface WorkQueueStats {
  processed: number;
  failures: number;
}

/** What processing a key may return: milliseconds after which to process it again. */
export interface ProcessResult {
  requeueAfter?: number;
}

export interface WorkQueue {
  add(key: string): void;
  /** Starts workers that call `process` for each key. */
  start(process: (key: string) => Promise<ProcessResult | void>): void;
  /** Stops taking work; resolves when the keys in flight have finished. */
  stop(): Promise<void>;
  /** Drops every queued and delayed key (keys in flight finish). */
  clear(): void;
  readonly length: number;
  /** Resolves when nothing is queued, delayed or in flight (for tests). */
  idle(): Promise<void>;
  readonly stats: Readonly<WorkQueueStats>;
}

export function createWorkQueue(opts: WorkQueueOptions): WorkQueue {
  const queued = new Set<string>(); // insertion order is the processing order
  const inFlight = new Set<string>();
  const dirty = new Set<string>(); // added while in flight
  const delayed = new Map<string, () => void>();
  const later = new Map<string, () => void>(); // requeueAfter: a time to look again, not pending work
  const failures = new Map<string, number>();
  const stats: WorkQueueStats = { processed: 0, failures: 0 };
  const concurrency = opts.concurrency ?? 2;
  let processFn: ((key: string) => Promise<ProcessResult | void>) | undefined;
  let stopped = false;
  let active = 0;
  const idleWaiters: Array<() => void> = [];
  const drainWaiters: Array<() => void> = [];

  function checkIdle(): void {
    if (active === 0) drainWaiters.splice(0).forEach((r) => r());
    if (queued.size === 0 && inFlight.size === 0 && delayed.size === 0) idleWaiters.splice(0).forEach((r) => r());
  }

  function add(key: string): void {
    if (stopped) return;
    const pending = delayed.get(key);
    if (pending) {
      // A fresh change is worth trying now, not after the backoff.
      pending();
      delayed.delete(key);
    }
    later.get(key)?.();
    later.delete(key);
    if (inFlight.has(key)) dirty.add(key);
    else queued.add(key);
    pump();
  }

  function pump(): void {
    while (processFn && !stopped && active < concurrency) {
      // add() never queues a key that is in flight (it marks it dirty instead).
      const next = queued.values().next();
      if (next.done) break;
      const key = next.value;
      queued.delete(key);
      inFlight.add(key);
      active++;
      void runOne(key);
    }
    checkIdle();
  }

  async function runOne(key: string): Promise<void> {
    const fn = processFn!;
    try {
      const result = await fn(key);
      failures.delete(key);
      stats.processed++;
      const wait = result?.requeueAfter;
      if (wait !== undefined && !stopped && !dirty.has(key)) {
        later.get(key)?.();
        later.set(
          key,
          opts.clock.setTimer(() => {
            later.delete(key);
            add(key);
          }, wait),
        );
      }
    } catch (err) {
      stats.failures++;
      const n = (failures.get(key) ?? 0) + 1;
      failures.set(key, n);
      const wait = backoffMs(n, opts.backoffInitialMs, opts.backoffMaxMs, opts.random);
      opts.logger.warn({ key, err: err instanceof Error ? err.message : String(err), attempt: n, retryInMs: wait }, 'reconcile failed');
      if (!stopped && !dirty.has(key)) {
        const cancel = opts.clock.setTimer(() => {
          delayed.delete(key);
          add(key);
        }, wait);
        delayed.set(key, cancel);
      }
    } finally {
      inFlight.delete(key);
      active--;
      if (dirty.delete(key) && !stopped) queued.add(key);
      pump();
    }
  }

  return {
    add,
    start(process) {
      processFn = process;
      pump();
    },
    async stop() {
      stopped = true;
      for (const cancel of [...delayed.values(), ...later.values()]) cancel();
      delayed.clear();
      later.clear();
      queued.clear();
      dirty.clear();
      if (active > 0) await new Promise<void>((r) => drainWaiters.push(r));
      checkIdle();
    },
    clear() {
      for (const cancel of [...delayed.values(), ...later.values()]) cancel();
      delayed.clear();
      later.clear();
      queued.clear();
      dirty.clear();
      failures.clear();
      checkIdle();
    },
    get length() {
      return queued.size + delayed.size;
    },
    idle() {
      if (queued.size === 0 && inFlight.size === 0 && delayed.size === 0) return Promise.resolve();
      return new Promise<void>((r) => idleWaiters.push(r));
    },
    stats,
  };
}
