// History of access changes (issue 24): what admission saw change, as a Kubernetes Event naming
// the actor (the admission request's userInfo) and a pino line `access.changed` with before and
// after. The Events are for people (`kubectl gatehouse history`, `kubectl get events`) and last
// as long as the API server keeps Events (--event-ttl, one hour by default); the log line is the
// durable record, meant for a log store.
//
// accessChange() is pure. The recorder puts Events on a bounded queue sent in the background:
// admission answers without waiting for it, and a failing or slow Events API only drops Events
// (counted), never slows or refuses a write. The log line is written before the answer.
import { GROUP } from '../api/types.js';
import type { AdmissionReviewRequest } from '../admission/types.js';
import type { Logger } from '../log.js';
import type { KubeClient } from '../controller/kube.js';

export type ChangeKind = 'User' | 'Role' | 'Team' | 'RoleBinding';
export type ChangeVerb = 'created' | 'changed' | 'deleted' | 'expired';

export interface AccessChange {
  kind: ChangeKind;
  name: string;
  change: ChangeVerb;
  actor: string;
  /** The fields history is about, before and after (null: the object did not exist). */
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** Users, teams and roles the change is about, for `history --user/--team/--role`. */
  users: string[];
  teams: string[];
  roles: string[];
}

export const ANNOTATIONS = {
  actor: 'iam.gatehouse.dev/actor',
  change: 'iam.gatehouse.dev/change',
  users: 'iam.gatehouse.dev/users',
  teams: 'iam.gatehouse.dev/teams',
  roles: 'iam.gatehouse.dev/roles',
} as const;
export const REASON = 'AccessChanged';
/** The controller's Event when a binding's expiresAt passes (src/controller/status.ts). */
export const EXPIRED_REASON = 'BindingExpired';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const specOf = (o: Obj | undefined): Obj => (o && isObj(o['spec']) ? o['spec'] : {});
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The part of each kind's spec history records. */
function watched(kind: ChangeKind, o: Obj | undefined): Obj | null {
  if (!o) return null;
  const s = specOf(o);
  switch (kind) {
    case 'User':
      return { state: s['state'] ?? null, superuser: s['superuser'] === true };
    case 'Role':
      return { permissions: strings(s['permissions']), includes: strings(s['includes']), rules: Array.isArray(s['rules']) ? s['rules'] : [] };
    case 'Team':
      return { members: strings(s['members']) };
    case 'RoleBinding':
      return { role: s['role'] ?? null, subjects: Array.isArray(s['subjects']) ? s['subjects'] : [], scope: s['scope'] ?? null, expiresAt: s['expiresAt'] ?? null };
  }
}

function subjectsOf(after: Obj | null, before: Obj | null, kind: string): string[] {
  const out = new Set<string>();
  for (const part of [before, after]) {
    for (const s of Array.isArray(part?.['subjects']) ? (part['subjects'] as unknown[]) : []) {
      if (isObj(s) && s['kind'] === kind && typeof s['name'] === 'string') out.add(s['name']);
    }
  }
  return [...out].sort();
}

/** What a write reviewed by admission changes in access, or null when it changes nothing history keeps. */
export function accessChange(review: AdmissionReviewRequest): AccessChange | null {
  if (review.dryRun || review.subResource) return null;
  if (review.kind.group !== GROUP) return null;
  const kind = review.kind.kind as ChangeKind;
  if (!['User', 'Role', 'Team', 'RoleBinding'].includes(kind)) return null;
  const change: ChangeVerb | undefined = review.operation === 'CREATE' ? 'created' : review.operation === 'UPDATE' ? 'changed' : review.operation === 'DELETE' ? 'deleted' : undefined;
  if (!change) return null;
  const before = change === 'created' ? null : watched(kind, review.oldObject);
  const after = change === 'deleted' ? null : watched(kind, review.object);
  if (change === 'changed' && JSON.stringify(before) === JSON.stringify(after)) return null;
  if (change === 'deleted' && !review.oldObject) return null;
  const meta = (o: Obj | undefined) => (o && isObj(o['metadata']) ? o['metadata'] : {});
  const name = review.name || String(meta(review.object)['name'] ?? meta(review.oldObject)['name'] ?? '');
  if (!name) return null;
  const users = new Set<string>();
  const teams = new Set<string>();
  const roles = new Set<string>();
  if (kind === 'User') {
    users.add(name);
    const u = specOf(review.object ?? review.oldObject)['username'];
    if (typeof u === 'string') users.add(u);
  }
  if (kind === 'Team') {
    teams.add(name);
    for (const m of [...strings(before?.['members']), ...strings(after?.['members'])]) users.add(m);
  }
  if (kind === 'Role') roles.add(name);
  if (kind === 'RoleBinding') {
    for (const r of [before?.['role'], after?.['role']]) if (typeof r === 'string') roles.add(r);
    for (const u of subjectsOf(after, before, 'User')) users.add(u);
    for (const t of subjectsOf(after, before, 'Team')) teams.add(t);
    // A binding scoped to a team's namespaces is about that team too.
    for (const part of [before, after]) {
      const scope = part?.['scope'];
      if (isObj(scope)) for (const t of strings(scope['teams'])) teams.add(t);
    }
  }
  return { kind, name, change, actor: review.requester.user || '<unknown>', before, after, users: [...users].sort(), teams: [...teams].sort(), roles: [...roles].sort() };
}

/** One sentence for the Event's message: `alice changed Team vision: members [a] -> [a, b]`. */
export function describeChange(c: AccessChange): string {
  const fmt = (v: unknown): string => (Array.isArray(v) ? `[${v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ')}]` : typeof v === 'string' ? v : JSON.stringify(v));
  const head = `${c.actor} ${c.change} ${c.kind} ${c.name}`;
  if (c.change === 'changed' && c.before && c.after) {
    const parts: string[] = [];
    for (const k of Object.keys(c.after)) {
      if (JSON.stringify(c.before[k]) !== JSON.stringify(c.after[k])) parts.push(`${k} ${fmt(c.before[k])} -> ${fmt(c.after[k])}`);
    }
    return `${head}: ${parts.join('; ')}`.slice(0, 1000);
  }
  const state = c.after ?? c.before;
  const parts = state ? Object.entries(state).filter(([, v]) => v !== null && !(Array.isArray(v) && v.length === 0)).map(([k, v]) => `${k} ${fmt(v)}`) : [];
  return (parts.length ? `${head}: ${parts.join('; ')}` : head).slice(0, 1000);
}

/** The core/v1 Event for a change, in the operator's namespace (the objects are cluster-scoped). */
export function changeEvent(c: AccessChange, namespace: string, identity: string, now: number): Obj {
  const at = new Date(now).toISOString();
  const list = (xs: string[]) => xs.join(',').slice(0, 4000);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      generateName: `${c.name}.`.slice(0, 200),
      namespace,
      annotations: { [ANNOTATIONS.actor]: c.actor, [ANNOTATIONS.change]: c.change, [ANNOTATIONS.users]: list(c.users), [ANNOTATIONS.teams]: list(c.teams), [ANNOTATIONS.roles]: list(c.roles) },
    },
    involvedObject: { apiVersion: `${GROUP}/v1alpha1`, kind: c.kind, name: c.name, namespace },
    reason: REASON,
    message: describeChange(c),
    type: 'Normal',
    source: { component: 'gatehouse-admission' },
    reportingComponent: 'gatehouse-admission',
    reportingInstance: identity,
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  };
}

export interface HistoryRecorderOptions {
  kube: KubeClient;
  namespace: string;
  identity: string;
  logger: Logger;
  now: () => number;
  /** Events waiting to be sent at most; more are dropped (counted). */
  maxQueue?: number;
}

export interface HistoryRecorder {
  /** Looks at an allowed admission request: logs and queues an Event when access changed. Never throws. */
  observe(review: AdmissionReviewRequest): void;
  /** Resolves when the queue is empty (tests, shutdown). */
  drain(): Promise<void>;
  stats(): { recorded: number; sent: number; failed: number; dropped: number; queued: number };
}

export function createHistoryRecorder(opts: HistoryRecorderOptions): HistoryRecorder {
  const { kube, namespace, identity, logger, now } = opts;
  const maxQueue = opts.maxQueue ?? 1000;
  const queue: Obj[] = [];
  const stats = { recorded: 0, sent: 0, failed: 0, dropped: 0 };
  let running: Promise<void> | undefined;
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;

  async function pump(): Promise<void> {
    while (queue.length > 0) {
      const ev = queue.shift()!;
      try {
        await kube.request({ method: 'POST', path, body: ev, timeoutMs: 5000 });
        stats.sent++;
      } catch (err) {
        stats.failed++;
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'access change event not recorded');
      }
    }
  }

  function kick(): void {
    if (running) return;
    running = pump().finally(() => {
      running = undefined;
      // Pushed after the loop looked for the last time.
      if (queue.length > 0) kick();
    });
  }

  return {
    observe(review) {
      try {
        const c = accessChange(review);
        if (!c) return;
        stats.recorded++;
        logger.info({ kind: c.kind, name: c.name, change: c.change, actor: c.actor, before: c.before, after: c.after }, 'access.changed');
        if (queue.length >= maxQueue) {
          stats.dropped++;
          return;
        }
        queue.push(changeEvent(c, namespace, identity, now()));
        kick();
      } catch (err) {
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'access change not recorded');
      }
    },
    async drain() {
      while (running) await running;
    },
    stats: () => ({ ...stats, queued: queue.length }),
  };
}
