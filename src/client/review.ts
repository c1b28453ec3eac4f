// `kubectl gatehouse review` and `history`, and the console's Review page: the report of every
// grant (RoleBindings, and superusers) with its subjects, scope, expiry and last use, the filters,
// and the history read back from Events. Pure over what the caller could list; the CLI and the
// console only print it.
import type { RoleBinding, Team, User } from '../api/types.js';
import { scopeText } from '../authz/scope.js';
import { usernameOf } from '../authz/rules.js';
import { usageError } from './errors.js';

export interface GrantRow {
  kind: 'RoleBinding' | 'Superuser';
  /** The RoleBinding's name, or the User's. */
  name: string;
  role: string;
  subjects: string[];
  scope: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string | null;
}

export interface ReviewFilters {
  /** Not used in the last this many ms (never used included). */
  unusedMs?: number;
  neverUsed?: boolean;
  superusers?: boolean;
  /** Ending within this many ms from now (already ended ones included). */
  expiringMs?: number;
  user?: string;
  team?: string;
}

/** `90d`, `12h`, `30m`, `45s` (a review's durations). */
export function parseReviewDuration(text: string, flag: string): number {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw usageError(`${flag} ${JSON.stringify(text)}: use a number and s, m, h, d or w, e.g. 90d`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
}

function teamsOf(user: User, teams: readonly Team[]): Set<string> {
  const names = new Set([user.metadata.name, usernameOf(user)]);
  return new Set(teams.filter((t) => (t.spec.members ?? []).some((m) => names.has(m))).map((t) => t.metadata.name));
}

/** Every grant, sorted: bindings by name, then superusers. */
export function grantRows(world: { bindings: readonly RoleBinding[]; users: readonly User[] }): GrantRow[] {
  const rows: GrantRow[] = [];
  for (const b of [...world.bindings].sort((x, y) => x.metadata.name.localeCompare(y.metadata.name))) {
    rows.push({
      kind: 'RoleBinding',
      name: b.metadata.name,
      role: b.spec.role,
      subjects: (b.spec.subjects ?? []).map((s) => `${s.kind}:${s.name}`),
      scope: scopeText(b.spec.scope ?? {}),
      expiresAt: b.spec.expiresAt ?? null,
      lastUsedAt: b.status?.lastUsedAt ?? null,
      createdAt: b.metadata.creationTimestamp ?? null,
    });
  }
  for (const u of [...world.users].sort((x, y) => x.metadata.name.localeCompare(y.metadata.name))) {
    if (u.spec.superuser !== true) continue;
    rows.push({ kind: 'Superuser', name: u.metadata.name, role: '(superuser)', subjects: [`User:${u.metadata.name}`], scope: 'cluster', expiresAt: null, lastUsedAt: u.status?.lastUsedAt ?? null, createdAt: u.metadata.creationTimestamp ?? null });
  }
  return rows;
}

/** The rows the filters keep (all of them must hold). */
export function filterRows(rows: readonly GrantRow[], f: ReviewFilters, now: number, world: { users: readonly User[]; teams: readonly Team[] }): GrantRow[] {
  const used = (r: GrantRow) => (r.lastUsedAt ? Date.parse(r.lastUsedAt) : NaN);
  let userNames: Set<string> | undefined;
  let userTeams: Set<string> | undefined;
  if (f.user !== undefined) {
    const u = world.users.find((x) => x.metadata.name === f.user || usernameOf(x) === f.user);
    userNames = new Set([f.user, ...(u ? [u.metadata.name, usernameOf(u)] : [])]);
    userTeams = u ? teamsOf(u, world.teams) : new Set(world.teams.filter((t) => (t.spec.members ?? []).includes(f.user!)).map((t) => t.metadata.name));
  }
  return rows.filter((r) => {
    if (f.superusers && r.kind !== 'Superuser') return false;
    if (f.neverUsed && r.lastUsedAt) return false;
    if (f.unusedMs !== undefined && Number.isFinite(used(r)) && now - used(r) <= f.unusedMs) return false;
    if (f.expiringMs !== undefined && (!r.expiresAt || !(Date.parse(r.expiresAt) - now <= f.expiringMs))) return false;
    if (userNames && !r.subjects.some((s) => (s.startsWith('User:') && userNames!.has(s.slice(5))) || (s.startsWith('Team:') && userTeams!.has(s.slice(5))))) return false;
    if (f.team !== undefined && !r.subjects.includes(`Team:${f.team}`)) return false;
    return true;
  });
}

/**
 * What `--revoke-unused D` deletes: RoleBindings unused for D that are also older than D (a grant
 * made yesterday has not had 90 days to be used, and one made before Gatehouse recorded use would
 * otherwise all look unused). Superusers are never revoked this way.
 */
export function revocable(rows: readonly GrantRow[], unusedMs: number, now: number): { revoke: GrantRow[]; tooYoung: GrantRow[] } {
  const revoke: GrantRow[] = [];
  const tooYoung: GrantRow[] = [];
  for (const r of rows) {
    if (r.kind !== 'RoleBinding') continue;
    const last = r.lastUsedAt ? Date.parse(r.lastUsedAt) : NaN;
    if (Number.isFinite(last) && now - last <= unusedMs) continue;
    const created = r.createdAt ? Date.parse(r.createdAt) : NaN;
    if (!Number.isFinite(created) || now - created <= unusedMs) tooYoung.push(r);
    else revoke.push(r);
  }
  return { revoke, tooYoung };
}

/** Whether the operator's status says it runs in authorization mode rbac (then no use is seen). */
export function usageNotSeen(bindings: readonly RoleBinding[]): boolean {
  return bindings.some((b) => (b.status?.conditions ?? []).some((c) => c.type === 'Ready' && /authorization mode rbac/.test(c.message ?? '')));
}

export const RBAC_MODE_NOTE = 'authorization mode rbac: Gatehouse does not see requests, so last use is not known (LAST USED is empty for every grant)';

/** CSV with RFC 4180 quoting. */
export function toCsv(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [headers, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

/* ---------------- history ---------------- */

export interface HistoryEntry {
  time: string;
  kind: string;
  name: string;
  change: string;
  actor: string;
  message: string;
  users: string[];
  teams: string[];
  roles: string[];
}

/** The event fields history reads (core/v1 Event). */
export interface EventLike {
  metadata?: { annotations?: Record<string, string>; creationTimestamp?: string | Date };
  involvedObject?: { kind?: string; name?: string };
  reason?: string;
  message?: string;
  lastTimestamp?: string | Date;
  firstTimestamp?: string | Date;
  eventTime?: string | Date;
}

export const HISTORY_RETENTION_NOTE = 'Events are kept by the API server for its --event-ttl, one hour by default: older changes are not here. The durable record is the operator\'s log lines with the message access.changed (ship them to a log store).';

const split = (v: string | undefined) => (v ? v.split(',').filter(Boolean) : []);
const iso = (v: string | Date | undefined) => (v instanceof Date ? v.toISOString() : v ?? '');

export function historyEntries(events: readonly EventLike[]): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const e of events) {
    const a = e.metadata?.annotations ?? {};
    const kind = e.involvedObject?.kind ?? '';
    const name = e.involvedObject?.name ?? '';
    if (e.reason === 'AccessChanged') {
      out.push({
        time: iso(e.lastTimestamp ?? e.firstTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp),
        kind, name, change: a['iam.gatehouse.dev/change'] ?? '', actor: a['iam.gatehouse.dev/actor'] ?? '', message: e.message ?? '',
        users: split(a['iam.gatehouse.dev/users']), teams: split(a['iam.gatehouse.dev/teams']), roles: split(a['iam.gatehouse.dev/roles']),
      });
    } else if (e.reason === 'BindingExpired' && kind === 'RoleBinding') {
      const role = /role (\S+) is no longer/.exec(e.message ?? '')?.[1];
      out.push({ time: iso(e.lastTimestamp ?? e.firstTimestamp ?? e.eventTime), kind, name, change: 'expired', actor: 'gatehouse (expiresAt passed)', message: e.message ?? '', users: [], teams: [], roles: role ? [role] : [] });
    }
  }
  return out.sort((x, y) => x.time.localeCompare(y.time));
}

export function filterHistory(entries: readonly HistoryEntry[], f: { user?: string; team?: string; role?: string; sinceMs?: number }, now: number): HistoryEntry[] {
  return entries.filter((e) => {
    if (f.user !== undefined && !e.users.includes(f.user) && !(e.kind === 'User' && e.name === f.user)) return false;
    if (f.team !== undefined && !e.teams.includes(f.team) && !(e.kind === 'Team' && e.name === f.team)) return false;
    if (f.role !== undefined && !e.roles.includes(f.role) && !(e.kind === 'Role' && e.name === f.role)) return false;
    if (f.sinceMs !== undefined && !(now - Date.parse(e.time) <= f.sinceMs)) return false;
    return true;
  });
}
