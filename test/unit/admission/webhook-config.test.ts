// The webhook configurations: what the chart must agree with (failure policies, exclusions,
// timeouts, versions, rules).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mutatingWebhookConfiguration, validatingWebhookConfiguration } from '../../../src/admission/webhook-config.js';

type Hook = Record<string, any>;
const opts = { urlBase: 'https://127.0.0.1:9443/', caBundle: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n', operatorNamespace: 'gatehouse-system' };
const vwc = validatingWebhookConfiguration(opts) as { kind: string; webhooks: Hook[] };
const mwc = mutatingWebhookConfiguration(opts) as { kind: string; webhooks: Hook[] };
const all = [...vwc.webhooks, ...mwc.webhooks];
const byName = (name: string) => all.find((w) => w.name === name)!;

describe('webhook configurations', () => {
  it('are the two admissionregistration/v1 kinds', () => {
    assert.equal(vwc.kind, 'ValidatingWebhookConfiguration');
    assert.equal(mwc.kind, 'MutatingWebhookConfiguration');
  });
  it('every webhook: sideEffects None, v1 and v1beta1 reviews, a timeout of a few seconds, the CA bundle', () => {
    for (const w of all) {
      assert.equal(w.sideEffects, 'None');
      assert.deepEqual(w.admissionReviewVersions, ['v1', 'v1beta1']);
      assert.ok(w.timeoutSeconds >= 1 && w.timeoutSeconds <= 10);
      assert.equal(Buffer.from(w.clientConfig.caBundle, 'base64').toString(), opts.caBundle);
    }
  });
  it("Gatehouse's kinds fail closed: CREATE, UPDATE, DELETE of the four kinds, status not sent", () => {
    const w = byName('validate.iam.gatehouse.dev');
    assert.equal(w.failurePolicy, 'Fail');
    assert.equal(w.clientConfig.url, 'https://127.0.0.1:9443/validate');
    assert.deepEqual(w.rules, [{ apiGroups: ['iam.gatehouse.dev'], apiVersions: ['v1alpha1'], resources: ['users', 'roles', 'teams', 'rolebindings', 'accessrequests'], operations: ['CREATE', 'UPDATE', 'DELETE'], scope: 'Cluster' }]);
    assert.ok(!w.rules[0]!.resources.some((r: string) => r.includes('/')));
  });
  it('namespaces: validation enforces (Fail), mutation fails open (Ignore), CREATE/UPDATE and CREATE', () => {
    const v = byName('namespaces.validate.iam.gatehouse.dev');
    const m = byName('namespaces.mutate.iam.gatehouse.dev');
    assert.equal(v.failurePolicy, 'Fail');
    assert.equal(m.failurePolicy, 'Ignore');
    assert.deepEqual(v.rules[0].operations, ['CREATE', 'UPDATE']);
    assert.deepEqual(m.rules[0].operations, ['CREATE']);
    // The API server keeps label changes made through status and finalize: validation sees them (issue 32, finding 1).
    assert.deepEqual(v.rules[0].resources, ['namespaces', 'namespaces/status', 'namespaces/finalize']);
    assert.deepEqual(m.rules[0].resources, ['namespaces']);
    assert.equal(m.clientConfig.url, 'https://127.0.0.1:9443/mutate');
  });
  it('kube-system and the operator namespace are excluded from the namespace webhooks', () => {
    for (const name of ['namespaces.validate.iam.gatehouse.dev', 'namespaces.mutate.iam.gatehouse.dev']) {
      assert.deepEqual(byName(name).namespaceSelector.matchExpressions, [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'gatehouse-system'] }]);
    }
  });
  it("the mutation of Gatehouse's kinds (self-registration) fails closed, as in the chart", () => {
    const w = byName('mutate.iam.gatehouse.dev');
    assert.equal(w.failurePolicy, 'Fail');
    assert.deepEqual(w.rules[0].resources, ['users', 'roles', 'teams', 'rolebindings', 'accessrequests']);
    assert.deepEqual(w.rules[0].operations, ['CREATE', 'UPDATE']);
  });
  it('can point at an in-cluster Service instead of a URL', () => {
    const s = validatingWebhookConfiguration({ ...opts, urlBase: undefined, service: { namespace: 'gatehouse-system', name: 'gatehouse' } }) as { webhooks: Hook[] };
    assert.deepEqual(s.webhooks[0]!.clientConfig.service, { namespace: 'gatehouse-system', name: 'gatehouse', path: '/validate', port: 443 });
  });
});

describe('reviews.mutate (issue 32, finding 10)', () => {
  it('marks who created a (Local)SubjectAccessReview, failing open', () => {
    const w = byName('reviews.mutate.iam.gatehouse.dev');
    assert.equal(w.failurePolicy, 'Ignore');
    assert.deepEqual(w.rules, [{ apiGroups: ['authorization.k8s.io'], apiVersions: ['v1', 'v1beta1'], resources: ['subjectaccessreviews', 'localsubjectaccessreviews'], operations: ['CREATE'], scope: '*' }]);
  });
});
