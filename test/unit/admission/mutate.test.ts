// The mutation: self-registration stored Pending and not superuser; new namespaces labelled with
// their owner. The validator must accept what the mutation produces (the API server mutates first).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LABELS } from '../../../src/api/types.js';
import { mutateAdmission } from '../../../src/admission/mutate.js';
import { isAccessReview, markReviewAsker } from '../../../src/admission/review-asker.js';
import type { AdmissionReviewRequest } from '../../../src/admission/types.js';
import { validateAdmission, toMessage } from '../../../src/admission/validate.js';
import { OWNER_USERNAME_ANNOTATION, isValidLabelValue, namespaceOwner, ownerLabelValue } from '../../../src/admission/names.js';
import { binding, ns, role, user } from '../../support/authz.js';
import { MASTERS, applyPatch, as, context, create } from '../../support/admission.js';
import { fastCheckReplay } from '../../support/seed.js';

// A failure prints its seed; GATEHOUSE_SEED replays it (test/support/seed.ts).
fastCheckReplay(fc);

const WORLD = {
  users: [user('boss', { superuser: true }), user('alice'), user('mail', { username: 'alice@example.com' }), user('pat', { state: 'Pending' })],
  roles: [role('viewer', ['pods:read'])],
  bindings: [binding('v', 'viewer', ['alice'], { cluster: true })],
};
const ctx = context(WORLD, { registration: { mode: 'approval' } });
const openCtx = context(WORLD, { registration: { mode: 'open' } });

function mutateThenValidate(input: ReturnType<typeof create>, c = ctx) {
  const m = mutateAdmission(input, c);
  const mutated = { ...input, object: applyPatch(input.object, m.patch) };
  return { m, object: mutated.object as Record<string, any>, res: validateAdmission(mutated, c) };
}

describe('self-registration', () => {
  it('a new user asking for Active and superuser is stored Pending and not superuser', () => {
    const { m, object, res } = mutateThenValidate(create(user('carol', { superuser: true }), as('carol')));
    assert.deepEqual(m.patch, [{ op: 'add', path: '/spec/state', value: 'Pending' }, { op: 'add', path: '/spec/superuser', value: false }]);
    assert.equal(object['spec'].state, 'Pending');
    assert.equal(object['spec'].superuser, false);
    assert.equal(m.warnings.length, 2);
    assert.equal(res.allowed, true, toMessage(res));
  });
  it('registration open keeps Active', () => {
    const { m, res } = mutateThenValidate(create(user('carol'), as('carol')), openCtx);
    assert.deepEqual(m.patch, []);
    assert.equal(res.allowed, true);
  });
  it('leaves a Pending self-registration alone', () => {
    assert.deepEqual(mutateAdmission(create(user('carol', { state: 'Pending' }), as('carol')), ctx).patch, []);
  });
  it('does not touch Users created for others, by superusers, or by break-glass', () => {
    assert.deepEqual(mutateAdmission(create(user('dave', { superuser: true }), as('carol')), ctx).patch, []);
    assert.deepEqual(mutateAdmission(create(user('dave', { superuser: true }), as('boss')), ctx).patch, []);
    assert.deepEqual(mutateAdmission(create(user('admin', { superuser: true }), MASTERS), ctx).patch, []);
  });
  it('does not touch a user who already has a User (that create is refused instead)', () => {
    assert.deepEqual(mutateAdmission(create(user('pat2', { username: 'pat', superuser: true }), as('pat')), ctx).patch, []);
  });
});

describe('namespace owner label', () => {
  it('labels a namespace created by an Active user', () => {
    const { m, object, res } = mutateThenValidate(create(ns('ml-b'), as('alice')));
    assert.deepEqual(m.patch, [{ op: 'add', path: '/metadata/labels/iam.gatehouse.dev~1owner', value: 'alice' }]);
    assert.equal(object['metadata'].labels[LABELS.owner], 'alice');
    assert.equal(res.allowed, true, toMessage(res));
  });
  it('creates the labels map when there is none, and keeps the exact username in an annotation', () => {
    const input = create(ns('ml-c'), as('alice@example.com'));
    delete (input.object as { metadata: { labels?: unknown } }).metadata.labels;
    const { m, object, res } = mutateThenValidate(input);
    assert.deepEqual(m.patch, [
      { op: 'add', path: '/metadata/labels', value: { [LABELS.owner]: 'alice_at_example.com' } },
      { op: 'add', path: '/metadata/annotations', value: { [OWNER_USERNAME_ANNOTATION]: 'alice@example.com' } },
    ]);
    assert.equal(namespaceOwner(object['metadata']), 'alice@example.com');
    assert.equal(res.allowed, true, toMessage(res));
  });
  it('leaves namespaces alone for users who are not Active, unknown, or already labelled', () => {
    assert.deepEqual(mutateAdmission(create(ns('x'), as('pat')), ctx).patch, []);
    assert.deepEqual(mutateAdmission(create(ns('x'), as('nobody')), ctx).patch, []);
    assert.deepEqual(mutateAdmission(create(ns('x', { [LABELS.owner]: 'bob' }), as('boss')), ctx).patch, []);
    assert.deepEqual(mutateAdmission(create(ns('kube-system'), as('alice')), ctx).patch, []);
  });
  it('does not mutate updates or deletes', () => {
    const input = { ...create(ns('x'), as('alice')), operation: 'UPDATE' as const, oldObject: ns('x') };
    assert.deepEqual(mutateAdmission(input, ctx).patch, []);
  });
});

describe('ownerLabelValue', () => {
  const cases: Array<[string, string]> = [
    ['alice', 'alice'],
    ['alice@example.com', 'alice_at_example.com'],
    ['oidc:Bob Smith', 'oidc_Bob_Smith'],
    ['system:serviceaccount:ml:ci', 'system_serviceaccount_ml_ci'],
    ['-x-', 'x'],
  ];
  for (const [username, label] of cases) it(`${username} -> ${label}`, () => assert.equal(ownerLabelValue(username), label));
  it('long and empty results get a hash and stay valid and distinct', () => {
    const a = ownerLabelValue('a'.repeat(70) + '@x');
    const b = ownerLabelValue('a'.repeat(70) + '@y');
    assert.ok(isValidLabelValue(a) && isValidLabelValue(b));
    assert.notEqual(a, b);
    assert.ok(isValidLabelValue(ownerLabelValue('@@@')));
  });
  it('always yields a valid, non-empty label value (property)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (s) => {
      const v = ownerLabelValue(s);
      return v.length > 0 && isValidLabelValue(v);
    }), { numRuns: 2000 });
  });
  it('namespaceOwner trusts the annotation only when it encodes to the label', () => {
    assert.equal(namespaceOwner({ labels: { [LABELS.owner]: 'a_at_b.c' }, annotations: { [OWNER_USERNAME_ANNOTATION]: 'a@b.c' } }), 'a@b.c');
    assert.equal(namespaceOwner({ labels: { [LABELS.owner]: 'bob' }, annotations: { [OWNER_USERNAME_ANNOTATION]: 'a@b.c' } }), 'bob');
    assert.equal(namespaceOwner({ labels: {} }), undefined);
  });
});

describe('access reviews: the creator is marked (issue 32, finding 10)', () => {
  const review = (object: Record<string, unknown>, user = 'olga'): AdmissionReviewRequest => ({
    apiVersion: 'admission.k8s.io/v1', uid: 'u1', operation: 'CREATE', dryRun: false,
    kind: { group: 'authorization.k8s.io', version: 'v1', kind: 'LocalSubjectAccessReview' },
    resource: { group: 'authorization.k8s.io', version: 'v1', resource: 'localsubjectaccessreviews' },
    requester: { user, groups: ['system:authenticated'] }, object,
  });
  it('overwrites any asker the creator wrote, keeping the rest of extra', () => {
    const out = markReviewAsker(review({ spec: { user: 'dave', extra: { 'iam.gatehouse.dev/asked-by': ['dave'], other: ['x'] } } }), false);
    assert.deepEqual(out.patch, [{ op: 'add', path: '/spec/extra', value: { 'iam.gatehouse.dev/asked-by': ['olga'], other: ['x'] } }]);
  });
  it('adds extra when there is none; leaves askers who see everything, and malformed reviews, alone', () => {
    assert.deepEqual(markReviewAsker(review({ spec: { user: 'dave' } }), false).patch, [{ op: 'add', path: '/spec/extra', value: { 'iam.gatehouse.dev/asked-by': ['olga'] } }]);
    assert.deepEqual(markReviewAsker(review({ spec: { user: 'dave' } }), true), {});
    assert.deepEqual(markReviewAsker(review({ spec: 'x' }), false), {});
    assert.equal(isAccessReview(review({})), true);
  });
});
