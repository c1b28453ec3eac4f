// One rule for every randomised test: its seed is printed on failure and GATEHOUSE_SEED replays it.
//   GATEHOUSE_SEED=1234 node --test dist/test/unit/admission/property.test.js
// Tests with a fixed seed use it unless GATEHOUSE_SEED is set (then they explore that one); tests
// that draw a fresh seed each run (fast-check's default, the RBAC differential) print the one drawn.
import type fcModule from 'fast-check';

export const SEED_ENV = 'GATEHOUSE_SEED';

/** GATEHOUSE_SEED when set (an integer), else undefined. Anything else set there is an error, not ignored. */
export function seedFromEnv(): number | undefined {
  const text = process.env[SEED_ENV];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`${SEED_ENV}=${JSON.stringify(text)} is not an integer`);
  return n;
}

/** The seed for this run: GATEHOUSE_SEED when set, else `fallback` (a fixed seed, or a fresh one). */
export function runSeed(fallback: number = Math.floor(Math.random() * 2 ** 31)): number {
  return seedFromEnv() ?? fallback;
}

export function replayHint(seed: number): string {
  return `seed ${seed}; replay with ${SEED_ENV}=${seed}`;
}

/** Runs `fn`; an error it throws gets the seed and how to replay it appended to its message. */
export async function withSeed<T>(seed: number, fn: (seed: number) => T | Promise<T>): Promise<T> {
  try {
    return await fn(seed);
  } catch (err) {
    if (err instanceof Error) {
      err.message = `${err.message}\n(${replayHint(seed)})`;
      throw err;
    }
    throw new Error(`${String(err)}\n(${replayHint(seed)})`);
  }
}

/**
 * fast-check for this file: GATEHOUSE_SEED (and GATEHOUSE_SEED_PATH, the shrink path fast-check
 * prints) replay a failure; a failure's message ends with the line to replay it. Parameters a test
 * passes to fc.assert itself (a fixed seed) still win.
 */
export function fastCheckReplay(fc: typeof fcModule): void {
  const seed = seedFromEnv();
  const path = process.env[`${SEED_ENV}_PATH`];
  fc.configureGlobal({
    ...(seed !== undefined ? { seed } : {}),
    ...(seed !== undefined && path ? { path } : {}),
    reporter(details) {
      if (!details.failed) return;
      const pathHint = details.counterexamplePath ? ` ${SEED_ENV}_PATH=${details.counterexamplePath}` : '';
      throw new Error(`${fc.defaultReportMessage(details)}\n(seed ${details.seed}; replay with ${SEED_ENV}=${details.seed}${pathHint})`);
    },
  });
}
