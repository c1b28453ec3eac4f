// A small credential world for the unit tests: one user's records in memory, an authenticator
// over them, a clock the test moves.
import type { User } from '../../../src/api/types.js';
import { createAuthenticator, type Authenticator, type CachedRecord } from '../../../src/credentials/authenticate.js';
import { createRateLimiter } from '../../../src/credentials/ratelimit.js';
import { issueToken, type IssuedToken, type TokenKind } from '../../../src/credentials/token.js';
import type { CredentialRecord } from '../../../src/credentials/records.js';

export interface World {
  auth: Authenticator;
  users: Map<string, User>;
  records: Map<string, CachedRecord>;
  teams: Map<string, string[]>;
  clock: { t: number };
  ready: { value: boolean };
  /** Issues a token for `user` and stores its record. */
  give(user: string, kind: TokenKind, extra?: Partial<CredentialRecord>): IssuedToken;
}

export function user(name: string, state: User['spec']['state'] = 'Active', uid = `uid-${name}`, username?: string): User {
  return { metadata: { name, uid }, spec: { state, ...(username ? { username } : {}) } };
}

export function world(opts: { perSource?: number; perUser?: number } = {}): World {
  const users = new Map<string, User>();
  const records = new Map<string, CachedRecord>();
  const teams = new Map<string, string[]>();
  const clock = { t: Date.parse('2026-06-01T00:00:00Z') };
  const ready = { value: true };
  const auth = createAuthenticator({
    ready: () => ready.value,
    lookup: (id) => records.get(id),
    user: (name) => users.get(name),
    teams: (u) => teams.get(u.metadata.name) ?? [],
    now: () => clock.t,
    perSource: createRateLimiter(opts.perSource ?? 1000),
    perToken: createRateLimiter(opts.perUser ?? 1000),
    perLogin: createRateLimiter(opts.perUser ?? 1000),
  });
  return {
    auth, users, records, teams, clock, ready,
    give(name, kind, extra = {}) {
      const t = issueToken(kind);
      const u = users.get(name);
      records.set(t.id, { user: name, uid: u?.metadata.uid ?? 'none', record: { id: t.id, kind, hash: t.hash, issuedAt: clock.t, ...extra } });
      return t;
    },
  };
}
