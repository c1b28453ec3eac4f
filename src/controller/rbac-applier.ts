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
//   wanted; equal content is never written;
// - the workers write in parallel at the pace the API server sets (src/controller/write-pace.ts):
//   up to MAX_IN_FLIGHT at once, halved on each 429 and paused for its Retry-After, never above
//   `writesPerSecond` (a ceiling, not a pace); progress (pending, written, failed) is in metrics()
//   and a log line per 10% of a large batch;
// - the next binding expiry sets one timer (no polling).
//
// Memory: the caches hold metadata only (PartialObjectMetadata, slimmed to the labels and
// annotations read here), never rules or subject lists. What an object contains is known by
// resourceVersion instead: `known` maps a key to the resourceVersion and content hash of the last
// full copy seen, the answer to our own create or apply, a GET, or the paged read (`sweep`) done
// when many objects are of unknown content (leadership gained, operator start). An object whose
// cached resourceVersion is the known one has the known content; any other version was written by
// someone else (a hand edit: RBAC objects have no generation, and an edit keeps the content-hash
// annotation), so its content is unknown and a worker reads it (one GET) and repairs it when it
// differs. The content-hash annotation written with each object says what it was written as: when
// it differs from the desired hash, a write is due without reading anything.
import type { Logger } from '../log.js';
import type { GatehouseConfig } from '../config.js';
import type { PermissionIndex } from '../authz/index.js';
import { RbacCompiler } from '../rbac/compile.js';
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { HASH_ANNOTATION, isGatehouseObject, MANAGED_BY, MANAGED_BY_LABEL, objectKey, RBAC_GROUP, SOURCE_ANNOTATION, SOURCE_LABEL, type RbacKind, type RbacObject } from '../rbac/objects.js';
import { indexSource } from '../rbac/source.js';
import { sleep, type Clock } from './clock.js';
import { createInformer, type Informer, type KubeObject } from './informer.js';
import { isConflict, isNotFound, KubeApiError, type KubeClient, type KubeRequest } from './kube.js';
import { createWorkQueue } from './queue.js';
import { createWritePace, NotLeaderError } from './write-pace.js';

export const FIELD_MANAGER = 'gatehouse';
/** How often discovery is read for new API groups (CRDs installed while nothing else changed). */
const DISCOVERY_INTERVAL_MS = 60_000;
const API = `/apis/${RBAC_GROUP}/v1`;
/** Writes in flight at most (the API server's 429s shrink the window, see write-pace.ts). */
const MAX_IN_FLIGHT = 64;
/** Above this many cached objects of unknown content, one paged read of all beats a GET each. */
const SWEEP_THRESHOLD = 50;
/** A batch of at least this many keys logs its progress per 10%. */
const PROGRESS_MIN = 100;
const REQUEST_TIMEOUT_MS = 10_000;
/**
 * Status writes wait while at least this many keys are pending and the last one finished within
 * YIELD_PROGRESS_MS (statusTurn): access first, reports after (issue 26). A fresh install of a
 * large world otherwise writes a status for every User, Team and RoleBinding in the same minutes as
 * the grants, and the API server takes the grants at about two thirds of their pace alone
 * (bench:rbac at 0.3 of the size: 252 against 394 grants/s). A backlog that makes no progress
 * (the API server refusing every write) holds nothing, so
 * status can still report what is wrong.
 */
const YIELD_BACKLOG = 200;
const YIELD_PROGRESS_MS = 5_000;
const YIELD_POLL_MS = 250;

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
  /** Keys queued or being written now (progress: pending). */
  pending: number;
  /** Creates, applies and deletes that succeeded (progress: written). */
  written: number;
  /** Writes that failed after their retries (the key is tried again later; progress: failed). */
  failed: number;
  /** Objects read whole to learn their content (a GET each; the sweep's pages are counted as `sweeps`). */
  reads: number;
  sweeps: number;
  /** Throttling answers (429 / Retry-After) and the current window of writes in flight. */
  throttled: number;
  writeWindow: number;
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
  /** Resolves when a status write may go: at once, unless a large backlog of grants is being written (YIELD_BACKLOG). */
  statusTurn(signal: AbortSignal): Promise<void>;
}

interface CachedRbac extends KubeObject {
  metadata: KubeObject['metadata'] & { namespace?: string };
  rules?: unknown[] | null;
  roleRef?: { apiGroup?: string; kind?: string; name?: string };
  subjects?: Array<{ kind?: string; apiGroup?: string; name?: string; namespace?: string }> | null;
}

const RULE_FIELDS = ['apiGroups', 'resources', 'resourceNames', 'nonResourceURLs', 'verbs'] as const;

/**
 * Identical small values shared between cached objects (memory, issue 26): the labels and
 * annotations kept of tens of thousands of objects take a few hundred distinct values (one source
 * annotation per Gatehouse binding, one content hash per distinct content: a binding's RoleBindings
 * in every namespace it covers are equal), so each distinct value is one frozen object or string.
 * Emptied when it grows well past the objects cached, so values no object holds any more go.
 */
export class Interner {
  private readonly strings = new Map<string, string>();
  private readonly records = new Map<string, Readonly<Record<string, string>>>();

  constructor(private readonly bound: () => number) {}

  string(s: string): string {
    const have = this.strings.get(s);
    if (have !== undefined) return have;
    this.trim();
    this.strings.set(s, s);
    return s;
  }

  /** One frozen record per distinct set of these keys' values (undefined when none is set). */
  pick(from: Record<string, string> | undefined, keys: readonly string[]): Readonly<Record<string, string>> | undefined {
    if (from === undefined) return undefined;
    const values = keys.map((k) => from[k]);
    if (values.every((v) => v === undefined)) return undefined;
    const id = JSON.stringify(values);
    const have = this.records.get(id);
    if (have !== undefined) return have;
    const out: Record<string, string> = {};
    keys.forEach((k, i) => {
      if (values[i] !== undefined) out[k] = this.string(values[i]);
    });
    this.trim();
    this.records.set(id, Object.freeze(out));
    return this.records.get(id);
  }

  private trim(): void {
    const limit = 2 * this.bound() + 1024;
    if (this.strings.size > limit) this.strings.clear();
    if (this.records.size > limit) this.records.clear();
  }
}

/** What the caches keep of an object: the metadata read here (no managedFields, no foreign annotations). */
export function slimmer(intern: Interner): (o: CachedRbac) => CachedRbac {
  return (o) => {
    const m = o.metadata;
    const labels = intern.pick(m.labels, [MANAGED_BY_LABEL, SOURCE_LABEL]);
    const annotations = intern.pick(m.annotations, [SOURCE_ANNOTATION, HASH_ANNOTATION]);
    const metadata: CachedRbac['metadata'] = { name: m.name };
    if (m.namespace !== undefined) metadata.namespace = intern.string(m.namespace);
    if (m.uid !== undefined) metadata.uid = m.uid;
    if (m.resourceVersion !== undefined) metadata.resourceVersion = m.resourceVersion;
    if (m.deletionTimestamp !== undefined) metadata.deletionTimestamp = m.deletionTimestamp;
    if (labels) metadata.labels = labels as Record<string, string>;
    if (annotations) metadata.annotations = annotations as Record<string, string>;
    return { metadata };
  };
}

/** The content hash (HASH_ANNOTATION) of a desired or a whole cluster object. */
export function contentHash(kind: RbacKind, o: Parameters<typeof content>[1]): string {
  return base64url22(createHash('sha256').update(content(kind, o)).digest());
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The first 22 characters of a digest's base64url text, built as one flat string (`slice` of the
 * whole text would keep the 43-character parent alive behind a slice: tens of thousands are kept).
 */
function base64url22(d: Uint8Array): string {
  const codes: number[] = [];
  for (let i = 0; codes.length < 22; i += 3) {
    const n = (d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!;
    codes.push(B64URL.charCodeAt(n >>> 18), B64URL.charCodeAt((n >>> 12) & 63), B64URL.charCodeAt((n >>> 6) & 63), B64URL.charCodeAt(n & 63));
  }
  return String.fromCharCode(...codes.slice(0, 22));
}

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

function manifest(o: RbacObject, hash: string): Record<string, unknown> {
  const { kind, metadata, ...rest } = o;
  return { apiVersion: `${RBAC_GROUP}/v1`, kind, metadata: { ...metadata, annotations: { ...metadata.annotations, [HASH_ANNOTATION]: hash } }, ...rest };
}

/**
 * What the last full copy of an object seen said, as one string: its resourceVersion, a space, its
 * content hash (one flat string per object rather than an object and two strings: memory).
 */
type Known = string;
const knownOf = (rv: string, hash: string): Known => [rv, hash].join(' ');
/** The remembered hash when the remembered resourceVersion is `rv`, else undefined. */
function knownHash(k: Known | undefined, rv: string | undefined): string | undefined {
  if (k === undefined || rv === undefined) return undefined;
  return k.length > rv.length && k.charCodeAt(rv.length) === 32 && k.startsWith(rv) ? k.slice(rv.length + 1) : undefined;
}

type State = 'same' | 'differs' | 'unknown';

export function createRbacApplier(opts: RbacApplierOptions): RbacApplier {
  const { client, index, config, clock } = opts;
  const logger = opts.logger.child({ component: 'rbac' });
  const settings = config.authorization.rbac;
  const source = indexSource(index);
  const counters = { compiles: 0, lastCompileMs: 0, writes: 0, creates: 0, applies: 0, deletes: 0, foreignObjects: 0, failed: 0, reads: 0, sweeps: 0 };
  const compiler = new RbacCompiler(settings.maxSubjectsPerObject);
  /** Set by the first compile. */
  let compiled = false;
  /** Desired content hash per key as of the last compile. */
  const desiredHash = new Map<string, string>();
  /** Per key: the resourceVersion and content hash of the last whole copy seen (see the top comment). */
  const known = new Map<string, Known>();
  let started = false;
  let stopped = false;
  let scheduled: (() => void) | null = null;
  let fullCheck = false;
  let sweeping: Promise<void> | null = null;
  let cancelExpiry = (): void => {};
  let cancelDiscovery = (): void => {};
  /** The groups the cluster serves, from discovery; group-less wildcards are written over them. */
  let apiGroups: readonly string[] = [];
  const idleWaiters: Array<() => void> = [];
  const pace = createWritePace({ clock, ratePerSecond: settings.writesPerSecond, maxInFlight: MAX_IN_FLIGHT, backoffInitialMs: config.operator.watch.backoffInitialMs, backoffMaxMs: config.operator.watch.backoffMaxMs });
  let active = 0;
  /** The batch being converged, for the progress log. */
  let round: { startedAt: number; done: number; decile: number; written0: number } | null = null;

  const queue = createWorkQueue({ clock, logger, backoffInitialMs: config.operator.watch.backoffInitialMs, backoffMaxMs: config.operator.watch.backoffMaxMs, concurrency: MAX_IN_FLIGHT });

  const intern = new Interner(() => desiredHash.size + known.size);
  const informerFor = (kind: RbacKind, path: string): Informer<CachedRbac> =>
    createInformer<CachedRbac>({
      kind,
      path,
      client,
      // No label selector: the label is not what makes an object Gatehouse's (see the top comment).
      accept: isGatehouseObject,
      metadataOnly: true,
      transform: slimmer(intern),
      watch: config.operator.watch,
      clock,
      logger,
      handler: {
        onReplace(objects, previous) {
          const keys = new Set<string>();
          for (const o of objects) keys.add(objectKey(kind, o.metadata.namespace, o.metadata.name));
          for (const o of previous.values()) keys.add(objectKey(kind, o.metadata.namespace, o.metadata.name));
          for (const k of keys) check(k);
        },
        onUpsert: (o) => check(objectKey(kind, o.metadata.namespace, o.metadata.name)),
        onDelete: (o) => {
          const key = objectKey(kind, o.metadata.namespace, o.metadata.name);
          known.delete(key);
          check(key);
        },
      },
    });
  const caches = {
    ClusterRole: informerFor('ClusterRole', `${API}/clusterroles`),
    ClusterRoleBinding: informerFor('ClusterRoleBinding', `${API}/clusterrolebindings`),
    RoleBinding: informerFor('RoleBinding', `${API}/rolebindings`),
  } as const;

  const kindOf = (key: string): RbacKind => key.slice(0, key.indexOf('/')) as RbacKind;

  function cached(key: string): CachedRbac | undefined {
    const [kind, ns, ...rest] = key.split('/') as [RbacKind, string, ...string[]];
    const name = rest.join('/');
    return caches[kind].store.get(ns ? `${ns}/${name}` : name);
  }

  /** Whether a cached object holds the wanted content, as far as metadata can tell. */
  function stateOf(key: string, have: CachedRbac, want: string): State {
    const k = knownHash(known.get(key), have.metadata.resourceVersion);
    if (k !== undefined) return k === want ? 'same' : 'differs';
    // Written as something else (or not by us): a write is due whatever the spec says now.
    if (have.metadata.annotations?.[HASH_ANNOTATION] !== want) return 'differs';
    // Written as wanted, then changed by someone: an edit keeps the annotation, so read it.
    return 'unknown';
  }

  /** A whole copy of an object was seen: remember what it holds at its resourceVersion. */
  function remember(key: string, o: CachedRbac | undefined): void {
    if (o?.metadata.resourceVersion === undefined) return;
    known.set(key, knownOf(o.metadata.resourceVersion, contentHash(kindOf(key), o)));
  }

  /** Whether a key needs a write now; queues it when it does. */
  function check(key: string): void {
    if (!started || stopped || !compiled || opts.term() === undefined) return;
    const want = desiredHash.get(key);
    const have = cached(key);
    if (have === undefined) {
      if (want !== undefined) enqueue(key);
      return;
    }
    if (want === undefined) {
      // Already being deleted (a finalizer holds it): deleting again would only spin.
      if (!have.metadata.deletionTimestamp) enqueue(key);
      return;
    }
    if (stateOf(key, have, want) !== 'same') enqueue(key);
  }

  function enqueue(key: string): void {
    round ??= { startedAt: clock.now(), done: 0, decile: 0, written0: written() };
    queue.add(key);
  }

  const written = (): number => counters.creates + counters.applies + counters.deletes;

  /** When a key last finished (progressed()); statusTurn reads it. */
  let lastProgressAt = Number.NEGATIVE_INFINITY;
  function writingGrants(): boolean {
    return queue.length + active >= YIELD_BACKLOG && clock.now() - lastProgressAt < YIELD_PROGRESS_MS;
  }
  async function statusTurn(signal: AbortSignal): Promise<void> {
    while (!stopped && !signal.aborted && writingGrants()) await sleep(clock, YIELD_POLL_MS, signal);
  }

  /** A key finished (written, found equal, or failed): log each 10% of a large batch, and its end. */
  function progressed(): void {
    lastProgressAt = clock.now();
    round ??= { startedAt: clock.now(), done: 0, decile: 0, written0: written() };
    round.done++;
    const pending = queue.length + active;
    const total = round.done + pending;
    if (total < PROGRESS_MIN) {
      if (pending === 0) round = null;
      return;
    }
    const decile = Math.floor((10 * round.done) / total);
    if (pending > 0 && decile > round.decile) {
      round.decile = decile;
      logger.info({ percent: decile * 10, pending, written: written(), failed: counters.failed, throttled: pace.stats.throttled, window: pace.stats.window }, 'rbac write progress');
    }
    if (pending === 0) {
      const seconds = Math.max(0.001, (clock.now() - round.startedAt) / 1000);
      const batch = written() - round.written0;
      logger.info({ keys: round.done, written: batch, failed: counters.failed, seconds: Math.round(seconds * 10) / 10, writesPerSecond: Math.round(batch / seconds) }, 'rbac writes done');
      round = null;
    }
  }

  function unknownCount(): number {
    let n = 0;
    for (const inf of Object.values(caches)) {
      for (const o of inf.store.values()) {
        if (knownHash(known.get(objectKey(inf.kind as RbacKind, o.metadata.namespace, o.metadata.name)), o.metadata.resourceVersion) === undefined) n++;
      }
    }
    return n;
  }

  function checkAll(): void {
    for (const k of desiredHash.keys()) check(k);
    for (const inf of Object.values(caches)) for (const o of inf.store.values()) check(objectKey(inf.kind as RbacKind, o.metadata.namespace, o.metadata.name));
  }

  /**
   * Reads every object of the three kinds whole, page by page, and remembers what each holds (only
   * the hash: a page is dropped once read), so a full check needs no GET per object. Done when
   * many cached objects are of unknown content: the first check after start or leadership gained.
   */
  async function sweep(): Promise<void> {
    const term = opts.term();
    for (const kind of Object.keys(caches) as RbacKind[]) {
      let cont: string | undefined;
      do {
        if (stopped || term === undefined || term.aborted) return;
        const page = await client.request<{ items?: CachedRbac[]; metadata?: { continue?: string } }>({
          method: 'GET', path: caches[kind].path, query: { limit: 250, continue: cont }, timeoutMs: 60_000, signal: term,
        });
        counters.sweeps++;
        for (const o of page.items ?? []) {
          if (isGatehouseObject(o)) remember(objectKey(kind, o.metadata.namespace, o.metadata.name), o);
        }
        cont = page.metadata?.continue || undefined;
      } while (cont);
    }
  }

  function compile(): void {
    scheduled = null;
    if (stopped || !index.synced) return;
    const t0 = performance.now();
    const next = compiler.update(source, { now: index.now(), apiGroups });
    let moved = 0;
    for (const k of next.changed) {
      const o = next.objects.get(k);
      const hash = o === undefined ? undefined : contentHash(o.kind, o);
      if (hash === desiredHash.get(k)) continue;
      if (hash === undefined) desiredHash.delete(k);
      else desiredHash.set(k, hash);
      moved++;
      if (!fullCheck) check(k);
    }
    compiled = true;
    counters.compiles++;
    counters.lastCompileMs = performance.now() - t0;
    if (fullCheck) {
      fullCheck = false;
      if (sweeping === null && opts.term() !== undefined && unknownCount() > SWEEP_THRESHOLD) {
        sweeping = sweep()
          .catch((err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'rbac sweep failed, reading objects one by one'))
          .finally(() => {
            sweeping = null;
            checkAll();
            settleIdle();
          });
      } else {
        checkAll();
      }
    }
    logger.debug({ objects: desiredHash.size, units: next.recompiled, moved, ms: Math.round(counters.lastCompileMs) }, 'rbac compiled');
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

  /** One write through the pace (budget, window, Retry-After; throttled attempts retried there). */
  function send<T>(term: AbortSignal, req: KubeRequest): Promise<T> {
    return pace.run(term, () => {
      counters.writes++;
      return client.request<T>({ ...req, signal: term, timeoutMs: REQUEST_TIMEOUT_MS });
    });
  }

  /** The object whole, or undefined when it is gone. */
  async function read(kind: RbacKind, ns: string | undefined, name: string, term: AbortSignal): Promise<CachedRbac | undefined> {
    counters.reads++;
    try {
      return await client.request<CachedRbac>({ method: 'GET', path: pathOf(kind, ns, name), timeoutMs: REQUEST_TIMEOUT_MS, signal: term });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async function process(key: string): Promise<void> {
    active++;
    try {
      await write(key);
    } catch (err) {
      if (err instanceof NotLeaderError || stopped || opts.term()?.aborted !== false) return;
      counters.failed++;
      throw err;
    } finally {
      active--;
      progressed();
    }
  }

  async function write(key: string): Promise<void> {
    const term = opts.term();
    if (!term || term.aborted || stopped || !compiled) return;
    // Every write in flight listens for the end of the term.
    setMaxListeners(4 * MAX_IN_FLIGHT + 16, term);
    const want = compiler.objects.get(key);
    const wantHash = desiredHash.get(key);
    let have = cached(key);
    const kind = kindOf(key);
    const ns = want?.metadata.namespace ?? have?.metadata.namespace;
    if (!want || wantHash === undefined) {
      if (!have || have.metadata.deletionTimestamp) return;
      if (have.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) foreign(kind, ns, have.metadata.name, 'deleted');
      await remove(term, kind, ns, have);
      return;
    }
    if (have) {
      const state = stateOf(key, have, wantHash);
      if (state === 'same') return;
      if (state === 'unknown') {
        const whole = await read(kind, ns, want.metadata.name, term);
        remember(key, whole);
        if (whole !== undefined && contentHash(kind, whole) === wantHash) return;
        // Gone meanwhile: create it.
        if (whole === undefined) have = undefined;
      }
    }
    if (have) {
      if (have.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) foreign(kind, ns, have.metadata.name, 'rewritten');
      await apply(term, key, want, wantHash, have.metadata.uid);
    } else {
      await create(term, key, want, wantHash);
    }
  }

  async function remove(term: AbortSignal, kind: RbacKind, ns: string | undefined, have: { metadata: { name: string; uid?: string } }): Promise<void> {
    try {
      await send(term, { method: 'DELETE', path: pathOf(kind, ns, have.metadata.name), body: { preconditions: { uid: have.metadata.uid } } });
      counters.deletes++;
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
    known.delete(objectKey(kind, ns, have.metadata.name));
  }

  /** Server-side apply; a roleRef cannot change, so an object with another roleRef is replaced. */
  async function apply(term: AbortSignal, key: string, want: RbacObject, hash: string, uid: string | undefined): Promise<void> {
    const kind = want.kind;
    const ns = want.metadata.namespace;
    try {
      const out = await send<CachedRbac>(term, { method: 'PATCH', path: pathOf(kind, ns, want.metadata.name), query: { fieldManager: FIELD_MANAGER, force: true }, body: manifest(want, hash), contentType: 'application/apply-patch+yaml' });
      counters.applies++;
      remember(key, out);
    } catch (err) {
      if (!(kind !== 'ClusterRole' && err instanceof KubeApiError && err.statusCode === 422 && err.message.includes('roleRef'))) throw err;
      await remove(term, kind, ns, { metadata: { name: want.metadata.name, uid } });
      // Created again at once; a conflict (someone was quicker) leaves the key to the next attempt.
      const out = await send<CachedRbac>(term, { method: 'POST', path: pathOf(kind, ns), query: { fieldManager: FIELD_MANAGER }, body: manifest(want, hash) });
      counters.creates++;
      remember(key, out);
    }
  }

  /** An object under a reserved name without Gatehouse's label: an error the operator reports, then repairs. */
  function foreign(kind: RbacKind, namespace: string | undefined, name: string, action: 'rewritten' | 'deleted'): void {
    counters.foreignObjects++;
    logger.error({ kind, namespace, name, action }, 'rbac object under a reserved name without the gatehouse label, taken back');
  }

  // A create first; an object already under the name (the cache had not seen it) is Gatehouse's
  // by its reserved name: reported when it lacks the label, then rewritten (replaced when its
  // roleRef differs, since a roleRef cannot change).
  async function create(term: AbortSignal, key: string, want: RbacObject, hash: string): Promise<void> {
    const kind = want.kind;
    const ns = want.metadata.namespace;
    try {
      const out = await send<CachedRbac>(term, { method: 'POST', path: pathOf(kind, ns), query: { fieldManager: FIELD_MANAGER }, body: manifest(want, hash) });
      counters.creates++;
      remember(key, out);
      return;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    const existing = await read(kind, ns, want.metadata.name, term);
    if (existing === undefined) throw new Error('rbac object vanished between create and read, create again');
    remember(key, existing);
    if (existing.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) foreign(kind, ns, want.metadata.name, 'rewritten');
    if (contentHash(kind, existing) === hash) return;
    await apply(term, key, want, hash, existing.metadata.uid);
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
    if (scheduled !== null || sweeping !== null) return;
    void queue.idle().then(() => {
      if (scheduled === null && sweeping === null) idleWaiters.splice(0).forEach((r) => r());
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
      queue.start(process);
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
      pending: queue.length + active,
      written: written(),
      throttled: pace.stats.throttled,
      writeWindow: pace.stats.window,
      desiredObjects: desiredHash.size,
      managedObjects: Object.values(caches).reduce((n, i) => n + i.store.size, 0),
      nextExpiry: index.nextExpiry(),
      overdueGrants: overdueGrants(),
    }),
    subjectCount: (username) => (compiled ? (compiler.subjectCounts.get(username) ?? 0) : undefined),
    converged() {
      if (!compiled) return false;
      for (const [k, hash] of desiredHash) {
        const have = cached(k);
        if (!have || stateOf(k, have, hash) !== 'same') return false;
      }
      return Object.values(caches).reduce((n, i) => n + i.store.size, 0) === desiredHash.size;
    },
    statusTurn,
  };
}
