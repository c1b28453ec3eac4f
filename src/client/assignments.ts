// Role assignments as a person writes and reads them, for both faces: scopes (`cluster`,
// `team:NAME`, `namespace:NAME`) and subjects parsed and rendered, expiry times, the readable
// binding names, and which teams and assignments belong to a user. Pure.
import { createHash } from 'node:crypto';
import type { RoleBinding, Scope, Subject, SubjectKind, Team, User } from '../api/types.js';
import { usernameOf } from '../authz/rules.js';
import { usageError } from './errors.js';

export function subjectsText(subjects: readonly Subject[]): string {
  return subjects.map((s) => `${s.kind} ${s.name}`).join(', ');
}

export function expiryText(expiresAt: string | undefined, now: number): string {
  if (!expiresAt) return '';
  return Date.parse(expiresAt) <= now ? ` (expired ${expiresAt})` : ` (until ${expiresAt})`;
}

/** `--scope cluster | team:NAME | namespace:NAME`, repeatable within one kind. */
export function parseScopes(values: readonly string[]): Scope {
  if (values.length === 0) throw usageError('--scope is required: cluster, team:NAME or namespace:NAME');
  const teams: string[] = [];
  const namespaces: string[] = [];
  let cluster = false;
  for (const v of values) {
    const m = /^(cluster|team|teams|namespace|namespaces|ns):?(.*)$/.exec(v);
    const kind = m?.[1];
    const name = m?.[2] ?? '';
    if (kind === 'cluster' && name === '') cluster = true;
    else if ((kind === 'team' || kind === 'teams') && name) teams.push(...name.split(',').filter(Boolean));
    else if ((kind === 'namespace' || kind === 'namespaces' || kind === 'ns') && name) namespaces.push(...name.split(',').filter(Boolean));
    else throw usageError(`--scope ${JSON.stringify(v)}: expected cluster, team:NAME or namespace:NAME`);
  }
  if (Number(cluster) + Number(teams.length > 0) + Number(namespaces.length > 0) !== 1) {
    throw usageError('a role assignment has exactly one kind of scope: cluster, or teams, or namespaces (make one assignment per kind)');
  }
  if (cluster) return { cluster: true };
  if (teams.length) return { teams: [...new Set(teams)] };
  return { namespaces: [...new Set(namespaces)] };
}

export function subjectsFrom(users: readonly string[], teams: readonly string[], groups: readonly string[]): Subject[] {
  const out: Subject[] = [];
  const add = (kind: SubjectKind, names: readonly string[]) => {
    for (const name of names) if (!out.some((s) => s.kind === kind && s.name === name)) out.push({ kind, name });
  };
  add('User', users);
  add('Team', teams);
  add('Group', groups);
  return out;
}

/** Bindings that match the filters; a --user also matches through the teams the user is a member of. */
export function filterBindings(
  bindings: readonly RoleBinding[],
  filter: { user?: string; userAliases?: readonly string[]; userTeams?: readonly string[]; team?: string; group?: string; role?: string },
): RoleBinding[] {
  return bindings.filter((b) => {
    if (filter.role && b.spec.role !== filter.role) return false;
    if (filter.team && !b.spec.subjects.some((s) => s.kind === 'Team' && s.name === filter.team)) return false;
    if (filter.group && !b.spec.subjects.some((s) => s.kind === 'Group' && s.name === filter.group)) return false;
    if (filter.user) {
      // The user's aliases when the User was found (one resolution), else the name as typed.
      const names = new Set(filter.userAliases?.length ? filter.userAliases : [filter.user]);
      const teams = filter.userTeams ?? [];
      if (!b.spec.subjects.some((s) => (s.kind === 'User' && names.has(s.name)) || (s.kind === 'Team' && teams.includes(s.name)))) return false;
    }
    return true;
  });
}

/**
 * `role assignment list --user NAME`'s filter: the index's one resolution (docs/security.md), the
 * User of that name, else of that username (its username names it only when no other User has
 * that name), and the teams naming one of those names (or the name as typed, when no User is found).
 */
export function userFilter(user: string, users: readonly User[], teams: readonly Team[]): { user: string; userAliases: string[]; userTeams: string[] } {
  let userAliases: string[] = [];
  const found = users.find((u) => u.metadata.name === user) ?? users.find((u) => usernameOf(u) === user);
  if (found) {
    const username = usernameOf(found);
    const taken = users.some((u) => u !== found && u.metadata.name === username);
    userAliases = taken ? [found.metadata.name] : [found.metadata.name, username];
  }
  const names = new Set(found ? userAliases : [user]);
  const userTeams = teams.filter((t) => (t.spec.members ?? []).some((m) => names.has(m))).map((t) => t.metadata.name);
  return { user, userAliases, userTeams };
}

/** Teams the user belongs to by name (members); group membership needs the user's groups, which a list cannot show. */
export function teamsOfUser(user: User, teams: readonly Team[]): string[] {
  const names = new Set([user.metadata.name, usernameOf(user)]);
  return teams.filter((t) => (t.spec.members ?? []).some((m) => names.has(m))).map((t) => t.metadata.name).sort();
}

/** Bindings naming the user directly or through one of `teams`. */
export function bindingsOfUser(user: User, teams: readonly string[], bindings: readonly RoleBinding[]): RoleBinding[] {
  const names = new Set([user.metadata.name, usernameOf(user)]);
  return bindings.filter((b) => b.spec.subjects.some((s) => (s.kind === 'User' && names.has(s.name)) || (s.kind === 'Team' && teams.includes(s.name))));
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };


/**
 * `--expires`: a duration from now (`90m`, `24h`, `7d`, `1d12h`) or an RFC 3339 time. Returns the
 * time as RFC 3339 in UTC, or throws a message a person can act on.
 */
export function parseExpiry(text: string, now: number): string {
  const trimmed = text.trim();
  if (/^(\d+[smhdw])+$/.test(trimmed)) {
    let ms = 0;
    for (const m of trimmed.matchAll(/(\d+)([smhdw])/g)) ms += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 0);
    if (ms <= 0) throw new Error(`--expires ${JSON.stringify(text)} must be a positive duration`);
    return new Date(now + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(trimmed)) {
    const t = Date.parse(trimmed);
    if (!Number.isNaN(t)) {
      if (t <= now) throw new Error(`--expires ${trimmed} is in the past`);
      return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
  }
  throw new Error(`--expires ${JSON.stringify(text)} is neither a duration (90m, 24h, 7d) nor an RFC 3339 time (2026-12-31T00:00:00Z)`);
}

/** A DNS-1123 label-ish fragment: lowercase letters, digits and dashes. */
export function nameFragment(text: string, max = 40): string {
  const s = text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return (s.slice(0, max).replace(/-+$/g, '') || 'x');
}

/**
 * A readable, deterministic RoleBinding name: `<role>-<subject>-<hash>`, where the hash covers the
 * role, every subject and the scope, so the same assignment always gets the same name (creating it
 * twice is an AlreadyExists, not a duplicate) and different scopes never collide.
 */
export function bindingName(role: string, subjects: ReadonlyArray<{ kind: string; name: string }>, scope: unknown): string {
  const first = subjects[0];
  const who = first ? nameFragment(first.name, 30) + (subjects.length > 1 ? `-and-${subjects.length - 1}` : '') : 'nobody';
  const hash = createHash('sha256')
    .update(JSON.stringify({ role, subjects: subjects.map((s) => `${s.kind}:${s.name}`).sort(), scope }))
    .digest('hex')
    .slice(0, 6);
  return `${nameFragment(role, 40)}-${who}-${hash}`;
}
