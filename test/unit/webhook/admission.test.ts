// AdmissionReview in and out: the uid is always echoed, validators' failures deny (fail closed),
// mutations travel as base64 JSONPatch, warnings are bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createAdmissionHandler, parseAdmissionEnvelope, parseAdmissionRequest, MAX_WARNINGS, MAX_WARNING_LENGTH,
  type Validator, type Mutator,
} from '../../../src/webhook/admission.js';
import type { AdmissionReviewRequest } from '../../../src/admission/types.js';
import { createWebhookMetrics } from '../../../src/webhook/metrics.js';
import { silentLogger } from '../../../src/log.js';
import { ReviewError } from '../../../src/errors.js';
import { admissionReview } from './helpers.js';

interface Answer {
  apiVersion: string;
  kind: string;
  response: { uid: string; allowed: boolean; status?: { code: number; message: string }; warnings?: string[]; patchType?: string; patch?: string };
}

function handlers(opts: { validate?: Validator; mutate?: Mutator; breakGlass?: (u: { user: string }) => boolean } = {}) {
  const metrics = createWebhookMetrics();
  const h = createAdmissionHandler({
    validate: opts.validate ?? (() => ({ allowed: true })),
    mutate: opts.mutate ?? (() => ({})),
    logger: silentLogger(),
    metrics,
    ...(opts.breakGlass ? { breakGlass: opts.breakGlass } : {}),
  });
  return { ...h, metrics };
}

test('the validator sees a typed request, without userInfo.extra (the requester)', async () => {
  let seen: AdmissionReviewRequest | undefined;
  const { validate } = handlers({ validate: (r) => { seen = r; return { allowed: true }; } });
  const reply = await validate(admissionReview({ operation: 'UPDATE', oldObject: { metadata: { name: 'researcher' } } }));
  assert.equal(reply.status, 200);
  assert.ok(seen);
  assert.equal(seen.operation, 'UPDATE');
  assert.equal(seen.kind.kind, 'Role');
  assert.equal(seen.resource.resource, 'roles');
  assert.equal(seen.requester.user, 'alice');
  assert.deepEqual(seen.requester.groups, ['system:authenticated']);
  assert.equal('extra' in seen.requester, false);
  assert.deepEqual(seen.oldObject, { metadata: { name: 'researcher' } });
  assert.equal(seen.dryRun, false);
});

test('allowed and denied answers echo uid and apiVersion (v1 and v1beta1)', async () => {
  const { validate } = handlers({ validate: (r) => (r.requester.user === 'alice' ? { allowed: true, warnings: ['role viewer does not exist yet'] } : { allowed: false, message: 'bob lacks jobs:* cluster-wide' }) });
  for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']) {
    const ok = JSON.parse((await validate(admissionReview({ apiVersion, uid: 'u-1' }))).body) as Answer;
    assert.equal(ok.apiVersion, apiVersion);
    assert.equal(ok.kind, 'AdmissionReview');
    assert.deepEqual(ok.response, { uid: 'u-1', allowed: true, warnings: ['role viewer does not exist yet'] });
    const no = JSON.parse((await validate(admissionReview({ apiVersion, uid: 'u-2', username: 'bob' }))).body) as Answer;
    assert.equal(no.response.uid, 'u-2');
    assert.equal(no.response.allowed, false);
    assert.equal(no.response.status?.code, 403);
    assert.equal(no.response.status?.message, 'bob lacks jobs:* cluster-wide');
  }
});

test('a validator that throws denies with a message (fail closed), uid echoed', async () => {
  const { validate, metrics } = handlers({ validate: () => { throw new TypeError('cannot read properties of undefined'); } });
  const answer = JSON.parse((await validate(admissionReview({ uid: 'u-3' }))).body) as Answer;
  assert.equal(answer.response.uid, 'u-3');
  assert.equal(answer.response.allowed, false);
  assert.equal(answer.response.status?.code, 500);
  assert.match(answer.response.status?.message ?? '', /internal error/);
  assert.match(await metrics.render(), /gatehouse_admission_reviews_total\{webhook="validate",operation="CREATE",result="error"\} 1/);
});

test('a validator returning garbage denies too', async () => {
  const { validate } = handlers({ validate: () => ({ allowed: 'yes' }) as unknown as { allowed: boolean } });
  const answer = JSON.parse((await validate(admissionReview())).body) as Answer;
  assert.equal(answer.response.allowed, false);
});

test('break-glass callers pass validation even when the validator would throw', async () => {
  const { validate } = handlers({ validate: () => { throw new Error('bug'); }, breakGlass: (u) => u.user === 'admin' });
  const answer = JSON.parse((await validate(admissionReview({ username: 'admin' }))).body) as Answer;
  assert.equal(answer.response.allowed, true);
  const other = JSON.parse((await validate(admissionReview({ username: 'alice' }))).body) as Answer;
  assert.equal(other.response.allowed, false);
});

test('mutate answers a base64 JSONPatch with patchType', async () => {
  const patch = [{ op: 'add' as const, path: '/metadata/labels/iam.gatehouse.dev~1owner', value: 'alice' }];
  const { mutate } = handlers({ mutate: () => ({ patch }) });
  const answer = JSON.parse((await mutate(admissionReview({ uid: 'u-4', kind: 'Namespace' }))).body) as Answer;
  assert.equal(answer.response.uid, 'u-4');
  assert.equal(answer.response.allowed, true);
  assert.equal(answer.response.patchType, 'JSONPatch');
  assert.deepEqual(JSON.parse(Buffer.from(answer.response.patch ?? '', 'base64').toString('utf8')), patch);
});

test('mutate with nothing to change answers allowed without a patch', async () => {
  const { mutate } = handlers({ mutate: () => ({ patch: [] }) });
  const answer = JSON.parse((await mutate(admissionReview())).body) as Answer;
  assert.deepEqual(answer.response, { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
});

test('a malformed patch or a throwing mutator denies', async () => {
  for (const mutate of [() => ({ patch: [{ op: 'frobnicate', path: '/x' }] }) as unknown as ReturnType<Mutator>, () => { throw new Error('x'); }] as Mutator[]) {
    const answer = JSON.parse((await handlers({ mutate }).mutate(admissionReview())).body) as Answer;
    assert.equal(answer.response.allowed, false);
    assert.equal(answer.response.status?.code, 500);
  }
});

test('warnings are strings only, bounded in number and length, control characters replaced', async () => {
  const many = [...Array.from({ length: 100 }, (_, i) => `w${i}`), 'x'.repeat(10_000)];
  const { validate } = handlers({ validate: () => ({ allowed: true, warnings: ['line\nbreak', 7 as unknown as string, ...many] }) });
  const answer = JSON.parse((await validate(admissionReview())).body) as Answer;
  const warnings = answer.response.warnings ?? [];
  assert.equal(warnings.length, MAX_WARNINGS);
  assert.equal(warnings[0], 'line break');
  assert.ok(warnings.every((w) => typeof w === 'string' && w.length <= MAX_WARNING_LENGTH));
});

test('no uid, wrong apiVersion or kind: 400 with a message', async () => {
  const { validate, mutate } = handlers();
  const bodies: unknown[] = [
    admissionReview({ uid: null }),
    admissionReview({ uid: '' }),
    { ...admissionReview(), apiVersion: 'admission.k8s.io/v2' },
    { ...admissionReview(), kind: 'SubjectAccessReview' },
    { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
    [],
    null,
  ];
  for (const body of bodies) {
    for (const h of [validate, mutate]) {
      const reply = await h(body);
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.ok((JSON.parse(reply.body) as { message: string }).message.length > 0);
    }
  }
});

test('a uid with an otherwise malformed request gets a denied review that echoes it', async () => {
  let called = false;
  const { validate } = handlers({ validate: () => { called = true; return { allowed: true }; } });
  const body = admissionReview({ uid: 'u-5', operation: 'EXPLODE' });
  const answer = JSON.parse((await validate(body)).body) as Answer;
  assert.equal(answer.response.uid, 'u-5');
  assert.equal(answer.response.allowed, false);
  assert.equal(answer.response.status?.code, 400);
  assert.equal(called, false);
});

test('parser: envelope and request checks throw ReviewError', () => {
  assert.throws(() => parseAdmissionEnvelope({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 5 } }), ReviewError);
  const { apiVersion, uid, request } = parseAdmissionEnvelope(admissionReview());
  assert.equal(parseAdmissionRequest(apiVersion, uid, request).name, 'researcher');
  assert.throws(() => parseAdmissionRequest(apiVersion, uid, { ...request, userInfo: { username: 'a', groups: 'x' } }), ReviewError);
  assert.throws(() => parseAdmissionRequest(apiVersion, uid, { ...request, object: 'string' }), ReviewError);
  assert.throws(() => parseAdmissionRequest(apiVersion, uid, { ...request, dryRun: 'yes' }), ReviewError);
});
