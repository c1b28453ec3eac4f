// The identity and liveness rules that more than one reader applies: decide(), the admission
// policy, the webhook adapters, the queries behind the CLI, and the controller's status. Each rule
// is one function here, so the authorizer, admission and status can never disagree about it
// (docs/design.md, "Who Gatehouse leaves alone" and "Break-glass").
import { GROUP, PLURALS, type User } from '../api/types.js';
import { WRITE_VERBS } from './permission.js';

/** The ignore lists of the configuration (`authorization.ignoreUsers`, `ignoreGroups`), as sets. */
export interface IgnoreLists {
  readonly users: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
}

const listsCache = new WeakMap<object, IgnoreLists>();

/** The configuration's ignore lists as sets, built once per configuration object. */
export function ignoreListsOf(authorization: { readonly ignoreUsers: readonly string[]; readonly ignoreGroups: readonly string[] }): IgnoreLists {
  let lists = listsCache.get(authorization);
  if (lists === undefined) {
    lists = { users: new Set(authorization.ignoreUsers), groups: new Set(authorization.ignoreGroups) };
    listsCache.set(authorization, lists);
  }
  return lists;
}

/** Service accounts' groups: `system:serviceaccounts` and `system:serviceaccounts:<namespace>`. */
export function isServiceAccountGroup(group: string): boolean {
  return group === 'system:serviceaccounts' || group.startsWith('system:serviceaccounts:');
}

/**
 * Decision step 1: identities Gatehouse leaves to native RBAC (`system:` users, which include
 * service accounts, members of a service-account group, and the configured ignore lists).
 * Returns what made the identity left alone, for the reason a person reads, or null.
 */
export function leftAloneBecause(lists: IgnoreLists, user: string, groups: readonly string[]): string | null {
  if (user.startsWith('system:')) return `user ${user} is a system identity`;
  if (lists.users.has(user)) return `user ${user} is in authorization.ignoreUsers`;
  for (const g of groups) {
    if (isServiceAccountGroup(g)) return `group ${g} is a service-account group`;
    if (lists.groups.has(g)) return `group ${g} is in authorization.ignoreGroups`;
  }
  return null;
}

/** The group whose members the API server lets through on its own; it never grants through Gatehouse. */
export const SYSTEM_MASTERS = 'system:masters';

/** The groups that count for matching bindings and teams: `system:masters` never grants anything. */
export function effectiveGroups(groups: readonly string[]): readonly string[] {
  return groups.includes(SYSTEM_MASTERS) ? groups.filter((g) => g !== SYSTEM_MASTERS) : groups;
}

/**
 * Break-glass: the operator's own service account and members of `system:masters` pass admission
 * (what would deny others becomes a warning), so a broken configuration can always be repaired.
 */
export function isBreakGlass(operatorUsername: string, user: string, groups: readonly string[]): boolean {
  return user === operatorUsername || groups.includes(SYSTEM_MASTERS);
}

/** Whether a binding grants at `now`: no expiry, or an expiry still ahead (an unparsable one is past). */
export function isLive(binding: { readonly expiresAt: number | null }, now: number): boolean {
  return binding.expiresAt === null || binding.expiresAt > now;
}

/**
 * An object being deleted (deletionTimestamp set while finalizers hold it) grants nothing from that
 * moment, so a finalizer cannot keep a revoked grant alive (docs/security.md): the index drops a
 * Role, Team or RoleBinding being deleted, and counts a User being deleted as Suspended (its
 * username stays taken).
 */
export function isBeingDeleted(metadata: { readonly deletionTimestamp?: string | undefined }): boolean {
  return typeof metadata.deletionTimestamp === 'string' && metadata.deletionTimestamp !== '';
}

/** The name a User is known by to the API server: spec.username, else metadata.name (empty counts as unset). */
export function usernameOf(user: User): string {
  return user.spec.username || user.metadata.name;
}

/** The verbs that make a request to Gatehouse's own kinds a write for delegated administration. */
export const DELEGATED_WRITE_VERBS: ReadonlySet<string> = new Set(WRITE_VERBS);

/**
 * The resources delegated administration reaches: Gatehouse's four kinds, the objects themselves.
 * Never a subresource (`users/status`): admission checks a delegated write's scope on the object,
 * and the status subresource is not sent to it, so only the operator (and superusers, or an
 * explicit native grant) writes status (issue 19, finding 5).
 */
export const DELEGATED_RESOURCES: ReadonlySet<string> = new Set(Object.values(PLURALS));

/** Whether a request is a write delegated administration may let through to admission. */
export function isDelegatedWrite(t: { readonly group: string; readonly resource: string; readonly subresource?: string | undefined; readonly verb: string }): boolean {
  return t.group === GROUP && !t.subresource && DELEGATED_RESOURCES.has(t.resource) && DELEGATED_WRITE_VERBS.has(t.verb);
}

/** Where an allow comes from, in decision order (steps 6, 7, 7, 8). */
export const GRANT_SOURCES = ['binding', 'projectOwner', 'publicProject', 'default'] as const;
export type GrantSource = (typeof GRANT_SOURCES)[number];
