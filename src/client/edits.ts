// The edits a person makes through either face, as the caller's own client: finding an object by
// the name a person types (a User also by username; the nearest names when it is not there), a
// merge patch guarded by resourceVersion and retried on a conflict, and team membership changes.
import type { GatehouseKind, Team } from '../api/types.js';
import { usernameOf } from '../authz/rules.js';
import { apiError, ClientError } from './errors.js';
import type { GatehouseClient, ObjectOf } from './kube.js';

/** What a person calls each kind, and the CLI command that lists it (named in not-found messages). */
export const NOUN: Record<GatehouseKind, string> = { User: 'user', Role: 'role', Team: 'team', RoleBinding: 'role assignment' };
const LIST_CMD: Record<GatehouseKind, string> = { User: 'user list', Role: 'role list', Team: 'team list', RoleBinding: 'role assignment list' };

/** Levenshtein distance; small inputs only (names). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** Up to `max` candidates close to `wanted`, nearest first; "close" grows with the name's length. */
export function nearestNames(wanted: string, candidates: readonly string[], max = 3): string[] {
  const limit = Math.max(2, Math.ceil(wanted.length / 3));
  return [...new Set(candidates)]
    .map((name) => {
      const d = editDistance(wanted.toLowerCase(), name.toLowerCase());
      // A prefix or substring match counts as close even when the edit distance is large.
      const contains = name.toLowerCase().includes(wanted.toLowerCase()) || wanted.toLowerCase().includes(name.toLowerCase());
      return { name, d: contains ? Math.min(d, limit) : d };
    })
    .filter((c) => c.d <= limit)
    .sort((x, y) => x.d - y.d || x.name.localeCompare(y.name))
    .slice(0, max)
    .map((c) => c.name);
}

/**
 * Gets an object by name. A User may also be named by its username (alice@example.com). When it is
 * not there, the error lists the nearest names the caller can see.
 */
export async function findObject<K extends GatehouseKind>(client: GatehouseClient, kind: K, name: string): Promise<ObjectOf<K>> {
  try {
    return await client.get(kind, name);
  } catch (err) {
    if (!(err instanceof ClientError) || err.details['notFound'] !== true) throw err;
  }
  let all: Array<ObjectOf<K>> = [];
  try {
    all = await client.list(kind);
  } catch {
    /* the caller may not list them; the plain not-found message must do */
  }
  if (kind === 'User') {
    const byUsername = all.find((u) => usernameOf(u as ObjectOf<'User'>) === name);
    if (byUsername) return byUsername;
  }
  const candidates = all.flatMap((o) => (kind === 'User' ? [o.metadata.name, usernameOf(o as ObjectOf<'User'>)] : [o.metadata.name]));
  const near = nearestNames(name, candidates);
  const hint = near.length ? `; did you mean ${near.join(', ')}?` : all.length ? '' : '';
  throw apiError(`${NOUN[kind]} ${JSON.stringify(name)} not found${hint} (\`kubectl gatehouse ${LIST_CMD[kind]}\` shows them all)`, { notFound: true, nearest: near });
}

/** The spec fields to merge into the current object; undefined: nothing to change. */
export type SpecChange<K extends GatehouseKind> = (current: ObjectOf<K>) => Record<string, unknown> | undefined;
/** The object before an update, and after it (undefined: nothing changed). */
export interface Update<K extends GatehouseKind> {
  before: ObjectOf<K>;
  after: ObjectOf<K> | undefined;
}

/** A merge patch guarded by resourceVersion, re-read and retried when someone else wrote meanwhile. */
export async function updateWithRetry<K extends GatehouseKind>(client: GatehouseClient, kind: K, name: string, change: SpecChange<K>): Promise<Update<K>> {
  for (let attempt = 0; ; attempt++) {
    const current = await findObject(client, kind, name);
    const spec = change(current);
    if (!spec) return { before: current, after: undefined };
    try {
      const after = await client.mergePatch(kind, current.metadata.name, {
        metadata: { resourceVersion: current.metadata.resourceVersion },
        spec,
      });
      return { before: current, after };
    } catch (err) {
      if (attempt < 3 && err instanceof ClientError && err.details['conflict'] === true) continue;
      throw err;
    }
  }
}

/** What `team add`/`team remove` and the console's member buttons change. */
export interface MembershipChange {
  members: string[];
  groups: string[];
  namespaces: string[];
}

/** The new spec lists after adding or removing, or undefined when nothing would change. */
export function applyMembership(spec: Team['spec'], change: MembershipChange, add: boolean): Partial<Record<keyof MembershipChange, string[]>> | undefined {
  const out: Partial<Record<keyof MembershipChange, string[]>> = {};
  for (const field of ['members', 'groups', 'namespaces'] as const) {
    if (change[field].length === 0) continue;
    const current = spec[field] ?? [];
    const next = add ? [...current, ...change[field].filter((x) => !current.includes(x))] : current.filter((x) => !change[field].includes(x));
    if (next.length !== current.length) out[field] = [...new Set(next)];
  }
  return Object.keys(out).length ? out : undefined;
}
