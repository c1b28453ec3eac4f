// Seeds for randomised tests: a fixed default so a run is repeatable, GATEHOUSE_SEED to replay
// another one, and the seed in the failure message so a red run can be replayed exactly.
/** GATEHOUSE_SEED when set (an integer), else the test's own fixed seed. */
export function propertySeed(defaultSeed: number): number {
  const env = process.env.GATEHOUSE_SEED;
  if (env === undefined || env === '') return defaultSeed;
  const n = Number(env);
  if (!Number.isSafeInteger(n)) throw new Error(`GATEHOUSE_SEED=${env} is not an integer`);
  return n;
}

function withSeed(seed: number, err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  e.message = `seed ${seed} (replay: GATEHOUSE_SEED=${seed})\n${e.message}`;
  return e;
}

/** Runs `body` (sync or async) with `seed`; a failure's message starts with the seed and how to replay it. */
export function replayable<T>(seed: number, body: (seed: number) => T): T {
  let out: T;
  try {
    out = body(seed);
  } catch (err) {
    throw withSeed(seed, err);
  }
  if (out instanceof Promise) return out.catch((err: unknown) => Promise.reject(withSeed(seed, err))) as T;
  return out;
}
