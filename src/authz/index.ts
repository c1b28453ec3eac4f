// The permission index: Users, Roles, Teams, RoleBindings and Namespaces, plus the policy
// configuration, kept in lookups that let decide() answer without scanning, and updated one object
// at a time (the controller's watch events) without a rebuild.
//
// This file is the index as callers see it: the types, what a binding's scope compiles to, and
// PermissionIndex, which routes each change to the part that holds the fact and answers reads.
// The parts, one idea each, each fact stored once:
//   user-records.ts  User objects and seed admins as UserRecords (by username)
//   role-table.ts    Role objects compiled, their grant bits and include closures (role cells)
//   memberships.ts   Team and Namespace objects; memberships and namespace facts in subject ids,
//                    with answers by name derived from them
//   placement.ts     compiled bindings by subject, by scope (cluster, namespace, team) and by role
//   subject-ids.ts   subjects as small integers; multimap.ts the map-of-sets helpers;
//   index-types.ts   the shared types (re-exported here); it imports none of the parts nor this
//                    file, so the parts depend on it and never on index.ts (no import circle)
// Role compilation itself is in roles.ts, the bitsets in grantbits.ts, the shared rules in rules.ts,
// the status diagnostics next to status (src/controller/diagnostics.ts).
//
// API summary (docs/core-api.md has the long form):
//   const index = PermissionIndex.build(world, policyConfig, clock)   // whole world, marked synced
//   const index = new PermissionIndex(policyConfig, clock)            // empty; then:
//   index.apply({op: 'upsert', kind: 'Role', object}) / index.apply({op: 'delete', kind: 'Team', name})
//     -> whether anything the index reads changed (a status-only update changes nothing)
//   index.replaceAll('User', users)   // a relist: objects not in the list leave; -> the names that changed
//   index.markSynced(); index.synced; index.generation
//   index.getUser(name) / getUserByUsername(u) / userRecord(u) / listUsers(); getRole, listRoles, getTeam,
//   listTeams, getBinding, listBindings, getNamespace, listNamespaces
//   index.teamsOf(userRecord, groups) / teamNamespaces(team) / bindingsForRole(role) / compiledRole(name)
//     (compiledRole: the role with includes flattened, built lazily and cached)
//   compiledBinding(name) / hasRole / userExists / isSeedUsername / userNamesWithUsername (for status)
//   teamsWithMember / rolesIncluding / bindingsScopedToTeam (reverse lookups, for status's dependents)
//   index.nextExpiry(now)
//   decide(index, request) in ./decide.js; effectivePermissions, whoCan, scopesHolding,
//   missingPermissions, canAssign in ./queries.js; presets in ./presets.js.
//
// Fleet (issue 30): the configuration's `cluster` says who this cluster is. A RoleBinding whose
// spec.clusters does not select it is kept aside (bindingsNotInForce), never placed, so nothing that
// reads placement (decide(), who-can, effective permissions, the RBAC compiler, status) sees it; a
// User whose spec.clusters does not select it gets a record that is not Active (user-records.ts).
// Both are decided here, when an object is applied, never per request: decide() is unchanged.
//
// Everything derived is a function of the stored objects only, so any sequence of changes ends in
// the state a rebuild from the same objects gives (test/unit/authz/property.test.ts checks it with
// test/support/index-equivalence.ts, which compares every public answer). Expiry is evaluated when
// asked, with the injected clock, never at apply time.
import type { Namespace, ObjectMeta, Role, RoleBinding, SubjectKind, Team, User } from '../api/types.js';
import { canonical } from '../api/canonical.js';
import { OWNER_USERNAME_ANNOTATION } from '../api/owner.js';
import type { PolicyConfig } from '../config.js';
import type { TargetShape } from './grantbits.js';
import { Memberships } from './memberships.js';
import { BindingPlacement } from './placement.js';
import { RoleTable } from './role-table.js';
import { ignoreListsOf, isBeingDeleted, type IgnoreLists } from './rules.js';
import { compileScope, type CompiledScope } from './scope.js';
import type { CompiledRole, OwnRole } from './roles.js';
import { SubjectIds } from './subject-ids.js';
import { UserRecords } from './user-records.js';
import { selectsCluster, type ClusterIdentity } from '../fleet/cluster.js';
import { clusterOf } from '../fleet/identity.js';

export type { CompiledRole, OwnRole, RoleAtom } from './roles.js';

export type { IndexedKind, ObjectOfKind, Change, World, NowSource, UserRecord, RoleCell, NamespaceFast, CompiledBinding } from './index-types.js';
import type { IndexedKind, ObjectOfKind, Change, World, NowSource, UserRecord, NamespaceFast, CompiledBinding, RoleCell } from './index-types.js';

function parseExpiry(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  return Date.parse(text);
}

/** Kinds that leave the index while being deleted; a User stays (see isBeingDeleted in rules.ts). */
const LEAVE_WHEN_DELETING: ReadonlySet<IndexedKind> = new Set(['Role', 'Team', 'RoleBinding']);
function leavesIndex(kind: IndexedKind, object: { metadata: ObjectMeta }): boolean {
  return LEAVE_WHEN_DELETING.has(kind) && isBeingDeleted(object.metadata);
}

/**
 * The part of an object the index reads (and keeps), as one text: a Namespace's labels and owner
 * annotation (src/api/owner.ts), a Gatehouse object's spec, labels and whether it is being
 * deleted. An update that leaves it alone (a status write) changes nothing.
 */
function readPart(kind: IndexedKind, o: { metadata: ObjectMeta; spec?: unknown }): string {
  if (kind === 'Namespace') return canonical({ labels: o.metadata.labels ?? {}, owner: o.metadata.annotations?.[OWNER_USERNAME_ANNOTATION] });
  return canonical({ spec: o.spec, labels: o.metadata.labels ?? {}, deleting: Boolean(o.metadata.deletionTimestamp) });
}

/** Namespace changes the index remembers by name (namespacesChangedSince). */
const CHANGE_LOG_SIZE = 1024;

export class PermissionIndex {
  readonly config: PolicyConfig;
  private readonly clock: () => number;
  private _synced = false;
  private _generation = 0;
  /** Per kind: bumped by every change to an object of that kind (the RBAC compiler skips kinds that did not move). */
  private readonly kindGenerations: Record<IndexedKind, number> = { User: 0, Role: 0, Team: 0, RoleBinding: 0, Namespace: 0 };

  private readonly ids = new SubjectIds();
  private readonly memberships = new Memberships(this.ids);
  private readonly users: UserRecords;
  private readonly roles = new RoleTable();
  private readonly placement = new BindingPlacement(this.ids, this.memberships);
  /** RoleBindings whose spec.clusters does not select this cluster: stored, never placed. */
  private readonly notInForce = new Map<string, RoleBinding>();
  /** Who this cluster is (config.cluster; none: UNNAMED_CLUSTER), fixed for the index's life. */
  readonly cluster: ClusterIdentity;

  constructor(config: PolicyConfig, clock: NowSource = Date.now) {
    this.config = config;
    this.cluster = clusterOf(config);
    this.clock = typeof clock === 'function' ? clock : () => clock.now();
    this.expiriesSeenUpTo = this.clock();
    this.users = new UserRecords(new Set(config.seedAdmins.map((s) => s.username)), this.ids, this.memberships, this.cluster);
    this.ignoreLists = ignoreListsOf(config.authorization);
    // Held for the index's life: decide() compares it with every request's team ids.
    this.defaultTeamId = config.defaults.team !== undefined ? this.ids.acquire('Team', config.defaults.team) : undefined;
  }

  /** The internal id of the configured default team (decide()'s step 8 compares ids). */
  readonly defaultTeamId: number | undefined;

  /** The configured ignore lists as Sets, for decide()'s first step (rules.ts leftAloneBecause). */
  readonly ignoreLists: IgnoreLists;

  /** Builds an index from a complete world; it is marked synced. */
  static build(world: World, config: PolicyConfig, clock: NowSource = Date.now): PermissionIndex {
    const index = new PermissionIndex(config, clock);
    index.replaceAll('Namespace', world.namespaces ?? []);
    index.replaceAll('User', world.users ?? []);
    index.replaceAll('Team', world.teams ?? []);
    index.replaceAll('Role', world.roles ?? []);
    index.replaceAll('RoleBinding', world.bindings ?? []);
    index.markSynced();
    return index;
  }

  now(): number {
    return this.clock();
  }
  get synced(): boolean {
    return this._synced;
  }
  /**
   * Moves with every change to what the index reads, and once more when bindings have expired
   * since it was last read (their grants ended with nothing re-applied), so anything comparing
   * generations sees the answers changed.
   */
  get generation(): number {
    const now = this.now();
    const next = this.nextExpiry(this.expiriesSeenUpTo);
    if (next !== null && next <= now) this._generation++;
    this.expiriesSeenUpTo = now;
    return this._generation;
  }
  private expiriesSeenUpTo: number;
  /** Moves with every change to an object of `kind` that the index reads (no expiry side effect). */
  generationOf(kind: IndexedKind): number {
    return this.kindGenerations[kind];
  }
  /** The last CHANGE_LOG_SIZE Namespace changes: [generationOf('Namespace') after it, name]. */
  private readonly namespaceLog: Array<readonly [number, string]> = [];
  /** The log holds every Namespace change after this generation. */
  private namespaceLogFrom = 0;
  private logNamespace(name: string): void {
    this.namespaceLog.push([this.kindGenerations.Namespace, name]);
    if (this.namespaceLog.length > 2 * CHANGE_LOG_SIZE) {
      this.namespaceLog.splice(0, this.namespaceLog.length - CHANGE_LOG_SIZE);
      // The oldest generation kept may have lost some of its names.
      this.namespaceLogFrom = this.namespaceLog[0]![0];
    }
  }
  /**
   * The namespaces that changed after generationOf('Namespace') was `generation` (so a reader, the
   * RBAC compiler, re-asks only about them), or undefined when the log no longer reaches back that far.
   */
  namespacesChangedSince(generation: number): string[] | undefined {
    const now = this.kindGenerations.Namespace;
    if (generation === now) return [];
    const log = this.namespaceLog;
    if (generation > now || generation < this.namespaceLogFrom) return undefined;
    const out = new Set<string>();
    for (let i = log.length - 1; i >= 0 && log[i]![0] > generation; i--) out.add(log[i]![1]);
    return [...out];
  }
  markSynced(): void {
    if (!this._synced) this._generation++;
    this._synced = true;
  }

  // ---------------------------------------------------------------- changes

  /** Applies one change; returns whether anything the index reads changed (readPart). */
  apply(change: Change): boolean {
    const name = change.op === 'delete' ? change.name : change.object.metadata.name;
    const old = this.stored(change.kind, name);
    if (change.op === 'delete' || leavesIndex(change.kind, change.object)) {
      if (!old) return false;
      this._generation++;
      this.kindGenerations[change.kind]++;
      if (change.kind === 'Namespace') this.logNamespace(name);
      this.remove(change.kind, name);
      return true;
    }
    if (old && readPart(change.kind, old) === readPart(change.kind, change.object)) return false;
    this._generation++;
    this.kindGenerations[change.kind]++;
    if (change.kind === 'Namespace') this.logNamespace(name);
    this.upsert(change, false);
    return true;
  }

  /** A relist: the index's objects of `kind` become exactly `objects`; returns the names that changed. */
  replaceAll<K extends IndexedKind>(kind: K, all: readonly ObjectOfKind[K][]): Set<string> {
    const changed = new Set<string>();
    const objects = all.filter((o) => !leavesIndex(kind, o));
    const keep = new Set(objects.map((o) => o.metadata.name));
    for (const name of [...this.names(kind)]) {
      if (keep.has(name)) continue;
      this.remove(kind, name, false);
      changed.add(name);
    }
    for (const o of objects) {
      const old = this.stored(kind, o.metadata.name);
      if (old && readPart(kind, old) === readPart(kind, o)) continue;
      // Roles compile once at the end instead of once per dependent per role.
      this.upsert({ op: 'upsert', kind, object: o } as Extract<Change, { op: 'upsert' }>, true);
      changed.add(o.metadata.name);
    }
    if (kind === 'Role' && changed.size > 0) this.roles.recompileAll();
    if (changed.size > 0) {
      this._generation++;
      this.kindGenerations[kind]++;
      // One generation for the whole relist: logged name by name when small, else a gap (readers relist too).
      if (kind === 'Namespace') {
        if (changed.size <= CHANGE_LOG_SIZE) for (const name of changed) this.logNamespace(name);
        else {
          this.namespaceLog.length = 0;
          this.namespaceLogFrom = this.kindGenerations.Namespace;
        }
      }
    }
    return changed;
  }

  private stored(kind: IndexedKind, name: string): { metadata: ObjectMeta; spec?: unknown } | undefined {
    switch (kind) {
      case 'User': return this.users.objects.get(name);
      case 'Role': return this.roles.objects.get(name);
      case 'Team': return this.memberships.teams.get(name);
      case 'RoleBinding': return this.placement.byName.get(name)?.object ?? this.notInForce.get(name);
      case 'Namespace': return this.memberships.namespaces.get(name);
    }
  }

  private names(kind: IndexedKind): Iterable<string> {
    switch (kind) {
      case 'User': return this.users.objects.keys();
      case 'Role': return this.roles.objects.keys();
      case 'Team': return this.memberships.teams.keys();
      case 'RoleBinding': return [...this.placement.byName.keys(), ...this.notInForce.keys()];
      case 'Namespace': return this.memberships.namespaces.keys();
    }
  }

  private upsert(change: Extract<Change, { op: 'upsert' }>, bulk: boolean): void {
    switch (change.kind) {
      case 'User':
        return this.users.upsert(change.object);
      case 'Role':
        return this.roles.upsert(change.object, bulk);
      case 'Team':
        return this.memberships.upsertTeam(change.object);
      case 'RoleBinding': {
        const b = change.object;
        // The one rule (src/fleet/cluster.ts), applied as the object arrives: a binding meant for
        // other clusters is set aside whole, so it moves no placement, id or expiry.
        if (selectsCluster(b.spec.clusters, this.cluster)) {
          this.notInForce.delete(b.metadata.name);
          return this.placement.add(this.compileBinding(b));
        }
        this.placement.remove(b.metadata.name);
        this.notInForce.set(b.metadata.name, b);
        return;
      }
      case 'Namespace':
        return this.memberships.upsertNamespace(change.object);
    }
  }

  private remove(kind: IndexedKind, name: string, recompile = true): void {
    switch (kind) {
      case 'User':
        return this.users.remove(name);
      case 'Role':
        return this.roles.remove(name, !recompile);
      case 'Team':
        return this.memberships.removeTeam(name);
      case 'RoleBinding':
        this.notInForce.delete(name);
        return this.placement.remove(name);
      case 'Namespace':
        return this.memberships.removeNamespace(name);
    }
  }

  private compileBinding(b: RoleBinding): CompiledBinding {
    const subjects = b.spec.subjects ?? [];
    return {
      name: b.metadata.name,
      role: b.spec.role,
      subjects,
      scope: compileScope(b.spec.scope),
      expiresAt: parseExpiry(b.spec.expiresAt),
      object: b,
      roleCell: this.roles.cell(b.spec.role),
      // Held until placement.remove() gives them back.
      subjectIds: subjects.map((s) => this.ids.acquire(s.kind, s.name)),
    };
  }

  // ---------------------------------------------------------------- objects

  getUser(name: string): User | undefined {
    return this.users.objects.get(name);
  }
  getUserByUsername(username: string): User | undefined {
    return this.users.primary(username) ?? undefined;
  }
  /** The user as decide() sees them (User object and/or seed admin), by username. */
  userRecord(username: string): UserRecord | undefined {
    return this.users.record(username);
  }
  listUsers(): User[] {
    return [...this.users.objects.values()];
  }
  /** Every known username: User objects and seed admins. */
  listUserRecords(): UserRecord[] {
    return this.users.listRecords();
  }
  /** The one resolution from a subject, member or owner name to a User (user-records.ts). */
  resolveUser(name: string): User | undefined {
    return this.users.resolve(name);
  }
  getRole(name: string): Role | undefined {
    return this.roles.objects.get(name);
  }
  listRoles(): Role[] {
    return [...this.roles.objects.values()];
  }
  /** The role with its includes flattened (built on first use, cached until a role in it changes). */
  compiledRole(name: string): CompiledRole | undefined {
    return this.roles.compiled(name);
  }
  getTeam(name: string): Team | undefined {
    return this.memberships.teams.get(name);
  }
  listTeams(): Team[] {
    return [...this.memberships.teams.values()];
  }
  /** A binding's expiresAt as the index parsed it (ms since the epoch), or null (none, or no such binding). */
  bindingExpiry(name: string): number | null {
    return this.placement.byName.get(name)?.expiresAt ?? null;
  }
  getBinding(name: string): RoleBinding | undefined {
    return this.placement.byName.get(name)?.object;
  }
  listBindings(): RoleBinding[] {
    return [...this.placement.byName.values()].map((b) => b.object);
  }
  listCompiledBindings(): CompiledBinding[] {
    return [...this.placement.byName.values()];
  }
  /**
   * RoleBindings whose spec.clusters does not select this cluster (issue 30): not in force here, so
   * not in getBinding, listBindings or anything that answers who may do what. Sorted by name.
   */
  bindingsNotInForce(): RoleBinding[] {
    return [...this.notInForce.values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  }
  /** The RoleBinding of this name that is stored but not in force here, if any. */
  bindingNotInForce(name: string): RoleBinding | undefined {
    return this.notInForce.get(name);
  }
  getNamespace(name: string): Namespace | undefined {
    return this.memberships.namespaces.get(name);
  }
  listNamespaces(): Namespace[] {
    return [...this.memberships.namespaces.values()];
  }

  // ---------------------------------------------------------------- memberships, by name

  /** Teams naming the user (by one of its aliases) as a member, without groups. */
  directTeams(user: UserRecord): Set<string> {
    const out = new Set<string>();
    for (const a of user.aliases) for (const t of this.memberships.teamsOfMember(a)) out.add(t);
    return out;
  }
  /** Teams the user is in for a request: direct members plus teams whose groups the request carries. */
  teamsOf(user: UserRecord, groups: readonly string[]): Set<string> {
    const out = this.directTeams(user);
    for (const g of groups) for (const t of this.memberships.teamsOfGroup(g)) out.add(t);
    return out;
  }
  /** Teams naming `member` (a User's object name or username, as written) in spec.members. */
  teamsWithMember(member: string): Set<string> {
    return this.memberships.teamsOfMember(member);
  }
  /** Namespaces whose owner label names the user (by one of its aliases). */
  namespacesOwnedByUser(user: UserRecord): Set<string> {
    const out = new Set<string>();
    for (const a of user.aliases) for (const ns of this.memberships.namespacesOwnedBy(a)) out.add(ns);
    return out;
  }
  namespacesOwnedBy(owner: string): ReadonlySet<string> {
    return this.memberships.namespacesOwnedBy(owner);
  }
  /** The namespace's iam.gatehouse.dev/team label, and the teams listing it in spec.namespaces. */
  namespaceLabelTeam(namespace: string): string | undefined {
    return this.memberships.namespaceLabelTeam(namespace);
  }
  namespaceSpecTeams(namespace: string): ReadonlySet<string> | undefined {
    return this.memberships.namespaceSpecTeams(namespace);
  }
  /** A team's namespaces: spec.namespaces plus namespaces labelled iam.gatehouse.dev/team=<team>. */
  teamNamespaces(team: string): Set<string> {
    return this.memberships.teamNamespaces(team);
  }
  /** Whether `namespace` belongs to `team` (either way). */
  teamOwnsNamespace(team: string, namespace: string): boolean {
    return this.memberships.teamOwnsNamespace(team, namespace);
  }
  /** A team's spec.parent, whether or not that Team exists (the tree: memberships.ts). */
  teamParent(team: string): string | undefined {
    return this.memberships.parentOf(team);
  }
  /** Teams naming `team` as their parent. */
  teamChildren(team: string): ReadonlySet<string> {
    return this.memberships.childrenOf(team);
  }
  /** `team`, its parent, and so on up to the root (a cycle is walked once). */
  teamAncestorsOrSelf(team: string): string[] {
    return this.memberships.ancestorsOrSelf(team);
  }
  /** `team` and every team below it. */
  teamSubtree(team: string): Set<string> {
    return this.memberships.subtree(team);
  }
  /** What a `teams: [team]` scope covers: the namespaces of the team and of every team below it. */
  subtreeNamespaces(team: string): Set<string> {
    return this.memberships.subtreeNamespaces(team);
  }
  /** The team of `teams` through which a teams scope covers the namespace (undefined: it does not). */
  scopeTeamOf(namespace: string, teams: ReadonlySet<string>): string | undefined {
    return this.memberships.scopeTeamOf(namespace, teams);
  }
  /** A team id's parent id (decide()'s walk up the tree). */
  parentTeamId(id: number): number | undefined {
    return this.memberships.parentId(id);
  }
  /** Teams a namespace belongs to. */
  namespaceTeams(namespace: string): Set<string> {
    return this.memberships.namespaceTeams(namespace);
  }
  namespaceOwner(namespace: string): string | undefined {
    return this.memberships.namespaceOwner(namespace);
  }
  isPublicNamespace(namespace: string): boolean {
    return this.memberships.isPublicNamespace(namespace);
  }
  listPublicNamespaces(): string[] {
    return this.memberships.listPublicNamespaces();
  }

  // ---------------------------------------------------------------- bindings, by name

  /** Bindings naming the subject, whatever their scope. */
  bindingsForSubject(kind: SubjectKind, name: string): ReadonlySet<CompiledBinding> {
    return this.placement.forSubjectId(this.ids.find(kind, name));
  }
  bindingsForRole(role: string): string[] {
    return [...this.placement.forRole(role)].sort();
  }
  /** Names of the bindings whose teams scope lists `team` (with or without subjects). */
  bindingsScopedToTeam(team: string): Set<string> {
    return this.placement.scopedToTeam(team);
  }
  /** Roles that include `name`, directly or not, and `name` itself. */
  rolesIncluding(name: string): Set<string> {
    return this.roles.includers(name);
  }

  /** Whether a binding's scope covers a namespace (undefined = a cluster-scoped request). */
  scopeCovers(scope: CompiledScope, namespace: string | undefined): boolean {
    if (scope.kind === 'cluster') return true;
    if (namespace === undefined) return false;
    if (scope.kind === 'namespaces') return scope.namespaces.has(namespace);
    return this.memberships.namespaceInTeams(namespace, scope.teams);
  }

  /** The earliest expiresAt after `now`, or null. */
  nextExpiry(now: number = this.now()): number | null {
    // The answer for `from` stays right for any later `now` before it, until the index changes.
    const c = this.expiryCache;
    if (c !== null && c.generation === this._generation && now >= c.from && (c.next === null || now < c.next)) return c.next;
    const next = this.placement.nextExpiry(now);
    this.expiryCache = { generation: this._generation, from: now, next };
    return next;
  }
  private expiryCache: { generation: number; from: number; next: number | null } | null = null;

  // ---------------------------------------------------------------- decide()'s fast path (ids)

  /** Cluster-scoped bindings by internal subject id. */
  clusterBindingsForSubjectId(id: number): ReadonlySet<CompiledBinding> | undefined {
    return this.placement.clusterFor(id);
  }
  /** Bindings naming the subject id, whatever their scope. */
  bindingsForSubjectId(id: number): ReadonlySet<CompiledBinding> {
    return this.placement.forSubjectId(id);
  }
  /** A role's cell (id and closure), for bit checks outside decide() (src/requests/hint.ts). */
  roleCellOf(name: string): RoleCell {
    return this.roles.cell(name);
  }
  /** The roles (bitset over RoleCell.id) whose plain grants allow the shape. */
  roleBitsFor(t: TargetShape): Uint32Array {
    return this.roles.bitsFor(t);
  }
  /** A role's own compiled data by its cell id. */
  ownRoleById(id: number): OwnRole | undefined {
    return this.roles.ownAt(id);
  }
  /** What a namespace contributes (scoped bindings, owning teams) in ids. */
  namespaceFast(namespace: string): Readonly<NamespaceFast> | undefined {
    return this.memberships.namespaceFast(namespace);
  }
  /** Bindings whose teams scope lists the team, by subject id. */
  teamScopeBindings(teamId: number): ReadonlyMap<number, ReadonlySet<CompiledBinding>> | undefined {
    return this.placement.teamScope(teamId);
  }
  /** What the index holds per subject (tests and bench:soak: create/delete cycles come back to the start). */
  subjectCounts(): { liveIds: number; allocatedIds: number; memberSets: number } {
    return { liveIds: this.ids.live, allocatedIds: this.ids.capacity, memberSets: this.memberships.memberCount };
  }
  /** The internal id of a team, if the index has seen its name. */
  teamId(team: string): number | undefined {
    return this.ids.find('Team', team);
  }
  /** The internal ids of every subject the request is (user, teams, groups). */
  requestSubjectIds(user: UserRecord, groups: readonly string[]): number[] {
    const out: number[] = [];
    for (const id of user.subjectIds) out.push(id);
    for (const set of user.memberTeamIds) for (const id of set) out.push(id);
    for (const g of groups) {
      const gid = this.ids.find('Group', g);
      if (gid === undefined) continue;
      out.push(gid);
      const teams = this.memberships.teamIdsOfGroup(gid);
      if (teams !== undefined) for (const id of teams) out.push(id);
    }
    return out;
  }
  /** The team ids the groups bring (teams listing them in spec.groups). */
  groupTeamIds(group: string): ReadonlySet<number> | undefined {
    const gid = this.ids.find('Group', group);
    return gid === undefined ? undefined : this.memberships.teamIdsOfGroup(gid);
  }

  // ---------------------------------------------------------------- for status (src/controller/diagnostics.ts)

  /** A binding as compiled (scope, expiry, subjects), by name. */
  compiledBinding(name: string): CompiledBinding | undefined {
    return this.placement.byName.get(name);
  }
  /** Whether a Role object of this name exists (included or bound roles may not). */
  hasRole(name: string): boolean {
    return this.roles.has(name);
  }
  /** Whether a User subject or team member resolves: a User's object name, a username, or a seed admin. */
  userExists(nameOrUsername: string): boolean {
    return this.users.exists(nameOrUsername);
  }
  /** Whether the configuration lists this username as a seed admin. */
  isSeedUsername(username: string): boolean {
    return this.users.isSeed(username);
  }
  /** The names of every User object with this username (more than one is a conflict). */
  userNamesWithUsername(username: string): ReadonlySet<string> {
    return this.users.namesWithUsername(username);
  }
}
