// One call for the composition root: the credential cache, the authenticator, the service, the
// TokenReview handler and the proxy, wired from the configuration. Nothing runs unless
// credentials.enabled is set.
import { readFile } from 'node:fs/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import type https from 'node:https';
import type { GatehouseConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { PermissionIndex } from '../authz/index.js';
import { errorMessage } from '../errors.js';
import { systemClock } from '../controller/clock.js';
import { isConflict, type KubeClient } from '../controller/kube.js';
import { seedObjectName } from '../controller/seeds.js';
import { createAuthenticator, type Authenticator } from './authenticate.js';
import { createRateLimiter } from './ratelimit.js';
import { createCredentialStore, type CredentialStore } from './store.js';
import { createCredentialService, type CredentialService, type RecordEvent } from './service.js';
import { createTokenReviewHandler } from './tokenreview.js';
import { createCredentialProxy, type CredentialProxy, type Upstream } from './proxy.js';
import type { Reply } from '../webhook/http.js';

/** The ConfigMap that tells the CLI credentials are on, and where and how users reach the proxy. */
export const DISCOVERY_CONFIGMAP = 'gatehouse-credentials';

export interface CredentialsOptions {
  config: GatehouseConfig;
  kubeConfig: KubeConfig;
  client: KubeClient;
  index: PermissionIndex;
  logger: Logger;
  now: () => number;
  record: RecordEvent;
  onProxyResponse?: (status: number) => void;
}

export interface Credentials {
  readonly store: CredentialStore;
  readonly authenticator: Authenticator;
  readonly service: CredentialService;
  readonly proxy: CredentialProxy | undefined;
  /** The TokenReview handler for the webhook server's /authenticate; `source` is the caller's address. */
  tokenReview(body: unknown, source?: string): Reply;
  /** Starts the cache, the reconcile loop and the proxy; resolves with the proxy's port. */
  start(): Promise<{ proxyPort: number | undefined }>;
  stop(): Promise<void>;
}

/** The API server and the operator's credentials for it, from the operator's kubeconfig. */
export async function upstreamFrom(kubeConfig: KubeConfig): Promise<Upstream> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the operator kubeconfig has no current cluster');
  const base: https.RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(base);
  let cached: { at: number; headers: Record<string, string> } | undefined;
  return {
    url: new URL(cluster.server),
    tls: {
      ...(base.ca ? { ca: base.ca } : {}),
      ...(base.cert ? { cert: base.cert } : {}),
      ...(base.key ? { key: base.key } : {}),
      ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
    },
    async auth() {
      // Projected service-account tokens rotate on disk; re-read them now and then, not per request.
      if (cached && Date.now() - cached.at < 10_000) return cached.headers;
      const opts: https.RequestOptions = {};
      await kubeConfig.applyToHTTPSOptions(opts);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') headers[k] = v;
      if (opts.auth) headers['Authorization'] = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      cached = { at: Date.now(), headers };
      return headers;
    },
  };
}

export function createCredentials(opts: CredentialsOptions): Credentials {
  const { config, index, client, now } = opts;
  const cc = config.credentials;
  const namespace = config.operator.namespace;
  const logger = opts.logger.child({ component: 'credentials' });
  let service: CredentialService | undefined;
  const store = createCredentialStore({
    client,
    namespace,
    logger,
    watch: config.operator.watch,
    clock: systemClock,
    onRequest: (secret) => service?.handleRequest(secret),
    // A revocation or rotation ends open streams as soon as the cache has it, not at the next
    // periodic sweep (which still catches User changes: suspension, rejection, deletion).
    onCredentialsChanged: () => {
      if (proxy) queueMicrotask(() => proxy?.sweep());
    },
  });
  const authenticator = createAuthenticator({
    ready: () => store.hasSynced() && index.synced,
    lookup: (id) => store.lookup(id),
    user: (name) => index.getUser(name),
    teams: (user) => {
      const record = index.userRecord(user.spec.username ?? user.metadata.name);
      return record ? index.directTeams(record) : [];
    },
    now,
    perSource: createRateLimiter(cc.rateLimits.perSourcePerMinute),
    perToken: createRateLimiter(cc.rateLimits.perUserPerMinute),
    perLogin: createRateLimiter(cc.rateLimits.perUserPerMinute),
  });
  service = createCredentialService({
    store,
    authenticator,
    client,
    namespace,
    user: (name) => index.getUser(name),
    indexReady: () => index.synced,
    invitationTtlMs: cc.invitationTTLSeconds * 1000,
    seeds: config.seedAdmins.filter((s) => s.credentials === 'generate').map((s) => ({ username: s.username, objectName: seedObjectName(s.username) })),
    now,
    logger,
    record: opts.record,
  });
  const svc = service;
  const tokenReview = createTokenReviewHandler({ authenticator, audiences: cc.audiences, onRejected: (r) => svc.rejected(r, 'tokenreview') });
  let proxy: CredentialProxy | undefined;
  let loop: NodeJS.Timeout | undefined;

  async function publishDiscovery(proxyPort: number | undefined): Promise<void> {
    const ca = cc.proxy.caFile ? await readFile(cc.proxy.caFile, 'utf8') : undefined;
    const data: Record<string, string> = {
      enabled: 'true',
      ...(cc.proxy.enabled && cc.proxy.externalURL ? { server: cc.proxy.externalURL } : {}),
      ...(cc.proxy.enabled && !cc.proxy.externalURL && proxyPort !== undefined && cc.proxy.host !== '0.0.0.0' ? { server: `https://${cc.proxy.host}:${proxyPort}` } : {}),
      ...(ca ? { 'ca.crt': ca } : {}),
      invitationTTLSeconds: String(cc.invitationTTLSeconds),
    };
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: DISCOVERY_CONFIGMAP, namespace }, data };
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
    try {
      await client.request({ method: 'POST', path, body });
    } catch (err) {
      if (!isConflict(err)) throw err;
      await client.request({ method: 'PATCH', path: `${path}/${DISCOVERY_CONFIGMAP}`, body: { data }, contentType: 'application/merge-patch+json' });
    }
  }

  return {
    store,
    authenticator,
    service: svc,
    get proxy() {
      return proxy;
    },
    tokenReview,
    async start() {
      store.start();
      let proxyPort: number | undefined;
      if (cc.proxy.enabled) {
        proxy = createCredentialProxy({
          host: cc.proxy.host,
          port: cc.proxy.port,
          certFile: config.server.certFile,
          keyFile: config.server.keyFile,
          upstream: await upstreamFrom(opts.kubeConfig),
          authenticator,
          redeem: (t, s) => svc.redeem(t, s),
          rotate: (t, s) => svc.rotate(t, s),
          onRejected: (r, source) => svc.rejected(r, 'proxy', source),
          ...(opts.onProxyResponse ? { onResponse: opts.onProxyResponse } : {}),
          logger,
        });
        proxyPort = (await proxy.listen()).port;
      }
      await publishDiscovery(proxyPort).catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'credentials discovery ConfigMap not written'));
      let running = false;
      loop = setInterval(() => {
        if (running) return;
        running = true;
        svc.reconcile()
          .catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'credentials reconcile failed'))
          .finally(() => (running = false));
      }, 1000);
      loop.unref();
      return { proxyPort };
    },
    async stop() {
      if (loop) clearInterval(loop);
      await proxy?.close();
      await store.stop();
    },
  };
}
