// The plain-RBAC subset of Gatehouse that Casbin and Cedar can also express, and one neutral
// reading of a World in that subset that both peer encoders start from.
//
// docs/design.md's decision order goes beyond RBAC: inactive users are denied, superusers allowed,
// namespace owners and public namespaces get roles, every Active user gets the default role. The
// peers could encode some of that, but the comparison is about bindings, so the benchmark worlds
// keep only: Active users without superuser, Roles with `[group/]resource[/subresource]:verb`
// permissions (verbs, the read/write aliases and `*` wildcards for verb, group, resource and
// subresource) and `includes`, Teams with direct members and namespaces (spec.namespaces or the
// iam.gatehouse.dev/team label), and RoleBindings to Users and Teams scoped to the cluster, teams
// or namespaces, without expiry. What decide() does on top of plain RBAC inside that subset, the
// peers are given too: a wildcard never reaches an explicit-only target (Secrets, exec, ...; the
// table is test/support/oracle.ts's EXPLICIT_ONLY_TARGETS, written from docs/security.md), a
// subject or member name resolves to a User by object name, else by username, and requests carry
// the username. restrictToRbac() turns any World into that subset and counts what it removed;
// rbacModel() refuses anything outside it, so an encoder never silently drops a grant.
//
// Permissions are read with the reference grammar (test/support/oracle.ts), not src/authz's, so a
// bug in Gatehouse's parser shows up as a disagreement instead of being copied into the peers.
import type { Namespace, Role, RoleBinding, Team, User } from '../../src/api/types.js';
import { LABELS } from '../../src/api/types.js';
import type { ExplicitOnlyTarget, RefAtom } from '../../test/support/oracle.js';
import { EXPLICIT_ONLY_TARGETS, parseRef, refUsername } from '../../test/support/oracle.js';

export interface PeerWorld {
  users: readonly User[];
  roles: readonly Role[];
  teams: readonly Team[];
  bindings: readonly RoleBinding[];
  namespaces: readonly Namespace[];
}

/**
 * One resource grant of a role: `group` null = any API group, `resource` '*' = every resource,
 * `subresource` null = the resource itself ('*' every subresource; with resource '*' and
 * subresource null: every resource and subresource), `verbs` null = every verb.
 */
export interface RbacGrant {
  readonly group: string | null;
  readonly resource: string;
  readonly subresource: string | null;
  readonly verbs: readonly string[] | null;
}

/** Whether a grant has a resource or subresource wildcard (so no explicit-only target is reached through it). */
export function objectWildcard(g: Pick<RbacGrant, 'resource' | 'subresource'>): boolean {
  return g.resource === '*' || g.subresource === '*';
}

/** The explicit-only table the peers are given (one row per target; see the file comment). */
export const PEER_EXPLICIT_ONLY: readonly ExplicitOnlyTarget[] = EXPLICIT_ONLY_TARGETS;

export type RbacScope = { kind: 'cluster' } | { kind: 'namespaces'; namespaces: readonly string[] } | { kind: 'teams'; teams: readonly string[] };

export interface RbacBinding {
  readonly name: string;
  readonly role: string;
  readonly users: readonly string[];
  readonly teams: readonly string[];
  readonly scope: RbacScope;
}

export interface RbacModel {
  /** username (as the API server reports it) -> User object name. */
  readonly userNames: ReadonlyMap<string, string>;
  /** User object name -> the teams that list it as a member. */
  readonly userTeams: ReadonlyMap<string, readonly string[]>;
  /** Role name -> its grants, `includes` flattened in (transitively). */
  readonly roleGrants: ReadonlyMap<string, readonly RbacGrant[]>;
  /** Team name -> its namespaces (spec.namespaces plus labelled namespaces). */
  readonly teamNamespaces: ReadonlyMap<string, ReadonlySet<string>>;
  /** Namespace name -> the teams it belongs to. */
  readonly namespaceTeams: ReadonlyMap<string, readonly string[]>;
  readonly bindings: readonly RbacBinding[];
  /** Every verb named by some permission (for request sampling). */
  readonly verbs: readonly string[];
}

export class OutsideRbacSubsetError extends Error {
  constructor(what: string) {
    super(`world is outside the plain-RBAC subset: ${what}`);
    this.name = 'OutsideRbacSubsetError';
  }
}

/** Whether a permission is a plain `[group/]resource[/subresource]:verb` grant (no names, not `me` or a path). */
function plainAtom(text: string): Extract<RefAtom, { kind: 'resource' }> | null {
  let a: RefAtom;
  try {
    a = parseRef(text);
  } catch {
    return null;
  }
  if (a.kind !== 'resource' || a.names !== null) return null;
  return a;
}

export interface Restriction {
  world: PeerWorld;
  /** What was changed or dropped to fit the subset, by kind of change (all zero for a world already inside). */
  removed: Record<string, number>;
}

/** Makes a World fit the plain-RBAC subset (see the file comment), counting every change. */
export function restrictToRbac(world: PeerWorld): Restriction {
  const removed: Record<string, number> = {
    inactiveUsersActivated: 0,
    superusersDemoted: 0,
    permissionsOutsideGrammarSubset: 0,
    policyRules: 0,
    teamGroups: 0,
    groupSubjects: 0,
    bindingsWithoutSubjects: 0,
    expiries: 0,
    namespaceOwnerOrVisibilityLabels: 0,
  };
  const users = world.users.map((u): User => {
    if (u.spec.state !== 'Active') removed.inactiveUsersActivated!++;
    if (u.spec.superuser) removed.superusersDemoted!++;
    return { ...u, spec: { ...u.spec, state: 'Active', superuser: false } };
  });
  const roles = world.roles.map((r): Role => {
    const permissions = (r.spec.permissions ?? []).filter((p) => plainAtom(p) !== null);
    removed.permissionsOutsideGrammarSubset! += (r.spec.permissions ?? []).length - permissions.length;
    removed.policyRules! += (r.spec.rules ?? []).length;
    const spec = { ...r.spec, permissions };
    delete spec.rules;
    return { ...r, spec };
  });
  const teams = world.teams.map((t): Team => {
    removed.teamGroups! += (t.spec.groups ?? []).length;
    const spec = { ...t.spec };
    delete spec.groups;
    return { ...t, spec };
  });
  const bindings: RoleBinding[] = [];
  for (const b of world.bindings) {
    const subjects = b.spec.subjects.filter((s) => s.kind !== 'Group');
    removed.groupSubjects! += b.spec.subjects.length - subjects.length;
    if (b.spec.expiresAt !== undefined) removed.expiries!++;
    if (subjects.length === 0) {
      removed.bindingsWithoutSubjects!++;
      continue;
    }
    const spec = { ...b.spec, subjects };
    delete spec.expiresAt;
    bindings.push({ ...b, spec });
  }
  const namespaces = world.namespaces.map((n): Namespace => {
    const labels = { ...(n.metadata.labels ?? {}) };
    for (const l of [LABELS.owner, LABELS.visibility]) {
      if (l in labels) {
        removed.namespaceOwnerOrVisibilityLabels!++;
        delete labels[l];
      }
    }
    return { ...n, metadata: { ...n.metadata, labels } };
  });
  return { world: { users, roles, teams, bindings, namespaces }, removed };
}

/** The neutral reading both encoders start from; throws OutsideRbacSubsetError for anything outside the subset. */
export function rbacModel(world: PeerWorld): RbacModel {
  const userNames = new Map<string, string>();
  const userTeams = new Map<string, string[]>();
  const objectNames = new Set(world.users.map((u) => u.metadata.name));
  // Two Users claiming one username: the first object name is in effect (docs/design.md).
  for (const u of [...world.users].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    if (u.spec.state !== 'Active') throw new OutsideRbacSubsetError(`user ${u.metadata.name} is ${u.spec.state}`);
    if (u.spec.superuser) throw new OutsideRbacSubsetError(`user ${u.metadata.name} is a superuser`);
    const username = refUsername(u);
    if (!userNames.has(username)) userNames.set(username, u.metadata.name);
    userTeams.set(u.metadata.name, []);
  }
  // A name in a binding subject or a team's members: the User of that object name, else the User
  // whose username it is (docs/security.md, "One resolution from a name to a User"); a name that
  // resolves to nobody stays as written and grants nobody anything.
  const resolve = (name: string): string => (objectNames.has(name) ? name : (userNames.get(name) ?? name));
  const verbs = new Set<string>();
  const ownGrants = new Map<string, RbacGrant[]>();
  const includes = new Map<string, readonly string[]>();
  for (const r of world.roles) {
    if ((r.spec.rules ?? []).length > 0) throw new OutsideRbacSubsetError(`role ${r.metadata.name} has rules`);
    const grants: RbacGrant[] = [];
    for (const p of r.spec.permissions ?? []) {
      const a = plainAtom(p);
      if (a === null) throw new OutsideRbacSubsetError(`role ${r.metadata.name} has permission ${p}`);
      const v = a.verbs === null ? null : [...a.verbs].sort();
      for (const x of v ?? []) verbs.add(x);
      grants.push({ group: a.group, resource: a.resource, subresource: a.subresource, verbs: v });
    }
    ownGrants.set(r.metadata.name, grants);
    includes.set(r.metadata.name, r.spec.includes ?? []);
  }
  const roleGrants = new Map<string, RbacGrant[]>();
  for (const name of ownGrants.keys()) {
    const seen = new Set<string>([name]);
    const queue = [name];
    const all: RbacGrant[] = [];
    while (queue.length > 0) {
      const r = queue.shift()!;
      all.push(...(ownGrants.get(r) ?? []));
      for (const inc of includes.get(r) ?? []) {
        if (!seen.has(inc)) {
          seen.add(inc);
          queue.push(inc);
        }
      }
    }
    roleGrants.set(name, all);
  }
  const teamNamespaces = new Map<string, Set<string>>();
  const namespaceTeams = new Map<string, Set<string>>();
  const link = (team: string, ns: string): void => {
    let s = teamNamespaces.get(team);
    if (!s) teamNamespaces.set(team, (s = new Set()));
    s.add(ns);
    let t = namespaceTeams.get(ns);
    if (!t) namespaceTeams.set(ns, (t = new Set()));
    t.add(team);
  };
  for (const t of world.teams) {
    if ((t.spec.groups ?? []).length > 0) throw new OutsideRbacSubsetError(`team ${t.metadata.name} has groups`);
    if (!teamNamespaces.has(t.metadata.name)) teamNamespaces.set(t.metadata.name, new Set());
    for (const m of new Set((t.spec.members ?? []).map(resolve))) userTeams.get(m)?.push(t.metadata.name);
    for (const ns of t.spec.namespaces ?? []) link(t.metadata.name, ns);
  }
  for (const n of world.namespaces) {
    const labels = n.metadata.labels ?? {};
    if (labels[LABELS.owner] !== undefined || labels[LABELS.visibility] !== undefined) {
      throw new OutsideRbacSubsetError(`namespace ${n.metadata.name} has an owner or visibility label`);
    }
    const team = labels[LABELS.team];
    if (team) link(team, n.metadata.name);
  }
  const bindings: RbacBinding[] = [];
  for (const b of world.bindings) {
    if (b.spec.expiresAt !== undefined) throw new OutsideRbacSubsetError(`binding ${b.metadata.name} expires`);
    const users: string[] = [];
    const teams: string[] = [];
    for (const s of b.spec.subjects) {
      if (s.kind === 'User') users.push(resolve(s.name));
      else if (s.kind === 'Team') teams.push(s.name);
      else throw new OutsideRbacSubsetError(`binding ${b.metadata.name} has a ${s.kind} subject`);
    }
    const sc = b.spec.scope;
    const scope: RbacScope = sc.cluster
      ? { kind: 'cluster' }
      : sc.teams !== undefined
        ? { kind: 'teams', teams: [...sc.teams] }
        : { kind: 'namespaces', namespaces: [...(sc.namespaces ?? [])] };
    bindings.push({ name: b.metadata.name, role: b.spec.role, users, teams, scope });
  }
  return {
    userNames,
    userTeams,
    roleGrants,
    teamNamespaces,
    namespaceTeams: new Map([...namespaceTeams].map(([ns, ts]) => [ns, [...ts].sort()])),
    bindings,
    verbs: [...verbs].sort(),
  };
}

/** The object string both peers use for a resource: `group/resource[/subresource]`, the core group spelled `core`. */
export function objectOf(group: string, resource: string, subresource?: string | null): string {
  return `${group === '' ? 'core' : group}/${resource}${subresource ? `/${subresource}` : ''}`;
}

/** Team name -> the User object names that are its members (the inverse of `userTeams`). */
export function teamMembers(model: RbacModel): Map<string, string[]> {
  const members = new Map<string, string[]>();
  for (const [user, teams] of model.userTeams) {
    for (const t of teams) {
      let m = members.get(t);
      if (!m) members.set(t, (m = []));
      m.push(user);
    }
  }
  return members;
}
