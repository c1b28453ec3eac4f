// Team budgets as native ResourceQuota objects: the pure core (docs/quotas.md). No I/O.
//
// A team's spec.quota.hard is a budget for its whole subtree. It is enforced by one ResourceQuota
// per namespace (named for the namespace's team, annotated with the budgets it carries), and the
// rule this module keeps is: for every team T and resource r it limits,
//
//     sum over the namespaces N below T of  max(N's hard in force, N's use)  <=  T.hard[r]
//
// where "in force" is the ResourceQuota's status.hard: the API server's quota admission checks a
// new pod against status.hard (which kube-controller-manager copies from spec.hard) and adds the
// pod to status.used in the same step, so no two pods can both take the last unit of one
// namespace, and a namespace never holds more than max(hard, used). Keeping the sum of those
// within the budget means pods created concurrently in two namespaces cannot overshoot.
//
// allocate() says what each namespace's hard should be: its use, plus a share of the subtree's
// free headroom (one whole unit each first, then equal shares in whole units; orders by use only,
// so rounds converge); as a namespace's use grows, so does its hard, at its siblings' expense. plan() turns that into writes that never
// transiently break the rule: first only tightening writes (lower a hard, add a limit, create a
// quota), and only once every managed quota's status.hard has caught up with its spec, the
// loosening ones (raise, drop a limit, delete a quota). A namespace freed by deleted pods is
// therefore re-offered to its siblings one round after kube-controller-manager recounts.
import type { Team } from '../api/types.js';
import { formatQuantity, parseQuantity } from './quantity.js';

export const QUOTA_TEAM_ANNOTATION = 'iam.gatehouse.dev/quota-team';
export const QUOTA_BUDGET_ANNOTATION = 'iam.gatehouse.dev/quota-budget';
const RQ_PREFIX = 'gatehouse-team-';
const MAX_NAME = 253;

/** A team as the allocation sees it (quantities in milli-units, quantity.ts). */
export interface QuotaTeam {
  readonly name: string;
  readonly parent?: string | undefined;
  readonly hard: ReadonlyMap<string, bigint>;
}

/** One managed ResourceQuota as observed (spec.hard, status.hard, status.used). */
export interface ObservedQuota {
  readonly namespace: string;
  readonly name: string;
  readonly spec: ReadonlyMap<string, bigint>;
  /** status.hard; undefined until kube-controller-manager has synced the object once. */
  readonly status: ReadonlyMap<string, bigint> | undefined;
  readonly used: ReadonlyMap<string, bigint>;
}

export interface QuotaWorld {
  readonly teams: ReadonlyMap<string, QuotaTeam>;
  /** Namespace -> the one team whose budget it draws on (quotaTeamOf in the adapter). */
  readonly namespaceTeam: ReadonlyMap<string, string>;
  /** The managed ResourceQuotas, by namespace. */
  readonly observed: ReadonlyMap<string, readonly ObservedQuota[]>;
}

/** What one namespace's quota should be. */
export interface DesiredQuota {
  readonly namespace: string;
  readonly name: string;
  readonly team: string;
  readonly hard: ReadonlyMap<string, bigint>;
  /** `team a: requests.nvidia.com/gpu=4; team d: requests.nvidia.com/gpu=8`, nearest first. */
  readonly budget: string;
}

/** The ResourceQuota name for a namespace drawing on `team`'s budget (the refusal message shows it). */
export function quotaName(team: string): string {
  const name = RQ_PREFIX + team;
  if (name.length <= MAX_NAME) return name;
  // Team names are DNS subdomains up to 253 characters: keep the start readable and unique.
  let h = 0;
  for (const c of team) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  const tail = `-${(h >>> 0).toString(16)}`;
  return name.slice(0, MAX_NAME - tail.length) + tail;
}

const INF = -1n; // "no limit" in the few places a bigint must stand for it

function min(a: bigint | null, b: bigint | undefined): bigint | null {
  if (b === undefined) return a;
  return a === null || b < a ? b : a;
}

/** Teams from the roots down; a team in a cycle (admission refuses them) is taken as a root. */
function treeOrder(teams: ReadonlyMap<string, QuotaTeam>): { roots: string[]; children: Map<string, string[]> } {
  const children = new Map<string, string[]>();
  const roots: string[] = [];
  for (const t of [...teams.keys()].sort()) {
    const p = teams.get(t)!.parent;
    if (p !== undefined && teams.has(p) && p !== t) {
      const list = children.get(p) ?? [];
      list.push(t);
      children.set(p, list);
    } else roots.push(t);
  }
  // Teams not reachable from a root sit on a cycle: cut it at the smallest name.
  const seen = new Set<string>();
  const visit = (t: string): void => {
    if (seen.has(t)) return;
    seen.add(t);
    for (const c of children.get(t) ?? []) visit(c);
  };
  for (const r of roots) visit(r);
  for (const t of [...teams.keys()].sort()) {
    if (seen.has(t)) continue;
    roots.push(t);
    visit(t);
  }
  return { roots, children };
}

interface Unit {
  readonly kind: 'ns' | 'team';
  readonly name: string;
  readonly used: bigint;
  readonly cap: bigint | null;
  /** Hard in force now (sum for a team; null: some namespace has none). */
  readonly current: bigint | null;
  given: bigint;
}

/** The hard each namespace's quota should have; namespaces under no budget get none. */
export function allocate(world: QuotaWorld): Map<string, DesiredQuota> {
  const { roots, children } = treeOrder(world.teams);
  const ownNamespaces = new Map<string, string[]>();
  for (const [ns, team] of [...world.namespaceTeam].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (!world.teams.has(team)) continue;
    const list = ownNamespaces.get(team) ?? [];
    list.push(ns);
    ownNamespaces.set(team, list);
  }
  // Per team: the namespaces in its subtree (teams with none get no share).
  const subtreeNs = new Map<string, string[]>();
  const collect = (t: string, path: Set<string>): string[] => {
    const cached = subtreeNs.get(t);
    if (cached) return cached;
    const out = [...(ownNamespaces.get(t) ?? [])];
    for (const c of children.get(t) ?? []) if (!path.has(c)) out.push(...collect(c, new Set([...path, c])));
    subtreeNs.set(t, out);
    return out;
  };
  for (const r of roots) collect(r, new Set([r]));

  const resources = new Set<string>();
  for (const t of world.teams.values()) for (const r of t.hard.keys()) resources.add(r);

  const hard = new Map<string, Map<string, bigint>>();
  const usedOf = (ns: string, r: string): bigint => {
    let u = 0n;
    for (const q of world.observed.get(ns) ?? []) {
      const v = q.used.get(r);
      if (v !== undefined && v > u) u = v;
    }
    return u;
  };
  const currentOf = (ns: string, r: string): bigint | null => {
    let c: bigint | null = null;
    for (const q of world.observed.get(ns) ?? []) c = min(c, q.status?.get(r) ?? q.spec.get(r));
    return c;
  };

  const assign = (team: string, budget: bigint | null, r: string): void => {
    const t = world.teams.get(team)!;
    const eff = min(budget, t.hard.get(r));
    const kids = (children.get(team) ?? []).filter((c) => (subtreeNs.get(c) ?? []).length > 0);
    const own = ownNamespaces.get(team) ?? [];
    if (eff === null) {
      for (const c of kids) assign(c, null, r);
      return;
    }
    const units: Unit[] = [];
    for (const ns of own) units.push({ kind: 'ns', name: ns, used: usedOf(ns, r), cap: null, current: currentOf(ns, r), given: 0n });
    for (const c of kids) {
      let used = 0n;
      let current: bigint | null = 0n;
      for (const ns of subtreeNs.get(c)!) {
        used += usedOf(ns, r);
        const cur = currentOf(ns, r);
        current = current === null || cur === null ? null : current + cur;
      }
      units.push({ kind: 'team', name: c, used, cap: world.teams.get(c)!.hard.get(r) ?? null, current, given: 0n });
    }
    share(units, eff);
    for (const u of units) {
      if (u.kind === 'ns') {
        let m = hard.get(u.name);
        if (!m) hard.set(u.name, (m = new Map()));
        m.set(r, u.given);
      } else assign(u.name, u.given, r);
    }
  };
  for (const r of [...resources].sort()) for (const root of roots) if ((subtreeNs.get(root) ?? []).length > 0) assign(root, null, r);

  const out = new Map<string, DesiredQuota>();
  for (const [ns, m] of hard) {
    const team = world.namespaceTeam.get(ns)!;
    out.set(ns, { namespace: ns, name: quotaName(team), team, hard: m, budget: budgetText(world, team, [...m.keys()]) });
  }
  return out;
}

/** The budgets a namespace's quota carries, nearest team first. */
function budgetText(world: QuotaWorld, team: string, resources: readonly string[]): string {
  const parts: string[] = [];
  const seen = new Set<string>();
  for (let t: string | undefined = team; t !== undefined && !seen.has(t); t = world.teams.get(t)?.parent) {
    seen.add(t);
    const q = world.teams.get(t);
    if (!q) break;
    const limits = resources.filter((r) => q.hard.has(r)).map((r) => `${r}=${formatQuantity(q.hard.get(r)!)}`);
    if (limits.length > 0) parts.push(`team ${t}: ${limits.join(',')}`);
  }
  return parts.join('; ');
}

/**
 * Shares `budget` among units: each first gets its use (capped by its own budget; if uses already
 * exceed the budget, in name order until it runs out); then every unit one whole grain of headroom
 * while the budget lasts (so an idle namespace can start, and a namespace whose pods were deleted
 * frees a unit its sibling can take); then the free rest in equal grains, the remainder one grain
 * each. Every order here depends on use only (least used first, then name), never on the current
 * hard, so a round does not undo the last one and the rounds settle.
 */
function share(units: Unit[], budget: bigint): void {
  let left = budget;
  for (const u of units) {
    const base = u.cap !== null && u.cap < u.used ? u.cap : u.used;
    u.given = base < left ? base : left;
    left -= u.given;
  }
  const whole = (v: bigint | null): boolean => v === null || v % 1000n === 0n;
  const grain = whole(budget) && units.every((u) => whole(u.used) && whole(u.cap)) ? 1000n : 1n;
  const room = (u: Unit): bigint => (u.cap === null ? INF : u.cap - u.given);
  const fits = (u: Unit): boolean => room(u) === INF || room(u) >= grain;
  const byNeed = [...units].sort((a, b) => (a.used !== b.used ? (a.used < b.used ? -1 : 1) : a.name < b.name ? -1 : 1));
  for (const u of byNeed) {
    if (left < grain) break;
    if (!fits(u)) continue;
    u.given += grain;
    left -= grain;
  }
  for (;;) {
    const open = byNeed.filter(fits);
    if (open.length === 0 || left < grain) break;
    const each = (left / grain / BigInt(open.length)) * grain;
    if (each === 0n) {
      for (const u of open) {
        if (left < grain) break;
        u.given += grain;
        left -= grain;
      }
      break;
    }
    for (const u of open) {
      const r = room(u);
      const g = r !== INF && r < each ? (r / grain) * grain : each;
      u.given += g;
      left -= g;
    }
  }
}

/** One write to a ResourceQuota: apply `hard` (create or replace spec.hard), or delete it. */
export type QuotaWrite =
  | { readonly op: 'apply'; readonly namespace: string; readonly name: string; readonly team: string; readonly hard: ReadonlyMap<string, bigint>; readonly budget: string }
  | { readonly op: 'delete'; readonly namespace: string; readonly name: string };

export interface QuotaPlan {
  /** 'tighten': only lowering writes; 'wait': a quota's status has not caught up; 'loosen'; 'idle'. */
  readonly phase: 'tighten' | 'wait' | 'loosen' | 'idle';
  readonly writes: readonly QuotaWrite[];
}

function sameMap(a: ReadonlyMap<string, bigint>, b: ReadonlyMap<string, bigint>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** The next writes, tightening first (see the top of this file). */
export function plan(world: QuotaWorld, desired: ReadonlyMap<string, DesiredQuota> = allocate(world)): QuotaPlan {
  const tighten: QuotaWrite[] = [];
  const loosen: QuotaWrite[] = [];
  const namespaces = new Set([...desired.keys(), ...world.observed.keys()]);
  for (const ns of [...namespaces].sort()) {
    const want = desired.get(ns);
    const have = world.observed.get(ns) ?? [];
    for (const q of have) if (!want || q.name !== want.name) loosen.push({ op: 'delete', namespace: ns, name: q.name });
    if (!want) continue;
    const q = have.find((x) => x.name === want.name);
    if (!q) {
      tighten.push({ op: 'apply', namespace: ns, name: want.name, team: want.team, hard: want.hard, budget: want.budget });
      continue;
    }
    // Lower what is above the target (in spec or in force), add missing limits, keep the rest.
    const lower = new Map(q.spec);
    for (const [r, v] of want.hard) {
      let t = v;
      const s = q.spec.get(r);
      const f = q.status?.get(r);
      if (s !== undefined && s < t) t = s;
      if (f !== undefined && f < t) t = f;
      lower.set(r, t);
    }
    if (!sameMap(lower, q.spec)) tighten.push({ op: 'apply', namespace: ns, name: q.name, team: want.team, hard: lower, budget: want.budget });
    else if (!sameMap(want.hard, q.spec)) loosen.push({ op: 'apply', namespace: ns, name: q.name, team: want.team, hard: want.hard, budget: want.budget });
  }
  if (tighten.length > 0) return { phase: 'tighten', writes: tighten };
  if (loosen.length === 0) return { phase: 'idle', writes: [] };
  for (const list of world.observed.values()) for (const q of list) if (q.status === undefined || !sameMap(q.spec, q.status)) return { phase: 'wait', writes: [] };
  return { phase: 'loosen', writes: loosen };
}

/**
 * Where a child's budget does not fit its parent's (admission): per resource the parent's hard,
 * the sum of its children's hard (with `child` as proposed), and the proposed value.
 */
export function budgetProblems(teams: ReadonlyMap<string, QuotaTeam>, team: QuotaTeam): string[] {
  const problems: string[] = [];
  // 1. the team within its parent, beside its siblings
  const parent = team.parent !== undefined ? teams.get(team.parent) : undefined;
  if (parent) {
    for (const [r, limit] of parent.hard) {
      const mine = team.hard.get(r);
      if (mine === undefined) continue;
      let siblings = 0n;
      for (const t of teams.values()) if (t.parent === parent.name && t.name !== team.name) siblings += t.hard.get(r) ?? 0n;
      if (siblings + mine > limit) {
        problems.push(`${r}: Team ${team.name} asks ${formatQuantity(mine)}, but parent Team ${parent.name} has ${formatQuantity(limit)} and its other children hold ${formatQuantity(siblings)} (${formatQuantity(limit - siblings < 0n ? 0n : limit - siblings)} left)`);
      }
    }
  }
  // 2. its children within the team
  for (const [r, limit] of team.hard) {
    let kids = 0n;
    const names: string[] = [];
    for (const t of teams.values()) {
      const v = t.parent === team.name && t.name !== team.name ? t.hard.get(r) : undefined;
      if (v !== undefined) {
        kids += v;
        names.push(t.name);
      }
    }
    if (kids > limit) problems.push(`${r}: Team ${team.name} would have ${formatQuantity(limit)}, but its children (${names.sort().join(', ')}) hold ${formatQuantity(kids)}`);
  }
  return problems;
}

/** The index's teams as the allocation sees them (a malformed quota reads as none). */
export function quotaTeams(teams: readonly Team[]): Map<string, QuotaTeam> {
  const out = new Map<string, QuotaTeam>();
  for (const t of teams) {
    let hard = new Map<string, bigint>();
    try {
      for (const [k, v] of Object.entries(t.spec.quota?.hard ?? {})) hard.set(k, parseQuantity(v));
    } catch {
      hard = new Map();
    }
    out.set(t.metadata.name, { name: t.metadata.name, parent: t.spec.parent, hard });
  }
  return out;
}

