// Registration `auto` (docs/design.md, decision step 3): an authenticated user with no User object gets
// a Pending User created for them on their first request. The authorization answer stays no
// opinion; creation happens on the side, at most once per user (while remembered) and at a bounded
// rate overall, so a flood of fresh identities cannot flood the API server with writes.
import type { AccessRequest } from '../authz/types.js';
import type { Logger } from '../log.js';
import { errorMessage } from '../errors.js';
import { leftAloneBecause, type IgnoreLists } from '../authz/rules.js';

const NO_LISTS: IgnoreLists = { users: new Set(), groups: new Set() };
import type { WebhookMetrics } from './metrics.js';

export interface AutoRegistrationOptions {
  /** config.operator.autoRegistrationPerSecond: tokens added per second (the bucket holds as many, at least 1). */
  perSecond: number;
  /** Creates a Pending User for this username; resolves when done (an AlreadyExists counts as done). */
  createPendingUser: (username: string) => Promise<void>;
  logger: Logger;
  metrics?: WebhookMetrics;
  /** Milliseconds; injected so tests control the bucket. */
  now?: () => number;
  /** How many usernames are remembered as already handled; the oldest are forgotten first. */
  maxRemembered?: number;
}

export interface AutoRegistrar {
  /** For the authorize handler's onUnknownUser hook; never throws, never waits. */
  onUnknownUser(req: AccessRequest): void;
  /** Whether a creation was started for this user (and not forgotten since). */
  has(username: string): boolean;
  /** Resolves when every creation started so far has settled (tests, shutdown). */
  idle(): Promise<void>;
}


export function createAutoRegistrar(options: AutoRegistrationOptions): AutoRegistrar {
  const { logger, metrics, createPendingUser } = options;
  const now = options.now ?? Date.now;
  const maxRemembered = options.maxRemembered ?? 10_000;
  const rate = options.perSecond;
  const capacity = Math.max(1, rate);
  let tokens = capacity;
  let refilledAt = now();
  // Insertion order is age: the first key is the oldest.
  const handled = new Map<string, true>();
  const inFlight = new Set<Promise<void>>();

  function takeToken(): boolean {
    const t = now();
    tokens = Math.min(capacity, tokens + ((t - refilledAt) / 1000) * rate);
    refilledAt = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  function remember(username: string): void {
    handled.set(username, true);
    if (handled.size > maxRemembered) {
      const oldest = handled.keys().next().value;
      if (oldest !== undefined) handled.delete(oldest);
    }
  }

  return {
    onUnknownUser(req) {
      const username = req.user;
      // Identities step 1 leaves alone never get a User (decide() does not call this for them;
      // the check keeps the registrar safe on its own). The configured ignore lists are decide()'s.
      if (username === '' || leftAloneBecause(NO_LISTS, username, req.groups) !== null || handled.has(username)) return;
      // Not remembered when out of tokens: the user's next request tries again.
      if (!takeToken()) {
        logger.debug({ user: username }, 'auto registration deferred by rate limit');
        return;
      }
      remember(username);
      const p = Promise.resolve()
        .then(() => createPendingUser(username))
        .then(
          () => {
            metrics?.incRegistrations();
            logger.info({ user: username }, 'pending user registered');
          },
          (err: unknown) => {
            // Forget it, so a later request retries (still under the rate limit).
            handled.delete(username);
            logger.warn({ user: username, err: errorMessage(err) }, 'auto registration failed');
          },
        )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
    has(username) {
      return handled.has(username);
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
