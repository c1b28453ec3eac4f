// One call for the composition root: the HTTPS server with both webhooks, probes, metrics and
// registration `auto`, wired from the configuration and the injected core functions.
import type { GatehouseConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { AccessRequest, Decision } from '../authz/types.js';
import { isBreakGlass } from '../authz/rules.js';
import { createWebhookServer, type WebhookServer } from './server.js';
import { createWebhookRoutes } from './routes.js';
import { createAuthorizeHandler } from './sar.js';
import { createAdmissionHandler, type Mutator, type Validator } from './admission.js';
import type { Requester } from '../authz/types.js';
import { createWebhookMetrics, type ControllerFigures, type RbacExpiryStatus, type TeamQuotaSample, type WebhookMetrics } from './metrics.js';
import type { Reply } from './http.js';
import { createAutoRegistrar, type AutoRegistrar } from './registration.js';
import { clusterOf } from '../fleet/identity.js';

export interface GatehouseWebhookOptions {
  config: GatehouseConfig;
  logger: Logger;
  /** decide() bound to the live index. */
  authorize: (req: AccessRequest) => Decision;
  /** True once the index has synced (readiness, and answers before it are no opinion). */
  isReady: () => boolean;
  /**
   * False while the replica drains before shutting down: /readyz fails, but the webhooks keep
   * answering from the index (an answer of "not synced" then would be a wrong answer).
   */
  isServing?: () => boolean;
  /** Admission validator and mutator; without a validator /validate and /mutate are not served. */
  validate?: Validator;
  mutate?: Mutator;
  /** Default: the operator's own service account and members of system:masters (docs/design.md, authz/rules.ts). */
  breakGlass?: (requester: Requester) => boolean;
  /** The TokenReview handler (src/credentials/), served at /authenticate when given. */
  authenticate?: (body: unknown, source: string | undefined) => Reply;
  /** Registration `auto`: creates a Pending User (AlreadyExists counts as done). */
  createPendingUser?: (username: string) => Promise<void>;
  indexGeneration?: () => number;
  watchRestarts?: () => number;
  rbac?: () => RbacExpiryStatus | undefined;
  teamQuotas?: () => Iterable<TeamQuotaSample>;
  /** Milliseconds, for the registration rate limit. */
  now?: () => number;
  certReloadIntervalMs?: number;
  processMetrics?: boolean;
  /** certificates.mode operator: the serving pair is installed through server.installCertificate(). */
  externalCertificates?: boolean;
  /**
   * Readiness beyond the synced index: e.g. that the certificate served is one the API server
   * trusts (certificates.mode operator). Undefined: the index alone.
   */
  servingTrusted?: () => boolean;
  /** The controller's day-two figures (leader, last sync per kind, reconcile errors, acquisitions). */
  controllerMetrics?: () => ControllerFigures | undefined;
}

export interface GatehouseWebhook {
  server: WebhookServer;
  metrics: WebhookMetrics;
  registrar: AutoRegistrar | undefined;
}

export function defaultBreakGlass(config: GatehouseConfig): (requester: Requester) => boolean {
  const operator = config.operator.serviceAccountUsername;
  return (r) => isBreakGlass(operator, r.user, r.groups);
}

export function createGatehouseWebhook(options: GatehouseWebhookOptions): GatehouseWebhook {
  const { config, logger, isReady } = options;
  const metrics = createWebhookMetrics({
    ...(options.indexGeneration ? { indexGeneration: options.indexGeneration } : {}),
    ...(options.watchRestarts ? { watchRestarts: options.watchRestarts } : {}),
    ...(options.rbac ? { rbac: options.rbac } : {}),
    ...(options.teamQuotas ? { teamQuotas: options.teamQuotas } : {}),
    processMetrics: options.processMetrics ?? false,
    ...(options.controllerMetrics ? { controller: options.controllerMetrics } : {}),
    cluster: clusterOf(config).name,
  });
  const registrar = config.registration.auto && options.createPendingUser
    ? createAutoRegistrar({
      perSecond: config.operator.autoRegistrationPerSecond,
      createPendingUser: options.createPendingUser,
      logger,
      metrics,
      ...(options.now ? { now: options.now } : {}),
    })
    : undefined;
  if (config.registration.auto && !options.createPendingUser) {
    logger.warn({}, 'registration.auto is on but no user creator was wired; no Pending Users will be created');
  }
  const authorize = createAuthorizeHandler({
    authorize: options.authorize,
    isReady,
    logger,
    metrics,
    ...(registrar ? { onUnknownUser: (req: AccessRequest) => registrar.onUnknownUser(req) } : {}),
  });
  const admission = options.validate
    ? createAdmissionHandler({
      validate: options.validate,
      mutate: options.mutate ?? (() => ({})),
      logger,
      metrics,
      breakGlass: options.breakGlass ?? defaultBreakGlass(config),
    })
    : undefined;
  const routes = createWebhookRoutes({
    authorize,
    ...(admission ? { admission } : {}),
    ...(options.authenticate ? { authenticate: options.authenticate } : {}),
    isReady: () => isReady() && (options.isServing?.() ?? true),
    ...(options.servingTrusted ? { servingTrusted: options.servingTrusted } : {}),
    metrics,
    cluster: clusterOf(config),
  });
  const server = createWebhookServer({
    server: config.server,
    logger,
    routes,
    metrics,
    ...(options.certReloadIntervalMs !== undefined ? { certReloadIntervalMs: options.certReloadIntervalMs } : {}),
    ...(options.externalCertificates ? { externalCertificates: true } : {}),
  });
  metrics.setServingCertificate(() => server.servingCertificate());
  return { server, metrics, registrar };
}
