// Last use from memory to status.lastUsedAt (issue 24), across replicas.
//
// Every replica answers authorization reviews (the Service spreads them), so every replica's
// UsageRecorder holds part of the truth. Each replica publishes its observations in a Lease of its
// own (`gatehouse-usage-<identity>`, label iam.gatehouse.dev/usage=true, in the operator's
// namespace) as one annotation, every half flush interval. The leader, once per
// review.flushInterval, lists those Leases, takes the later time per name (its own memory
// included), and writes status.lastUsedAt of each RoleBinding and User whose recorded time moved
// on: at most one write per object per interval. Why Leases rather than an endpoint on each
// replica: the leader needs no list of pods, no TLS client to its peers and no port; the API
// server, which every replica already talks to, carries the data; a replica that died still
// counts (its last publication stays until the leader prunes it after it merged it).
import type { PermissionIndex } from '../authz/index.js';
import { GROUP, VERSION, PLURALS } from '../api/types.js';
import type { Logger } from '../log.js';
import { isNotFound, isConflict, type KubeClient } from '../controller/kube.js';
import { microTime } from '../controller/leader.js';
import { mergeSnapshots, type UsageRecorder, type UsageSnapshot } from './usage.js';

export const USAGE_LABEL = 'iam.gatehouse.dev/usage';
export const USAGE_ANNOTATION = 'iam.gatehouse.dev/last-used';
/** The API server refuses annotations above 256 KiB in all; keep well below. */
export const MAX_PUBLISHED_BYTES = 200_000;

export interface UsageSyncOptions {
  kube: KubeClient;
  namespace: string;
  identity: string;
  recorder: UsageRecorder;
  index: PermissionIndex;
  isLeader: () => boolean;
  flushIntervalMs: number;
  logger: Logger;
  now: () => number;
}

export interface UsageSyncStats {
  statusWrites: number;
  statusWriteErrors: number;
  publishes: number;
  flushes: number;
  /** Per object key (`RoleBinding/x`, `User/y`): the clock time of its last status write. */
  lastWriteAt: ReadonlyMap<string, number>;
}

export interface UsageSync {
  start(): void;
  stop(): Promise<void>;
  /** One publication now (tests, shutdown). */
  publish(): Promise<void>;
  /** One leader flush now, whatever the interval (tests); a no-op on a non-leader. */
  flush(): Promise<number>;
  stats(): UsageSyncStats;
}

/** A Lease name from a replica identity (a pod name, normally already fine). */
export function usageLeaseName(identity: string): string {
  const clean = identity.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `gatehouse-usage-${clean || 'replica'}`.slice(0, 253);
}

/** Seconds since the epoch per name, compact: `{"b":{"name":1712345678},"u":{...}}`. */
export function encodeUsage(snap: UsageSnapshot, maxBytes = MAX_PUBLISHED_BYTES): { text: string; dropped: number } {
  const secs = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => [k, Math.floor(v / 1000)] as const);
  let b = secs(snap.bindings);
  let u = secs(snap.users);
  let text = JSON.stringify({ b: Object.fromEntries(b), u: Object.fromEntries(u) });
  let dropped = 0;
  if (text.length > maxBytes) {
    // Too many names for one annotation: the most recent uses are kept (older ones were
    // published in earlier rounds and are in status already, as long as this replica's leader
    // flushed in between).
    const all = [...b.map((e) => ['b', ...e] as const), ...u.map((e) => ['u', ...e] as const)].sort((x, y) => y[2] - x[2]);
    let keep = all.length;
    while (keep > 0 && text.length > maxBytes) {
      keep = Math.floor(keep * 0.9);
      const kept = all.slice(0, keep);
      b = kept.filter((e) => e[0] === 'b').map((e) => [e[1], e[2]] as const);
      u = kept.filter((e) => e[0] === 'u').map((e) => [e[1], e[2]] as const);
      text = JSON.stringify({ b: Object.fromEntries(b), u: Object.fromEntries(u) });
    }
    dropped = all.length - keep;
  }
  return { text, dropped };
}

/** The inverse of encodeUsage; anything malformed reads as nothing (a peer's bad annotation must not stop the flush). */
export function decodeUsage(text: string | undefined): UsageSnapshot {
  const out: UsageSnapshot = { bindings: {}, users: {} };
  if (!text) return out;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return out;
  }
  if (typeof raw !== 'object' || raw === null) return out;
  const read = (part: unknown, into: Record<string, number>) => {
    if (typeof part !== 'object' || part === null || Array.isArray(part)) return;
    for (const [k, v] of Object.entries(part)) if (typeof v === 'number' && Number.isFinite(v) && v > 0) into[k] = v * 1000;
  };
  read((raw as Record<string, unknown>)['b'], out.bindings);
  read((raw as Record<string, unknown>)['u'], out.users);
  return out;
}

/** status.lastUsedAt as written: RFC 3339 to the second. */
export function lastUsedText(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function secondsOf(text: unknown): number {
  if (typeof text !== 'string') return 0;
  const t = Date.parse(text);
  return Number.isFinite(t) ? Math.floor(t / 1000) : 0;
}

interface LeaseObj {
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: { holderIdentity?: string; renewTime?: string };
}

export function createUsageSync(opts: UsageSyncOptions): UsageSync {
  const { kube, namespace, identity, recorder, index, flushIntervalMs, now } = opts;
  const logger = opts.logger.child({ component: 'usage' });
  const leasesPath = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const ownName = usageLeaseName(identity);
  const stats = { statusWrites: 0, statusWriteErrors: 0, publishes: 0, flushes: 0 };
  const lastWriteAt = new Map<string, number>();
  // What this replica last wrote per object (seconds): the informer may not have brought it back yet.
  const lastWrittenSec = new Map<string, number>();
  let lastPublished = '';
  let lastFlush = 0;
  let timer: NodeJS.Timeout | undefined;
  let busy: Promise<void> = Promise.resolve();
  let stopped = false;

  async function publish(): Promise<void> {
    const { text, dropped } = encodeUsage(recorder.snapshot());
    if (text === lastPublished) return;
    if (dropped > 0) logger.warn({ dropped }, 'usage publication capped: oldest names left out');
    const body = (rv?: string): LeaseObj & { apiVersion: string; kind: string } => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: ownName, ...(rv ? { resourceVersion: rv } : {}), labels: { [USAGE_LABEL]: 'true' }, annotations: { [USAGE_ANNOTATION]: text } },
      spec: { holderIdentity: identity, renewTime: microTime(now()) },
    });
    try {
      const existing = await kube.request<LeaseObj>({ method: 'GET', path: `${leasesPath}/${ownName}`, timeoutMs: 10_000 });
      await kube.request({ method: 'PUT', path: `${leasesPath}/${ownName}`, body: body(existing.metadata.resourceVersion), timeoutMs: 10_000 });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await kube.request({ method: 'POST', path: leasesPath, body: body(), timeoutMs: 10_000 });
    }
    lastPublished = text;
    stats.publishes++;
  }

  async function patchStatus(kind: 'RoleBinding' | 'User', name: string, ms: number): Promise<void> {
    await kube.request({
      method: 'PATCH',
      path: `/apis/${GROUP}/${VERSION}/${PLURALS[kind]}/${encodeURIComponent(name)}/status`,
      contentType: 'application/merge-patch+json',
      body: { status: { lastUsedAt: lastUsedText(ms) } },
      timeoutMs: 10_000,
    });
  }

  /** The leader's round: merge every replica's observations, write what moved on. Returns writes made. */
  async function flush(): Promise<number> {
    if (!opts.isLeader() || !index.synced) return 0;
    const at = now();
    const list = await kube.request<{ items?: LeaseObj[] }>({ method: 'GET', path: leasesPath, query: { labelSelector: `${USAGE_LABEL}=true` }, timeoutMs: 10_000 });
    const peers = (list.items ?? []).filter((l) => l.metadata.name !== ownName);
    const merged = mergeSnapshots([recorder.snapshot(), ...peers.map((l) => decodeUsage(l.metadata.annotations?.[USAGE_ANNOTATION]))]);
    let writes = 0;
    const write = async (kind: 'RoleBinding' | 'User', name: string, ms: number, current: unknown): Promise<void> => {
      const key = `${kind}/${name}`;
      const sec = Math.floor(ms / 1000);
      if (sec <= Math.max(secondsOf(current), lastWrittenSec.get(key) ?? 0)) return;
      const last = lastWriteAt.get(key);
      // At most one write per object per interval, however often the round runs and however long
      // a round takes: measured from when the last write to it had finished to when this one starts.
      if (last !== undefined && now() - last < flushIntervalMs) return;
      if (!opts.isLeader()) return;
      try {
        await patchStatus(kind, name, ms);
        lastWriteAt.set(key, now());
        lastWrittenSec.set(key, sec);
        stats.statusWrites++;
        writes++;
      } catch (err) {
        // Deleted meanwhile (404) or a transient failure: the next round tries again.
        if (!isNotFound(err)) {
          stats.statusWriteErrors++;
          logger.warn({ kind, name, err: err instanceof Error ? err.message : String(err) }, 'lastUsedAt not written');
        }
      }
    };
    for (const [name, ms] of Object.entries(merged.bindings)) {
      const b = index.getBinding(name);
      if (b) await write('RoleBinding', name, ms, b.status?.lastUsedAt);
    }
    for (const [username, ms] of Object.entries(merged.users)) {
      const rec = index.userRecord(username);
      const obj = rec?.object;
      if (obj) await write('User', obj.metadata.name, ms, obj.status?.lastUsedAt);
    }
    // Publications of replicas gone for three intervals are merged now: remove them.
    for (const l of peers) {
      const renewed = Date.parse(l.spec?.renewTime ?? '');
      if (Number.isFinite(renewed) && at - renewed > 3 * flushIntervalMs && at - renewed > 60_000) {
        try {
          await kube.request({ method: 'DELETE', path: `${leasesPath}/${l.metadata.name}`, timeoutMs: 10_000 });
        } catch (err) {
          if (!isNotFound(err) && !isConflict(err)) logger.debug({ lease: l.metadata.name }, 'stale usage lease not removed');
        }
      }
    }
    lastFlush = at;
    stats.flushes++;
    if (writes > 0) logger.info({ writes }, 'lastUsedAt written');
    return writes;
  }

  function tick(): void {
    busy = busy.then(async () => {
      if (stopped) return;
      try {
        await publish();
        if (now() - lastFlush >= flushIntervalMs) await flush();
      } catch (err) {
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'usage round failed');
      }
    });
  }

  return {
    start() {
      if (timer || stopped) return;
      lastFlush = now();
      timer = setInterval(tick, Math.max(100, Math.floor(flushIntervalMs / 2)));
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await busy;
    },
    publish: () => publish(),
    flush: () => flush(),
    stats: () => ({ ...stats, lastWriteAt }),
  };
}

/** `10m`, `90s`, `1h`, `500ms`, `7d` to milliseconds; undefined when it is none of these. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return n * unit;
}
