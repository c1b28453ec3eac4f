// Leader election with a coordination.k8s.io/v1 Lease, in the way client-go does it: a replica
// takes the lease when it is free or when its holder has not renewed it for leaseDurationSeconds
// (measured on this replica's own clock, from when it last saw the record change, so clock skew
// between replicas does not matter); the leader renews every retryPeriodSeconds and steps down the
// moment renewDeadlineSeconds pass without a successful renewal, even if a renewal request is still
// hanging. Stepping down aborts the term's AbortSignal, so writes in flight stop at once. Stopping
// releases the lease (holder cleared), so another replica takes over without waiting it out.
import type { Logger } from '../log.js';
import { sleep, type Clock } from './clock.js';
import { isConflict, isNotFound, type KubeClient } from './kube.js';

export interface LeaderElectionSettings {
  enabled: boolean;
  leaseName: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
}

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  identity: string;
  settings: LeaderElectionSettings;
  clock: Clock;
  logger: Logger;
  /** Called on becoming leader; `term` aborts when leadership ends. */
  onStartedLeading?: (term: AbortSignal) => void;
  onStoppedLeading?: () => void;
  random?: () => number;
}

export interface LeaderElector {
  start(): void;
  /** Stops campaigning and, if leading, steps down and releases the lease. */
  stop(): Promise<void>;
  isLeader(): boolean;
  /** Aborted when the current term ends; undefined when not leading. */
  term(): AbortSignal | undefined;
  readonly stats: Readonly<{ acquisitions: number; losses: number }>;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** MicroTime wants exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function createLeaderElector(opts: LeaderElectorOptions): LeaderElector {
  const { client, clock, settings, identity } = opts;
  const logger = opts.logger.child({ lease: settings.leaseName, identity });
  const random = opts.random ?? Math.random;
  const path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(opts.namespace)}/leases`;
  const leasePath = `${path}/${encodeURIComponent(settings.leaseName)}`;
  const retryMs = settings.retryPeriodSeconds * 1000;
  const stats = { acquisitions: 0, losses: 0 };
  const stopper = new AbortController();
  let termController: AbortController | undefined;
  let cancelDeadline = (): void => {};
  let observed = '';
  let observedAt = 0;
  let running: Promise<void> | undefined;

  function becomeLeader(): void {
    termController = new AbortController();
    stats.acquisitions++;
    logger.info({}, 'became leader');
    if (settings.enabled) armDeadline();
    try {
      opts.onStartedLeading?.(termController.signal);
    } catch (err) {
      logger.error({ err }, 'onStartedLeading failed');
    }
  }

  function stepDown(why: string): void {
    if (!termController) return;
    cancelDeadline();
    termController.abort();
    termController = undefined;
    stats.losses++;
    logger.warn({ why }, 'stopped leading');
    try {
      opts.onStoppedLeading?.();
    } catch (err) {
      logger.error({ err }, 'onStoppedLeading failed');
    }
  }

  function armDeadline(): void {
    cancelDeadline();
    cancelDeadline = clock.setTimer(() => stepDown('lease not renewed within renewDeadlineSeconds'), settings.renewDeadlineSeconds * 1000);
  }

  async function tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const now = clock.now();
    let lease: Lease;
    try {
      lease = await client.request<Lease>({ method: 'GET', path: leasePath, timeoutMs, signal: stopper.signal });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await client.request<Lease>({
          method: 'POST',
          path,
          timeoutMs,
          signal: stopper.signal,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: settings.leaseName, namespace: opts.namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds: settings.leaseDurationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
          },
        });
        return true;
      } catch (createErr) {
        if (isConflict(createErr)) return false;
        throw createErr;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity ?? '', spec.renewTime ?? '', spec.leaseDurationSeconds ?? 0]);
    if (record !== observed) {
      observed = record;
      observedAt = now;
    }
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? settings.leaseDurationSeconds) * 1000;
    if (holder && holder !== identity && observedAt + duration > now) return false;
    const mine = holder === identity;
    const next: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: settings.leaseName, namespace: opts.namespace, resourceVersion: lease.metadata.resourceVersion },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: settings.leaseDurationSeconds,
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
      },
    };
    try {
      await client.request<Lease>({ method: 'PUT', path: leasePath, body: next, timeoutMs, signal: stopper.signal });
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
    return true;
  }

  async function run(): Promise<void> {
    let lastRenew = 0;
    while (!stopper.signal.aborted) {
      const leading = termController !== undefined;
      // A renewal may take no longer than what is left of the renew deadline.
      const timeoutMs = leading ? Math.max(1, lastRenew + settings.renewDeadlineSeconds * 1000 - clock.now()) : Math.max(retryMs, 1000);
      let ok = false;
      try {
        ok = await tryAcquireOrRenew(timeoutMs);
      } catch (err) {
        if (stopper.signal.aborted) break;
        logger.debug({ err: err instanceof Error ? err.message : String(err) }, 'lease request failed');
      }
      if (stopper.signal.aborted) break;
      if (ok) {
        lastRenew = clock.now();
        if (termController) armDeadline();
        else becomeLeader();
      } else if (termController && clock.now() - lastRenew >= settings.renewDeadlineSeconds * 1000) {
        stepDown('lease renewal failed');
      }
      const wait = termController ? retryMs : retryMs * (1 + random() * 0.2);
      await sleep(clock, wait, stopper.signal);
    }
  }

  async function release(): Promise<void> {
    try {
      const lease = await client.request<Lease>({ method: 'GET', path: leasePath, timeoutMs: 5000 });
      if (lease.spec?.holderIdentity !== identity) return;
      const now = microTime(clock.now());
      await client.request<Lease>({
        method: 'PUT',
        path: leasePath,
        timeoutMs: 5000,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now } },
      });
      logger.info({}, 'released lease');
    } catch (err) {
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not release lease');
    }
  }

  if (!settings.enabled) {
    // One replica, no election: always the leader, for as long as it runs.
    return {
      start() {
        if (!termController && !stopper.signal.aborted) becomeLeader();
      },
      async stop() {
        stopper.abort();
        stepDown('stopping');
      },
      isLeader: () => termController !== undefined,
      term: () => termController?.signal,
      stats,
    };
  }

  return {
    start() {
      if (!running && !stopper.signal.aborted) running = run();
    },
    async stop() {
      const wasLeading = termController !== undefined;
      stopper.abort();
      await running;
      stepDown('stopping');
      if (wasLeading) await release();
    },
    isLeader: () => termController !== undefined,
    term: () => termController?.signal,
    stats,
  };
}
