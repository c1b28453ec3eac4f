// The route table the operator serves: both webhooks, the probes and the metrics.
import type { Routes, Route } from './server.js';
import type { Reply } from './http.js';
import type { WebhookMetrics } from './metrics.js';
import type { AdmissionHandlers } from './admission.js';
import type { ClusterIdentity } from '../fleet/cluster.js';
import { readyzBody } from '../fleet/identity.js';

export interface WebhookRoutesOptions {
  /** From createAuthorizeHandler. */
  authorize?: (body: unknown) => Reply;
  /** Webhook token authentication (TokenReview), when credentials are on. */
  authenticate?: (body: unknown, source: string | undefined) => Reply;
  /** From createAdmissionHandler. */
  admission?: AdmissionHandlers;
  /** True once the permission index has synced. */
  isReady: () => boolean;
  /** Also needed for readiness: the served certificate is one the API server trusts (certificates.mode operator). */
  servingTrusted?: () => boolean;
  metrics?: WebhookMetrics;
  /** Who this cluster is (issue 30): /readyz names it once ready. Undefined: the body is `ok` alone. */
  cluster?: ClusterIdentity;
}

const text = (status: number, body: string): Reply => ({ status, body, contentType: 'text/plain; charset=utf-8' });

export function createWebhookRoutes(options: WebhookRoutesOptions): Routes {
  const { isReady, metrics } = options;
  const routes: Record<string, Route> = {
    '/healthz': { name: 'healthz', method: 'GET', handler: () => text(200, 'ok\n') },
    '/readyz': {
      name: 'readyz',
      method: 'GET',
      handler: () => {
        if (!isReady()) return text(503, 'permission index not synced yet\n');
        // Ready only once the API server would accept this replica's certificate: a replica that
        // took traffic before its certificate is in the webhooks' caBundle would fail every call.
        if (options.servingTrusted && !options.servingTrusted()) return text(503, 'serving certificate not trusted by the webhook configurations yet\n');
        // `ok`, then `cluster: NAME` and `cluster-labels: k=v,...` (docs/helm.md, "Fleet").
        return text(200, options.cluster ? readyzBody(options.cluster) : 'ok\n');
      },
    },
  };
  if (metrics) {
    routes['/metrics'] = {
      name: 'metrics',
      method: 'GET',
      handler: async () => ({ status: 200, body: await metrics.render(), contentType: metrics.contentType }),
    };
  }
  const { authorize, admission } = options;
  if (authorize) routes['/authorize'] = { name: 'authorize', method: 'POST', handler: (ctx) => authorize(ctx.body) };
  if (options.authenticate) {
    const authenticate = options.authenticate;
    routes['/authenticate'] = { name: 'authenticate', method: 'POST', handler: (ctx) => authenticate(ctx.body, ctx.source) };
  }
  if (admission) {
    routes['/validate'] = {
      name: 'validate', method: 'POST', handler: (ctx) => admission.validate(ctx.body),
      onTooDeep: (parsed, message) => admission.tooDeep('validate', parsed, message),
    };
    routes['/mutate'] = {
      name: 'mutate', method: 'POST', handler: (ctx) => admission.mutate(ctx.body),
      onTooDeep: (parsed, message) => admission.tooDeep('mutate', parsed, message),
    };
  }
  return Object.freeze(routes);
}
