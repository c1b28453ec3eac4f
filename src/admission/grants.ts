// The one no-escalation rule every write that grants something asks (issue 32, items 3, 4, 5, 8, 9):
// a RoleBinding, a Role's includes and canAssign, a Team's members, groups and namespaces, a
// namespace's team and visibility labels. "The writer may grant role R in scope S until time T":
//
// - R exists (a Role that does not exist yet, or is being deleted and recreated, counts as granting
//   everything: nobody but a superuser or an RBAC-trusted identity can show they hold it; a binding
//   may still name it through the writer's own canAssign, as before);
// - the writer may assign R in the whole of S (holds all of R's permissions there, or holds there a
//   role whose canAssign lists R), and may assign the same way every role R's holders could assign
//   in turn, through canAssign chains and includes (authz/queries.ts canAssign);
// - and all of that still holds at the last moment the new grant is live: a grant the writer holds
//   until T does not let them give one that outlives T (refused, not capped; the message names the
//   latest expiresAt that would pass).
//
// Held grants only ever expire (nothing starts later), so what the writer may grant at the grant's
// last live moment they may grant at every moment before it: checking that one moment suffices.
import type { Scope } from '../api/types.js';
import { scopeText } from '../authz/scope.js';
import { privileged, type Env } from './common.js';

/** When a grant stops: an RFC 3339 time, or undefined for never. */
export type Until = string | undefined;

/** The instant at which to check a grant that lives until `until` (its last live millisecond, never before now). */
export function lastLiveMoment(env: Pick<Env, 'ctx'>, until: Until): number {
  if (until === undefined) return Number.POSITIVE_INFINITY;
  const t = Date.parse(until);
  // An unparseable expiresAt is refused by its own rule; checked as never-expiring meanwhile.
  if (Number.isNaN(t)) return Number.POSITIVE_INFINITY;
  return Math.max(env.ctx.now(), t - 1);
}

export interface GrantOptions {
  /**
   * A missing Role: 'refuse' (growth checks: a team, a namespace label) or 'canAssign' (a binding
   * may name a role not yet created when the writer's own canAssign lists it).
   */
  missingRole: 'refuse' | 'canAssign';
}

/** Why a grant is refused: the role is missing, the writer may not assign it (or a role it lets its holders assign), or not for that long. */
export interface GrantProblem {
  why: 'missing-role' | 'assign' | 'chain' | 'expiry';
  message: string;
}

/**
 * Why the requester may not grant Role `role` in `scope` until `until` (undefined: they may).
 * Superusers and RBAC-trusted identities may grant anything.
 */
export function grantProblem(env: Env, role: string, scope: Scope, until: Until, opts: GrantOptions): GrantProblem | undefined {
  if (privileged(env)) return undefined;
  const { view, who } = env;
  if (!view.role(role) && opts.missingRole === 'refuse') {
    return { why: 'missing-role', message: `Role ${role} does not exist (yet), so it counts as granting everything; only a superuser may extend a grant of it` };
  }
  const now = view.assign(who.requester, role, scope);
  if (!now.allowed) return { why: now.chained !== undefined ? 'chain' : view.role(role) ? 'assign' : 'missing-role', message: now.reason };
  if (view.expiries(who.requester).length === 0) return undefined;
  const at = lastLiveMoment(env, until);
  if (at <= env.ctx.now()) return undefined;
  const later = view.at(at).assign(who.requester, role, scope);
  if (later.allowed) return undefined;
  const horizon = latestAllowed(env, role, scope, at);
  const when = until === undefined ? 'for good (no expiresAt)' : `until ${until}`;
  return { why: 'expiry', message: `the grant would last ${when}, but what lets ${who.label} grant role ${role} in ${scopeText(scope, 'noun')} expires before then`
    + (horizon !== undefined ? `; set expiresAt no later than ${new Date(horizon).toISOString()}` : '') };
}

/**
 * The latest expiry among the requester's expiring holdings at which they may still grant the role:
 * the expiresAt that would pass. Undefined when none would.
 */
function latestAllowed(env: Env, role: string, scope: Scope, before: number): number | undefined {
  const times = env.view.expiries(env.who.requester).filter((t) => t > env.ctx.now() && t <= before).sort((a, b) => b - a);
  for (const t of times) if (env.view.at(t - 1).assign(env.who.requester, role, scope).allowed) return t;
  return undefined;
}
