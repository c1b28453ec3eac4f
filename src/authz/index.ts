// The permission index: Users, Roles, Teams, RoleBindings and Namespaces, plus the policy
// configuration, kept in lookups that let decide() answer without scanning, and updated one object
// at a time (the controller's watch events) without a rebuild.
//
// Why one file over 500 lines: it is one idea, the incremental index. Each apply() changes a stored
// object and every lookup derived from it in one step (records, role cells and bits, memberships by
// name and by id, binding placement by subject and scope), and those lookups share private state
// whose invariants (answers equal a rebuild's) hold only together. What is separable is outside:
// role compilation in roles.ts, the grant bitsets in grantbits.ts, the shared rules in rules.ts,
// and the status diagnostics next to status (src/controller/diagnostics.ts).
//
// API summary (docs/core-api.md has the long form):
//   const index = PermissionIndex.build(world, policyConfig, clock)   // whole world, marked synced
//   const index = new PermissionIndex(policyConfig, clock)            // empty; then:
//   index.apply({op: 'upsert', kind: 'Role', object}) / index.apply({op: 'delete', kind: 'Team', name})
//   index.replaceAll('User', users)   // a relist: objects not in the list leave the index
//   index.markSynced(); index.synced; index.generation
//   index.getUser(name) / getUserByUsername(u) / userRecord(u) / listUsers(); getRole, listRoles, getTeam,
//   listTeams, getBinding, listBindings, getNamespace, listNamespaces
//   index.teamsOf(userRecord, groups) / teamNamespaces(team) / bindingsForRole(role) / compiledRole(name)
//     (compiledRole: the role with includes flattened, built lazily and cached)
//   compiledBinding(name) / hasRole / userExists / isSeedUsername / userNamesWithUsername (for status)
//   index.nextExpiry(now)
//   decide(index, request) in ./decide.js; effectivePermissions, whoCan, scopesHolding,
//   missingPermissions, canAssign in ./queries.js; presets in ./presets.js.
//
// Everything derived is a function of the stored objects only, so any sequence of changes ends in
// the state a rebuild from the same objects gives (test/unit/authz/property.test.ts checks it with
// test/support/index-equivalence.ts, which compares every public answer). Expiry is evaluated when asked, with the injected clock, never at apply time.
import type { Namespace, ObjectMeta, Role, RoleBinding, Subject, SubjectKind, Team, User, UserState } from '../api/types.js';
import { namespaceOwner } from '../api/owner.js';
import { LABELS } from '../api/types.js';
import { ignoreListsOf, isBeingDeleted, usernameOf, type IgnoreLists } from './rules.js';
import type { PolicyConfig } from '../config.js';
import { GrantBits } from './grantbits.js';
import type { TargetShape } from './grantbits.js';
import { compileOwn, flattenRole, needsMatcher, walkIncludes, type CompiledRole, type OwnRole } from './roles.js';
export type { CompiledRole, OwnRole, RoleAtom } from './roles.js';

export type IndexedKind = 'User' | 'Role' | 'Team' | 'RoleBinding' | 'Namespace';

export interface ObjectOfKind {
  User: User;
  Role: Role;
  Team: Team;
  RoleBinding: RoleBinding;
  Namespace: Namespace;
}

export type Change =
  | { op: 'upsert'; kind: 'User'; object: User }
  | { op: 'upsert'; kind: 'Role'; object: Role }
  | { op: 'upsert'; kind: 'Team'; object: Team }
  | { op: 'upsert'; kind: 'RoleBinding'; object: RoleBinding }
  | { op: 'upsert'; kind: 'Namespace'; object: Namespace }
  | { op: 'delete'; kind: IndexedKind; name: string };

export interface World {
  users?: readonly User[];
  roles?: readonly Role[];
  teams?: readonly Team[];
  bindings?: readonly RoleBinding[];
  namespaces?: readonly Namespace[];
}

/** Milliseconds since the epoch; injected so expiry is testable. */
export type NowSource = (() => number) | { now(): number };

/** A user as decide() sees them: a User object, a seed admin from the configuration, or both. */
export interface UserRecord {
  /** The User object's metadata.name; null for a seed admin without a User object yet. */
  readonly name: string | null;
  readonly username: string;
  readonly state: UserState;
  readonly superuser: boolean;
  /** Listed in the configuration's seedAdmins: always an Active superuser. */
  readonly seed: boolean;
  readonly object: User | null;
  /** Its User object is being deleted (rules.ts isBeingDeleted): it counts as Suspended. */
  readonly deleting: boolean;
  /**
   * The names that refer to this user in binding subjects, team members and the namespace owner
   * label, through the one resolution (PermissionIndex.resolveUser): its User object's name, and
   * its username unless that is another User's object name. Object name first.
   */
  readonly aliases: readonly string[];
  /** Internal subject ids of the aliases as User subjects (decide()'s fast path). */
  readonly subjectIds: readonly number[];
  /** Live sets of the team ids naming each alias as a member. */
  readonly memberTeamIds: readonly ReadonlySet<number>[];
}

/**
 * A role name as decide() sees it: its small id (GrantBits), and the ids of the roles it holds
 * (itself and what it includes, transitively; empty while the role does not exist). A change to
 * a role's permissions touches only its own bits; closures change only when includes change.
 */
export interface RoleCell {
  readonly id: number;
  readonly closure: readonly number[];
  /** Some role in the closure has resourceNames grants, non-resource URLs or `me` (matcher needed). */
  readonly needsMatcher: boolean;
}

/** decide()'s per-namespace facts, in subject ids (see PermissionIndex.namespaceFast). */
export interface NamespaceFast {
  /** Bindings whose namespaces scope lists the namespace, by subject id. */
  bySubject: Map<number, Set<CompiledBinding>> | undefined;
  /** The team id of its iam.gatehouse.dev/team label. */
  labelTeamId: number | undefined;
  /** Team ids of teams listing it in spec.namespaces. */
  specTeamIds: Set<number> | undefined;
  /** Its iam.gatehouse.dev/owner label. */
  owner: string | undefined;
  /** Labelled iam.gatehouse.dev/visibility=public. */
  isPublic: boolean;
}

export type CompiledScope =
  | { readonly kind: 'cluster' }
  | { readonly kind: 'namespaces'; readonly namespaces: ReadonlySet<string> }
  | { readonly kind: 'teams'; readonly teams: ReadonlySet<string> };

export interface CompiledBinding {
  readonly name: string;
  readonly role: string;
  readonly subjects: readonly Subject[];
  readonly scope: CompiledScope;
  /** ms since epoch; null = never. NaN (unparseable expiresAt) counts as expired. */
  readonly expiresAt: number | null;
  readonly object: RoleBinding;
  /** The role as compiled now (a cell shared by every binding of the role, updated on recompiles). */
  readonly roleCell: RoleCell;
  /** Internal ids of the subjects (see PermissionIndex.subjectId), compared as numbers in decide(). */
  readonly subjectIds: readonly number[];
}

const EMPTY: ReadonlySet<never> = new Set();

/** Kinds that leave the index while being deleted; a User stays (see isBeingDeleted in rules.ts). */
const LEAVE_WHEN_DELETING: ReadonlySet<IndexedKind> = new Set(['Role', 'Team', 'RoleBinding']);
function leavesIndex(kind: IndexedKind, object: { metadata: ObjectMeta }): boolean {
  return LEAVE_WHEN_DELETING.has(kind) && isBeingDeleted(object.metadata);
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let s = map.get(key);
  if (!s) map.set(key, (s = new Set()));
  s.add(value);
}
function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const s = map.get(key);
  if (!s) return;
  s.delete(value);
  if (s.size === 0) map.delete(key);
}
const sorted = (it: Iterable<string>): string[] => [...it].sort();
function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
function addAt<V>(arr: (Set<V> | undefined)[], i: number, value: V): void {
  let s = arr[i];
  if (!s) arr[i] = s = new Set();
  s.add(value);
}
function removeAt<V>(arr: (Set<V> | undefined)[], i: number, value: V): void {
  const s = arr[i];
  if (!s) return;
  s.delete(value);
  if (s.size === 0) arr[i] = undefined;
}

export function renderScope(scope: CompiledScope): string {
  if (scope.kind === 'cluster') return 'cluster';
  if (scope.kind === 'teams') return `teams: ${[...scope.teams].join(',')}`;
  return `namespaces: ${[...scope.namespaces].join(',')}`;
}

function compileScope(b: RoleBinding): CompiledScope {
  const s = b.spec.scope ?? {};
  if (s.cluster) return { kind: 'cluster' };
  if (s.teams) return { kind: 'teams', teams: new Set(s.teams) };
  // No scope kind (the schema forbids it) grants nowhere rather than everywhere.
  return { kind: 'namespaces', namespaces: new Set(s.namespaces ?? []) };
}

function parseExpiry(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  return Date.parse(text);
}

export class PermissionIndex {
  readonly config: PolicyConfig;
  private readonly clock: () => number;
  private _synced = false;
  private _generation = 0;

  // Stored objects.
  private readonly users = new Map<string, User>();
  private readonly roles = new Map<string, Role>();
  private readonly teams = new Map<string, Team>();
  private readonly bindingObjs = new Map<string, RoleBinding>();
  private readonly namespaces = new Map<string, Namespace>();

  // Users.
  private readonly userNamesByUsername = new Map<string, Set<string>>();
  private readonly records = new Map<string, UserRecord>();
  private readonly seedUsernames: ReadonlySet<string>;

  // Roles.
  private readonly ownRoles = new Map<string, OwnRole>();
  /** Flattened roles (own + includes), built on first use and dropped when a role in them changes. */
  private readonly compiled = new Map<string, CompiledRole>();
  /** included role name -> roles whose spec.includes names it (present or not). */
  private readonly includedBy = new Map<string, Set<string>>();

  // Teams and namespaces.
  private readonly teamsByMember = new Map<string, Set<string>>();
  private readonly teamsByGroup = new Map<string, Set<string>>();
  /** namespace -> teams listing it in spec.namespaces. */
  private readonly specTeamsByNamespace = new Map<string, Set<string>>();
  /** namespace -> team from its iam.gatehouse.dev/team label, and the reverse. */
  private readonly labelTeamByNamespace = new Map<string, string>();
  private readonly labelNamespacesByTeam = new Map<string, Set<string>>();
  private readonly ownerByNamespace = new Map<string, string>();
  private readonly namespacesByOwner = new Map<string, Set<string>>();
  private readonly publicNamespaces = new Set<string>();

  // Bindings.
  private readonly bindings = new Map<string, CompiledBinding>();
  private readonly bindingsByUser = new Map<string, Set<CompiledBinding>>();
  private readonly bindingsByTeam = new Map<string, Set<CompiledBinding>>();
  private readonly bindingsByGroup = new Map<string, Set<CompiledBinding>>();
  // decide()'s lookups by where a binding applies, so a request touches only bindings that can
  // cover it: cluster-scoped ones by subject, the others by namespace or by team.
  private readonly clusterById: (Set<CompiledBinding> | undefined)[] = [undefined];
  // Subjects as small integers, so decide() compares numbers instead of chasing name strings.
  // Ids are never reused or freed (bounded by the distinct names ever seen); nothing outside
  // decide() sees them, so an index and its rebuild may number differently.
  private readonly subjectIdMaps: Readonly<Record<SubjectKind, Map<string, number>>> = { User: new Map(), Team: new Map(), Group: new Map() };
  private readonly subjectIdNames: string[] = [''];
  // (id 0 is unused; the id-indexed arrays start with its slot.)
  /** member -> team ids. Sets are never removed, so user records can hold them (no lookup per request). */
  private readonly teamIdsByMember = new Map<string, Set<number>>();
  private readonly teamIdsOfGroupId: (Set<number> | undefined)[] = [undefined];
  /** team id -> subject id -> bindings whose teams scope lists the team. */
  private readonly teamScopeById: (Map<number, Set<CompiledBinding>> | undefined)[] = [undefined];
  private readonly nsFast = new Map<string, NamespaceFast>();
  private readonly roleCells = new Map<string, { id: number; closure: number[]; needsMatcher: boolean }>();
  private readonly roleIdNames: string[] = [];
  private readonly ownById: (OwnRole | undefined)[] = [];
  private readonly grantBits = new GrantBits();
  private readonly bindingsByRole = new Map<string, Set<string>>();
  private readonly expiring = new Map<string, number>();

  constructor(config: PolicyConfig, clock: NowSource = Date.now) {
    this.config = config;
    this.clock = typeof clock === 'function' ? clock : () => clock.now();
    this.seedUsernames = new Set(config.seedAdmins.map((s) => s.username));
    for (const u of this.seedUsernames) this.refreshRecord(u);
    this.ignoreLists = ignoreListsOf(config.authorization);
    this.defaultTeamId = config.defaults.team !== undefined ? this.subjectId('Team', config.defaults.team) : undefined;
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
  get generation(): number {
    return this._generation;
  }
  markSynced(): void {
    if (!this._synced) this._generation++;
    this._synced = true;
  }

  // ---------------------------------------------------------------- changes

  apply(change: Change): void {
    this._generation++;
    if (change.op === 'delete') {
      this.remove(change.kind, change.name);
      return;
    }
    if (leavesIndex(change.kind, change.object)) {
      this.remove(change.kind, change.object.metadata.name);
      return;
    }
    switch (change.kind) {
      case 'User':
        return this.upsertUser(change.object);
      case 'Role':
        return this.upsertRole(change.object, false);
      case 'Team':
        return this.upsertTeam(change.object);
      case 'RoleBinding':
        return this.upsertBinding(change.object);
      case 'Namespace':
        return this.upsertNamespace(change.object);
    }
  }

  /** A relist: the index's objects of `kind` become exactly `objects`. */
  replaceAll<K extends IndexedKind>(kind: K, all: readonly ObjectOfKind[K][]): void {
    this._generation++;
    const objects = all.filter((o) => !leavesIndex(kind, o));
    const keep = new Set(objects.map((o) => o.metadata.name));
    for (const name of [...this.store(kind).keys()]) if (!keep.has(name)) this.remove(kind, name, kind !== 'Role');
    if (kind === 'Role') {
      // Compile once at the end instead of once per dependent per role.
      for (const o of objects) this.upsertRole(o as Role, true);
      this.recompileAllRoles();
      return;
    }
    for (const o of objects) {
      switch (kind) {
        case 'User':
          this.upsertUser(o as User);
          break;
        case 'Team':
          this.upsertTeam(o as Team);
          break;
        case 'RoleBinding':
          this.upsertBinding(o as RoleBinding);
          break;
        case 'Namespace':
          this.upsertNamespace(o as Namespace);
          break;
      }
    }
  }

  private store(kind: IndexedKind): Map<string, { metadata: ObjectMeta }> {
    switch (kind) {
      case 'User':
        return this.users;
      case 'Role':
        return this.roles;
      case 'Team':
        return this.teams;
      case 'RoleBinding':
        return this.bindingObjs;
      case 'Namespace':
        return this.namespaces;
    }
  }

  private remove(kind: IndexedKind, name: string, recompile = true): void {
    switch (kind) {
      case 'User':
        return this.removeUser(name);
      case 'Role':
        return this.removeRole(name, !recompile);
      case 'Team':
        return this.removeTeam(name);
      case 'RoleBinding':
        return this.removeBinding(name);
      case 'Namespace':
        return this.removeNamespace(name);
    }
  }

  // Users ------------------------------------------------------------------

  private upsertUser(user: User): void {
    this.removeUser(user.metadata.name);
    this.users.set(user.metadata.name, user);
    const username = usernameOf(user);
    addTo(this.userNamesByUsername, username, user.metadata.name);
    this.refreshRecord(username);
    // A User object's name takes that name from a username (resolveUser): refresh its record too.
    if (username !== user.metadata.name) this.refreshRecord(user.metadata.name);
  }

  private removeUser(name: string): void {
    const old = this.users.get(name);
    if (!old) return;
    this.users.delete(name);
    const username = usernameOf(old);
    removeFrom(this.userNamesByUsername, username, name);
    this.refreshRecord(username);
    if (username !== name) this.refreshRecord(name);
  }

  /**
   * The one resolution from a name in a binding subject, a team's members or a namespace owner
   * label to a User: the User object of that name, else the User whose username it is. So a
   * username never reaches what names another User's object (docs/security.md, item 3).
   */
  resolveUser(name: string): User | undefined {
    return this.users.get(name) ?? this.primaryUser(name) ?? undefined;
  }

  private primaryUser(username: string): User | null {
    const names = this.userNamesByUsername.get(username);
    if (!names || names.size === 0) return null;
    let first: string | null = null;
    for (const n of names) if (first === null || n < first) first = n;
    return this.users.get(first!) ?? null;
  }

  private refreshRecord(username: string): void {
    const user = this.primaryUser(username);
    const seed = this.seedUsernames.has(username);
    if (!user && !seed) {
      this.records.delete(username);
      return;
    }
    const name = user?.metadata.name ?? null;
    const aliases: string[] = [];
    if (name !== null) aliases.push(name);
    if (username !== name && (user === null ? !this.users.has(username) : this.resolveUser(username) === user)) aliases.push(username);
    const deleting = user !== null && isBeingDeleted(user.metadata);
    this.records.set(username, {
      subjectIds: aliases.map((a) => this.subjectId('User', a)),
      memberTeamIds: aliases.map((a) => this.memberTeamIds(a)),
      aliases,
      name,
      username,
      // Seed admins are protected from change (docs/design.md, "What admission enforces"): the configuration wins over the object.
      state: seed ? 'Active' : deleting ? 'Suspended' : (user!.spec.state ?? 'Pending'),
      superuser: seed || user!.spec.superuser === true,
      seed,
      deleting: !seed && deleting,
      object: user,
    });
  }

  // Roles ------------------------------------------------------------------

  private upsertRole(role: Role, bulk: boolean): void {
    const name = role.metadata.name;
    const old = this.ownRoles.get(name);
    const own = compileOwn(role);
    const cell = this.roleCell(name);
    if (old) {
      for (const inc of old.includes) removeFrom(this.includedBy, inc, name);
      this.grantBits.setRole(cell.id, old.parsed.map((p) => p.atom), false);
    }
    this.roles.set(name, role);
    this.ownRoles.set(name, own);
    this.ownById[cell.id] = own;
    for (const inc of own.includes) addTo(this.includedBy, inc, name);
    this.grantBits.setRole(cell.id, own.parsed.map((p) => p.atom), true);
    if (!bulk) this.roleChanged(name, !old || !sameList(old.includes, own.includes) || old.hasNamed !== own.hasNamed || needsMatcher(old) !== needsMatcher(own));
  }

  private removeRole(name: string, bulk: boolean): void {
    const old = this.ownRoles.get(name);
    if (!old) return;
    const cell = this.roleCell(name);
    for (const inc of old.includes) removeFrom(this.includedBy, inc, name);
    this.grantBits.setRole(cell.id, old.parsed.map((p) => p.atom), false);
    this.roles.delete(name);
    this.ownRoles.delete(name);
    this.ownById[cell.id] = undefined;
    if (!bulk) this.roleChanged(name, true);
  }

  /** Roles that include `name`, directly or not, and `name` itself. */
  private dependents(name: string): Set<string> {
    const seen = new Set<string>([name]);
    const queue = [name];
    for (let i = 0; i < queue.length; i++) {
      for (const r of this.includedBy.get(queue[i]!) ?? EMPTY) {
        if (!seen.has(r)) {
          seen.add(r);
          queue.push(r);
        }
      }
    }
    return seen;
  }

  /**
   * After a change to one role: drop the flattened roles that contain it, and, when what it
   * includes (or whether it exists) changed, recompute the closures that pass through it.
   */
  private roleChanged(name: string, structural: boolean): void {
    for (const r of this.dependents(name)) {
      this.compiled.delete(r);
      if (structural) this.recomputeClosure(r);
    }
  }

  private recompileAllRoles(): void {
    this.compiled.clear();
    for (const [name] of this.roleCells) this.recomputeClosure(name);
  }

  /** Breadth-first over includes from `name`, each role once, so cycles terminate. */
  private walkIncludes(name: string): string[] {
    return walkIncludes(name, this.ownRoles);
  }

  private compileRole(name: string): CompiledRole | undefined {
    const compiled = flattenRole(name, this.ownRoles);
    if (compiled) this.compiled.set(name, compiled);
    return compiled;
  }

  private recomputeClosure(name: string): void {
    const cell = this.roleCell(name);
    const order = this.walkIncludes(name);
    cell.closure = order.map((r) => this.roleCell(r).id);
    cell.needsMatcher = order.some((r) => needsMatcher(this.ownRoles.get(r)!));
  }

  // Teams ------------------------------------------------------------------

  private upsertTeam(team: Team): void {
    this.removeTeam(team.metadata.name);
    const name = team.metadata.name;
    this.teams.set(name, team);
    const id = this.subjectId('Team', name);
    for (const m of team.spec.members ?? []) {
      addTo(this.teamsByMember, m, name);
      this.memberTeamIds(m).add(id);
    }
    for (const g of team.spec.groups ?? []) {
      addTo(this.teamsByGroup, g, name);
      addAt(this.teamIdsOfGroupId, this.subjectId('Group', g), id);
    }
    for (const ns of team.spec.namespaces ?? []) {
      addTo(this.specTeamsByNamespace, ns, name);
      const f = this.fastFor(ns);
      (f.specTeamIds ??= new Set()).add(id);
    }
  }

  private removeTeam(name: string): void {
    const old = this.teams.get(name);
    if (!old) return;
    this.teams.delete(name);
    const id = this.subjectId('Team', name);
    for (const m of old.spec.members ?? []) {
      removeFrom(this.teamsByMember, m, name);
      this.teamIdsByMember.get(m)?.delete(id);
    }
    for (const g of old.spec.groups ?? []) {
      removeFrom(this.teamsByGroup, g, name);
      removeAt(this.teamIdsOfGroupId, this.subjectId('Group', g), id);
    }
    for (const ns of old.spec.namespaces ?? []) {
      removeFrom(this.specTeamsByNamespace, ns, name);
      const f = this.nsFast.get(ns);
      if (f?.specTeamIds) {
        f.specTeamIds.delete(id);
        if (f.specTeamIds.size === 0) f.specTeamIds = undefined;
        this.tidyFast(ns, f);
      }
    }
  }

  // Namespaces -------------------------------------------------------------

  private upsertNamespace(ns: Namespace): void {
    this.removeNamespace(ns.metadata.name);
    const name = ns.metadata.name;
    this.namespaces.set(name, ns);
    const labels = ns.metadata.labels ?? {};
    const team = labels[LABELS.team];
    if (team) {
      this.labelTeamByNamespace.set(name, team);
      addTo(this.labelNamespacesByTeam, team, name);
      this.fastFor(name).labelTeamId = this.subjectId('Team', team);
    }
    // The owner's username: the annotation when it agrees with the (encoded) label, else the label.
    const owner = namespaceOwner(ns.metadata);
    if (owner) {
      this.ownerByNamespace.set(name, owner);
      addTo(this.namespacesByOwner, owner, name);
      this.fastFor(name).owner = owner;
    }
    if (labels[LABELS.visibility] === 'public') {
      this.publicNamespaces.add(name);
      this.fastFor(name).isPublic = true;
    }
  }

  private removeNamespace(name: string): void {
    if (!this.namespaces.has(name)) return;
    this.namespaces.delete(name);
    const team = this.labelTeamByNamespace.get(name);
    if (team !== undefined) {
      this.labelTeamByNamespace.delete(name);
      removeFrom(this.labelNamespacesByTeam, team, name);
      const f = this.nsFast.get(name);
      if (f) {
        f.labelTeamId = undefined;
        this.tidyFast(name, f);
      }
    }
    const owner = this.ownerByNamespace.get(name);
    if (owner !== undefined) {
      this.ownerByNamespace.delete(name);
      removeFrom(this.namespacesByOwner, owner, name);
    }
    this.publicNamespaces.delete(name);
    const f = this.nsFast.get(name);
    if (f) {
      f.owner = undefined;
      f.isPublic = false;
      this.tidyFast(name, f);
    }
  }

  // Bindings ---------------------------------------------------------------

  private subjectMap(kind: SubjectKind): Map<string, Set<CompiledBinding>> {
    return kind === 'User' ? this.bindingsByUser : kind === 'Team' ? this.bindingsByTeam : this.bindingsByGroup;
  }

  private memberTeamIds(member: string): Set<number> {
    let set = this.teamIdsByMember.get(member);
    if (!set) this.teamIdsByMember.set(member, (set = new Set()));
    return set;
  }

  private fastFor(ns: string): NamespaceFast {
    let f = this.nsFast.get(ns);
    if (!f) this.nsFast.set(ns, (f = { bySubject: undefined, labelTeamId: undefined, specTeamIds: undefined, owner: undefined, isPublic: false }));
    return f;
  }
  private tidyFast(ns: string, f: NamespaceFast): void {
    if (f.bySubject === undefined && f.labelTeamId === undefined && f.specTeamIds === undefined && f.owner === undefined && !f.isPublic) this.nsFast.delete(ns);
  }
  private roleCell(name: string): { id: number; closure: number[]; needsMatcher: boolean } {
    let c = this.roleCells.get(name);
    if (!c) {
      this.roleCells.set(name, (c = { id: this.roleIdNames.length, closure: [], needsMatcher: false }));
      this.roleIdNames.push(name);
      this.ownById.push(undefined);
      // A binding may name a role before it exists; the closure fills in when it does.
      if (this.ownRoles.has(name)) this.recomputeClosure(name);
    }
    return c;
  }

  /** decide()'s fast path: a role's own compiled data by its id. */
  ownRoleById(id: number): OwnRole | undefined {
    return this.ownById[id];
  }

  /** The internal id of a subject, assigned on first sight. */
  private subjectId(kind: SubjectKind, name: string): number {
    const map = this.subjectIdMaps[kind];
    let id = map.get(name);
    if (id === undefined) {
      id = this.subjectIdNames.length;
      this.subjectIdNames.push(`${kind} ${name}`);
      map.set(name, id);
      // Grow the id-indexed arrays densely: assigning far past the end would turn them into
      // dictionaries (hash lookups instead of indexing).
      this.clusterById.push(undefined);
      this.teamIdsOfGroupId.push(undefined);
      this.teamScopeById.push(undefined);
    }
    return id;
  }

  private placeByScope(cb: CompiledBinding, add: boolean): void {
    const op = add ? addTo : removeFrom;
    if (cb.scope.kind === 'cluster') {
      for (const id of cb.subjectIds) (add ? addAt : removeAt)(this.clusterById, id, cb);
    } else if (cb.scope.kind === 'namespaces') {
      for (const ns of cb.scope.namespaces) {
        const f = add ? this.fastFor(ns) : this.nsFast.get(ns);
        if (!f) continue;
        const inner = (f.bySubject ??= new Map());
        for (const id of cb.subjectIds) op(inner, id, cb);
        if (inner.size === 0) f.bySubject = undefined;
        this.tidyFast(ns, f);
      }
    } else {
      for (const team of cb.scope.teams) {
        const tid = this.subjectId('Team', team);
        let inner = this.teamScopeById[tid];
        if (!inner) {
          if (!add) continue;
          this.teamScopeById[tid] = inner = new Map();
        }
        for (const id of cb.subjectIds) op(inner, id, cb);
        if (inner.size === 0) this.teamScopeById[tid] = undefined;
      }
    }
  }

  private upsertBinding(b: RoleBinding): void {
    this.removeBinding(b.metadata.name);
    const cb: CompiledBinding = {
      name: b.metadata.name,
      role: b.spec.role,
      subjects: b.spec.subjects ?? [],
      scope: compileScope(b),
      expiresAt: parseExpiry(b.spec.expiresAt),
      object: b,
      roleCell: this.roleCell(b.spec.role),
      subjectIds: (b.spec.subjects ?? []).map((s) => this.subjectId(s.kind, s.name)),
    };
    this.bindingObjs.set(cb.name, b);
    this.bindings.set(cb.name, cb);
    for (const s of cb.subjects) addTo(this.subjectMap(s.kind), s.name, cb);
    this.placeByScope(cb, true);
    addTo(this.bindingsByRole, cb.role, cb.name);
    if (cb.expiresAt !== null) this.expiring.set(cb.name, cb.expiresAt);
  }

  private removeBinding(name: string): void {
    const old = this.bindings.get(name);
    if (!old) return;
    this.bindingObjs.delete(name);
    this.bindings.delete(name);
    for (const s of old.subjects) removeFrom(this.subjectMap(s.kind), s.name, old);
    this.placeByScope(old, false);
    removeFrom(this.bindingsByRole, old.role, name);
    this.expiring.delete(name);
  }

  // ---------------------------------------------------------------- reads

  getUser(name: string): User | undefined {
    return this.users.get(name);
  }
  getUserByUsername(username: string): User | undefined {
    return this.primaryUser(username) ?? undefined;
  }
  /** The user as decide() sees them (User object and/or seed admin), by username. */
  userRecord(username: string): UserRecord | undefined {
    return this.records.get(username);
  }
  listUsers(): User[] {
    return [...this.users.values()];
  }
  /** Every known username: User objects and seed admins. */
  listUserRecords(): UserRecord[] {
    return [...this.records.values()];
  }
  getRole(name: string): Role | undefined {
    return this.roles.get(name);
  }
  listRoles(): Role[] {
    return [...this.roles.values()];
  }
  /** The role with its includes flattened (built on first use, cached until a role in it changes). */
  compiledRole(name: string): CompiledRole | undefined {
    return this.compiled.get(name) ?? this.compileRole(name);
  }
  getTeam(name: string): Team | undefined {
    return this.teams.get(name);
  }
  listTeams(): Team[] {
    return [...this.teams.values()];
  }
  getBinding(name: string): RoleBinding | undefined {
    return this.bindingObjs.get(name);
  }
  listBindings(): RoleBinding[] {
    return [...this.bindingObjs.values()];
  }
  listCompiledBindings(): CompiledBinding[] {
    return [...this.bindings.values()];
  }
  getNamespace(name: string): Namespace | undefined {
    return this.namespaces.get(name);
  }
  listNamespaces(): Namespace[] {
    return [...this.namespaces.values()];
  }

  /** Teams naming the user (by one of its aliases) as a member, without groups. */
  directTeams(user: UserRecord): Set<string> {
    const out = new Set<string>();
    for (const a of user.aliases) for (const t of this.teamsByMember.get(a) ?? EMPTY) out.add(t);
    return out;
  }
  /** Namespaces whose owner label names the user (by one of its aliases). */
  namespacesOwnedByUser(user: UserRecord): Set<string> {
    const out = new Set<string>();
    for (const a of user.aliases) for (const ns of this.namespacesByOwner.get(a) ?? EMPTY) out.add(ns);
    return out;
  }
  /** Teams the user is in for a request: direct members plus teams whose groups the request carries. */
  teamsOf(user: UserRecord, groups: readonly string[]): Set<string> {
    const out = this.directTeams(user);
    for (const g of groups) for (const t of this.teamsByGroup.get(g) ?? EMPTY) out.add(t);
    return out;
  }
  /** Hot-path variants for decide(): no copying. */
  teamsByMemberName(member: string): ReadonlySet<string> {
    return this.teamsByMember.get(member) ?? EMPTY;
  }
  teamsByGroupName(group: string): ReadonlySet<string> {
    return this.teamsByGroup.get(group) ?? EMPTY;
  }
  bindingsForSubject(kind: SubjectKind, name: string): ReadonlySet<CompiledBinding> {
    return this.subjectMap(kind).get(name) ?? EMPTY;
  }
  /** decide()'s fast path: cluster-scoped bindings by internal subject id. */
  clusterBindingsForSubjectId(id: number): ReadonlySet<CompiledBinding> | undefined {
    return this.clusterById[id];
  }
  /** decide()'s fast path: the roles (bitset over RoleCell.id) whose plain grants allow the shape. */
  roleBitsFor(t: TargetShape): Uint32Array {
    return this.grantBits.bitsFor(t);
  }
  /** decide()'s fast path: what a namespace contributes (scoped bindings, owning teams) in ids. */
  namespaceFast(namespace: string): Readonly<NamespaceFast> | undefined {
    return this.nsFast.get(namespace);
  }
  /** decide()'s fast path: bindings whose teams scope lists the team, by subject id. */
  teamScopeBindings(teamId: number): ReadonlyMap<number, ReadonlySet<CompiledBinding>> | undefined {
    return this.teamScopeById[teamId];
  }
  /** decide()'s fast path: the internal ids of every subject the request is (user, teams, groups). */
  requestSubjectIds(user: UserRecord, groups: readonly string[]): number[] {
    const out: number[] = [];
    for (const id of user.subjectIds) out.push(id);
    for (const set of user.memberTeamIds) for (const id of set) out.push(id);
    const groupIds = this.subjectIdMaps.Group;
    for (const g of groups) {
      const gid = groupIds.get(g);
      if (gid === undefined) continue;
      out.push(gid);
      const teams = this.teamIdsOfGroupId[gid];
      if (teams !== undefined) for (const id of teams) out.push(id);
    }
    return out;
  }
  /** The namespace's iam.gatehouse.dev/team label, and the teams listing it in spec.namespaces. */
  namespaceLabelTeam(namespace: string): string | undefined {
    return this.labelTeamByNamespace.get(namespace);
  }
  namespaceSpecTeams(namespace: string): ReadonlySet<string> | undefined {
    return this.specTeamsByNamespace.get(namespace);
  }

  /** A team's namespaces: spec.namespaces plus namespaces labelled iam.gatehouse.dev/team=<team>. */
  teamNamespaces(team: string): Set<string> {
    const out = new Set<string>(this.teams.get(team)?.spec.namespaces ?? []);
    for (const ns of this.labelNamespacesByTeam.get(team) ?? EMPTY) out.add(ns);
    return out;
  }
  /** Whether `namespace` belongs to `team` (either way). */
  teamOwnsNamespace(team: string, namespace: string): boolean {
    return this.labelTeamByNamespace.get(namespace) === team || (this.specTeamsByNamespace.get(namespace)?.has(team) ?? false);
  }
  /** Teams a namespace belongs to. */
  namespaceTeams(namespace: string): Set<string> {
    const out = new Set<string>(this.specTeamsByNamespace.get(namespace) ?? EMPTY);
    const l = this.labelTeamByNamespace.get(namespace);
    if (l !== undefined) out.add(l);
    return out;
  }
  namespaceOwner(namespace: string): string | undefined {
    return this.ownerByNamespace.get(namespace);
  }
  namespacesOwnedBy(owner: string): ReadonlySet<string> {
    return this.namespacesByOwner.get(owner) ?? EMPTY;
  }
  isPublicNamespace(namespace: string): boolean {
    return this.publicNamespaces.has(namespace);
  }
  listPublicNamespaces(): string[] {
    return sorted(this.publicNamespaces);
  }
  bindingsForRole(role: string): string[] {
    return sorted(this.bindingsByRole.get(role) ?? EMPTY);
  }

  /** Whether a binding's scope covers a namespace (undefined = a cluster-scoped request). */
  scopeCovers(scope: CompiledScope, namespace: string | undefined): boolean {
    if (scope.kind === 'cluster') return true;
    if (namespace === undefined) return false;
    if (scope.kind === 'namespaces') return scope.namespaces.has(namespace);
    const label = this.labelTeamByNamespace.get(namespace);
    if (label !== undefined && scope.teams.has(label)) return true;
    const owners = this.specTeamsByNamespace.get(namespace);
    if (owners) for (const t of owners) if (scope.teams.has(t)) return true;
    return false;
  }

  /** The earliest expiresAt after `now`, or null; the controller sets a timer for it. */
  nextExpiry(now: number = this.now()): number | null {
    // The answer for `from` stays right for any later `now` before it, until the index changes.
    const c = this.expiryCache;
    if (c !== null && c.generation === this._generation && now >= c.from && (c.next === null || now < c.next)) return c.next;
    let best: number | null = null;
    for (const t of this.expiring.values()) if (t > now && (best === null || t < best)) best = t;
    this.expiryCache = { generation: this._generation, from: now, next: best };
    return best;
  }
  private expiryCache: { generation: number; from: number; next: number | null } | null = null;

  // ---------------------------------------------------------------- for status (src/controller/diagnostics.ts)

  /** A binding as compiled (scope, expiry, subjects), by name. */
  compiledBinding(name: string): CompiledBinding | undefined {
    return this.bindings.get(name);
  }
  /** Whether a Role object of this name exists (included or bound roles may not). */
  hasRole(name: string): boolean {
    return this.ownRoles.has(name);
  }
  /** Whether a User subject or team member resolves: a User's object name, a username, or a seed admin. */
  userExists(nameOrUsername: string): boolean {
    return this.users.has(nameOrUsername) || this.records.has(nameOrUsername);
  }
  /** Whether the configuration lists this username as a seed admin. */
  isSeedUsername(username: string): boolean {
    return this.seedUsernames.has(username);
  }
  /** The names of every User object with this username (more than one is a conflict). */
  userNamesWithUsername(username: string): ReadonlySet<string> {
    return this.userNamesByUsername.get(username) ?? EMPTY;
  }
}
