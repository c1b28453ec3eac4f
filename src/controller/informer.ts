// A list+watch of one cluster-scoped resource that does not give up. client-node's own informer
// stops for good on most watch errors (its issues #364, #596, #958, #1496); this one:
// - restarts any failed watch with jittered exponential backoff, from the last resourceVersion;
// - relists on 410 Gone (an HTTP 410 or a watch ERROR event with code 410), and hands the handler
//   the complete new list, so objects deleted while it could not see them leave the index;
// - aborts a watch that has sent nothing for `silenceTimeoutSeconds` (a dead connection that
//   never closes) and starts over. The server closes each watch after `timeoutSeconds`, set below
//   the silence timeout, with bookmarks allowed, so a quiet but healthy watch is never mistaken
//   for a dead one (kube-apiserver 1.20 sends its bookmark just before that deadline).
import type { Logger } from '../log.js';
import type { ObjectMeta } from '../api/types.js';
import { backoffMs, sleep, type Clock } from './clock.js';
import { KubeApiError, isGone, METADATA_ITEM, METADATA_LIST, type KubeClient, type WatchEvent } from './kube.js';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface InformerHandler<T extends KubeObject> {
  /** A complete list arrived; `objects` is everything that exists, `previous` what was known before. */
  onReplace(objects: readonly T[], previous: ReadonlyMap<string, T>): void;
  onUpsert(object: T, old: T | undefined): void;
  onDelete(object: T): void;
}

export interface WatchSettings {
  silenceTimeoutSeconds: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

export interface InformerOptions<T extends KubeObject> {
  /** For logs and metrics: User, Role, Team, RoleBinding, Namespace. */
  kind: string;
  /** The collection's API path, e.g. /apis/iam.gatehouse.dev/v1alpha1/users or /api/v1/namespaces. */
  path: string;
  client: KubeClient;
  handler: InformerHandler<T>;
  watch: WatchSettings;
  clock: Clock;
  logger: Logger;
  random?: () => number;
  /** Page size for lists. */
  pageSize?: number;
  /** Lists and watches only objects matching this label selector. */
  labelSelector?: string;
  /**
   * Keeps only the objects this accepts (what a label selector cannot say, e.g. a name prefix); an
   * object that stops being accepted leaves the store as if deleted.
   */
  accept?: (o: T) => boolean;
  /**
   * Lists and watches metadata only (PartialObjectMetadata): the store holds no spec, rules or
   * subjects. For caches that need names, versions and annotations only (the RBAC applier's).
   */
  metadataOnly?: boolean;
  /** Makes what the store keeps from each listed or watched object (e.g. drops managedFields). */
  transform?: (o: T) => T;
}

export interface InformerStats {
  /** Watches restarted after an error or silence. */
  watchRestarts: number;
  /** Complete lists after the first one (410 Gone, or a list that had failed). */
  relists: number;
  /** Watches aborted by the silence watchdog. */
  silenceAborts: number;
  /** Watch events applied. */
  events: number;
  /**
   * Clock time (ms) of the last complete list, watch event or bookmark: when this replica last
   * knew it was current for the kind (0 before the first list). The day-two alerts read its age.
   */
  lastSyncMs: number;
}

export interface Informer<T extends KubeObject> {
  readonly kind: string;
  start(): void;
  stop(): Promise<void>;
  /** Resolves after the first complete list. */
  readonly synced: Promise<void>;
  hasSynced(): boolean;
  /** The objects as last seen, by name (`namespace/name` for namespaced objects). */
  readonly store: ReadonlyMap<string, T>;
  readonly stats: Readonly<InformerStats>;
  /**
   * The resourceVersion of the newest list, event or bookmark handed to the handler ('' before the
   * first list): the handler has applied every change of this kind up to it. With `store` it lets a
   * test wait for a barrier (test/support/stack.ts settle()).
   */
  appliedResourceVersion(): string;
  /** The collection path this informer lists and watches (and its label selector). */
  readonly path: string;
  readonly labelSelector: string | undefined;
}

class SilentWatchError extends Error {}

export function createInformer<T extends KubeObject>(opts: InformerOptions<T>): Informer<T> {
  const { client, handler, clock, kind } = opts;
  const logger = opts.logger.child({ informer: kind });
  const random = opts.random ?? Math.random;
  const silenceMs = opts.watch.silenceTimeoutSeconds * 1000;
  const store = new Map<string, T>();
  const stats: InformerStats = { watchRestarts: 0, relists: 0, silenceAborts: 0, events: 0, lastSyncMs: 0 };
  const stopper = new AbortController();
  let synced = false;
  let resolveSynced!: () => void;
  const syncedPromise = new Promise<void>((r) => (resolveSynced = r));
  let running: Promise<void> | undefined;
  // The newest resourceVersion seen, also when a watch then fails: the next watch resumes there.
  let latestRv = '';

  function safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // A bug in a handler must not tear down the watch (and then repeat forever).
      logger.error({ err, what }, 'informer handler failed');
    }
  }

  // A flat string (join), not a template literal's cons string: every cached object keeps its key.
  const keyOf = (m: KubeObject['metadata'] & { namespace?: string }): string => (m.namespace ? [m.namespace, m.name].join('/') : m.name);
  const selector = opts.labelSelector !== undefined ? { labelSelector: opts.labelSelector } : {};
  const accept = opts.accept;
  const transform = opts.transform ?? ((o: T): T => o);

  async function list(): Promise<string> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await client.request<{ items?: T[]; metadata?: { resourceVersion?: string; continue?: string } }>({
        method: 'GET',
        path: opts.path,
        query: { limit: opts.pageSize ?? 500, continue: cont, ...selector },
        timeoutMs: Math.max(silenceMs, 5000),
        signal: stopper.signal,
        ...(opts.metadataOnly ? { accept: METADATA_LIST } : {}),
      });
      for (const item of page.items ?? []) items.push(transform(item));
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    const previous = new Map(store);
    store.clear();
    const kept = accept ? items.filter((i) => accept(i)) : items;
    for (const item of kept) store.set(keyOf(item.metadata), item);
    safely('replace', () => handler.onReplace(kept, previous));
    latestRv = rv;
    return rv;
  }

  // Watches from `rv` until the server ends the stream; returns the last resourceVersion seen.
  async function watchFrom(rv: string): Promise<string> {
    const ac = new AbortController();
    const onStop = (): void => ac.abort();
    stopper.signal.addEventListener('abort', onStop, { once: true });
    let silent = false;
    let cancelWatchdog = (): void => {};
    const arm = (): void => {
      cancelWatchdog();
      cancelWatchdog = clock.setTimer(() => {
        silent = true;
        ac.abort();
      }, silenceMs);
    };
    // The server ends the watch well inside the silence timeout; a little jitter keeps the kinds'
    // watches from all restarting together.
    const timeoutSeconds = Math.max(1, Math.floor((opts.watch.silenceTimeoutSeconds * (0.5 + random() * 0.25))));
    arm();
    try {
      await client.watch(
        opts.path,
        { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds, ...selector },
        ac.signal,
        (ev: WatchEvent) => {
          const raw = ev.object as unknown as T & { code?: number; message?: string; reason?: string };
          if (ev.type === 'ERROR') {
            const obj = raw;
            const code = typeof obj.code === 'number' ? obj.code : 500;
            throw new KubeApiError(`watch ${opts.path}: ${obj.message ?? 'error event'}`, code, obj.reason ?? '');
          }
          const obj = raw.metadata?.name && ev.type !== 'BOOKMARK' ? transform(raw) : raw;
          const objRv = obj.metadata?.resourceVersion;
          if (objRv) latestRv = objRv;
          stats.lastSyncMs = clock.now();
          if (ev.type === 'BOOKMARK') return;
          stats.events++;
          if (!obj.metadata?.name) return;
          const name = keyOf(obj.metadata);
          if (ev.type === 'DELETED' || (accept && !accept(obj))) {
            if (accept && !store.has(name)) return;
            store.delete(name);
            safely('delete', () => handler.onDelete(obj));
          } else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') {
            const old = store.get(name);
            store.set(name, obj);
            safely('upsert', () => handler.onUpsert(obj, old));
          }
        },
        arm,
        opts.metadataOnly ? METADATA_ITEM : undefined,
      );
    } catch (err) {
      if (silent) throw new SilentWatchError(`no data for ${opts.watch.silenceTimeoutSeconds} s`);
      throw err;
    } finally {
      cancelWatchdog();
      stopper.signal.removeEventListener('abort', onStop);
    }
    return latestRv;
  }

  async function run(): Promise<void> {
    let rv: string | undefined;
    let failures = 0;
    let lists = 0;
    while (!stopper.signal.aborted) {
      try {
        if (rv === undefined) {
          rv = await list();
          if (lists++ > 0) stats.relists++;
          stats.lastSyncMs = clock.now();
          logger.debug({ resourceVersion: rv, objects: store.size }, 'informer listed');
          if (!synced) {
            synced = true;
            resolveSynced();
          }
        }
        const started = clock.now();
        rv = await watchFrom(rv);
        // The server ended the watch cleanly: the store was current up to its end.
        stats.lastSyncMs = clock.now();
        // A watch the server ended at once, over and over, must not spin.
        if (clock.now() - started < 1000) {
          failures++;
          await sleep(clock, backoffMs(failures, opts.watch.backoffInitialMs, opts.watch.backoffMaxMs, random), stopper.signal);
        } else {
          failures = 0;
        }
      } catch (err) {
        if (stopper.signal.aborted) break;
        failures++;
        if (rv !== undefined) rv = latestRv;
        if (isGone(err)) {
          // The resourceVersion is too old to resume from: only a complete list is the truth now.
          logger.info({ err: String(err) }, 'watch expired, relisting');
          rv = undefined;
          // The first relist after a 410 goes at once; only repeated failures wait.
          if (failures === 1) continue;
        } else if (err instanceof SilentWatchError) {
          stats.silenceAborts++;
          logger.warn({ silenceTimeoutSeconds: opts.watch.silenceTimeoutSeconds }, 'watch silent, restarting');
        } else {
          logger.warn({ err: err instanceof Error ? err.message : String(err), failures }, 'watch failed, restarting');
        }
        stats.watchRestarts++;
        await sleep(clock, backoffMs(failures, opts.watch.backoffInitialMs, opts.watch.backoffMaxMs, random), stopper.signal);
      }
    }
  }

  return {
    kind,
    start() {
      if (!running && !stopper.signal.aborted) running = run();
    },
    async stop() {
      stopper.abort();
      await running;
    },
    synced: syncedPromise,
    hasSynced: () => synced,
    store,
    stats,
    appliedResourceVersion: () => latestRv,
    path: opts.path,
    labelSelector: opts.labelSelector,
  };
}
