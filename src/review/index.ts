// Access review (issue 24), composed: the usage recorder the authorization path feeds, the sync
// that publishes and (on the leader) writes status.lastUsedAt, and the history of changes
// admission sees. src/operator.ts builds one and wires its two hooks in.
import type { Registry } from 'prom-client';
import type { GatehouseConfig } from '../config.js';
import type { PermissionIndex } from '../authz/index.js';
import type { Logger } from '../log.js';
import type { KubeClient } from '../controller/kube.js';
import { UsageRecorder } from './usage.js';
import { createUsageSync, parseDuration, type UsageSync } from './usage-sync.js';
import { createHistoryRecorder, type HistoryRecorder } from './history.js';
import { registerReviewMetrics } from './metrics.js';

export const DEFAULT_FLUSH_INTERVAL = '10m';

export interface Review {
  readonly usage: UsageRecorder;
  /** Undefined in authorization mode rbac: Gatehouse sees no requests there. */
  readonly sync: UsageSync | undefined;
  readonly history: HistoryRecorder;
  readonly flushIntervalMs: number;
  registerMetrics(registry: Registry): void;
  start(): void;
  stop(): Promise<void>;
}

export function createReview(opts: { config: GatehouseConfig; kube: KubeClient; index: PermissionIndex; logger: Logger; now: () => number; isLeader: () => boolean }): Review {
  const { config, kube, index, logger, now } = opts;
  const flushIntervalMs = parseDuration(config.review?.flushInterval ?? DEFAULT_FLUSH_INTERVAL) ?? 600_000;
  const usage = new UsageRecorder();
  const seen = config.authorization.mode !== 'rbac';
  const sync = seen
    ? createUsageSync({ kube, namespace: config.operator.namespace, identity: config.operator.identity, recorder: usage, index, isLeader: opts.isLeader, flushIntervalMs, logger, now })
    : undefined;
  const history = createHistoryRecorder({ kube, namespace: config.operator.namespace, identity: config.operator.identity, logger, now });
  return {
    usage,
    sync,
    history,
    flushIntervalMs,
    registerMetrics: (registry) => registerReviewMetrics(registry, { index, recorder: usage, ...(sync ? { sync } : {}), history, now, usageSeen: seen }),
    start: () => sync?.start(),
    async stop() {
      // The last observations go out so the next leader counts them.
      // Bounded: a stop must not hang on an API server that is gone.
      const bounded = (p: Promise<unknown>): Promise<unknown> => Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
      if (sync) {
        await sync.stop();
        await bounded(sync.publish());
      }
      await bounded(history.drain());
    },
  };
}
