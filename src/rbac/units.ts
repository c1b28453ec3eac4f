// What each source of a grant compiles to, one unit at a time: a Role, a RoleBinding, a namespace
// (its owner and public bindings), the superusers, the default role, and the delegated-writes
// bindings of the project and default roles. A unit reads the world only through UnitReads, so
// the compiler (compile.ts) knows what each unit read and recompiles a unit only when one of those
// answers changed. Pure: no I/O, no clock.
import type { PolicyRule, Subject } from '../api/types.js';
import { rbacName, meta, PART_RESERVE, RBAC_GROUP, SOURCE_ANNOTATION, type RbacBindingObject, type RbacObject, type RbacSubject, type SourceKind } from './objects.js';
import type { RbacRole, RbacSource } from './source.js';
import { delegatedRules, roleRules, SUPERUSER_RULES } from './rules.js';
import { ignoreListsOf, leftAloneBecause } from '../authz/rules.js';

/** Whether a Role exists and whether it grants writes on Gatehouse's kinds (a delegate ClusterRole). */
export type RoleKind = 'absent' | 'plain' | 'delegate';

export const roleKindOf = (role: RbacRole | undefined): RoleKind => (role === undefined ? 'absent' : delegatedRules(role.atoms).length > 0 ? 'delegate' : 'plain');

/** A binding as a unit sees it: `live` is isLive() at the compile's clock. */
export interface UnitBinding {
  readonly name: string;
  readonly role: string;
  readonly subjects: readonly Subject[];
  readonly scope: { readonly kind: 'cluster' } | { readonly kind: 'namespaces'; readonly namespaces: readonly string[] } | { readonly kind: 'teams'; readonly teams: readonly string[] };
  readonly live: boolean;
}

/** Everything a unit may read. Each answer is one query the compiler remembers and re-checks. */
export interface UnitReads {
  readonly config: RbacSource['config'];
  role(name: string): RbacRole | undefined;
  roleKind(name: string): RoleKind;
  /** The API groups a group-less wildcard is written over (built-in, served, and named by Roles). */
  otherGroups(): readonly string[];
  binding(name: string): UnitBinding | undefined;
  /** The usernames of the eligible users decide() matches for a subject or member named `name`. */
  usersNamed(name: string): readonly string[];
  team(name: string): { readonly members: readonly string[]; readonly groups: readonly string[] } | undefined;
  namespaceExists(name: string): boolean;
  /** Owner (username) and visibility of an existing namespace. */
  project(name: string): { readonly owner: string | undefined; readonly isPublic: boolean } | undefined;
  teamNamespaces(team: string): readonly string[];
  /** The namespaces a `teams: [team]` scope covers: the team's and those of every team below it. */
  scopeNamespaces(team: string): readonly string[];
  /** Every eligible user, as one sorted subject list. */
  everyone(): readonly RbacSubject[];
  superusers(): readonly string[];
  /** Every eligible user who owns some namespace (when the owner role exists). */
  owners(): readonly string[];
  anyPublic(): boolean;
}

/** Whether decide() can grant to a user: step 1 (rules.ts leftAloneBecause) and step 4 (Active only). */
export function grantsTo(config: RbacSource['config'], username: string, active: boolean): boolean {
  return active && leftAloneBecause(ignoreListsOf(config.authorization), username, []) === null;
}

/** Groups written as subjects: no `system:` group (system:masters never grants; others are everyone's) and none ignored. */
export function writesGroup(config: RbacSource['config'], group: string): boolean {
  return group !== '' && !group.startsWith('system:') && !ignoreListsOf(config.authorization).groups.has(group);
}

/**
 * One subject object per user or group name, shared by every list that names it (a user is in
 * several bindings' lists and in everyone's: memory, issue 26). Nothing mutates a subject. The
 * compiler empties it when it outgrows the names its objects hold (trim), so names gone from the
 * world do not stay.
 */
export class SubjectPool {
  private readonly users = new Map<string, RbacSubject>();
  private readonly groups = new Map<string, RbacSubject>();

  subject(kind: RbacSubject['kind'], name: string): RbacSubject {
    const pool = kind === 'User' ? this.users : this.groups;
    let s = pool.get(name);
    if (s === undefined) pool.set(name, (s = { kind, apiGroup: RBAC_GROUP, name }));
    return s;
  }

  get size(): number {
    return this.users.size + this.groups.size;
  }

  trim(bound: number): void {
    if (this.size <= bound) return;
    this.users.clear();
    this.groups.clear();
  }
}

/** Groups first, then users, each sorted and once: the order every subject list is written in. */
export function subjectList(users: Iterable<string>, groups: Iterable<string>, pool?: SubjectPool): RbacSubject[] {
  const make = (kind: RbacSubject['kind']) => (name: string): RbacSubject => (pool ? pool.subject(kind, name) : { kind, apiGroup: RBAC_GROUP, name });
  return [...[...new Set(groups)].sort().map(make('Group')), ...[...new Set(users)].sort().map(make('User'))];
}

/** The objects one unit writes. */
export class UnitOutput {
  readonly objects: RbacObject[] = [];
  /** One annotations object per source annotation, shared by the unit's objects (a binding's RoleBinding in each namespace). */
  private readonly annotations = new Map<string, Record<string, string>>();
  constructor(
    private readonly maxSubjects: number,
    private readonly pool?: SubjectPool,
  ) {}

  /** subjectList() with this output's shared subjects. */
  subjects(users: Iterable<string>, groups: Iterable<string>): RbacSubject[] {
    return subjectList(users, groups, this.pool);
  }

  /** One roleRef object per role name in this unit. */
  private readonly roleRefs = new Map<string, RbacBindingObject['roleRef']>();

  private roleRefOf(name: string): RbacBindingObject['roleRef'] {
    let r = this.roleRefs.get(name);
    if (r === undefined) this.roleRefs.set(name, (r = { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name }));
    return r;
  }

  private annotationsOf(annotation: string): Record<string, string> {
    let a = this.annotations.get(annotation);
    if (a === undefined) this.annotations.set(annotation, (a = { [SOURCE_ANNOTATION]: annotation }));
    return a;
  }

  clusterRole(name: string, source: SourceKind, annotation: string, rules: PolicyRule[]): string {
    this.objects.push({ kind: 'ClusterRole', metadata: meta(name, undefined, source, this.annotationsOf(annotation)), rules });
    return name;
  }

  /**
   * One binding object for up to `maxSubjects` subjects (none when there are none); a longer list
   * is split into parts (splitSubjects) named `base` and `base:<id>`, each of at most `maxSubjects`.
   */
  bind(kind: RbacBindingObject['kind'], base: string, namespace: string | undefined, roleName: string, subjects: readonly RbacSubject[], source: SourceKind, annotation: string): void {
    const push = (name: string, chunk: RbacSubject[]): void => {
      this.objects.push({ kind, metadata: meta(name, namespace, source, this.annotationsOf(annotation)), roleRef: this.roleRefOf(roleName), subjects: chunk });
    };
    if (subjects.length === 0) return;
    // One list shared by every namespace a binding covers (nothing mutates it): memory, not copies.
    if (subjects.length <= this.maxSubjects) return push(base, subjects as RbacSubject[]);
    // The parts too: one array per part of this list, shared by every namespace and unit writing it.
    let slices = partLists.get(subjects);
    const parts = splitSubjects(subjects, this.maxSubjects);
    if (slices === undefined || slices.parts !== parts) partLists.set(subjects, (slices = { parts, lists: parts.map((p) => subjects.slice(p.start, p.end)) }));
    parts.forEach((part, i) => push(part.id === '' ? base : [base, part.id].join(':'), slices.lists[i]!));
  }
}

/** A part of a split subject list: subjects [start, end), named by `id` ('' for the first). */
export interface SubjectPart {
  readonly start: number;
  readonly end: number;
  readonly id: string;
}

/** FNV-1a, 32 bits: cheap, stable, and spread well enough to pick part boundaries. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Room for ':' and the id after a base name (PART_RESERVE). */
const PART_ID_LENGTH = PART_RESERVE - 1;
const partId = (s: RbacSubject): string => fnv1a(`${s.kind}:${s.name}`).toString(36).padStart(PART_ID_LENGTH, '0').slice(-PART_ID_LENGTH);

/** Per split subject list: its parts' subject arrays (memory: the list of everyone is written in many namespaces). */
const partLists = new WeakMap<readonly RbacSubject[], { parts: readonly SubjectPart[]; lists: RbacSubject[][] }>();

const splits = new WeakMap<readonly RbacSubject[], { max: number; parts: readonly SubjectPart[] }>();

/**
 * Splits a sorted subject list where its content says, not at every `max`-th position: a part
 * starts at each subject whose hash is 0 modulo about max/3 (content-defined chunking, as rsync
 * and backup tools do), or where the part would otherwise grow past `max`. A part is named by the
 * id of its first subject. So one subject added or removed changes only the part it falls in (and
 * its neighbour, when it is a boundary itself), not every part after it, and the same list always
 * gives the same parts: the split depends on the list alone, never on what was written before.
 * Memoised per list object: the lists of everyone are one array shared by many units.
 */
export function splitSubjects(subjects: readonly RbacSubject[], max: number): readonly SubjectPart[] {
  const memo = splits.get(subjects);
  if (memo !== undefined && memo.max === max) return memo.parts;
  const every = Math.max(2, Math.ceil(max / 3));
  const parts: SubjectPart[] = [];
  const used = new Set<string>(['']);
  let start = 0;
  let id = '';
  for (let i = 1; i < subjects.length; i++) {
    const full = i - start >= max;
    const natural = fnv1a(`${subjects[i]!.kind}:${subjects[i]!.name}`) % every === 0;
    if (!full && !natural) continue;
    const next = partId(subjects[i]!);
    // Two boundaries with one id in one list (odds of about 1 in 10^7): the later one does not
    // start a part, unless the part is full; then it takes its position as a suffix.
    let name = next;
    if (used.has(name)) {
      if (!full) continue;
      name = `${next.slice(0, 2)}${(i % 46656).toString(36).padStart(3, '0')}`;
    }
    parts.push({ start, end: i, id });
    used.add(name);
    start = i;
    id = name;
  }
  parts.push({ start, end: subjects.length, id });
  splits.set(subjects, { max, parts });
  return parts;
}

const roleName = (role: string): string => rbacName('role', role);
const delegateName = (role: string): string => rbacName('delegate', role);

/** Role R -> ClusterRole gatehouse:role:R, and gatehouse:delegate:R when it grants writes on Gatehouse's kinds. */
export function roleUnit(r: UnitReads, out: UnitOutput, name: string): void {
  const role = r.role(name);
  if (role === undefined) return;
  out.clusterRole(roleName(name), 'role', ['Role', name].join('/'), roleRules(role.atoms, r.otherGroups()));
  const rules = delegatedRules(role.atoms);
  if (rules.length > 0) out.clusterRole(delegateName(name), 'delegate', `Role/${name}`, rules);
}

/** A live RoleBinding -> its ClusterRoleBinding, or a RoleBinding in each namespace its scope covers. */
export function bindingUnit(r: UnitReads, out: UnitOutput, name: string): void {
  const b = r.binding(name);
  if (b === undefined || !b.live) return;
  const kind = r.roleKind(b.role);
  if (kind === 'absent') return; // RoleNotFound grants nothing
  const { users, groups } = resolveSubjects(r, b.subjects);
  if (users.length === 0 && groups.length === 0) return;
  const list = out.subjects(users, groups);
  const base = rbacName('binding', b.name, PART_RESERVE);
  const annotation = ['RoleBinding', b.name].join('/');
  // Written for cluster bindings too: approval (update/patch through `users:approve`) is in no role's rules.
  if (kind === 'delegate') out.bind('ClusterRoleBinding', rbacName('delegate', b.name, PART_RESERVE), undefined, delegateName(b.role), list, 'delegate', annotation);
  if (b.scope.kind === 'cluster') {
    out.bind('ClusterRoleBinding', base, undefined, roleName(b.role), list, 'binding', annotation);
    return;
  }
  const namespaces = new Set<string>();
  if (b.scope.kind === 'namespaces') {
    for (const ns of b.scope.namespaces) if (r.namespaceExists(ns)) namespaces.add(ns);
  } else {
    for (const t of b.scope.teams) for (const ns of r.scopeNamespaces(t)) namespaces.add(ns);
  }
  for (const ns of [...namespaces].sort()) out.bind('RoleBinding', base, ns, roleName(b.role), list, 'binding', annotation);
}

/** A binding's subjects as RBAC sees them: Users by username, Teams as their members and groups. */
function resolveSubjects(r: UnitReads, subjects: readonly Subject[]): { users: string[]; groups: string[] } {
  const users: string[] = [];
  const groups: string[] = [];
  for (const s of subjects) {
    if (s.kind === 'User') users.push(...r.usersNamed(s.name));
    else if (s.kind === 'Group') {
      if (writesGroup(r.config, s.name)) groups.push(s.name);
    } else {
      const team = r.team(s.name);
      if (!team) continue;
      for (const m of team.members) users.push(...r.usersNamed(m));
      for (const g of team.groups) if (writesGroup(r.config, g)) groups.push(g);
    }
  }
  return { users, groups };
}

/** Superusers -> ClusterRoleBinding gatehouse:superusers to ClusterRole gatehouse:superuser. */
export function superusersUnit(r: UnitReads, out: UnitOutput): void {
  const superusers = r.superusers();
  if (superusers.length === 0) return;
  const cr = out.clusterRole('gatehouse:superuser', 'superuser', 'User.spec.superuser', SUPERUSER_RULES.map((rule) => ({ ...rule })));
  out.bind('ClusterRoleBinding', 'gatehouse:superusers', undefined, cr, out.subjects(superusers, []), 'superuser', 'User.spec.superuser');
}

const existing = (r: UnitReads, role: string | undefined): string | undefined => (role && r.roleKind(role) !== 'absent' ? role : undefined);

/** Namespace N (decide() step 7) -> gatehouse:project-owner for its owner, gatehouse:public when public. */
export function namespaceUnit(r: UnitReads, out: UnitOutput, name: string): void {
  const ns = r.project(name);
  if (ns === undefined) return;
  const ownerRole = existing(r, r.config.projects.ownerRole);
  if (ownerRole && ns.owner !== undefined) {
    const who = r.usersNamed(ns.owner);
    if (who.length > 0) out.bind('RoleBinding', 'gatehouse:project-owner', name, roleName(ownerRole), out.subjects(who, []), 'project-owner', 'projects.ownerRole');
  }
  if (!ns.isPublic) return;
  const publicRole = existing(r, r.config.projects.publicRole);
  if (publicRole) out.bind('RoleBinding', 'gatehouse:public', name, roleName(publicRole), r.everyone(), 'public', 'projects.publicRole');
}

/** defaults {role, team} (decide() step 8) -> gatehouse:default in each of the team's namespaces. */
export function defaultUnit(r: UnitReads, out: UnitOutput): void {
  const { team } = r.config.defaults;
  const role = team ? existing(r, r.config.defaults.role) : undefined;
  if (!role || !team) return;
  for (const ns of r.teamNamespaces(team)) out.bind('RoleBinding', 'gatehouse:default', ns, roleName(role), r.everyone(), 'default', 'defaults');
}

/** Delegated administration through the project and default roles (decide()'s holdAnywhere). */
export function delegatesUnit(r: UnitReads, out: UnitOutput): void {
  const { projects, defaults } = r.config;
  const delegating = (role: string | undefined): string | undefined => (role && r.roleKind(role) === 'delegate' ? role : undefined);
  const ownerRole = delegating(projects.ownerRole);
  if (ownerRole) {
    const owners = r.owners();
    if (owners.length > 0) out.bind('ClusterRoleBinding', 'gatehouse:project-owners:delegate', undefined, delegateName(ownerRole), out.subjects(owners, []), 'delegate', 'projects.ownerRole');
  }
  const publicRole = delegating(projects.publicRole);
  if (publicRole && r.anyPublic()) out.bind('ClusterRoleBinding', 'gatehouse:public:delegate', undefined, delegateName(publicRole), r.everyone(), 'delegate', 'projects.publicRole');
  const defRole = defaults.team ? delegating(defaults.role) : undefined;
  if (defRole) out.bind('ClusterRoleBinding', 'gatehouse:default:delegate', undefined, delegateName(defRole), r.everyone(), 'delegate', 'defaults');
}
