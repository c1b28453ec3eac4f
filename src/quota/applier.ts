// The quota applier: the thin adapter between the pure core (allocate.ts) and the cluster. The
// leader runs rounds: list the managed ResourceQuotas (one request), read teams and namespaces from
// the permission index, plan(), and make the plan's writes (server-side apply, field manager
// gatehouse-quota; deletes). A round runs when something changed and every intervalMs anyway: the
// quotas' status.used moves with pods, which nothing else tells us about. Drift (a managed quota
// edited or deleted by hand) is repaired by the next round like any other difference.
import type { Logger } from 'pino';
import type { Namespace, Team } from '../api/types.js';
import type { PermissionIndex } from '../authz/index.js';
import type { Clock } from '../controller/clock.js';
import { isNotFound, type KubeClient } from '../controller/kube.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../rbac/objects.js';
import { allocate, plan, quotaTeams, QUOTA_BUDGET_ANNOTATION, QUOTA_TEAM_ANNOTATION, type ObservedQuota, type QuotaPlan, type QuotaWorld } from './allocate.js';
import { formatList, formatQuantity, parseList } from './quantity.js';

export const FIELD_MANAGER = 'gatehouse-quota';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const COMPONENT = 'team-quota';
export const QUOTA_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY},${COMPONENT_LABEL}=${COMPONENT}`;
const GPU = 'requests.nvidia.com/gpu';

export interface TeamQuotaStatus {
  hard: Record<string, string>;
  used: Record<string, string>;
  gpu?: string;
}

export interface QuotaApplierMetrics {
  rounds: number;
  writes: number;
  errors: number;
  lastPhase: QuotaPlan['phase'] | 'none';
  /** Per team: budget and use over the subtree (milli-units), per resource. */
  teams: ReadonlyMap<string, { hard: ReadonlyMap<string, bigint>; used: ReadonlyMap<string, bigint> }>;
}

export interface QuotaApplier {
  start(): void;
  stop(): Promise<void>;
  /** Teams or namespaces changed: run a round soon. */
  changed(): void;
  /** The last round's budget and use of a team over its subtree. */
  teamStatus(team: string): TeamQuotaStatus | undefined;
  metrics(): QuotaApplierMetrics;
  /** Resolves after the next complete round (tests, bench). */
  nextRound(): Promise<void>;
}

export interface QuotaApplierOptions {
  client: KubeClient;
  index: PermissionIndex;
  logger: Logger;
  clock: Clock;
  intervalMs: number;
  /** The leader's term; undefined when not leading (no writes then). */
  term: () => AbortSignal | undefined;
  /** Teams whose status.quota changed (the controller re-computes their status). */
  onTeamsChanged?: (teams: string[]) => void;
}

interface RqObject {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { hard?: Record<string, string> };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

/** The one team whose budget a namespace draws on: its team label, else the first team listing it. */
export function quotaTeamOf(index: PermissionIndex, namespace: string): string | undefined {
  const label = index.namespaceLabelTeam(namespace);
  if (label !== undefined && index.getTeam(label)) return label;
  return [...(index.namespaceSpecTeams(namespace) ?? [])].filter((t) => index.getTeam(t)).sort()[0];
}

export function quotaWorld(index: PermissionIndex, items: readonly RqObject[]): QuotaWorld {
  const teams = quotaTeams(index.listTeams() as Team[]);
  const namespaceTeam = new Map<string, string>();
  for (const ns of index.listNamespaces() as Namespace[]) {
    if (ns.metadata.deletionTimestamp) continue;
    const t = quotaTeamOf(index, ns.metadata.name);
    if (t !== undefined) namespaceTeam.set(ns.metadata.name, t);
  }
  const observed = new Map<string, ObservedQuota[]>();
  for (const q of items) {
    try {
      const o: ObservedQuota = {
        namespace: q.metadata.namespace,
        name: q.metadata.name,
        spec: parseList(q.spec?.hard),
        status: q.status?.hard === undefined ? undefined : parseList(q.status.hard),
        used: parseList(q.status?.used),
      };
      const list = observed.get(o.namespace) ?? [];
      list.push(o);
      observed.set(o.namespace, list);
    } catch {
      // A quantity we cannot read (hand-edited): treat the quota as unsynced with no limits in spec, so it is rewritten.
      const list = observed.get(q.metadata.namespace) ?? [];
      list.push({ namespace: q.metadata.namespace, name: q.metadata.name, spec: new Map([['', 0n]]), status: undefined, used: new Map() });
      observed.set(q.metadata.namespace, list);
    }
  }
  return { teams, namespaceTeam, observed };
}

/** Per team: budget and use summed over the namespaces below it. */
export function teamTotals(world: QuotaWorld): Map<string, { hard: Map<string, bigint>; used: Map<string, bigint> }> {
  const out = new Map<string, { hard: Map<string, bigint>; used: Map<string, bigint> }>();
  for (const t of world.teams.values()) out.set(t.name, { hard: new Map(t.hard), used: new Map() });
  for (const [ns, team] of world.namespaceTeam) {
    const used = new Map<string, bigint>();
    for (const q of world.observed.get(ns) ?? []) for (const [r, v] of q.used) if ((used.get(r) ?? -1n) < v) used.set(r, v);
    const seen = new Set<string>();
    for (let t: string | undefined = team; t !== undefined && !seen.has(t); t = world.teams.get(t)?.parent) {
      seen.add(t);
      const entry = out.get(t);
      if (!entry) break;
      for (const r of entry.hard.keys()) entry.used.set(r, (entry.used.get(r) ?? 0n) + (used.get(r) ?? 0n));
    }
  }
  return out;
}

/** The applier's totals as metric samples, in whole units (milli-units / 1000). */
export function teamQuotaSamples(teams: QuotaApplierMetrics['teams']): Array<{ team: string; resource: string; hard: number; used: number }> {
  const out: Array<{ team: string; resource: string; hard: number; used: number }> = [];
  for (const [team, t] of teams) for (const [resource, hard] of t.hard) out.push({ team, resource, hard: Number(hard) / 1000, used: Number(t.used.get(resource) ?? 0n) / 1000 });
  return out;
}

export function createQuotaApplier(opts: QuotaApplierOptions): QuotaApplier {
  const { client, index, logger, clock } = opts;
  let started = false;
  let stopped = false;
  let dirty = true;
  let cancelTimer: (() => void) | null = null;
  let wake: (() => void) | null = null;
  let loop: Promise<void> | null = null;
  let waiters: Array<() => void> = [];
  const counters = { rounds: 0, writes: 0, errors: 0 };
  let lastPhase: QuotaPlan['phase'] | 'none' = 'none';
  let totals = new Map<string, { hard: Map<string, bigint>; used: Map<string, bigint> }>();
  let statusText = new Map<string, string>();

  function statusOf(team: string): TeamQuotaStatus | undefined {
    const t = totals.get(team);
    if (!t || t.hard.size === 0) return undefined;
    const hard = formatList(t.hard);
    const used = formatList(t.used);
    const g = t.hard.get(GPU);
    return { hard, used, ...(g !== undefined ? { gpu: `${formatQuantity(t.used.get(GPU) ?? 0n)}/${formatQuantity(g)}` } : {}) };
  }

  async function write(term: AbortSignal, w: QuotaPlan['writes'][number]): Promise<void> {
    const path = `/api/v1/namespaces/${encodeURIComponent(w.namespace)}/resourcequotas`;
    if (w.op === 'delete') {
      await client.request({ method: 'DELETE', path: `${path}/${encodeURIComponent(w.name)}`, signal: term, timeoutMs: 10_000 }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      return;
    }
    const body = {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: {
        name: w.name,
        namespace: w.namespace,
        labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [COMPONENT_LABEL]: COMPONENT },
        // The refusal names the quota (gatehouse-team-<team>); these say whose budget it is.
        annotations: { [QUOTA_TEAM_ANNOTATION]: w.team, [QUOTA_BUDGET_ANNOTATION]: w.budget },
      },
      spec: { hard: formatList(w.hard) },
    };
    await client.request({
      method: 'PATCH',
      path: `${path}/${encodeURIComponent(w.name)}`,
      query: { fieldManager: FIELD_MANAGER, force: true },
      body,
      contentType: 'application/apply-patch+yaml',
      signal: term,
      timeoutMs: 10_000,
    });
  }

  async function round(): Promise<void> {
    const term = opts.term();
    if (!term || term.aborted || !index.synced) return;
    const list = await client.request<{ items: RqObject[] }>({ method: 'GET', path: '/api/v1/resourcequotas', query: { labelSelector: QUOTA_SELECTOR }, signal: term, timeoutMs: 30_000 });
    const world = quotaWorld(index, list.items ?? []);
    const desired = allocate(world);
    const p = plan(world, desired);
    lastPhase = p.phase;
    counters.rounds++;
    // Writes of one phase are independent of each other: all tighten (or all loosen).
    await Promise.all(p.writes.map(async (w) => {
      await write(term, w);
      counters.writes++;
    }));
    if (p.writes.length > 0) logger.info({ phase: p.phase, writes: p.writes.length }, 'team quotas written');
    totals = teamTotals(world);
    const next = new Map<string, string>();
    const changedTeams: string[] = [];
    for (const t of world.teams.keys()) {
      const s = statusOf(t);
      const text = s ? JSON.stringify(s) : '';
      next.set(t, text);
      if ((statusText.get(t) ?? '') !== text) changedTeams.push(t);
    }
    statusText = next;
    if (changedTeams.length > 0) opts.onTeamsChanged?.(changedTeams);
    // Another round at once while a plan is under way (tighten -> wait -> loosen).
    if (p.phase !== 'idle') dirty = true;
  }

  async function run(): Promise<void> {
    while (!stopped) {
      const wasDirty = dirty;
      dirty = false;
      try {
        await round();
      } catch (err) {
        counters.errors++;
        logger.warn({ err }, 'team quota round failed');
      }
      const done = waiters;
      waiters = [];
      for (const w of done) w();
      if (stopped) break;
      // Poll: status.used moves with pods. After a tighten, a short pause lets the quota controller sync.
      const delay = dirty && wasDirty ? Math.min(200, opts.intervalMs) : dirty ? Math.min(200, opts.intervalMs) : opts.intervalMs;
      await new Promise<void>((resolve) => {
        wake = resolve;
        cancelTimer = clock.setTimer(resolve, delay);
      });
      wake = null;
      cancelTimer?.();
      cancelTimer = null;
    }
  }

  return {
    start() {
      if (started) return;
      started = true;
      loop = run();
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      for (const w of waiters) w();
      waiters = [];
    },
    changed() {
      dirty = true;
      wake?.();
    },
    teamStatus: statusOf,
    metrics: () => ({ ...counters, lastPhase, teams: totals }),
    nextRound() {
      // Two completions: the one under way may have read the world before the caller's change.
      return new Promise<void>((resolve) => {
        waiters.push(() => waiters.push(resolve));
      });
    },
  };
}
