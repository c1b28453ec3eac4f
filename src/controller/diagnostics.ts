// What the status of each kind reports from the permission index: a Role's permission count,
// invalid permissions, missing includes and cycle; a Team's members and namespaces; a binding's
// resolved scope, unresolved subjects and expiry; a User's teams, live roles and username
// conflicts. Read through the index's public lookups, so status says exactly what decide() sees.
import type { UserState } from '../api/types.js';
import type { CompiledBinding, PermissionIndex, UserRecord } from '../authz/index.js';
import { scopeText } from '../authz/scope.js';
import { isBeingDeleted, isLive, usernameOf } from '../authz/rules.js';

const sorted = (it: Iterable<string>): string[] => [...it].sort();

export interface RoleDiagnostics {
  permissionCount: number;
  invalidPermissions: string[];
  /** invalidPermissions with the problem, e.g. `"pods" : missing ":action"`. */
  problems: string[];
  missingIncludes: string[];
  cycle: string[] | null;
  bindingCount: number;
}
export interface TeamDiagnostics {
  memberCount: number;
  namespaces: string[];
  missingMembers: string[];
  bindingCount: number;
}
export interface BindingDiagnostics {
  scope: string;
  subjectCount: number;
  roleFound: boolean;
  unresolvedSubjects: string[];
  resolvedNamespaces: string[];
  expired: boolean;
  invalidExpiresAt: boolean;
}
export interface UserDiagnostics {
  phase: UserState;
  /** Teams naming the user as a member (identity-provider groups are only known per request). */
  teams: string[];
  /** Roles bound to the user or to those teams, live now. */
  roles: string[];
  seed: boolean;
  /** Other User objects with the same username; the lexicographically first name wins. */
  duplicateUsernameOf: string[];
  /** The names subjects and members reach this User by (UserRecord.aliases). */
  aliases: string[];
}


export function roleDiagnostics(index: PermissionIndex, name: string): RoleDiagnostics | undefined {
  const c = index.compiledRole(name);
  if (!c) return undefined;
  return {
    permissionCount: c.atoms.length,
    invalidPermissions: c.invalid.map((i) => i.permission),
    problems: c.invalid.map((i) => i.problem),
    missingIncludes: [...c.missingIncludes],
    cycle: c.cycle ? [...c.cycle] : null,
    bindingCount: index.bindingsForRole(name).length,
  };
}

export function teamDiagnostics(index: PermissionIndex, name: string): TeamDiagnostics | undefined {
  const team = index.getTeam(name);
  if (!team) return undefined;
  const members = new Set(team.spec.members ?? []);
  return {
    memberCount: members.size,
    namespaces: sorted(index.teamNamespaces(name)),
    missingMembers: sorted([...members].filter((m) => !index.userExists(m))),
    bindingCount: index.bindingsForSubject('Team', name).size,
  };
}

export function bindingDiagnostics(index: PermissionIndex, name: string, now: number = index.now()): BindingDiagnostics | undefined {
  const b = index.compiledBinding(name);
  if (!b) return undefined;
  const unresolved: string[] = [];
  for (const s of b.subjects) {
    if (s.kind === 'User' && !index.userExists(s.name)) unresolved.push(`User ${s.name}`);
    if (s.kind === 'Team' && !index.getTeam(s.name)) unresolved.push(`Team ${s.name}`);
  }
  let resolved: string[] = [];
  if (b.scope.kind === 'namespaces') resolved = sorted(b.scope.namespaces);
  else if (b.scope.kind === 'teams') {
    const all = new Set<string>();
    for (const t of b.scope.teams) for (const ns of index.subtreeNamespaces(t)) all.add(ns);
    resolved = sorted(all);
  }
  return {
    scope: scopeText(b.scope),
    subjectCount: b.subjects.length,
    roleFound: index.hasRole(b.role),
    unresolvedSubjects: unresolved,
    resolvedNamespaces: resolved,
    expired: !isLive(b, now),
    invalidExpiresAt: b.expiresAt !== null && Number.isNaN(b.expiresAt),
  };
}

export function userDiagnostics(index: PermissionIndex, name: string, now: number = index.now()): UserDiagnostics | undefined {
  const user = index.getUser(name);
  if (!user) return undefined;
  const username = usernameOf(user);
  const rec = index.userRecord(username);
  // A duplicate (not the primary User of its username) is reached by its object name only.
  const asRecord: UserRecord = rec && rec.name === name ? rec : { name, username, state: user.spec.state, superuser: !!user.spec.superuser, seed: false, deleting: isBeingDeleted(user.metadata), otherCluster: false, object: user, aliases: [name], subjectIds: [], memberTeamIds: [] };
  const teams = index.directTeams(asRecord);
  const roles = new Set<string>();
  const consider = (set: ReadonlySet<CompiledBinding>): void => {
    for (const b of set) if (isLive(b, now)) roles.add(b.role);
  };
  for (const a of asRecord.aliases) consider(index.bindingsForSubject('User', a));
  for (const t of teams) consider(index.bindingsForSubject('Team', t));
  const others = [...index.userNamesWithUsername(username)].filter((n) => n !== name).sort();
  return {
    phase: asRecord.state,
    teams: sorted(teams),
    roles: sorted(roles),
    seed: index.isSeedUsername(username),
    duplicateUsernameOf: others,
    aliases: [...asRecord.aliases],
  };
}
