// Access review's Prometheus series (issue 24): grants by age and by last use, and the counters of
// the usage sync and the history. Registered into the webhook's registry by the composition root;
// computed at scrape time from the index (what status says) and this replica's memory.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PermissionIndex } from '../authz/index.js';
import type { UsageRecorder } from './usage.js';
import type { UsageSync } from './usage-sync.js';
import type { HistoryRecorder } from './history.js';

const DAY = 86_400_000;
/**
 * Age buckets (not cumulative: each grant counts in one): `1d` is at most a day, `7d` more than a
 * day and at most seven, ..., `over90d` the rest.
 */
export const AGE_BUCKETS: ReadonlyArray<readonly [string, number]> = [['1d', 1], ['7d', 7], ['30d', 30], ['90d', 90], ['over90d', Infinity]];

/** The bucket label of an age in ms. */
export function ageBucket(ms: number): string {
  for (const [label, days] of AGE_BUCKETS) if (ms <= days * DAY) return label;
  return 'over90d';
}

export interface ReviewMetricsSources {
  index: PermissionIndex;
  recorder: UsageRecorder;
  sync?: UsageSync;
  history?: HistoryRecorder;
  now: () => number;
  /** Authorization mode rbac: last use is not seen; the by-last-use series says `unknown`. */
  usageSeen: boolean;
}

export function registerReviewMetrics(registry: Registry, src: ReviewMetricsSources): void {
  new Gauge({
    name: 'gatehouse_grants_by_age',
    help: 'RoleBindings by time since creation, one bucket each: within 1d, 7d, 30d, 90d or over90d.',
    labelNames: ['within'],
    registers: [registry],
    collect() {
      this.reset();
      const now = src.now();
      for (const [label] of AGE_BUCKETS) this.set({ within: label }, 0);
      for (const b of src.index.listBindings()) {
        const created = Date.parse(b.metadata.creationTimestamp ?? '');
        this.inc({ within: ageBucket(Number.isFinite(created) ? now - created : 0) });
      }
    },
  });
  new Gauge({
    name: 'gatehouse_grants_by_last_use',
    help: 'RoleBindings by time since last use (status.lastUsedAt or this replica\'s memory, the later), one bucket each: within 1d, 7d, 30d, 90d, over90d, never, or unknown (authorization mode rbac).',
    labelNames: ['within'],
    registers: [registry],
    collect() {
      this.reset();
      const now = src.now();
      const bindings = src.index.listBindings();
      if (!src.usageSeen) {
        this.set({ within: 'unknown' }, bindings.length);
        return;
      }
      for (const [label] of AGE_BUCKETS) this.set({ within: label }, 0);
      this.set({ within: 'never' }, 0);
      for (const b of bindings) {
        const st = Date.parse(b.status?.lastUsedAt ?? '');
        const mem = src.recorder.bindingLastUsed(b.metadata.name) ?? 0;
        const last = Math.max(Number.isFinite(st) ? st : 0, mem);
        this.inc({ within: last > 0 ? ageBucket(now - last) : 'never' });
      }
    },
  });
  const counter = (name: string, help: string, read: () => number): void => {
    let seen = 0;
    new Counter({
      name, help, registers: [registry],
      collect() {
        const v = read();
        if (v > seen) {
          this.inc(v - seen);
          seen = v;
        }
      },
    });
  };
  counter('gatehouse_usage_recorded_total', 'Allowed authorization reviews whose grant this replica recorded as used.', () => src.recorder.recorded);
  counter('gatehouse_usage_status_writes_total', 'status.lastUsedAt writes by this replica (the leader): at most one per object per review.flushInterval.', () => src.sync?.stats().statusWrites ?? 0);
  counter('gatehouse_access_changes_total', 'Changes to access seen by this replica\'s admission webhook (logged as access.changed).', () => src.history?.stats().recorded ?? 0);
  counter('gatehouse_access_change_events_failed_total', 'Access change Events that could not be created, or were dropped because the queue was full.', () => {
    const s = src.history?.stats();
    return s ? s.failed + s.dropped : 0;
  });
}
