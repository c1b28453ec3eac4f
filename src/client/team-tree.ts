// The teams tree as a person reads it (`kubectl gatehouse team tree`, `team quota`): pure, over the
// Team objects the caller may list. The operator's own tree (src/authz/memberships.ts) decides;
// this only lays the same spec.parent links out for display, so it must never hang or drop a team
// on a tree that admission has not seen yet (Git order): a missing parent makes a root with a note,
// and teams caught in a parent cycle are listed once, at the end, with a note.
import type { Team } from '../api/types.js';

export interface TreeRow {
  team: Team;
  /** 0 for a root. */
  depth: number;
  /** Whether the row is its parent's last child (for the drawing). */
  last: boolean;
  /** Each ancestor row's `last`, from the root down: where the drawing continues a vertical line. */
  lines: readonly boolean[];
  /** Why a team with a parent is drawn as a root. */
  note?: string;
}

// Object names are ASCII: a plain comparison sorts them as kubectl does (and as the console's lists).
const byName = (a: Team, b: Team): number => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);

/**
 * The rows of the forest in drawing order (depth first, children by name). With `root`, only that
 * team's subtree; undefined when no such team is listed.
 */
export function treeRows(teams: readonly Team[], root?: string): TreeRow[] | undefined {
  const named = new Map(teams.map((t) => [t.metadata.name, t]));
  const children = childrenByParent(teams);
  const rows: TreeRow[] = [];
  const seen = new Set<string>();
  const walk = (t: Team, depth: number, last: boolean, lines: readonly boolean[], note?: string): void => {
    if (seen.has(t.metadata.name)) return;
    seen.add(t.metadata.name);
    rows.push({ team: t, depth, last, lines, ...(note ? { note } : {}) });
    const kids = (children.get(t.metadata.name) ?? []).filter((k) => !seen.has(k.metadata.name)).sort(byName);
    kids.forEach((k, i) => walk(k, depth + 1, i === kids.length - 1, depth === 0 ? [] : [...lines, last]));
  };
  if (root !== undefined) {
    const t = named.get(root);
    if (!t) return undefined;
    walk(t, 0, true, []);
    return rows;
  }
  for (const t of [...teams].sort(byName)) {
    const p = t.spec.parent;
    if (p === undefined) walk(t, 0, true, []);
    else if (p === t.metadata.name) walk(t, 0, true, [], 'its own parent');
    else if (!named.has(p)) walk(t, 0, true, [], `parent ${p} not found`);
  }
  // What is left hangs below a cycle: no root reaches it.
  for (const t of [...teams].sort(byName)) {
    if (!seen.has(t.metadata.name)) walk(t, 0, true, [], `in a parent cycle (parent ${t.spec.parent ?? ''})`);
  }
  return rows;
}

/** The name column's drawing: `├─ `/`└─ ` before a child, `│  ` where an ancestor has more below. */
export function treePrefix(row: TreeRow): string {
  if (row.depth === 0) return '';
  return row.lines.map((last) => (last ? '   ' : '│  ')).join('') + (row.last ? '└─ ' : '├─ ');
}

export interface QuotaRow {
  resource: string;
  /** The team's own budget (spec.quota.hard); undefined when it sets none for the resource. */
  budget: string | undefined;
  /** Budget and use over the subtree as the operator reports them (status.quota). */
  hard: string | undefined;
  used: string | undefined;
  /** Budgets the teams directly below set for the resource, by team. */
  children: ReadonlyArray<readonly [string, string]>;
}

/** The teams directly below each team, by name (a team naming itself as parent is not its own child). */
export function childrenByParent(teams: readonly Team[]): Map<string, Team[]> {
  const out = new Map<string, Team[]>();
  for (const t of teams) {
    const p = t.spec.parent;
    if (p === undefined || p === t.metadata.name) continue;
    const list = out.get(p) ?? [];
    list.push(t);
    out.set(p, list);
  }
  return out;
}

/**
 * Every resource the team, its status or a child names, with what each says of it. `children`:
 * childrenByParent() of the same list, when a caller asks for many teams (the console's page).
 */
export function quotaRows(team: Team, teams: readonly Team[], children: ReadonlyMap<string, readonly Team[]> = childrenByParent(teams)): QuotaRow[] {
  const kids = [...(children.get(team.metadata.name) ?? [])].sort(byName);
  const budget = team.spec.quota?.hard ?? {};
  const hard = team.status?.quota?.hard ?? {};
  const used = team.status?.quota?.used ?? {};
  const resources = new Set([...Object.keys(budget), ...Object.keys(hard), ...Object.keys(used)]);
  for (const k of kids) for (const r of Object.keys(k.spec.quota?.hard ?? {})) resources.add(r);
  return [...resources].sort().map((resource) => ({
    resource,
    budget: budget[resource] === undefined ? undefined : String(budget[resource]),
    hard: hard[resource],
    used: used[resource],
    children: kids.flatMap((k): Array<[string, string]> => {
      const q = k.spec.quota?.hard?.[resource];
      return q === undefined ? [] : [[k.metadata.name, String(q)]];
    }),
  }));
}
