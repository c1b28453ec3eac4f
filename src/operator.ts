// The composition root: configuration -> Kubernetes client -> permission index -> controller
// (informers, status, leader election) -> HTTPS server with the authorization and admission
// webhooks. Nothing else wires parts together; src/main.ts only adds the process around it.
import { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, PLURALS, GROUP, VERSION } from './api/types.js';
import type { GatehouseConfig } from './config.js';
import type { Logger } from './log.js';
import { PermissionIndex } from './authz/index.js';
import { decide } from './authz/decide.js';
import { createController, type Controller } from './controller/controller.js';
import { createKubeClient, isConflict, type KubeClient } from './controller/kube.js';
import { createAdmissionPolicy } from './admission/review.js';
import { createPolicyView } from './admission/view.js';
import { createGatehouseWebhook, type GatehouseWebhook } from './webhook/index.js';
import { createCredentials, type Credentials } from './credentials/index.js';
import { startConsoleServer, type ConsoleServer } from './console/server.js';
import { clientFromKubeConfig } from './client/kube.js';
import { ConsoleError } from './errors.js';
import { createCertKeeper, type CertKeeper } from './certs/keeper.js';
import { createReview, type Review } from './review/index.js';
import { createRequestController } from './requests/controller.js';
import { createNotifier } from './requests/notify.js';
import { createClusterIdentityPublisher } from './controller/cluster-identity.js';
import { clusterOf } from './fleet/identity.js';

export interface OperatorOptions {
  config: GatehouseConfig;
  logger: Logger;
  /** Defaults to config.operator.kubeconfig, else the in-cluster service account. */
  kubeConfig?: KubeConfig;
  /** Milliseconds since the epoch; injected so tests can move time (expiry). */
  now?: () => number;
}

export interface Operator {
  readonly index: PermissionIndex;
  readonly controller: Controller;
  readonly webhook: GatehouseWebhook;
  /** The port the HTTPS server listens on (config.server.port, or the one picked for port 0). */
  readonly port: number;
  /** Gatehouse's own tokens, when credentials.enabled. */
  readonly credentials: Credentials | undefined;
  /** The credential proxy's port, when it runs. */
  readonly proxyPort: number | undefined;
  /** The web console's port when config.console.enabled. */
  readonly consolePort: number | undefined;
  /** certificates.mode operator: the keeper of the certificate Secret; undefined in mode files. */
  readonly certificates: CertKeeper | undefined;
  /** Access review (issue 24): last use of grants and the history of changes. */
  readonly review: Review;
  /**
   * The first step of a graceful shutdown: /readyz fails and every response closes its connection
   * while the webhooks keep answering, for `ms`; stop() follows.
   */
  drain(ms: number): Promise<void>;
  /** Stops serving, stops the controller (releasing the lease). Idempotent. */
  stop(): Promise<void>;
}

export function loadKubeConfig(config: GatehouseConfig): KubeConfig {
  const kc = new KubeConfig();
  if (config.operator.kubeconfig) kc.loadFromFile(config.operator.kubeconfig);
  else kc.loadFromCluster();
  return kc;
}

// Registration `auto` names Users as admission expects (src/api/username.ts).
export { userObjectName } from './api/username.js';
import { userObjectName } from './api/username.js';
import { teamQuotaSamples } from './quota/applier.js';

async function createPendingUser(kube: KubeClient, username: string): Promise<void> {
  try {
    await kube.request({
      method: 'POST',
      path: `/apis/${GROUP}/${VERSION}/${PLURALS.User}`,
      body: { apiVersion: API_VERSION, kind: 'User', metadata: { name: userObjectName(username) }, spec: { username, state: 'Pending' } },
    });
  } catch (err) {
    if (!isConflict(err)) throw err; // AlreadyExists: someone (or an earlier request) was first
  }
}

/**
 * A kubeconfig with the operator's cluster (address and CA) and the request's bearer token as the
 * only credentials: the console acts as the person, never with the operator's service account.
 */
export function kubeConfigForToken(base: KubeConfig, token: string): KubeConfig {
  const cluster = base.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the operator kubeconfig');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'console-caller', token }],
    contexts: [{ name: 'console', cluster: cluster.name, user: 'console-caller' }],
    currentContext: 'console',
  });
  return kc;
}

function startConsole(config: GatehouseConfig, kubeConfig: KubeConfig, now: () => number, logger: Logger): Promise<ConsoleServer> {
  return startConsoleServer({
    mode: 'operator',
    host: config.console.host,
    port: config.console.port,
    allowedHosts: config.console.allowedHosts,
    clientFor: (token) => {
      // The server asks only after it found a bearer token; without one there is no client at all.
      if (!token) throw new ConsoleError('GH_CONSOLE_AUTH', 401, 'no bearer token');
      return clientFromKubeConfig(kubeConfigForToken(kubeConfig, token));
    },
    policy: { config, source: "the operator's configuration" },
    now,
    logger,
  });
}

export async function startOperator(opts: OperatorOptions): Promise<Operator> {
  const { config, logger } = opts;
  const now = opts.now ?? Date.now;
  const kubeConfig = opts.kubeConfig ?? loadKubeConfig(config);
  const index = new PermissionIndex(config, now);
  const controller = createController({ kubeConfig, config, index, logger });
  const kube = createKubeClient(kubeConfig);
  const operatorCerts = config.certificates.mode === 'operator';
  const policy = createAdmissionPolicy({
    config,
    // Before the first sync there is no view, and the policy fails closed for Gatehouse's kinds.
    view: () => (index.synced ? createPolicyView(index, now) : undefined),
    now,
  });
  let draining = false;
  // Built before the webhook (which serves its TokenReview route); counts into the webhook's metrics.
  let webhookRef: GatehouseWebhook | undefined;
  const credentials = config.credentials.enabled
    ? createCredentials({
      config,
      kubeConfig,
      client: kube,
      index,
      logger,
      now,
      record: (event, kind, reason) => webhookRef?.metrics.recordCredential(event, kind, reason),
      onProxyResponse: (status) => webhookRef?.metrics.recordResponse('proxy', status),
    })
    : undefined;
  const review = createReview({ config, kube, index, logger, now, isLeader: () => controller.isLeader() });
  const webhook = createGatehouseWebhook({
    config,
    logger,
    authorize: (req) => {
      if (req.credentialId !== undefined && credentials && !credentials.authenticator.stillLive(req.credentialId, req.user)) {
        return { verdict: 'deny', code: 'credentialEnded', reason: `the Gatehouse token of ${req.user} was revoked or rotated` };
      }
      const at = now();
      const decision = decide(index, req, { now: at });
      review.usage.record(decision, req.user, at);
      return decision;
    },
    isReady: () => index.synced,
    isServing: () => !draining,
    validate: (r) => {
      const result = policy.validate(r);
      if (result.allowed) review.history.observe(r);
      return result;
    },
    mutate: (review) => policy.mutate(review),
    createPendingUser: (username) => createPendingUser(kube, username),
    indexGeneration: () => index.generation,
    watchRestarts: () => controller.metrics().watchRestarts,
    ...(controller.rbac ? { rbac: () => controller.rbac?.metrics() } : {}),
    teamQuotas: () => teamQuotaSamples(controller.quota.metrics().teams),
    processMetrics: true,
    ...(credentials ? { authenticate: (body: unknown, source: string | undefined) => credentials.tokenReview(body, source) } : {}),
    controllerMetrics: () => controller.metrics(),
    ...(operatorCerts ? { externalCertificates: true, servingTrusted: () => certKeeper?.trusted() ?? false } : {}),
  });
  webhookRef = webhook;
  review.registerMetrics(webhook.metrics.registry);
  let certKeeper: CertKeeper | undefined;
  if (operatorCerts) {
    // The leader creates the Secret when it is missing, so leader election runs before there is
    // anything to serve; the server listens once the first pair is installed.
    controller.start();
    certKeeper = createCertKeeper({
      kube,
      namespace: config.operator.namespace,
      identity: config.operator.identity,
      config: config.certificates,
      logger,
      isLeader: () => controller.isLeader(),
      install: (pair) => webhook.server.installCertificate(pair),
      clientCertificates: Boolean(config.server.clientCAFile),
      now,
    });
    certKeeper.start();
    await certKeeper.installed;
  }
  const { port } = await webhook.server.listen();
  const consoleServer = config.console.enabled ? await startConsole(config, kubeConfig, now, logger) : undefined;
  if (!operatorCerts) controller.start();
  // Access requests (src/requests/): the leader plans and writes; optional notifications.
  const requests = createRequestController({
    kube, index, config, logger, now, isLeader: () => controller.isLeader(),
    notifier: config.requests ? createNotifier(config.requests.notify, logger) : undefined,
  });
  requests.start();
  // Who this cluster is, readable with a kubeconfig alone (issue 30; the CLI's live answers).
  const identity = createClusterIdentityPublisher({ kube, cluster: clusterOf(config), isLeader: () => controller.isLeader(), logger });
  identity.start();
  const proxyPort = credentials ? (await credentials.start()).proxyPort : undefined;
  review.start();
  controller.synced.then(
    () => {
      logger.info({ generation: index.generation }, 'index synced');
      // Fail closed, and say so (issue 30): on an unnamed cluster, objects that select clusters
      // hold nowhere; their InEffect condition says ClusterUnnamed, and the log says it once here.
      if (index.cluster.name === '') {
        const objects = index.bindingsNotInForce().length + index.listUserRecords().filter((r) => r.otherCluster).length;
        if (objects > 0) logger.warn({ objects }, 'objects select clusters but this cluster has no name (values cluster.name): they are not in force here');
      }
    },
    () => undefined,
  );
  let stopping: Promise<void> | undefined;
  return {
    index,
    controller,
    webhook,
    port,
    credentials,
    proxyPort,
    consolePort: consoleServer?.port,
    certificates: certKeeper,
    review,
    async drain(ms) {
      draining = true;
      webhook.server.drain();
      // Hand the lease over now rather than after the drain; the index stays current meanwhile.
      await controller.stepDown();
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    },
    stop() {
      // Stop taking work first (the controller releases its lease), then close the server, whose
      // in-flight reviews finish.
      stopping ??= (async () => {
        await credentials?.stop();
        await review.stop();
        await requests.stop();
        await identity.stop();
        await certKeeper?.stop();
        await controller.stop();
        await consoleServer?.close();
        await webhook.server.close();
      })();
      return stopping;
    },
  };
}
