// The operator's controller: informers for the four kinds and Namespaces feed the permission
// index in every replica; the leader (one Lease) reconciles statuses, records Events, and keeps
// seed admins and presets. Level-based: changes enqueue keys (`Kind/name`), the reconciler reads
// the informers' caches and recomputes, so a missed or repeated event does no harm.
import type { KubeConfig } from '@kubernetes/client-node';
import { GROUP, LABELS, PLURALS, VERSION, type GatehouseKind, type Namespace, type Role, type RoleBinding, type Team, type User } from '../api/types.js';
import type { GatehouseConfig } from '../config.js';
import type { Change, IndexedKind, PermissionIndex } from '../authz/index.js';
import { presetRoles } from '../authz/presets.js';
import type { Logger } from '../log.js';
import { systemClock, type Clock } from './clock.js';
import { createInformer, type Informer, type InformerHandler, type KubeObject } from './informer.js';
import { createKubeClient, isConflict, isNotFound, type KubeClient } from './kube.js';
import { createLeaderElector, type LeaderElector } from './leader.js';
import { createWorkQueue, type ProcessResult } from './queue.js';
import { createRbacApplier, type RbacApplier, type RbacApplierMetrics } from './rbac-applier.js';
import { createQuotaApplier, type QuotaApplier } from '../quota/applier.js';
import { desiredSeedUser, keepPatch, seedObjectName } from './seeds.js';
import { canonical, computeStatus, dependents, statusEqual, type StatusEvent, type StatusWorld } from './status.js';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  config: GatehouseConfig;
  /** The permission index this replica keeps true; decide() reads it. */
  index: PermissionIndex;
  logger: Logger;
  /** Timers for backoff, the watchdog, the lease and requeues at expiry; the index has its own clock. */
  clock?: Clock;
  /** Overrides the transport built from kubeConfig (tests). */
  client?: KubeClient;
}

export interface ControllerMetrics {
  watchRestarts: number;
  relists: number;
  watchSilenceAborts: number;
  watchEvents: number;
  reconciles: number;
  reconcileErrors: number;
  statusWrites: number;
  eventsRecorded: number;
  objectsKept: number;
  leaderAcquisitions: number;
  leaderLosses: number;
  indexGeneration: number;
  /** Per kind, the clock time (ms) its informer last listed or saw an event or bookmark (0: never). */
  lastSyncByKind: Record<string, number>;
  /** Whether this replica holds the Lease now. */
  leader: boolean;
  rbac?: RbacApplierMetrics;
}

export interface Controller {
  start(): void;
  /** Resolves once every kind has been listed and the index marked synced. */
  readonly synced: Promise<void>;
  isLeader(): boolean;
  /**
   * Stops taking work, lets writes in flight finish and releases the lease, but keeps the watches
   * (the index stays current while the webhooks drain): the first step of a graceful shutdown.
   */
  stepDown(): Promise<void>;
  /** Stops taking work, lets writes in flight finish, releases the lease, stops the watches. */
  stop(): Promise<void>;
  metrics(): ControllerMetrics;
  /** Resolves when the work queue is empty (tests and tools). */
  idle(): Promise<void>;
  /**
   * The informers feeding the permission index (User, Role, Team, RoleBinding, Namespace), each
   * with the resourceVersion it last applied and its store: what a barrier compares against a
   * fresh list from the API server (tests and tools; never on a request path).
   */
  indexFeeds(): ReadonlyArray<Pick<Informer<KubeObject>, 'kind' | 'path' | 'labelSelector' | 'store' | 'appliedResourceVersion'>>;
  /** The native RBAC writer (authorization modes rbac and both), else undefined. */
  readonly rbac: RbacApplier | undefined;
  /** The team budget writer (ResourceQuota objects). */
  readonly quota: QuotaApplier;
}

/*
 * Events (a User suspended, a binding expired) go to the operator's own namespace, not `default`,
 * where every namespace reader would read who was suspended (issue 32, finding 10). The API server
 * accepts an old-style core/v1 Event about a cluster-scoped object only in `default`, so the
 * involved object carries the operator's namespace too: `kubectl describe ghuser` no longer lists
 * them; `kubectl get events -n <operator namespace>` does (docs/controller.md).
 */
const COMPONENT = 'gatehouse';

type Kind = GatehouseKind | 'Namespace';

const crPath = (kind: GatehouseKind): string => `/apis/${GROUP}/${VERSION}/${PLURALS[kind]}`;

/**
 * The cached copy without metadata.managedFields: nothing here reads them, and at 10,000 users they
 * were a fifth of the operator's heap (a tree of small objects per object; issue 26). A status write
 * sends its own fields, and an update that omits managedFields keeps the server's.
 */
function withoutManagedFields<T extends KubeObject>(o: T): T {
  const meta = o.metadata as KubeObject['metadata'] & { managedFields?: unknown };
  if (meta?.managedFields === undefined) return o;
  const { managedFields: _dropped, ...metadata } = meta;
  return { ...o, metadata };
}

export function createController(opts: ControllerOptions): Controller {
  const { config, index } = opts;
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger.child({ component: 'controller' });
  const client = opts.client ?? createKubeClient(opts.kubeConfig);
  const watch = config.operator.watch;

  const seedsByName = new Map(config.seedAdmins.map((s) => [seedObjectName(s.username), s] as const));
  const presetsByName = new Map(presetRoles(config.presets).map((r) => [r.metadata.name, r] as const));

  const counters = { reconciles: 0, reconcileErrors: 0, statusWrites: 0, eventsRecorded: 0, objectsKept: 0 };
  // What this replica last wrote per key, and over which resourceVersion: until the watch brings
  // the write back, the cache still shows the old status, and that must not cause a second write
  // (or a second Event).
  const written = new Map<string, { rv: string | undefined; status: string }>();

  let synced = false;
  let stopped = false;
  let steppingDown: Promise<void> | undefined;

  const queue = createWorkQueue({ clock, logger, backoffInitialMs: watch.backoffInitialMs, backoffMaxMs: watch.backoffMaxMs, concurrency: 2 });

  const world: StatusWorld = { index };

  function enqueue(keys: Iterable<string>): void {
    if (!synced || stopped || !leader.isLeader()) return;
    for (const k of keys) queue.add(k);
  }

  function enqueueAll(): void {
    const keys: string[] = [];
    for (const inf of crInformers) for (const name of inf.store.keys()) keys.push(`${inf.kind}/${name}`);
    for (const name of seedsByName.keys()) keys.push(`User/${name}`);
    for (const name of presetsByName.keys()) keys.push(`Role/${name}`);
    // Objects labelled seed/preset that the configuration no longer names lose the label.
    enqueue(keys);
  }

  function handlerFor<T extends KubeObject>(kind: Kind): InformerHandler<T> {
    const indexKind = kind as IndexedKind;
    return {
      onReplace(objects, previous) {
        // The index says which objects changed in what it reads; a status-only difference is none.
        const changed = index.replaceAll(indexKind, objects as never);
        if (changed.size > 0) rbac?.changed();
        if (changed.size > 0) quota.changed();
        const touched: Array<KubeObject | undefined> = [];
        const current = changed.size > 0 ? new Map(objects.map((o) => [o.metadata.name, o] as const)) : undefined;
        for (const name of changed) touched.push(previous.get(name), current!.get(name));
        if (kind !== 'Namespace') for (const o of objects) if (!changed.has(o.metadata.name)) enqueue([`${kind}/${o.metadata.name}`]);
        if (touched.length > 0) enqueue(dependents(kind, touched as never, world));
      },
      onUpsert(object, old) {
        if (index.apply({ op: 'upsert', kind: indexKind, object } as Change)) {
          rbac?.changed();
          quota.changed();
          enqueue(dependents(kind, [old, object] as never, world));
        } else if (kind !== 'Namespace') {
          // Nothing the index reads changed (our own status write, say): check the status is still
          // what it should be (someone may have edited it).
          enqueue([`${kind}/${object.metadata.name}`]);
        }
      },
      onDelete(object) {
        if (index.apply({ op: 'delete', kind: indexKind, name: object.metadata.name })) {
          rbac?.changed();
          quota.changed();
        }
        written.delete(`${kind}/${object.metadata.name}`);
        enqueue(dependents(kind, [object] as never, world));
      },
    };
  }

  const informerFor = <T extends KubeObject>(kind: Kind, path: string): Informer<T> =>
    createInformer<T>({ kind, path, client, handler: handlerFor<T>(kind), watch, clock, logger, transform: withoutManagedFields });

  const users = informerFor<User>('User', crPath('User'));
  const roles = informerFor<Role>('Role', crPath('Role'));
  const teams = informerFor<Team>('Team', crPath('Team'));
  const bindings = informerFor<RoleBinding>('RoleBinding', crPath('RoleBinding'));
  const namespaces = informerFor<Namespace>('Namespace', '/api/v1/namespaces');
  const crInformers: Array<Informer<KubeObject>> = [users, roles, teams, bindings] as never;
  // Modes rbac and both: the leader also keeps native RBAC objects (its caches sync with the rest).
  const rbac: RbacApplier | undefined =
    config.authorization.mode === 'webhook'
      ? undefined
      : createRbacApplier({
          client, index, config, logger, clock,
          term: () => leader.term(),
          onCountsChanged: (usernames) => enqueue(usernames.flatMap((u) => {
            const name = index.userRecord(u)?.name;
            return name ? [`User/${name}`] : [];
          })),
        });
  // Every mode: team budgets become ResourceQuota objects (src/quota/), written by the leader.
  const quota: QuotaApplier = createQuotaApplier({
    client, index, logger, clock,
    intervalMs: config.teams?.quotaIntervalMs ?? 1000,
    term: () => (leader.isLeader() ? leader.term() : undefined),
    onTeamsChanged: (names) => enqueue(names.map((n) => `Team/${n}`)),
  });
  world.teamQuota = (team) => quota.teamStatus(team);
  world.mode = config.authorization.mode;
  if (rbac) world.rbacCount = (u) => rbac.subjectCount(u);
  const informers: Array<Informer<KubeObject>> = [...crInformers, namespaces as never, ...(rbac?.informers ?? [])];

  const leader: LeaderElector = createLeaderElector({
    client,
    namespace: config.operator.namespace,
    identity: config.operator.identity,
    settings: config.operator.leaderElection,
    clock,
    logger,
    onStartedLeading: () => {
      enqueueAll();
      rbac?.resync();
    },
    onStoppedLeading: () => {
      queue.clear();
      written.clear();
    },
  });

  async function write<T>(term: AbortSignal, req: Parameters<KubeClient['request']>[0]): Promise<T> {
    // Losing the lease stops writing at once: nothing starts after the term ends, and a request
    // in flight is cut off.
    if (term.aborted) throw new Error('not the leader any more');
    return client.request<T>({ ...req, signal: term, timeoutMs: req.timeoutMs ?? 10_000 });
  }

  const eventNamespace = config.operator.namespace;
  async function recordEvent(term: AbortSignal, kind: GatehouseKind, obj: KubeObject, ev: StatusEvent): Promise<void> {
    const now = clock.now();
    try {
      await write(term, {
        method: 'POST',
        path: `/api/v1/namespaces/${encodeURIComponent(eventNamespace)}/events`,
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${obj.metadata.name}.`, namespace: eventNamespace },
          involvedObject: { apiVersion: `${GROUP}/${VERSION}`, kind, name: obj.metadata.name, namespace: eventNamespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion },
          reason: ev.reason,
          message: ev.message,
          type: ev.type,
          source: { component: COMPONENT },
          reportingComponent: COMPONENT,
          reportingInstance: config.operator.identity,
          firstTimestamp: new Date(now).toISOString(),
          lastTimestamp: new Date(now).toISOString(),
          count: 1,
        },
      });
      counters.eventsRecorded++;
      logger.info({ kind, name: obj.metadata.name, reason: ev.reason }, 'event recorded');
      // The history's durable record of an expiry (src/review/history.ts logs the other changes).
      if (ev.reason === 'BindingExpired') logger.info({ kind, name: obj.metadata.name, change: 'expired', actor: 'gatehouse (expiresAt passed)' }, 'access.changed');
    } catch (err) {
      // Events are best effort; the status already says the same.
      logger.warn({ kind, name: obj.metadata.name, reason: ev.reason, err: err instanceof Error ? err.message : String(err) }, 'event not recorded');
    }
  }

  // Creates or restores an object the configuration defines; true when it wrote something.
  async function keep(term: AbortSignal, kind: 'User' | 'Role', existing: (User | Role) | undefined, desired: User | Role): Promise<boolean> {
    const name = desired.metadata.name;
    if (!existing) {
      try {
        await write(term, { method: 'POST', path: crPath(kind), body: desired });
        counters.objectsKept++;
        logger.info({ kind, name }, 'created from configuration');
      } catch (err) {
        if (!isConflict(err)) throw err; // 409: it exists; the watch brings it
      }
      return true;
    }
    if (existing.metadata.deletionTimestamp) return true;
    const patch = keepPatch(existing, desired);
    if (!patch) return false;
    await write(term, { method: 'PATCH', path: `${crPath(kind)}/${encodeURIComponent(name)}`, body: patch, contentType: 'application/merge-patch+json' });
    counters.objectsKept++;
    logger.info({ kind, name, fields: Object.keys((patch['spec'] as object | undefined) ?? {}) }, 'restored from configuration');
    return true;
  }

  async function dropLabel(term: AbortSignal, kind: 'User' | 'Role', name: string, label: string): Promise<void> {
    await write(term, {
      method: 'PATCH',
      path: `${crPath(kind)}/${encodeURIComponent(name)}`,
      body: { metadata: { labels: { [label]: null } } },
      contentType: 'application/merge-patch+json',
    });
    logger.info({ kind, name, label }, 'no longer in the configuration, label removed');
  }

  // Grants end at expiresAt whatever happens (decide() reads the clock). A status that changes by
  // time alone (a binding's Expired, a user's live roles) says when (recheckAt): the queue brings
  // the key back then (RequeueAfter), so nothing polls and nothing is re-applied.
  async function reconcile(key: string): Promise<ProcessResult | void> {
    const term = leader.term();
    if (!term || term.aborted || stopped) return;
    counters.reconciles++;
    const slash = key.indexOf('/');
    const kind = key.slice(0, slash) as GatehouseKind;
    const name = key.slice(slash + 1);
    const store = ({ User: users, Role: roles, Team: teams, RoleBinding: bindings } as const)[kind].store as ReadonlyMap<string, User | Role | Team | RoleBinding>;
    let obj = store.get(name);

    if (kind === 'User') {
      const seed = seedsByName.get(name);
      if (seed) {
        if (await keep(term, 'User', obj as User | undefined, desiredSeedUser(seed))) return; // the watch brings the result back
      } else if (obj?.metadata.labels?.[LABELS.seed] !== undefined) {
        await dropLabel(term, 'User', name, LABELS.seed);
        return;
      }
    } else if (kind === 'Role') {
      const preset = presetsByName.get(name);
      if (preset) {
        if (await keep(term, 'Role', obj as Role | undefined, preset)) return;
      } else if (obj?.metadata.labels?.[LABELS.preset] !== undefined) {
        await dropLabel(term, 'Role', name, LABELS.preset);
        return;
      }
    }

    // Modes rbac and both: while a large batch of grants is being written, statuses wait (access
    // first; rbac-applier.ts statusTurn), and are computed after the wait so they are current.
    if (rbac) await rbac.statusTurn(term);
    obj = store.get(name);
    if (!obj || obj.metadata.deletionTimestamp) return; // not found is success
    const now = index.now();
    const { status, events, recheckAt } = computeStatus(kind, obj, world, now);
    // Just after the expiry, so the next look sees it passed.
    const result: ProcessResult = recheckAt === null ? {} : { requeueAfter: recheckAt - now + 1 };
    if (statusEqual(obj.status, status)) return result;
    const text = canonical(status);
    const last = written.get(key);
    if (last && last.rv === obj.metadata.resourceVersion && last.status === text) return result;

    const body: Record<string, unknown> = { ...status };
    // lastUsedAt is the usage sync's (src/review/usage-sync.ts): a cache older than its write must not erase it.
    for (const k of Object.keys(obj.status ?? {})) if (k !== 'lastUsedAt' && (!(k in body) || body[k] === undefined)) body[k] = null;
    await write(term, {
      method: 'PATCH',
      path: `${crPath(kind)}/${encodeURIComponent(name)}/status`,
      body: { status: body },
      contentType: 'application/merge-patch+json',
    }).catch((err: unknown) => {
      if (isNotFound(err)) return; // deleted meanwhile
      throw err;
    });
    written.set(key, { rv: obj.metadata.resourceVersion, status: text });
    counters.statusWrites++;
    for (const ev of events) await recordEvent(term, kind, obj, ev);
    return result;
  }

  const syncedPromise = Promise.all(informers.map((i) => i.synced)).then(() => {
    if (stopped) return;
    synced = true;
    index.markSynced();
    logger.info({ users: users.store.size, roles: roles.store.size, teams: teams.store.size, bindings: bindings.store.size, namespaces: namespaces.store.size }, 'caches synced');
    rbac?.start();
    quota.start();
    queue.start(async (key) => {
      try {
        return await reconcile(key);
      } catch (err) {
        counters.reconcileErrors++;
        throw err;
      }
    });
    enqueueAll();
  });

  const stepDown = (): Promise<void> => {
    steppingDown ??= (async () => {
      await rbac?.stop();
      await quota.stop();
      await queue.stop();
      await leader.stop();
    })();
    return steppingDown;
  };

  return {
    start() {
      for (const inf of informers) inf.start();
      leader.start();
    },
    synced: syncedPromise,
    isLeader: () => leader.isLeader(),
    stepDown,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stepDown();
      await Promise.all(informers.map((i) => i.stop()));
      logger.info({}, 'controller stopped');
    },
    metrics() {
      const sum = (f: (s: Informer<KubeObject>['stats']) => number): number => informers.reduce((n, i) => n + f(i.stats), 0);
      return {
        watchRestarts: sum((s) => s.watchRestarts),
        relists: sum((s) => s.relists),
        watchSilenceAborts: sum((s) => s.silenceAborts),
        watchEvents: sum((s) => s.events),
        ...counters,
        leaderAcquisitions: leader.stats.acquisitions,
        leaderLosses: leader.stats.losses,
        indexGeneration: index.generation,
        lastSyncByKind: Object.fromEntries([...crInformers, namespaces as Informer<KubeObject>].map((i) => [i.kind, i.stats.lastSyncMs])),
        leader: leader.isLeader(),
        ...(rbac ? { rbac: rbac.metrics() } : {}),
      };
    },
    idle: () => queue.idle(),
    indexFeeds: () => [...crInformers, namespaces as never],
    rbac,
    quota,
  };
}
