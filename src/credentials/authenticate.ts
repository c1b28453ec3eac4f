// Who a Gatehouse token belongs to, decided from the credential cache and the permission index
// alone (no API call): the core both adapters (the proxy, the TokenReview endpoint) ask. Fails
// closed: anything not positively matched is a refusal with a reason for logs and metrics.
import type { User } from '../api/types.js';
import { usernameOf } from '../authz/rules.js';
import { parseToken, tokenMatches, type TokenKind } from './token.js';
import { recordProblem, type CredentialRecord } from './records.js';
import type { RateLimiter } from './ratelimit.js';
import { headerSafe, usernameProblem } from '../api/username.js';

/** One stored record and whose it is, as the cache has it. */
export interface CachedRecord {
  user: string;
  uid: string;
  record: CredentialRecord;
}

/** Who a request acts as. */
export interface Identity {
  username: string;
  uid: string;
  /** The User object's name. */
  user: string;
  /** The user's teams, as `gatehouse:team:<name>`. */
  groups: string[];
  /** The record the token matched. */
  tokenId: string;
}

export type RejectReason =
  | 'notSynced'
  | 'rateLimited'
  | 'missing'
  | 'malformed'
  | 'wrongKind'
  | 'unknownToken'
  | 'mismatch'
  | 'expired'
  | 'redeemed'
  | 'userGone'
  | 'userInactive'
  | 'reservedName'
  | 'badUsername'
  | 'usernameChanged';

export type AuthResult =
  | { ok: true; identity: Identity }
  | { ok: false; reason: RejectReason; status: 401 | 429 | 503; tokenId?: string; user?: string };

export const TEAM_GROUP_PREFIX = 'gatehouse:team:';

export interface AuthenticatorDeps {
  ready(): boolean;
  lookup(id: string): CachedRecord | undefined;
  user(name: string): User | undefined;
  /** Team names the user is a direct member of. */
  teams(user: User): Iterable<string>;
  now(): number;
  /** Failed attempts per source address (the proxy's client, the TokenReview caller). */
  perSource: RateLimiter;
  /** Failed attempts against one token id (a wrong secret for a known id). */
  perToken: RateLimiter;
  /** Logins (redemption, rotation) per user: spent only by a caller who presented the right secret. */
  perLogin: RateLimiter;
}

export interface AttemptContext {
  /** The client's address, when the channel knows it. */
  source?: string;
  /** A login (redeem, rotate): a correct secret then spends the user's login budget. */
  login?: boolean;
  /**
   * The identity travels in HTTP headers (the proxy's Impersonate-User and Impersonate-Group):
   * only names that survive a header unchanged are accepted.
   */
  viaHeaders?: boolean;
}

/** Usernames a token may never act as: the API server's own identities. */
export function reservedUsername(username: string): boolean {
  return username.startsWith('system:') || username === '';
}

export function teamGroups(teams: Iterable<string>): string[] {
  return [...teams].sort().map((t) => TEAM_GROUP_PREFIX + t);
}

/**
 * The identity a token of `user` becomes, or why it becomes none: the one place (both adapters
 * call it through check()) where a stored username turns into what the API server sees. The
 * username must be canonical (src/api/username.ts), so nothing changes it on the way, and a
 * user who is not Active carries no team groups (a native binding to `gatehouse:team:<t>` must
 * not reach a Pending user, in any authorization mode).
 */
export function identityProblem(username: string, groups: readonly string[], viaHeaders: boolean): 'reservedName' | 'badUsername' | undefined {
  if (reservedUsername(username)) return 'reservedName';
  if (usernameProblem(username) !== undefined) return 'badUsername';
  if (viaHeaders && !(headerSafe(username) && groups.every(headerSafe))) return 'badUsername';
  return undefined;
}

export interface Authenticator {
  /** Checks `token` is a live token of `kind` and whose it is. */
  check(token: string | undefined, kind: TokenKind, ctx: AttemptContext): AuthResult;
  /**
   * Whether the user token `tokenId`, authenticated earlier for `username`, is still live (the
   * authorization-time check): its record exists and the User is still the same one, not Rejected
   * or Suspended.
   */
  stillLive(tokenId: string, username: string): boolean;
}

/** Failures that are guesses (no right secret was shown): only these spend the failure budgets. */
const GUESSES: ReadonlySet<RejectReason> = new Set(['missing', 'malformed', 'wrongKind', 'unknownToken', 'mismatch']);

export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  // The secret is compared before any limit is looked at, and only a wrong one spends a budget, so
  // nothing someone else does (knowing a token id, sharing a source address) can get a right
  // secret refused: limits turn a guess's 401 into a 429, never a good token's 200 into one.
  function fail(reason: RejectReason, ctx: AttemptContext, extra: { tokenId?: string; user?: string } = {}): AuthResult {
    const now = deps.now();
    let limited = false;
    if (GUESSES.has(reason)) {
      if (ctx.source !== undefined && !deps.perSource.take(ctx.source, now)) limited = true;
      // Only ids that exist are keyed: made-up ids must not evict real ones from the bounded map.
      if (extra.user !== undefined && extra.tokenId !== undefined && !deps.perToken.take(extra.tokenId, now)) limited = true;
    }
    const final: RejectReason = limited ? 'rateLimited' : reason;
    const status = final === 'rateLimited' ? 429 : final === 'notSynced' ? 503 : 401;
    return { ok: false, reason: final, status, ...extra };
  }

  return {
    stillLive(tokenId, username) {
      const cached = deps.lookup(tokenId);
      if (!cached || cached.record.kind !== 'usr' || recordProblem(cached.record, 'usr', deps.now())) return false;
      const user = deps.user(cached.user);
      return Boolean(user && user.metadata.uid === cached.uid && !user.metadata.deletionTimestamp
        && user.spec.state !== 'Rejected' && user.spec.state !== 'Suspended' && usernameOf(user) === username
        && (cached.record.username === undefined || cached.record.username === username));
    },
    check(token, kind, ctx) {
      const now = deps.now();
      if (!deps.ready()) return fail('notSynced', ctx);
      if (token === undefined || token === '') return fail('missing', ctx);
      const parsed = parseToken(token);
      if (!parsed) return fail('malformed', ctx);
      if (parsed.kind !== kind) return fail('wrongKind', ctx, { tokenId: parsed.id });
      const cached = deps.lookup(parsed.id);
      if (!cached) return fail('unknownToken', ctx, { tokenId: parsed.id });
      const who = { tokenId: parsed.id, user: cached.user };
      if (!tokenMatches(token, cached.record.hash)) return fail('mismatch', ctx, who);
      // From here on the caller holds the secret; the only budget it meets is its own user's logins.
      if (ctx.login && !deps.perLogin.take(cached.user, now)) return fail('rateLimited', ctx, who);
      const problem = recordProblem(cached.record, kind, now);
      if (problem) return fail(problem, ctx, who);
      const user = deps.user(cached.user);
      if (!user || user.metadata.uid !== cached.uid || user.metadata.deletionTimestamp) return fail('userGone', ctx, who);
      // Pending users authenticate (Gatehouse's authorization then refuses them, with its reason);
      // Rejected and Suspended users' tokens end outright.
      if (user.spec.state === 'Rejected' || user.spec.state === 'Suspended') return fail('userInactive', ctx, who);
      const username = usernameOf(user);
      // A token acts only as the username it was issued for: a username change ends it.
      if (cached.record.username !== undefined && cached.record.username !== username) return fail('usernameChanged', ctx, who);
      const groups = user.spec.state === 'Active' ? teamGroups(deps.teams(user)) : [];
      const bad = identityProblem(username, groups, ctx.viaHeaders === true);
      if (bad) return fail(bad, ctx, who);
      return {
        ok: true,
        identity: { username, uid: user.metadata.uid ?? '', user: cached.user, groups, tokenId: parsed.id },
      };
    },
  };
}
