// Keeps the cluster's Gatehouse-managed RBAC objects equal to what the RBAC compiler wants (modes
// `rbac` and `both`). Its objects are those under the reserved name prefix `gatehouse:` (every
// name the compiler writes) and those labelled app.kubernetes.io/managed-by=gatehouse; it never
// updates or deletes anything else. The name, not the label, is what marks an object as
// Gatehouse's: a namespace user can remove the label of a compiled RoleBinding in their namespace,
// not rename it, so a label removal is repaired like a subjects edit, and an object found under a
// reserved name without the label (tampered with, or created by someone else) is rewritten or
// deleted and reported (log, gatehouse_rbac_foreign_objects_total), never left granting (issue 32,
// item 11). Level-based, like the controller:
// - any index change (Namespaces included) schedules one compile, which is incremental
//   (src/rbac/compile.ts: only the units whose inputs changed are recompiled); only keys whose
//   desired content changed are checked against the cache; a full resync (leadership gained, or
//   resync()) checks every key;
// - a watch event on a managed object checks that key (a hand edit or delete is undone);
// - a key whose desired and cached content differ is queued; the leader's workers write it with
//   server-side apply (field manager `gatehouse`), create a missing one, or delete one no longer
//   wanted, at most `writesPerSecond` writes per second; equal content is never written;
// - the next binding expiry sets one timer (no polling).
import type { Logger } from '../log.js';
import type { GatehouseConfig } from '../config.js';
import type { PermissionIndex } from '../authz/index.js';
import { RbacCompiler } from '../rbac/compile.js';
import { isGatehouseObject, keyOf, MANAGED_BY, MANAGED_BY_LABEL, objectKey, RBAC_GROUP, SOURCE_ANNOTATION, SOURCE_LABEL, type RbacKind, type RbacObject } from '../rbac/objects.js';
import { indexSource } from '../rbac/source.js';
import type { Clock } from './clock.js';
import { createInformer, type Informer, type KubeObject } from './informer.js';
import { isConflict, isNotFound, type KubeClient } from './kube.js';
import { createWorkQueue } from './queue.js';

export const FIELD_MANAGER = 'gatehouse';
/** How often discovery is read for new API groups (CRDs installed while nothing else changed). */
const DISCOVERY_INTERVAL_MS = 60_000;
const API = `/apis/${RBAC_GROUP}/v1`;

export interface RbacApplierOptions {
  client: KubeClient;
  index: PermissionIndex;
  config: GatehouseConfig;
  logger: Logger;
  clock: Clock;
  /** The leader's current term; writes stop when it aborts. Undefined when not the leader. */
  term: () => AbortSignal | undefined;
  /** After a compile: usernames whose count of binding objects changed (their User status shows it). */
  onCountsChanged?: (usernames: string[]) => void;
}

export interface RbacApplierMetrics {
  compiles: number;
  lastCompileMs: number;
  desiredObjects: number;
  managedObjects: number;
  writes: number;
  creates: number;
  applies: number;
  deletes: number;
  /**
   * Objects found under a reserved name without Gatehouse's label (a label removed by hand, or an
   * object someone else created under that name): each was rewritten or deleted.
   */
  foreignObjects: number;
  /** The earliest expiresAt still ahead among bindings (ms since the epoch), or null. */
  nextExpiry: number | null;
  /** Gatehouse RoleBindings whose expiresAt has passed while RBAC objects compiled from them are still in the cluster. */
  overdueGrants: number;
}

export interface RbacApplier {
  readonly informers: ReadonlyArray<Informer<KubeObject>>;
  /** The index changed: compile again soon. */
  changed(): void;
  /** Compare every desired and managed object with the cache (leadership gained, tests, bench). */
  resync(): void;
  /** Starts the write queue (once the index has synced). */
  start(): void;
  stop(): Promise<void>;
  /** Resolves once nothing is scheduled, queued or being written. */
  idle(): Promise<void>;
  /** Reads the API groups the cluster serves now (discovery); compiles again when they changed. */
  refreshApiGroups(): Promise<void>;
  metrics(): RbacApplierMetrics;
  /** How many managed binding objects name this username, per the last compile (undefined before one). */
  subjectCount(username: string): number | undefined;
  /** Whether the last compile's objects are all in the cache as wanted. */
  converged(): boolean;
}

interface CachedRbac extends KubeObject {
  metadata: KubeObject['metadata'] & { namespace?: string };
  rules?: unknown[] | null;
  roleRef?: { apiGroup?: string; kind?: string; name?: string };
  subjects?: Array<{ kind?: string; apiGroup?: string; name?: string; namespace?: string }> | null;
}

const RULE_FIELDS = ['apiGroups', 'resources', 'resourceNames', 'nonResourceURLs', 'verbs'] as const;

/** The part of an object Gatehouse owns, in one canonical text (desired and cached alike). */
function content(kind: RbacKind, o: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; rules?: unknown; roleRef?: unknown; subjects?: unknown }): string {
  const labels = o.metadata.labels ?? {};
  const annotations = o.metadata.annotations ?? {};
  const own = [labels[MANAGED_BY_LABEL] ?? null, labels[SOURCE_LABEL] ?? null, annotations[SOURCE_ANNOTATION] ?? null];
  if (kind === 'ClusterRole') {
    const rules = ((o.rules as Array<Record<string, unknown>> | null | undefined) ?? []).map((r) =>
      RULE_FIELDS.map((f) => {
        const v = r[f];
        return Array.isArray(v) && v.length > 0 ? v : null;
      }),
    );
    return JSON.stringify([own, rules]);
  }
  const ref = (o.roleRef ?? {}) as Record<string, unknown>;
  const subjects = ((o.subjects as Array<Record<string, unknown>> | null | undefined) ?? []).map((s) => [s['kind'], s['apiGroup'] ?? (s['kind'] === 'ServiceAccount' ? '' : RBAC_GROUP), s['name'], s['namespace'] ?? null]);
  return JSON.stringify([own, [ref['apiGroup'], ref['kind'], ref['name']], subjects]);
}

function pathOf(kind: RbacKind, namespace: string | undefined, name?: string): string {
  const plural = kind === 'ClusterRole' ? 'clusterroles' : kind === 'ClusterRoleBinding' ? 'clusterrolebindings' : 'rolebindings';
  const base = kind === 'RoleBinding' ? `${API}/namespaces/${encodeURIComponent(namespace!)}/${plural}` : `${API}/${plural}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

function manifest(o: RbacObject): Record<string, unknown> {
  const { kind, metadata, ...rest } = o;
  return { apiVersion: `${RBAC_GROUP}/v1`, kind, metadata, ...rest };
}

/** A token bucket: at most `rate` writes per second, bursts up to `rate`. */
function tokenBucket(rate: number, clock: Clock): (signal: AbortSignal) => Promise<void> {
  let tokens = rate;
  let at = clock.now();
  return async (signal) => {
    for (;;) {
      const now = clock.now();
      tokens = Math.min(rate, tokens + ((now - at) / 1000) * rate);
      at = now;
      if (tokens >= 1) {
        tokens -= 1;
        return;
      }
      const wait = Math.ceil(((1 - tokens) / rate) * 1000);
      await new Promise<void>((resolve) => {
        const cancel = clock.setTimer(done, wait);
        function done(): void {
          cancel();
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
      if (signal.aborted) throw new Error('not the leader any more');
    }
  };
}

export function createRbacApplier(opts: RbacApplierOptions): RbacApplier {
  const { client, index, config, clock } = opts;
  const logger = opts.logger.child({ component: 'rbac' });
  const settings = config.authorization.rbac;
  const source = indexSource(index);
  const counters = { compiles: 0, lastCompileMs: 0, writes: 0, creates: 0, applies: 0, deletes: 0, foreignObjects: 0 };
  const compiler = new RbacCompiler(settings.maxSubjectsPerObject);
  /** Set by the first compile. */
  let compiled = false;
  /** Desired content per key as of the last compile. */
  const desiredText = new Map<string, string>();
  /** What was last written per key, until the watch brings the next event for it back. */
  const written = new Map<string, string>();
  let started = false;
  let stopped = false;
  let scheduled: (() => void) | null = null;
  let fullCheck = false;
  let cancelExpiry = (): void => {};
  let cancelDiscovery = (): void => {};
  /** The groups the cluster serves, from discovery; group-less wildcards are written over them. */
  let apiGroups: readonly string[] = [];
  const idleWaiters: Array<() => void> = [];
  const take = tokenBucket(settings.writesPerSecond, clock);

  const queue = createWorkQueue({ clock, logger, backoffInitialMs: config.operator.watch.backoffInitialMs, backoffMaxMs: config.operator.watch.backoffMaxMs, concurrency: 4 });

  const informerFor = (kind: RbacKind, path: string): Informer<CachedRbac> =>
    createInformer<CachedRbac>({
      kind,
      path,
      client,
      // No label selector: the label is not what makes an object Gatehouse's (see the top comment).
      accept: isGatehouseObject,
      watch: config.operator.watch,
      clock,
      logger,
      handler: {
        onReplace(objects, previous) {
          const keys = new Set<string>();
          for (const o of objects) keys.add(objectKey(kind, o.metadata.namespace, o.metadata.name));
          for (const o of previous.values()) keys.add(objectKey(kind, o.metadata.namespace, o.metadata.name));
          for (const k of keys) observed(k);
        },
        onUpsert: (o) => observed(objectKey(kind, o.metadata.namespace, o.metadata.name)),
        onDelete: (o) => observed(objectKey(kind, o.metadata.namespace, o.metadata.name)),
      },
    });
  const caches = {
    ClusterRole: informerFor('ClusterRole', `${API}/clusterroles`),
    ClusterRoleBinding: informerFor('ClusterRoleBinding', `${API}/clusterrolebindings`),
    RoleBinding: informerFor('RoleBinding', `${API}/rolebindings`),
  } as const;

  function cached(key: string): CachedRbac | undefined {
    const [kind, ns, ...rest] = key.split('/') as [RbacKind, string, ...string[]];
    const name = rest.join('/');
    return caches[kind].store.get(ns ? `${ns}/${name}` : name);
  }

  /** The cache now shows the object as the API server has it: our last write is no longer pending. */
  function observed(key: string): void {
    written.delete(key);
    check(key);
  }

  /** Whether a key needs a write now; queues it when it does. */
  function check(key: string): void {
    if (!started || stopped || !compiled || opts.term() === undefined) return;
    const want = desiredText.get(key);
    const have = cached(key);
    const kind = key.slice(0, key.indexOf('/')) as RbacKind;
    const haveText = have ? content(kind, have) : undefined;
    if (want === haveText) return;
    // Already being deleted (a finalizer holds it): deleting again would only spin.
    if (want === undefined && have?.metadata.deletionTimestamp) return;
    if (written.get(key) === (want ?? 'deleted')) return; // our write is on its way back
    queue.add(key);
  }

  function compile(): void {
    scheduled = null;
    if (stopped || !index.synced) return;
    const t0 = performance.now();
    const next = compiler.update(source, { now: index.now(), apiGroups });
    let moved = 0;
    for (const k of next.changed) {
      const o = next.objects.get(k);
      const text = o === undefined ? undefined : content(o.kind, o);
      if (text === desiredText.get(k)) continue;
      if (text === undefined) desiredText.delete(k);
      else desiredText.set(k, text);
      moved++;
      if (!fullCheck) check(k);
    }
    compiled = true;
    counters.compiles++;
    counters.lastCompileMs = performance.now() - t0;
    if (fullCheck) {
      fullCheck = false;
      for (const k of desiredText.keys()) check(k);
      for (const inf of Object.values(caches)) for (const o of inf.store.values()) check(keyOf({ kind: inf.kind as RbacKind, metadata: o.metadata } as RbacObject));
    }
    logger.debug({ objects: desiredText.size, units: next.recompiled, moved, ms: Math.round(counters.lastCompileMs) }, 'rbac compiled');
    if (opts.onCountsChanged && next.countsChanged.length > 0) opts.onCountsChanged([...next.countsChanged]);
    cancelExpiry();
    if (next.nextExpiry !== null) cancelExpiry = clock.setTimer(() => changed(), next.nextExpiry - index.now() + 1);
    settleIdle();
  }

  function changed(): void {
    if (stopped || !started || scheduled !== null) return;
    // One compile for a burst of events (a relist, a kubectl apply of many objects).
    scheduled = clock.setTimer(compile, 5);
  }

  async function write(key: string): Promise<void> {
    const term = opts.term();
    if (!term || term.aborted || stopped || !compiled) return;
    const want = compiler.objects.get(key);
    const have = cached(key);
    const kind = key.slice(0, key.indexOf('/')) as RbacKind;
    const wantText = desiredText.get(key);
    if (have && wantText === content(kind, have)) return;
    if (written.get(key) === (wantText ?? 'deleted')) return;
    const request = async <T>(req: Parameters<KubeClient['request']>[0]): Promise<T> => {
      await take(term);
      counters.writes++;
      return client.request<T>({ ...req, signal: term, timeoutMs: 10_000 });
    };
    const ns = want?.metadata.namespace ?? have?.metadata.namespace;
    if (have && have.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) foreign(kind, ns, have.metadata.name, want ? 'rewritten' : 'deleted');
    if (!want) {
      if (!have) return;
      try {
        await request({ method: 'DELETE', path: pathOf(kind, ns, have.metadata.name), body: { preconditions: { uid: have.metadata.uid } } });
        counters.deletes++;
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
      written.set(key, 'deleted');
      return;
    }
    const apply = async (): Promise<void> => {
      await request({ method: 'PATCH', path: pathOf(kind, ns, want.metadata.name), query: { fieldManager: FIELD_MANAGER, force: true }, body: manifest(want), contentType: 'application/apply-patch+yaml' });
      counters.applies++;
    };
    if (have) {
      const haveRef = (have.roleRef ?? {}).name;
      if (want.kind !== 'ClusterRole' && haveRef !== want.roleRef.name) {
        // roleRef cannot change: replace the object.
        await request({ method: 'DELETE', path: pathOf(kind, ns, want.metadata.name), body: { preconditions: { uid: have.metadata.uid } } }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
        counters.deletes++;
        if (!(await create(want, kind, ns, request, apply))) return;
      } else {
        await apply();
      }
    } else if (!(await create(want, kind, ns, request, apply))) {
      return;
    }
    written.set(key, wantText!);
  }

  /** An object under a reserved name without Gatehouse's label: an error the operator reports, then repairs. */
  function foreign(kind: RbacKind, namespace: string | undefined, name: string, action: 'rewritten' | 'deleted'): void {
    counters.foreignObjects++;
    logger.error({ kind, namespace, name, action }, 'rbac object under a reserved name without the gatehouse label, taken back');
  }

  // A create first; an object already under the name (the cache had not seen it) is Gatehouse's
  // by its reserved name: reported when it lacks the label, then rewritten (replaced when its
  // roleRef differs, since a roleRef cannot change). False when nothing was written.
  async function create(want: RbacObject, kind: RbacKind, ns: string | undefined, request: <T>(req: Parameters<KubeClient['request']>[0]) => Promise<T>, apply: () => Promise<void>): Promise<boolean> {
    try {
      await request({ method: 'POST', path: pathOf(kind, ns), query: { fieldManager: FIELD_MANAGER }, body: manifest(want) });
      counters.creates++;
      return true;
    } catch (err) {
      if (!isConflict(err)) throw err;
      const existing = await client.request<CachedRbac>({ method: 'GET', path: pathOf(kind, ns, want.metadata.name), timeoutMs: 10_000 });
      if (existing.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) foreign(kind, ns, want.metadata.name, 'rewritten');
      if (want.kind !== 'ClusterRole' && (existing.roleRef ?? {}).name !== want.roleRef.name) {
        await request({ method: 'DELETE', path: pathOf(kind, ns, want.metadata.name), body: { preconditions: { uid: existing.metadata.uid } } }).catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
        counters.deletes++;
        // The next attempt (queue retry) creates it; failing here keeps the key queued.
        throw new Error('rbac object under a reserved name replaced, create again');
      }
      await apply();
      return true;
    }
  }

  /**
   * Discovery, so a group-less wildcard covers a CRD group installed later. Read at start and every
   * DISCOVERY_INTERVAL_MS (one GET; a compile only when the list changed); a failure keeps the last
   * list, which can only grant less (built-in groups and the groups Roles name are always covered).
   */
  async function refreshApiGroups(): Promise<void> {
    try {
      const list = await client.request<{ groups?: Array<{ name?: string }> }>({ method: 'GET', path: '/apis', timeoutMs: 10_000 });
      const next = [...new Set((list.groups ?? []).map((g) => g.name ?? '').filter((n) => n !== ''))].sort();
      if (next.join(',') === apiGroups.join(',')) return;
      apiGroups = next;
      changed();
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'rbac api discovery failed, keeping the last group list');
    }
  }

  function discoveryLoop(): void {
    cancelDiscovery = clock.setTimer(() => {
      if (stopped) return;
      void refreshApiGroups().finally(() => {
        if (!stopped) discoveryLoop();
      });
    }, DISCOVERY_INTERVAL_MS);
  }

  /**
   * Gatehouse RoleBindings past their expiresAt whose compiled objects are still in the cluster.
   * Read from every replica's own caches and index, leader or not, so a scrape of any replica
   * shows a grant the leader has not ended (docs/rbac.md, "Expiry"). 0 once the leader deleted them.
   */
  function overdueGrants(): number {
    const now = index.now();
    const overdue = new Set<string>();
    for (const inf of [caches.RoleBinding, caches.ClusterRoleBinding]) {
      for (const o of inf.store.values()) {
        const source = o.metadata.annotations?.[SOURCE_ANNOTATION];
        if (source === undefined || !source.startsWith('RoleBinding/')) continue;
        const name = source.slice('RoleBinding/'.length);
        if (overdue.has(name)) continue;
        const at = index.bindingExpiry(name);
        if (at !== null && at <= now) overdue.add(name);
      }
    }
    return overdue.size;
  }

  function settleIdle(): void {
    if (scheduled !== null) return;
    void queue.idle().then(() => {
      if (scheduled === null) idleWaiters.splice(0).forEach((r) => r());
    });
  }

  return {
    informers: Object.values(caches) as unknown as Array<Informer<KubeObject>>,
    changed,
    resync() {
      fullCheck = true;
      if (scheduled === null && started && !stopped) scheduled = clock.setTimer(compile, 0);
    },
    start() {
      if (started) return;
      started = true;
      queue.start(write);
      fullCheck = true;
      scheduled = clock.setTimer(compile, 0);
      void refreshApiGroups();
      discoveryLoop();
      const { mode, denyInactiveUsers } = config.authorization;
      if (mode === 'rbac' && denyInactiveUsers) {
        logger.warn({ mode }, 'denyInactiveUsers is not enforced in rbac mode: RBAC only adds grants, so an inactive user keeps grants made outside Gatehouse');
      }
    },
    async stop() {
      stopped = true;
      scheduled?.();
      scheduled = null;
      cancelExpiry();
      cancelDiscovery();
      await queue.stop();
      await Promise.all(Object.values(caches).map((i) => i.stop()));
    },
    refreshApiGroups,
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settleIdle();
      });
    },
    metrics: () => ({
      ...counters,
      desiredObjects: desiredText.size,
      managedObjects: Object.values(caches).reduce((n, i) => n + i.store.size, 0),
      nextExpiry: index.nextExpiry(),
      overdueGrants: overdueGrants(),
    }),
    subjectCount: (username) => (compiled ? (compiler.subjectCounts.get(username) ?? 0) : undefined),
    converged() {
      if (!compiled) return false;
      for (const [k, text] of desiredText) {
        const have = cached(k);
        if (!have || content(k.slice(0, k.indexOf('/')) as RbacKind, have) !== text) return false;
      }
      return Object.values(caches).reduce((n, i) => n + i.store.size, 0) === desiredText.size;
    },
  };
}
