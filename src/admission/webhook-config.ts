// The ValidatingWebhookConfiguration and MutatingWebhookConfiguration for Gatehouse, as objects.
// The local run and the tests install these; helm/gatehouse/templates has the chart's copy, and the
// two must agree: Gatehouse's kinds fail closed, the namespace mutation fails open while its
// validation enforces, kube-system and the operator's namespace are left out.
import { GROUP, VERSION } from '../api/types.js';
import { REVIEW_GROUP, REVIEW_RESOURCES } from './review-asker.js';

export interface WebhookConfigOptions {
  /** `https://127.0.0.1:8443` (local run) ... the path `/validate` or `/mutate` is appended. */
  urlBase?: string;
  /** In-cluster: the operator's Service instead of a URL. */
  service?: { namespace: string; name: string; port?: number };
  /** PEM CA bundle that signed the serving certificate (plain text; encoded here). */
  caBundle: string;
  /** The operator's own namespace, excluded from the namespace webhooks. */
  operatorNamespace: string;
  /** Object name of both configurations. */
  name?: string;
  timeoutSeconds?: number;
}

export const DEFAULT_WEBHOOK_NAME = 'gatehouse';
export const GATEHOUSE_RESOURCES = ['users', 'roles', 'teams', 'rolebindings', 'accessrequests'] as const;

interface RuleWithOperations {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: string[];
  scope: string;
}

function clientConfig(opts: WebhookConfigOptions, path: '/validate' | '/mutate'): Record<string, unknown> {
  const caBundle = Buffer.from(opts.caBundle, 'utf8').toString('base64');
  if (opts.service) {
    return { service: { namespace: opts.service.namespace, name: opts.service.name, path, port: opts.service.port ?? 443 }, caBundle };
  }
  if (!opts.urlBase) throw new Error('webhook configuration needs urlBase or service');
  return { url: `${opts.urlBase.replace(/\/+$/, '')}${path}`, caBundle };
}

function gatehouseRule(operations: string[]): RuleWithOperations {
  return { apiGroups: [GROUP], apiVersions: [VERSION], resources: [...GATEHOUSE_RESOURCES], operations, scope: 'Cluster' };
}

/**
 * The API server keeps label changes made through `namespaces/status` and `namespaces/finalize`
 * (issue 32, finding 1), so the validating webhook sees both subresources and judges them with the
 * same rule as the object (validateNamespace). The mutation labels new namespaces only.
 */
export const NAMESPACE_SUBRESOURCES = ['status', 'finalize'] as const;

function namespaceRule(operations: string[], subresources: readonly string[] = []): RuleWithOperations {
  return { apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces', ...subresources.map((s) => `namespaces/${s}`)], operations, scope: 'Cluster' };
}

/**
 * For a Namespace, the API server matches namespaceSelector against the namespace's own labels.
 * `kubernetes.io/metadata.name` exists from Kubernetes 1.21; on 1.20 the expression matches every
 * namespace, and the policy itself skips kube-system and the operator's namespace.
 */
function excludeSystem(opts: WebhookConfigOptions): Record<string, unknown> {
  return {
    matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', opts.operatorNamespace] }],
  };
}

/** One webhook: what every one of Gatehouse's has (its endpoint, no side effects, the review versions
 * it reads, the timeout), with the fields that make it this one. */
function webhook(opts: WebhookConfigOptions, path: '/validate' | '/mutate', fields: Record<string, unknown>): Record<string, unknown> {
  return {
    clientConfig: clientConfig(opts, path),
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    admissionReviewVersions: ['v1', 'v1beta1'],
    timeoutSeconds: opts.timeoutSeconds ?? 5,
    ...fields,
  };
}

function configuration(kind: string, opts: WebhookConfigOptions, webhooks: Record<string, unknown>[]): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind,
    metadata: { name: opts.name ?? DEFAULT_WEBHOOK_NAME, labels: { 'app.kubernetes.io/name': 'gatehouse', 'app.kubernetes.io/part-of': 'gatehouse' } },
    webhooks,
  };
}

export function validatingWebhookConfiguration(opts: WebhookConfigOptions): Record<string, unknown> {
  return configuration('ValidatingWebhookConfiguration', opts, [
    webhook(opts, '/validate', {
      name: `validate.${GROUP}`,
      // Status is a subresource (`users/status`); listing only the main resources keeps it out.
      rules: [gatehouseRule(['CREATE', 'UPDATE', 'DELETE'])],
      failurePolicy: 'Fail',
    }),
    webhook(opts, '/validate', {
      name: `namespaces.validate.${GROUP}`,
      rules: [namespaceRule(['CREATE', 'UPDATE'], NAMESPACE_SUBRESOURCES)],
      failurePolicy: 'Fail',
      namespaceSelector: excludeSystem(opts),
    }),
  ]);
}

export function mutatingWebhookConfiguration(opts: WebhookConfigOptions): Record<string, unknown> {
  return configuration('MutatingWebhookConfiguration', opts, [
    webhook(opts, '/mutate', {
      // Same name and rules as the chart's; only a User's self-registration is changed today.
      name: `mutate.${GROUP}`,
      rules: [gatehouseRule(['CREATE', 'UPDATE'])],
      // Self-registration must be stored Pending: if the mutation cannot run, refuse the create.
      failurePolicy: 'Fail',
      reinvocationPolicy: 'Never',
    }),
    webhook(opts, '/mutate', {
      // Marks who created a (Local)SubjectAccessReview, so the authorization webhook answers a
      // review about someone else with the verdict only (review-asker.ts). Fails open: kubelets
      // and aggregated API servers create reviews, which must not depend on Gatehouse.
      name: `reviews.mutate.${GROUP}`,
      rules: [{ apiGroups: [REVIEW_GROUP], apiVersions: ['v1', 'v1beta1'], resources: [...REVIEW_RESOURCES], operations: ['CREATE'], scope: '*' }],
      failurePolicy: 'Ignore',
      reinvocationPolicy: 'Never',
    }),
    webhook(opts, '/mutate', {
      name: `namespaces.mutate.${GROUP}`,
      rules: [namespaceRule(['CREATE'])],
      // An unlabelled namespace is merely unowned; namespace creation must not depend on Gatehouse.
      failurePolicy: 'Ignore',
      reinvocationPolicy: 'Never',
      namespaceSelector: excludeSystem(opts),
    }),
  ]);
}
