// Prometheus metrics for the webhooks, on a private Registry so tests and several servers in one
// process never share (or collide on) series. The hot path uses pre-resolved label children:
// `counter.inc({labels})` hashes the label object on every call, a cached child does not.
import { X509Certificate } from 'node:crypto';
import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import type { DecisionCode, Verdict } from '../authz/types.js';

/** How an admission review ended. */
export type AdmissionResult = 'allowed' | 'denied' | 'error' | 'invalid';

export interface WebhookMetricsOptions {
  /** The permission index's generation (bumped on each rebuild); wired by the composition root. */
  indexGeneration?: () => number;
  /** How often the informers' watches were restarted. */
  watchRestarts?: () => number;
  /** Node's process metrics (heap, event-loop lag); off in tests, on in the operator. */
  processMetrics?: boolean;
  /** Modes rbac and both: what the RBAC applier knows of expiry and foreign objects (undefined otherwise). */
  rbac?: () => RbacExpiryStatus | undefined;
  /** The controller's day-two figures (src/controller/controller.ts metrics()). */
  controller?: () => ControllerFigures | undefined;
  /** Team budgets and use over each subtree (src/quota/applier.ts), in whole units of each resource. */
  teamQuotas?: () => Iterable<TeamQuotaSample>;
  /**
   * This cluster's name (issue 30): every series then carries the constant label `cluster`, so one
   * Prometheus scraping a fleet (or a federation of them) tells the clusters apart. '' or unset: none.
   */
  cluster?: string;
}

/** What the day-two series read from the controller (a subset of ControllerMetrics). */
export interface ControllerFigures {
  leader: boolean;
  reconcileErrors: number;
  leaderAcquisitions: number;
  /** Per kind, ms since the epoch of the last list, event or bookmark (0: never). */
  lastSyncByKind: Record<string, number>;
}

export interface TeamQuotaSample {
  team: string;
  resource: string;
  hard: number;
  used: number;
}

/** The RBAC applier's figures the alerts read (src/controller/rbac-applier.ts metrics()). */
export interface RbacExpiryStatus {
  /** ms since the epoch, or null when no binding has an expiresAt ahead. */
  nextExpiry: number | null;
  overdueGrants: number;
  foreignObjects: number;
  /** Convergence progress (issue 26): keys queued or being written, writes done, writes failed after retries. */
  pending?: number;
  written?: number;
  failed?: number;
}

export interface WebhookMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** One authorization decision and how long the handler took for it. */
  recordDecision(verdict: Verdict | 'error', code: DecisionCode | 'evaluationError' | 'invalid', seconds: number): void;
  recordAdmission(webhook: 'validate' | 'mutate', operation: string, result: AdmissionResult, seconds: number): void;
  /** Every HTTP answer, by route and status (4xx from bad callers show here). */
  recordResponse(route: string, status: number): void;
  /** Registration `auto` created a Pending User. */
  incRegistrations(): void;
  /** A credential was issued, redeemed, rejected, revoked or rotated (src/credentials/). */
  recordCredential(event: string, kind: string, reason: string): void;
  /** Late wiring: the index and the informers exist after the server does. */
  setIndexGeneration(getter: () => number): void;
  setWatchRestarts(getter: () => number): void;
  /** Late wiring: the PEM the server presents, for the expiry series. */
  setServingCertificate(getter: () => string | undefined): void;
  render(): Promise<string>;
}

// Webhook answers take tens of microseconds; the API server gives up after seconds.
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

const ADMISSION_OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

/**
 * The cached label child for `key` (the label values joined by `|`, which no value contains: they
 * come from fixed sets); the label values are split out of the key only on a miss.
 */
function childFor(cache: Map<string, Counter.Internal>, counter: Counter, key: string): Counter.Internal {
  let child = cache.get(key);
  if (!child) {
    child = counter.labels(...key.split('|'));
    cache.set(key, child);
  }
  return child;
}

export function createWebhookMetrics(options: WebhookMetricsOptions = {}): WebhookMetrics {
  const registry = new Registry();
  // Before any metric is created, so every series (the review's too, registered later) carries it.
  if (options.cluster) registry.setDefaultLabels({ cluster: options.cluster });
  let indexGeneration = options.indexGeneration;
  let watchRestarts = options.watchRestarts;

  const counter = (name: string, help: string, labelNames: readonly string[] = []): Counter =>
    new Counter({ name, help, labelNames, registers: [registry] });

  const decisions = counter(
    'gatehouse_authorization_decisions_total',
    'SubjectAccessReview answers by verdict (allow, deny, noOpinion, error) and the decision step (code) that produced them.',
    ['verdict', 'code'],
  );
  const latency = new Histogram({
    name: 'gatehouse_webhook_duration_seconds',
    help: 'Time from a parsed review to its answer, by webhook.',
    labelNames: ['webhook'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const admission = counter(
    'gatehouse_admission_reviews_total',
    'AdmissionReview answers by webhook, operation and result (allowed, denied, error: failed closed, invalid: malformed review).',
    ['webhook', 'operation', 'result'],
  );
  const responses = counter('gatehouse_http_responses_total', 'HTTP answers by route and status code.', ['route', 'status']);
  const registrations = counter('gatehouse_registrations_total', 'Pending Users created by registration auto.');
  const credentials = counter(
    'gatehouse_credential_events_total',
    'Gatehouse tokens by event (issued, redeemed, rejected, revoked, rotated), token kind (inv, usr, all) and reason.',
    ['event', 'kind', 'reason'],
  );
  new Gauge({
    name: 'gatehouse_index_generation',
    help: 'Generation of the permission index the webhooks answer from (0 before the first sync).',
    registers: [registry],
    collect() {
      this.set(indexGeneration ? indexGeneration() : 0);
    },
  });
  let restartsSeen = 0;
  new Counter({
    name: 'gatehouse_watch_restarts_total',
    help: 'Times an informer watch was restarted (error, 410 Gone, silence).',
    registers: [registry],
    collect() {
      // The informers own the count; a counter only moves forward, so add what is new.
      const now = watchRestarts ? watchRestarts() : 0;
      if (now > restartsSeen) {
        this.inc(now - restartsSeen);
        restartsSeen = now;
      }
    },
  });
  if (options.teamQuotas) {
    const samples = options.teamQuotas;
    const gauge = (name: string, help: string, pick: (s: TeamQuotaSample) => number): void => {
      new Gauge({
        name, help, labelNames: ['team', 'resource'], registers: [registry],
        collect() {
          this.reset();
          for (const s of samples()) this.set({ team: s.team, resource: s.resource }, pick(s));
        },
      });
    };
    gauge('gatehouse_team_quota_hard', 'A team\'s budget (spec.quota.hard) per resource, for its whole subtree (docs/quotas.md).', (s) => s.hard);
    gauge('gatehouse_team_quota_used', 'What the namespaces of a team\'s subtree use of a budgeted resource, from their ResourceQuotas\' status.used.', (s) => s.used);
  }
  if (options.rbac) {
    // Native RBAC objects do not expire: Gatehouse deletes them when a binding's expiresAt passes,
    // so a grant outlives its expiry while no replica leads. These let an alert say so (docs/rbac.md).
    const rbac = options.rbac;
    new Gauge({
      name: 'gatehouse_rbac_next_expiry_timestamp_seconds',
      help: 'Unix time of the earliest RoleBinding expiresAt still ahead (0: none); RBAC objects compiled from it must be gone soon after.',
      registers: [registry],
      collect() {
        const next = rbac()?.nextExpiry ?? null;
        this.set(next === null ? 0 : next / 1000);
      },
    });
    new Gauge({
      name: 'gatehouse_rbac_overdue_grants',
      help: 'RoleBindings past their expiresAt whose compiled RBAC objects are still in the cluster (this replica\'s view).',
      registers: [registry],
      collect() {
        this.set(rbac()?.overdueGrants ?? 0);
      },
    });
    let foreignSeen = 0;
    new Counter({
      name: 'gatehouse_rbac_foreign_objects_total',
      help: 'RBAC objects found under a reserved gatehouse: name without the gatehouse label (label removed, or created by someone else); each was rewritten or deleted.',
      registers: [registry],
      collect() {
        const now = rbac()?.foreignObjects ?? 0;
        if (now > foreignSeen) {
          this.inc(now - foreignSeen);
          foreignSeen = now;
        }
      },
    });
    new Gauge({
      name: 'gatehouse_rbac_pending_objects',
      help: 'RBAC objects queued or being written by the leader (0 once converged).',
      registers: [registry],
      collect() {
        this.set(rbac()?.pending ?? 0);
      },
    });
    for (const [field, name, help] of [
      ['written', 'gatehouse_rbac_writes_total', 'RBAC objects created, applied or deleted by this replica.'],
      ['failed', 'gatehouse_rbac_write_failures_total', 'RBAC writes that failed after their retries (the object is tried again later).'],
    ] as const) {
      let seen = 0;
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          const now = rbac()?.[field] ?? 0;
          if (now > seen) {
            this.inc(now - seen);
            seen = now;
          }
        },
      });
    }
  }
  // Day two (docs/runbook.md): leadership, freshness per kind, reconcile errors, certificate expiry.
  const controller = options.controller;
  new Gauge({
    name: 'gatehouse_leader',
    help: '1 while this replica holds the leader Lease (writes status, keeps certificates), else 0.',
    registers: [registry],
    collect() {
      this.set(controller?.()?.leader ? 1 : 0);
    },
  });
  new Gauge({
    name: 'gatehouse_last_sync_timestamp_seconds',
    help: 'Unix time this replica last listed a kind or saw a watch event or bookmark for it (0: never), by kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      for (const [kind, ms] of Object.entries(controller?.()?.lastSyncByKind ?? {})) this.set({ kind }, ms / 1000);
    },
  });
  const forwardCounter = (name: string, help: string, read: (f: ControllerFigures) => number): void => {
    let seen = 0;
    new Counter({
      name, help, registers: [registry],
      collect() {
        const f = controller?.();
        const now = f ? read(f) : 0;
        if (now > seen) {
          this.inc(now - seen);
          seen = now;
        }
      },
    });
  };
  forwardCounter('gatehouse_reconcile_errors_total', 'Reconciles (status, seeds, presets) that failed and were retried with backoff; leader only.', (f) => f.reconcileErrors);
  forwardCounter('gatehouse_leader_acquisitions_total', 'Times this replica became the leader.', (f) => f.leaderAcquisitions);
  let servingCertificate: (() => string | undefined) | undefined;
  let expiryCache: { pem: string; seconds: number } | undefined;
  new Gauge({
    name: 'gatehouse_serving_certificate_expiry_timestamp_seconds',
    help: 'Unix time the serving certificate this replica presents stops being valid (absent before the first).',
    registers: [registry],
    collect() {
      const pem = servingCertificate?.();
      if (!pem) return;
      if (expiryCache?.pem !== pem) {
        try {
          expiryCache = { pem, seconds: Date.parse(new X509Certificate(pem).validTo) / 1000 };
        } catch {
          return;
        }
      }
      this.set(expiryCache.seconds);
    },
  });
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });

  const decisionChildren = new Map<string, Counter.Internal>();
  const latencyChildren = {
    authorize: latency.labels('authorize'),
    validate: latency.labels('validate'),
    mutate: latency.labels('mutate'),
  };
  const admissionChildren = new Map<string, Counter.Internal>();
  const responseChildren = new Map<string, Counter.Internal>();

  return {
    registry,
    contentType: registry.contentType,
    recordDecision(verdict, code, seconds) {
      childFor(decisionChildren, decisions, `${verdict}|${code}`).inc();
      latencyChildren.authorize.observe(seconds);
    },
    recordAdmission(webhook, operation, result, seconds) {
      // Operation comes from the caller; keep label values to a known set.
      const op = ADMISSION_OPERATIONS.has(operation) ? operation : 'unknown';
      childFor(admissionChildren, admission, `${webhook}|${op}|${result}`).inc();
      latencyChildren[webhook].observe(seconds);
    },
    recordResponse(route, status) {
      childFor(responseChildren, responses, `${route}|${status}`).inc();
    },
    incRegistrations() {
      registrations.inc();
    },
    recordCredential(event, kind, reason) {
      // Callers pass values from fixed sets (src/credentials/); the label count stays bounded.
      credentials.labels(event, kind, reason).inc();
    },
    setIndexGeneration(getter) {
      indexGeneration = getter;
    },
    setWatchRestarts(getter) {
      watchRestarts = getter;
    },
    setServingCertificate(getter) {
      servingCertificate = getter;
    },
    render() {
      return registry.metrics();
    },
  };
}
