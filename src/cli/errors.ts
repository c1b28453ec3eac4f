// The plugin's side of the client core's errors (src/client/errors.ts): the exit code scripts see.
import { ClientError } from '../client/errors.js';

/** Exit codes (docs/cli.md): scripts rely on these. */
export const EXIT = Object.freeze({ ok: 0, no: 1, usage: 2, api: 3 });

/** A malformed question exits 2; the API server's refusal or failure (or anything else) exits 3. */
export function exitCodeOf(err: unknown): number {
  return err instanceof ClientError && err.code === 'GH_CLI_USAGE' ? EXIT.usage : EXIT.api;
}
