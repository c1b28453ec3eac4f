// The permission index: Users, Roles, Teams, RoleBindings and Namespaces, plus the policy
// configuration, kept in lookups that let decide() answer without scanning, and updated one object
// at a time (the controller's watch events) without a rebuild.
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
//   index.roleDiagnostics(name) / teamDiagnostics(name) / bindingDiagnostics(name) / userDiagnostics(name)
//   index.nextExpiry(now)
//   decide(index, request) in ./decide.js; effectivePermissions, whoCan, scopesHolding,
//   missingPermissions, canAssign in ./queries.js; presets in ./presets.js.
//
// Everything derived is a function of the stored objects only, so any sequence of changes ends in
// the state a rebuild from the same objects gives (test/unit/authz/property.test.ts checks it with
// snapshot()). Expiry is evaluated when asked, with the injected clock, never at apply time.
import type { Namespace, ObjectMeta, Role, RoleBinding, Subject, SubjectKind, Team, User, UserState } from '../api/types.js';
import { namespaceOwner } from '../api/owner.js';
import { LABELS, usernameOf } from '../api/types.js';
import type { PolicyConfig } from '../config.js';
import { PermissionSyntaxError } from '../errors.js';
import { RoleMatcher } from './matcher.js';
import type { ParsedPermission, PermissionAtom } from './permission.js';
import { compileRule, formatAtom, parsePermission } from './permission.js';

export type IndexedKind = 'User' | 'Role' | 'Team' | 'RoleBinding' | 'Namespace';
export const INDEXED_KINDS: readonly IndexedKind[] = ['User', 'Role', 'Team', 'RoleBinding', 'Namespace'];

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
export type Clock = (() => number) | { now(): number };

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
}

/** One atom of a role, and which role (itself or an included one) it came from. */
export interface RoleAtom {
  readonly role: string;
  readonly text: string;
  readonly atom: PermissionAtom;
}

export interface CompiledRole {
  readonly name: string;
  /** Own and included atoms, own first, includes breadth-first, each role once. */
  readonly atoms: readonly RoleAtom[];
  readonly matcher: RoleMatcher;
  /** Roles this one includes transitively (itself excluded), existing ones only. */
  readonly includes: readonly string[];
  readonly missingIncludes: readonly string[];
  /** When the role lies on an include cycle: the cycle, e.g. [a, b, a]. */
  readonly cycle: readonly string[] | null;
  /** Own errors (permissions and rules that do not parse; they grant nothing). */
  readonly invalid: readonly { permission: string; problem: string }[];
  /** Roles its holders may assign (own canAssign plus included roles'). */
  readonly canAssign: ReadonlySet<string>;
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
}

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
}

const EMPTY: ReadonlySet<never> = new Set();

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

interface OwnRole {
  parsed: ParsedPermission[];
  invalid: { permission: string; problem: string }[];
  includes: string[];
  canAssign: string[];
}

function compileOwn(role: Role): OwnRole {
  const parsed: ParsedPermission[] = [];
  const invalid: { permission: string; problem: string }[] = [];
  for (const p of role.spec.permissions ?? []) {
    try {
      parsed.push(parsePermission(p));
    } catch (err) {
      if (!(err instanceof PermissionSyntaxError)) throw err;
      invalid.push({ permission: p, problem: err.message });
    }
  }
  (role.spec.rules ?? []).forEach((rule, i) => {
    try {
      parsed.push(...compileRule(rule, i));
    } catch (err) {
      if (!(err instanceof PermissionSyntaxError)) throw err;
      invalid.push({ permission: err.permission, problem: err.message });
    }
  });
  return { parsed, invalid, includes: [...(role.spec.includes ?? [])], canAssign: [...(role.spec.canAssign ?? [])] };
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
  private readonly bindingsByRole = new Map<string, Set<string>>();
  private readonly expiring = new Map<string, number>();

  constructor(config: PolicyConfig, clock: Clock = Date.now) {
    this.config = config;
    this.clock = typeof clock === 'function' ? clock : () => clock.now();
    this.seedUsernames = new Set(config.seedAdmins.map((s) => s.username));
    for (const u of this.seedUsernames) this.refreshRecord(u);
    this.ignoreUsers = new Set(config.authorization.ignoreUsers);
    this.ignoreGroups = new Set(config.authorization.ignoreGroups);
  }

  /** The configured ignore lists as Sets, for decide()'s first step. */
  readonly ignoreUsers: ReadonlySet<string>;
  readonly ignoreGroups: ReadonlySet<string>;

  /** Builds an index from a complete world; it is marked synced. */
  static build(world: World, config: PolicyConfig, clock: Clock = Date.now): PermissionIndex {
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
    switch (change.kind) {
      case 'User':
        return this.upsertUser(change.object);
      case 'Role':
        return this.upsertRole(change.object, true);
      case 'Team':
        return this.upsertTeam(change.object);
      case 'RoleBinding':
        return this.upsertBinding(change.object);
      case 'Namespace':
        return this.upsertNamespace(change.object);
    }
  }

  /** A relist: the index's objects of `kind` become exactly `objects`. */
  replaceAll<K extends IndexedKind>(kind: K, objects: readonly ObjectOfKind[K][]): void {
    this._generation++;
    const keep = new Set(objects.map((o) => o.metadata.name));
    for (const name of [...this.store(kind).keys()]) if (!keep.has(name)) this.remove(kind, name, kind !== 'Role');
    if (kind === 'Role') {
      // Compile once at the end instead of once per dependent per role.
      for (const o of objects) this.upsertRole(o as Role, false);
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
        return this.removeRole(name, recompile);
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
  }

  private removeUser(name: string): void {
    const old = this.users.get(name);
    if (!old) return;
    this.users.delete(name);
    const username = usernameOf(old);
    removeFrom(this.userNamesByUsername, username, name);
    this.refreshRecord(username);
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
    this.records.set(username, {
      name: user?.metadata.name ?? null,
      username,
      // Seed admins are protected from change (product.md): the configuration wins over the object.
      state: seed ? 'Active' : (user!.spec.state ?? 'Pending'),
      superuser: seed || user!.spec.superuser === true,
      seed,
      object: user,
    });
  }

  // Roles ------------------------------------------------------------------

  private upsertRole(role: Role, recompile: boolean): void {
    const name = role.metadata.name;
    const old = this.ownRoles.get(name);
    if (old) for (const inc of old.includes) removeFrom(this.includedBy, inc, name);
    this.roles.set(name, role);
    const own = compileOwn(role);
    this.ownRoles.set(name, own);
    for (const inc of own.includes) addTo(this.includedBy, inc, name);
    if (recompile) this.recompileDependents(name);
  }

  private removeRole(name: string, recompile: boolean): void {
    const old = this.ownRoles.get(name);
    if (!old) return;
    for (const inc of old.includes) removeFrom(this.includedBy, inc, name);
    this.roles.delete(name);
    this.ownRoles.delete(name);
    this.compiled.delete(name);
    if (recompile) this.recompileDependents(name);
  }

  /** Recompiles `name` and every role that includes it, directly or not. */
  private recompileDependents(name: string): void {
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
    for (const r of seen) this.recompileRole(r);
  }

  private recompileAllRoles(): void {
    this.compiled.clear();
    for (const name of this.ownRoles.keys()) this.recompileRole(name);
  }

  private recompileRole(name: string): void {
    const own = this.ownRoles.get(name);
    if (!own) {
      this.compiled.delete(name);
      return;
    }
    const atoms: RoleAtom[] = [];
    const includes: string[] = [];
    const missing = new Set<string>();
    const canAssign = new Set<string>();
    const parent = new Map<string, string>();
    let cycle: string[] | null = null;
    const seen = new Set<string>([name]);
    const queue = [name];
    for (let i = 0; i < queue.length; i++) {
      const r = queue[i]!;
      const o = this.ownRoles.get(r)!;
      for (const p of o.parsed) atoms.push({ role: r, text: p.text, atom: p.atom });
      for (const c of o.canAssign) canAssign.add(c);
      for (const inc of o.includes) {
        if (inc === name && cycle === null) {
          // Breadth-first, so this is a shortest cycle through the role.
          const path = [name];
          for (let at = r; at !== name; at = parent.get(at)!) path.push(at);
          path.push(name);
          cycle = [name, ...path.slice(1, -1).reverse(), name];
        }
        if (seen.has(inc)) continue;
        seen.add(inc);
        if (!this.ownRoles.has(inc)) {
          // Only the role's own missing includes are its problem; deeper ones show on the role that names them.
          if (r === name) missing.add(inc);
          continue;
        }
        parent.set(inc, r);
        includes.push(inc);
        queue.push(inc);
      }
    }
    this.compiled.set(name, {
      name,
      atoms,
      matcher: new RoleMatcher(atoms.map((a) => a.atom)),
      includes,
      missingIncludes: sorted(missing),
      cycle,
      invalid: own.invalid,
      canAssign,
    });
  }

  // Teams ------------------------------------------------------------------

  private upsertTeam(team: Team): void {
    this.removeTeam(team.metadata.name);
    const name = team.metadata.name;
    this.teams.set(name, team);
    for (const m of team.spec.members ?? []) addTo(this.teamsByMember, m, name);
    for (const g of team.spec.groups ?? []) addTo(this.teamsByGroup, g, name);
    for (const ns of team.spec.namespaces ?? []) addTo(this.specTeamsByNamespace, ns, name);
  }

  private removeTeam(name: string): void {
    const old = this.teams.get(name);
    if (!old) return;
    this.teams.delete(name);
    for (const m of old.spec.members ?? []) removeFrom(this.teamsByMember, m, name);
    for (const g of old.spec.groups ?? []) removeFrom(this.teamsByGroup, g, name);
    for (const ns of old.spec.namespaces ?? []) removeFrom(this.specTeamsByNamespace, ns, name);
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
    }
    // The owner's username: the annotation when it agrees with the (encoded) label, else the label.
    const owner = namespaceOwner(ns.metadata);
    if (owner) {
      this.ownerByNamespace.set(name, owner);
      addTo(this.namespacesByOwner, owner, name);
    }
    if (labels[LABELS.visibility] === 'public') this.publicNamespaces.add(name);
  }

  private removeNamespace(name: string): void {
    if (!this.namespaces.has(name)) return;
    this.namespaces.delete(name);
    const team = this.labelTeamByNamespace.get(name);
    if (team !== undefined) {
      this.labelTeamByNamespace.delete(name);
      removeFrom(this.labelNamespacesByTeam, team, name);
    }
    const owner = this.ownerByNamespace.get(name);
    if (owner !== undefined) {
      this.ownerByNamespace.delete(name);
      removeFrom(this.namespacesByOwner, owner, name);
    }
    this.publicNamespaces.delete(name);
  }

  // Bindings ---------------------------------------------------------------

  private subjectMap(kind: SubjectKind): Map<string, Set<CompiledBinding>> {
    return kind === 'User' ? this.bindingsByUser : kind === 'Team' ? this.bindingsByTeam : this.bindingsByGroup;
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
    };
    this.bindingObjs.set(cb.name, b);
    this.bindings.set(cb.name, cb);
    for (const s of cb.subjects) addTo(this.subjectMap(s.kind), s.name, cb);
    addTo(this.bindingsByRole, cb.role, cb.name);
    if (cb.expiresAt !== null) this.expiring.set(cb.name, cb.expiresAt);
  }

  private removeBinding(name: string): void {
    const old = this.bindings.get(name);
    if (!old) return;
    this.bindingObjs.delete(name);
    this.bindings.delete(name);
    for (const s of old.subjects) removeFrom(this.subjectMap(s.kind), s.name, old);
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
  compiledRole(name: string): CompiledRole | undefined {
    return this.compiled.get(name);
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
  compiledBinding(name: string): CompiledBinding | undefined {
    return this.bindings.get(name);
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

  /** Teams naming the user (by object name or username) as a member, without groups. */
  directTeams(user: UserRecord): Set<string> {
    const out = new Set<string>(this.teamsByMember.get(user.username) ?? EMPTY);
    if (user.name !== null) for (const t of this.teamsByMember.get(user.name) ?? EMPTY) out.add(t);
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

  /** Whether a binding grants nothing any more at `now`. */
  static isExpired(b: CompiledBinding, now: number): boolean {
    return b.expiresAt !== null && !(b.expiresAt > now);
  }

  /** The earliest expiresAt after `now`, or null; the controller sets a timer for it. */
  nextExpiry(now: number = this.now()): number | null {
    let best: number | null = null;
    for (const t of this.expiring.values()) if (t > now && (best === null || t < best)) best = t;
    return best;
  }

  // ---------------------------------------------------------------- diagnostics

  roleDiagnostics(name: string): RoleDiagnostics | undefined {
    const c = this.compiled.get(name);
    if (!c) return undefined;
    return {
      permissionCount: c.atoms.length,
      invalidPermissions: c.invalid.map((i) => i.permission),
      problems: c.invalid.map((i) => i.problem),
      missingIncludes: [...c.missingIncludes],
      cycle: c.cycle ? [...c.cycle] : null,
      bindingCount: this.bindingsByRole.get(name)?.size ?? 0,
    };
  }

  private userExists(nameOrUsername: string): boolean {
    return this.users.has(nameOrUsername) || this.records.has(nameOrUsername);
  }

  teamDiagnostics(name: string): TeamDiagnostics | undefined {
    const team = this.teams.get(name);
    if (!team) return undefined;
    const members = new Set(team.spec.members ?? []);
    return {
      memberCount: members.size,
      namespaces: sorted(this.teamNamespaces(name)),
      missingMembers: sorted([...members].filter((m) => !this.userExists(m))),
      bindingCount: this.bindingsByTeam.get(name)?.size ?? 0,
    };
  }

  bindingDiagnostics(name: string, now: number = this.now()): BindingDiagnostics | undefined {
    const b = this.bindings.get(name);
    if (!b) return undefined;
    const unresolved: string[] = [];
    for (const s of b.subjects) {
      if (s.kind === 'User' && !this.userExists(s.name)) unresolved.push(`User ${s.name}`);
      if (s.kind === 'Team' && !this.teams.has(s.name)) unresolved.push(`Team ${s.name}`);
    }
    let resolved: string[] = [];
    if (b.scope.kind === 'namespaces') resolved = sorted(b.scope.namespaces);
    else if (b.scope.kind === 'teams') {
      const all = new Set<string>();
      for (const t of b.scope.teams) for (const ns of this.teamNamespaces(t)) all.add(ns);
      resolved = sorted(all);
    }
    return {
      scope: renderScope(b.scope),
      subjectCount: b.subjects.length,
      roleFound: this.compiled.has(b.role),
      unresolvedSubjects: unresolved,
      resolvedNamespaces: resolved,
      expired: PermissionIndex.isExpired(b, now),
      invalidExpiresAt: b.expiresAt !== null && Number.isNaN(b.expiresAt),
    };
  }

  userDiagnostics(name: string, now: number = this.now()): UserDiagnostics | undefined {
    const user = this.users.get(name);
    if (!user) return undefined;
    const username = usernameOf(user);
    const rec = this.records.get(username);
    const asRecord: UserRecord = rec && rec.name === name ? rec : { name, username, state: user.spec.state, superuser: !!user.spec.superuser, seed: false, object: user };
    const teams = this.directTeams(asRecord);
    const roles = new Set<string>();
    const consider = (set: ReadonlySet<CompiledBinding>): void => {
      for (const b of set) if (!PermissionIndex.isExpired(b, now)) roles.add(b.role);
    };
    consider(this.bindingsForSubject('User', name));
    if (username !== name) consider(this.bindingsForSubject('User', username));
    for (const t of teams) consider(this.bindingsForSubject('Team', t));
    const others = [...(this.userNamesByUsername.get(username) ?? EMPTY)].filter((n) => n !== name).sort();
    return {
      phase: asRecord.state,
      teams: sorted(teams),
      roles: sorted(roles),
      seed: this.seedUsernames.has(username),
      duplicateUsernameOf: others,
    };
  }

  /**
   * A canonical, order-independent rendering of everything derived, for tests: an index reached by
   * any sequence of changes must snapshot equal to one rebuilt from the same objects.
   */
  snapshot(): unknown {
    const mapOfSets = <V>(m: Map<string, Set<V>>, f: (v: V) => string) =>
      [...m.entries()].map(([k, s]) => [k, [...s].map(f).sort()] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const mapSorted = <V>(m: Map<string, V>, f: (v: V) => unknown) => [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => [k, f(v)]);
    return {
      users: sorted(this.users.keys()),
      records: mapSorted(this.records, (r) => ({ ...r, object: r.object?.metadata.name ?? null })),
      userNamesByUsername: mapOfSets(this.userNamesByUsername, String),
      roles: mapSorted(this.compiled, (c) => ({
        atoms: c.atoms.map((a) => `${a.role}:${formatAtom(a.atom)}`),
        includes: c.includes,
        missing: c.missingIncludes,
        cycle: c.cycle,
        invalid: c.invalid,
        canAssign: sorted(c.canAssign),
      })),
      includedBy: mapOfSets(this.includedBy, String),
      teamsByMember: mapOfSets(this.teamsByMember, String),
      teamsByGroup: mapOfSets(this.teamsByGroup, String),
      specTeamsByNamespace: mapOfSets(this.specTeamsByNamespace, String),
      labelTeamByNamespace: mapSorted(this.labelTeamByNamespace, String),
      labelNamespacesByTeam: mapOfSets(this.labelNamespacesByTeam, String),
      ownerByNamespace: mapSorted(this.ownerByNamespace, String),
      namespacesByOwner: mapOfSets(this.namespacesByOwner, String),
      publicNamespaces: sorted(this.publicNamespaces),
      bindings: mapSorted(this.bindings, (b) => ({ role: b.role, subjects: b.subjects, scope: renderScope(b.scope), expiresAt: b.expiresAt })),
      bindingsByUser: mapOfSets(this.bindingsByUser, (b) => b.name),
      bindingsByTeam: mapOfSets(this.bindingsByTeam, (b) => b.name),
      bindingsByGroup: mapOfSets(this.bindingsByGroup, (b) => b.name),
      bindingsByRole: mapOfSets(this.bindingsByRole, String),
      expiring: mapSorted(this.expiring, Number),
      namespaces: sorted(this.namespaces.keys()),
    };
  }
}

export function createPermissionIndex(config: PolicyConfig, clock?: Clock): PermissionIndex {
  return new PermissionIndex(config, clock);
}
