// What each console page shows, computed from the objects the caller could list. Pure: no I/O,
// the clock passed in. The client core's helpers (src/client/assignments.ts) say which teams and
// bindings belong to a user, so the console and `kubectl gatehouse user show` cannot disagree.
import { LABELS, type Team, type User, type RoleBinding } from '../api/types.js';
import { usernameOf } from '../authz/rules.js';
import type { World, PermissionIndex } from '../authz/index.js';
import type { PermissionAtom } from '../authz/permission.js';
import { teamsOfUser, bindingsOfUser, subjectsText } from '../client/assignments.js';
import { scopeText } from '../authz/scope.js';
import { treeRows, quotaRows, childrenByParent } from '../client/team-tree.js';
import { parseQuantity } from '../quota/quantity.js';

export interface Page<T> {
  items: T[];
  /** How many matched the search (before paging). */
  total: number;
  offset: number;
  limit: number;
}

export const MAX_PAGE = 500;

/** Case-insensitive search over `text(item)` (every word must occur), then one page. */
export function paged<T>(all: readonly T[], text: (item: T) => string, q: string, offset: number, limit: number): Page<T> {
  const words = q.toLowerCase().split(/\s+/).filter(Boolean);
  const hits = words.length === 0 ? all : all.filter((item) => {
    const t = text(item).toLowerCase();
    return words.every((w) => t.includes(w));
  });
  const lim = Math.min(Math.max(1, Math.trunc(limit) || 50), MAX_PAGE);
  const off = Math.min(Math.max(0, Math.trunc(offset) || 0), Math.max(0, hits.length - 1));
  return { items: hits.slice(off, off + lim), total: hits.length, offset: off, limit: lim };
}

export interface Grant {
  binding: string;
  role: string;
  scope: string;
  /** `User alice` or `Team vision`: how the assignment reaches the user. */
  via: string;
  expiresAt?: string;
  expired: boolean;
}

export interface UserRow {
  name: string;
  username: string;
  email: string;
  displayName: string;
  state: string;
  superuser: boolean;
  seed: boolean;
  teams: string[];
  roles: Grant[];
  /** The soonest future expiry among the user's grants. */
  nextExpiry?: string;
  registered?: string;
}

function grantOf(b: RoleBinding, names: ReadonlySet<string>, teams: readonly string[], now: number): Grant {
  const s = b.spec.subjects.find((x) => (x.kind === 'User' && names.has(x.name)) || (x.kind === 'Team' && teams.includes(x.name)));
  const expired = b.spec.expiresAt !== undefined && !(Date.parse(b.spec.expiresAt) > now);
  return {
    binding: b.metadata.name,
    role: b.spec.role,
    scope: scopeText(b.spec.scope),
    via: s ? `${s.kind} ${s.name}` : subjectsText(b.spec.subjects),
    ...(b.spec.expiresAt ? { expiresAt: b.spec.expiresAt } : {}),
    expired,
  };
}

/** Object names are ASCII: a plain comparison sorts them as kubectl does, and far faster than localeCompare. */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Builds one row per user with every role assignment naming the user or one of the user's teams.
 * The subject indexes are made once, so a page of 50 rows out of 10,000 users costs 50 rows.
 */
export function userRowBuilder(world: Pick<Required<World>, 'teams' | 'bindings'>, now: number): (u: User) => UserRow {
  const byUser = new Map<string, RoleBinding[]>();
  const byTeam = new Map<string, RoleBinding[]>();
  for (const b of world.bindings) {
    for (const s of b.spec.subjects) {
      const map = s.kind === 'User' ? byUser : s.kind === 'Team' ? byTeam : undefined;
      if (!map) continue;
      const list = map.get(s.name) ?? [];
      list.push(b);
      map.set(s.name, list);
    }
  }
  const teamsByMember = new Map<string, Team[]>();
  for (const t of world.teams) {
    for (const m of t.spec.members ?? []) {
      const list = teamsByMember.get(m) ?? [];
      list.push(t);
      teamsByMember.set(m, list);
    }
  }
  return (u) => {
    const names = new Set([u.metadata.name, usernameOf(u)]);
    const candidateTeams = [...new Set([...names].flatMap((n) => teamsByMember.get(n) ?? []))];
    const teams = teamsOfUser(u, candidateTeams);
    const candidates = [...new Set([...[...names].flatMap((n) => byUser.get(n) ?? []), ...teams.flatMap((t) => byTeam.get(t) ?? [])])];
    const roles = bindingsOfUser(u, teams, candidates)
      .sort((a, b) => byName(a.metadata.name, b.metadata.name))
      .map((b) => grantOf(b, names, teams, now));
    const future = roles.filter((r) => r.expiresAt && !r.expired).map((r) => r.expiresAt as string).sort();
    return {
      name: u.metadata.name,
      username: usernameOf(u),
      email: u.spec.email ?? '',
      displayName: u.spec.displayName ?? '',
      state: u.spec.state,
      superuser: u.spec.superuser === true,
      seed: u.status?.seed === true || u.metadata.labels?.[LABELS.seed] !== undefined,
      teams,
      roles,
      ...(future[0] ? { nextExpiry: future[0] } : {}),
      ...(u.metadata.creationTimestamp ? { registered: u.metadata.creationTimestamp } : {}),
    };
  };
}

/** Every user's row, by name. */
export function userRows(world: Pick<Required<World>, 'users' | 'teams' | 'bindings'>, now: number): UserRow[] {
  return [...world.users].sort((a, b) => byName(a.metadata.name, b.metadata.name)).map(userRowBuilder(world, now));
}

/**
 * The Users page: rows are built only for the page shown unless a search needs every row's text
 * (roles and teams are searchable), so the first page of 10,000 users stays cheap.
 */
export function userPage(world: Pick<Required<World>, 'users' | 'teams' | 'bindings'>, now: number, opts: { q: string; state?: string; offset: number; limit: number }): Page<UserRow> {
  const build = userRowBuilder(world, now);
  const users = world.users.filter((u) => !opts.state || u.spec.state === opts.state).sort((a, b) => byName(a.metadata.name, b.metadata.name));
  if (opts.q.trim() === '') {
    const page = paged(users, () => '', '', opts.offset, opts.limit);
    return { ...page, items: page.items.map(build) };
  }
  return paged(users.map(build), userText, opts.q, opts.offset, opts.limit);
}

export function userText(r: UserRow): string {
  return [r.name, r.username, r.email, r.displayName, r.state, r.superuser ? 'superuser' : '', ...r.teams, ...r.roles.map((g) => `${g.role} ${g.scope}`)].join(' ');
}

/** RFC 3339 times compare as strings; a missing one sorts last. */
function byTime(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a < b ? -1 : 1;
}

/** Pending users, oldest registration first (the queue order an approver works in). */
export function pendingRows(users: readonly User[]): UserRow[] {
  return userRows({ users: users.filter((u) => u.spec.state === 'Pending'), teams: [], bindings: [] }, 0)
    .sort((a, b) => byTime(a.registered, b.registered) || byName(a.name, b.name));
}

/** One budgeted resource of a team's subtree: the usage bar. */
export interface BudgetBar {
  resource: string;
  /** The subtree's budget and use as the operator last reported them (else the team's own budget). */
  hard: string;
  used: string;
  /** used / hard in percent, 0-100; null when either figure is missing or unreadable. */
  percent: number | null;
}

export interface TeamRow {
  name: string;
  description: string;
  /** spec.parent, or null for a root. */
  parent: string | null;
  /** Depth in the teams tree as drawn (rows come in tree order: a parent before its children). */
  depth: number;
  /** Why a team with a parent is drawn as a root (parent missing, a cycle). */
  note: string | null;
  budget: BudgetBar[];
  members: string[];
  groups: string[];
  namespaces: string[];
  missingMembers: string[];
  /** Assignments held by the team. */
  holds: Grant[];
  /** Assignments scoped to the team (whoever holds them). */
  scopedHere: Array<{ binding: string; role: string; subjects: string }>;
}

function percentOf(used: string | undefined, hard: string | undefined): number | null {
  if (used === undefined || hard === undefined) return null;
  try {
    const h = parseQuantity(hard);
    const u = parseQuantity(used);
    if (h === 0n) return u === 0n ? 0 : 100;
    return Math.min(100, Number((u * 1000n) / h) / 10);
  } catch {
    return null;
  }
}

function budgetBars(t: Team, teams: readonly Team[], children: ReadonlyMap<string, readonly Team[]>): BudgetBar[] {
  return quotaRows(t, teams, children)
    .filter((r) => r.hard !== undefined || r.budget !== undefined)
    .map((r) => {
      const hard = r.hard ?? r.budget!;
      const used = r.used ?? '0';
      return { resource: r.resource, hard, used, percent: percentOf(used, hard) };
    });
}

/** One row per team in tree order (roots by name, each followed by its subtree), as `team tree` draws it. */
export function teamRows(world: Pick<Required<World>, 'teams' | 'bindings'>, now: number): TeamRow[] {
  const children = childrenByParent(world.teams);
  return (treeRows(world.teams) ?? [])
    .map(({ team: t, depth, note }) => {
      const name = t.metadata.name;
      return {
        name,
        description: t.spec.description ?? '',
        parent: t.spec.parent ?? null,
        depth,
        note: note ?? null,
        budget: budgetBars(t, world.teams, children),
        members: [...(t.spec.members ?? [])],
        groups: [...(t.spec.groups ?? [])],
        namespaces: [...(t.status?.namespaces ?? t.spec.namespaces ?? [])],
        missingMembers: [...(t.status?.missingMembers ?? [])],
        holds: world.bindings.filter((b) => b.spec.subjects.some((s) => s.kind === 'Team' && s.name === name)).map((b) => grantOf(b, new Set(), [name], now)),
        scopedHere: world.bindings
          .filter((b) => b.spec.scope.teams?.includes(name))
          .map((b) => ({ binding: b.metadata.name, role: b.spec.role, subjects: subjectsText(b.spec.subjects) })),
      };
    });
}

export function teamText(r: TeamRow): string {
  return [r.name, r.description, r.parent ?? '', ...r.members, ...r.groups, ...r.namespaces, ...r.holds.map((h) => h.role)].join(' ');
}

/** The Run:ai table's columns: C(reate) R(ead) U(pdate) D(elete), plus any other verb by name. */
const LETTER: Record<string, string> = { create: 'C', get: 'R', list: 'R', watch: 'R', update: 'U', patch: 'U', delete: 'D', deletecollection: 'D' };
const ORDER = 'CRUD';

export interface MatrixRow {
  role: string;
  description: string;
  /** The preset the operator keeps this role for (zenml, runai, adaptive), if any. */
  preset?: string;
  /** Resource column -> e.g. `CRUD`, `R`, `*`, `R +escalate`. */
  cells: Record<string, string>;
  /** Grants that are no resource column: URL paths and `me`. */
  other: string[];
  includes: string[];
  canAssign: string[];
  invalid: string[];
}

export interface Matrix {
  resources: string[];
  rows: MatrixRow[];
}

function resourceKey(a: Extract<PermissionAtom, { kind: 'resource' }>): string {
  // Written the way permissions are: no group means any API group, `core/` the core group.
  const group = a.group === null ? '' : a.group === '' ? 'core/' : `${a.group}/`;
  return `${group}${a.resource}${a.subresource !== null ? `/${a.subresource}` : ''}${a.names ? ` [${[...a.names].sort().join(',')}]` : ''}`;
}

function cellText(verbs: Set<string> | null): string {
  if (verbs === null) return '*';
  const letters = new Set<string>();
  const others: string[] = [];
  for (const v of verbs) {
    const l = LETTER[v];
    if (l) letters.add(l);
    else others.push(v);
  }
  // R only when the whole read alias is held: `get` alone is shown by name.
  if (letters.has('R') && !['get', 'list', 'watch'].every((v) => verbs.has(v))) {
    letters.delete('R');
    others.push(...['get', 'list', 'watch'].filter((v) => verbs.has(v)));
  }
  const main = [...ORDER].filter((l) => letters.has(l)).join('');
  return [main, ...others.sort().map((o) => `+${o}`)].filter(Boolean).join(' ');
}

/** Roles against resources and actions, with included roles' grants folded in (as decide() sees them). */
export function roleMatrix(index: PermissionIndex): Matrix {
  const columns = new Set<string>();
  const rows: MatrixRow[] = [];
  for (const role of [...index.listRoles()].sort((a, b) => byName(a.metadata.name, b.metadata.name))) {
    const compiled = index.compiledRole(role.metadata.name);
    const verbsBy = new Map<string, Set<string> | null>();
    const other: string[] = [];
    for (const { atom, text } of compiled?.atoms ?? []) {
      if (atom.kind !== 'resource') {
        other.push(atom.kind === 'me' ? 'me' : text);
        continue;
      }
      const key = resourceKey(atom);
      columns.add(key);
      const held = verbsBy.get(key);
      if (held === null) continue;
      if (atom.verbs === null) verbsBy.set(key, null);
      else verbsBy.set(key, new Set([...(held ?? []), ...atom.verbs]));
    }
    const preset = role.metadata.labels?.[LABELS.preset];
    rows.push({
      role: role.metadata.name,
      description: role.spec.description ?? '',
      ...(preset ? { preset } : {}),
      cells: Object.fromEntries([...verbsBy].map(([k, v]) => [k, cellText(v)])),
      other: [...new Set(other)],
      includes: [...(compiled?.includes ?? [])],
      canAssign: [...(compiled?.canAssign ?? [])].sort(),
      invalid: (compiled?.invalid ?? []).map((i) => `${i.permission}: ${i.problem}`),
    });
  }
  return { resources: [...columns].sort(byName), rows };
}

export function roleText(r: MatrixRow): string {
  return [r.role, r.description, r.preset ?? '', ...Object.keys(r.cells), ...r.other].join(' ');
}

/** The rule id in a Gatehouse admission denial: `... Gatehouse denied: <path>: <message> (rule: <id>)`. */
export function ruleOf(message: string): string | undefined {
  return /\(rule: ([a-z0-9-]+)\)/.exec(message)?.[1];
}
