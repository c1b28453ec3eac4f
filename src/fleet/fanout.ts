// Asking every cluster of a fleet the same question (issue 30): the pure core of `--contexts` /
// `--all-contexts`. Given the targets (kubeconfig contexts) and an async question per target, it
// asks them with at most `maxParallel` in flight, gives each `timeoutMs`, and returns one result
// per target in the targets' order (never the order answers arrived in), each either the value or
// the failure. It knows nothing of Kubernetes: the CLI adapter (src/cli/fleet.ts) passes a function
// that asks one context, and the unit tests pass a fake.

/** A question that did not answer within its time. */
export class FanOutTimeout extends Error {
  readonly code = 'GH_FLEET_TIMEOUT';
  constructor(readonly target: string, readonly timeoutMs: number) {
    super(`no answer within ${formatMs(timeoutMs)}`);
  }
}

/** The fan-out's own bad input (a bound below 1, a non-finite timeout): a programming error. */
export class FanOutOptionsError extends Error {
  readonly code = 'GH_FLEET_OPTIONS';
}

export interface FanOutOptions {
  /** At most this many questions in flight at once (at least 1). */
  maxParallel: number;
  /** Each question's time, from when it starts (not from when the fan-out starts). */
  timeoutMs: number;
  /** For the `ms` of each result; default Date.now. */
  now?: () => number;
}

export type FanOutResult<T> =
  | { target: string; ok: true; value: T; ms: number }
  | { target: string; ok: false; error: unknown; timedOut: boolean; ms: number };

/** `10s`, `1.5s`, `250ms`, `2m`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/**
 * Asks `ask(target, signal)` for every target. A question that throws (or rejects) is a failure
 * with its error; one that outlives `timeoutMs` is a failure with a FanOutTimeout, its signal is
 * aborted and its slot is given to the next target (an `ask` that honours the signal stops then;
 * one that cannot is left to finish on its own, and its late answer or error is ignored). The
 * result never depends on the order in which answers arrive.
 */
export async function fanOut<T>(
  targets: readonly string[],
  ask: (target: string, signal: AbortSignal) => Promise<T>,
  opts: FanOutOptions,
): Promise<Array<FanOutResult<T>>> {
  if (!Number.isInteger(opts.maxParallel) || opts.maxParallel < 1) throw new FanOutOptionsError(`maxParallel must be a whole number of at least 1, got ${opts.maxParallel}`);
  if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0) throw new FanOutOptionsError(`timeoutMs must be a positive number, got ${opts.timeoutMs}`);
  const now = opts.now ?? Date.now;
  const results = new Array<FanOutResult<T>>(targets.length);
  let next = 0;

  const one = (target: string): Promise<FanOutResult<T>> => {
    const started = now();
    const controller = new AbortController();
    return new Promise<FanOutResult<T>>((resolve) => {
      let settled = false;
      const finish = (r: FanOutResult<T>): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        controller.abort(new FanOutTimeout(target, opts.timeoutMs));
        finish({ target, ok: false, error: new FanOutTimeout(target, opts.timeoutMs), timedOut: true, ms: now() - started });
      }, opts.timeoutMs);
      let pending: Promise<T>;
      try {
        pending = ask(target, controller.signal);
      } catch (err) {
        // A question that throws before returning its promise is a failure like any other.
        finish({ target, ok: false, error: err, timedOut: false, ms: now() - started });
        return;
      }
      Promise.resolve(pending).then(
        (value) => finish({ target, ok: true, value, ms: now() - started }),
        (error: unknown) => finish({ target, ok: false, error, timedOut: false, ms: now() - started }),
      );
    });
  };

  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const i = next++;
      results[i] = await one(targets[i] as string);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.maxParallel, targets.length) }, worker));
  return results;
}
