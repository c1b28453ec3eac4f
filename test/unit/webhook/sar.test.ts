// SubjectAccessReview in and out, without a socket: the parser's strictness and the three-valued
// answer (docs/design.md, "Three answers"), including internal failure as no opinion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { parseSubjectAccessReview, createAuthorizeHandler, NOT_SYNCED_REASON, MAX_STRING_LENGTH } from '../../../src/webhook/sar.js';
import { createWebhookMetrics } from '../../../src/webhook/metrics.js';
import { createLogger, silentLogger } from '../../../src/log.js';
import { ReviewError } from '../../../src/errors.js';
import type { AccessRequest } from '../../../src/authz/types.js';
import { sar, fakeAuthorize } from './helpers.js';

function statusOf(body: string): Record<string, unknown> {
  const parsed = JSON.parse(body) as { status: Record<string, unknown> };
  return parsed.status;
}

test('v1 review parses into an AccessRequest with the core group as empty string', () => {
  const { apiVersion, request } = parseSubjectAccessReview(sar({ namespace: 'vision-dev', name: 'p1' }));
  assert.equal(apiVersion, 'authorization.k8s.io/v1');
  assert.deepEqual(request, {
    user: 'alice', uid: 'uid-alice', groups: ['system:authenticated', 'oidc:vision'],
    resource: { verb: 'get', group: '', version: 'v1', resource: 'pods', namespace: 'vision-dev', name: 'p1' },
  });
});

test('v1beta1 review reads its groups from spec.group, and ignores a v1-style groups field', () => {
  const body = sar({ apiVersion: 'authorization.k8s.io/v1beta1', groups: ['team-x'] });
  (body['spec'] as Record<string, unknown>)['groups'] = ['system:masters'];
  const { apiVersion, request } = parseSubjectAccessReview(body);
  assert.equal(apiVersion, 'authorization.k8s.io/v1beta1');
  assert.deepEqual(request.groups, ['team-x']);
});

test('non-resource review parses path and verb', () => {
  const { request } = parseSubjectAccessReview(sar({ nonResource: { path: '/healthz', verb: 'get' } }));
  assert.deepEqual(request.nonResource, { path: '/healthz', verb: 'get' });
  assert.equal(request.resource, undefined);
});

test('unknown fields (a newer API server) are ignored, not refused', () => {
  const body = sar();
  const spec = body['spec'] as Record<string, Record<string, unknown>>;
  spec['resourceAttributes']!['fieldSelector'] = { rawSelector: 'spec.nodeName=n1' };
  (body as Record<string, unknown>)['futureField'] = 1;
  assert.equal(parseSubjectAccessReview(body).request.resource?.resource, 'pods');
});

const invalid: Array<[string, unknown]> = [
  ['null', null],
  ['an array', [sar()]],
  ['a string', 'SubjectAccessReview'],
  ['wrong apiVersion', { ...sar(), apiVersion: 'authorization.k8s.io/v2' }],
  ['admission apiVersion', { ...sar(), apiVersion: 'admission.k8s.io/v1' }],
  ['wrong kind', { ...sar(), kind: 'SelfSubjectAccessReview' }],
  ['missing spec', { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview' }],
  ['neither attribute block', (() => { const b = sar(); delete (b['spec'] as Record<string, unknown>)['resourceAttributes']; return b; })()],
  ['both attribute blocks', (() => { const b = sar(); (b['spec'] as Record<string, unknown>)['nonResourceAttributes'] = { path: '/x', verb: 'get' }; return b; })()],
  ['no user and no groups', (() => { const b = sar({ groups: [] }); delete (b['spec'] as Record<string, unknown>)['user']; return b; })()],
  ['user not a string', (() => { const b = sar(); (b['spec'] as Record<string, unknown>)['user'] = 42; return b; })()],
  ['groups not an array', (() => { const b = sar(); (b['spec'] as Record<string, unknown>)['groups'] = 'oidc:vision'; return b; })()],
  ['a group not a string', (() => { const b = sar(); (b['spec'] as Record<string, unknown>)['groups'] = ['ok', 7]; return b; })()],
  ['too many groups', (() => { const b = sar(); (b['spec'] as Record<string, unknown>)['groups'] = Array.from({ length: 5000 }, (_, i) => `g${i}`); return b; })()],
  ['user too long', sar({ user: 'a'.repeat(MAX_STRING_LENGTH + 1) })],
  ['resourceAttributes not an object', (() => { const b = sar(); (b['spec'] as Record<string, unknown>)['resourceAttributes'] = ['get']; return b; })()],
  ['missing verb', (() => { const b = sar(); delete ((b['spec'] as Record<string, Record<string, unknown>>)['resourceAttributes']!)['verb']; return b; })()],
  ['non-resource without path', sar({ nonResource: { verb: 'get' } as { path: string; verb: string } })],
];

for (const [name, body] of invalid) {
  test(`parser refuses ${name} with a ReviewError (400)`, () => {
    assert.throws(() => parseSubjectAccessReview(body), (err: unknown) => err instanceof ReviewError && err.status === 400 && err.message.length > 0);
  });
}

function handler(opts: { authorize?: (r: AccessRequest) => ReturnType<typeof fakeAuthorize>; ready?: boolean; onUnknownUser?: (r: AccessRequest) => void; log?: NodeJS.WritableStream } = {}) {
  const metrics = createWebhookMetrics();
  const h = createAuthorizeHandler({
    authorize: opts.authorize ?? fakeAuthorize,
    isReady: () => opts.ready ?? true,
    logger: opts.log ? createLogger('debug', opts.log) : silentLogger(),
    metrics,
    ...(opts.onUnknownUser ? { onUnknownUser: opts.onUnknownUser } : {}),
  });
  return { h, metrics };
}

test('allow answers allowed:true with the reason, in the apiVersion asked', () => {
  const { h } = handler();
  for (const apiVersion of ['authorization.k8s.io/v1', 'authorization.k8s.io/v1beta1']) {
    const reply = h(sar({ apiVersion }));
    assert.equal(reply.status, 200);
    const body = JSON.parse(reply.body) as Record<string, unknown>;
    assert.equal(body['apiVersion'], apiVersion);
    assert.equal(body['kind'], 'SubjectAccessReview');
    assert.deepEqual(body['status'], { allowed: true, reason: 'role viewer via binding alice-viewer' });
  }
});

test('an explicit deny sets denied:true; no opinion sets neither', () => {
  const { h } = handler();
  assert.deepEqual(statusOf(h(sar({ user: 'mallory' })).body), { allowed: false, denied: true, reason: 'user mallory is Suspended' });
  assert.deepEqual(statusOf(h(sar({ user: 'bob' })).body), { allowed: false, reason: 'no rule matches' });
});

test('an exception in authorize becomes no opinion with evaluationError, never an allow or a deny', () => {
  const { h, metrics } = handler({ authorize: () => { throw new Error('index exploded'); } });
  const reply = h(sar());
  assert.equal(reply.status, 200);
  const status = statusOf(reply.body);
  assert.equal(status['allowed'], false);
  assert.equal(status['denied'], undefined);
  assert.equal(typeof status['evaluationError'], 'string');
  return metrics.render().then((text) => assert.match(text, /gatehouse_authorization_decisions_total\{verdict="error",code="evaluationError"\} 1/));
});

test('a malformed decision from authorize is treated like an exception', () => {
  const { h } = handler({ authorize: () => ({ verdict: 'yes' }) as unknown as ReturnType<typeof fakeAuthorize> });
  const status = statusOf(h(sar()).body);
  assert.equal(status['allowed'], false);
  assert.equal(typeof status['evaluationError'], 'string');
});

test('before the index synced: no opinion with the documented reason, authorize not called', () => {
  let called = 0;
  const { h } = handler({ ready: false, authorize: (r) => { called++; return fakeAuthorize(r); } });
  assert.deepEqual(statusOf(h(sar()).body), { allowed: false, reason: NOT_SYNCED_REASON });
  assert.equal(called, 0);
});

test('invalid body is a 400 with a message, never a review that allows', () => {
  const { h } = handler();
  const reply = h({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'alice' } });
  assert.equal(reply.status, 400);
  const body = JSON.parse(reply.body) as Record<string, unknown>;
  assert.equal(body['kind'], 'Status');
  assert.match(String(body['message']), /exactly one of/);
});

test('unknown users reach the registration hook; the answer stays no opinion', () => {
  const seen: string[] = [];
  const { h } = handler({ onUnknownUser: (r) => seen.push(r.user) });
  assert.deepEqual(statusOf(h(sar({ user: 'newcomer' })).body), { allowed: false, reason: 'no User for newcomer' });
  h(sar({ user: 'bob' }));
  assert.deepEqual(seen, ['newcomer']);
});

test('a throwing registration hook does not change the answer', () => {
  const { h } = handler({ onUnknownUser: () => { throw new Error('boom'); } });
  assert.equal(h(sar({ user: 'newcomer' })).status, 200);
});

test('deny is logged with user, verb, resource, namespace, decision and reason; extra never', () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb(); } });
  const { h } = handler({ log: sink });
  h(sar({ user: 'mallory', extra: { 'authentication.kubernetes.io/credential-id': ['JTI=secret-token-id'] } }));
  h(sar({ user: 'alice', extra: { token: ['secret-token-id'] } }));
  const all = lines.join('');
  assert.doesNotMatch(all, /secret-token-id/);
  const deny = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'authorization denied');
  assert.ok(deny, 'a deny line is written');
  assert.equal(deny['user'], 'mallory');
  assert.equal(deny['verb'], 'get');
  assert.equal(deny['resource'], 'pods');
  assert.equal(deny['namespace'], 'vision-dev');
  assert.equal(deny['decision'], 'deny');
  assert.equal(deny['reason'], 'user mallory is Suspended');
  const allow = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'authorization allowed');
  assert.ok(allow, 'an allow line is written at debug');
  assert.equal(allow['level'], 20);
});

// Issue 32, finding 10: a review someone created about another user (admission marks the creator
// in extra) is answered with the verdict only; a review about oneself keeps its reason.
test('a review about another user says the verdict only; about oneself, the reason', () => {
  const seen: string[] = [];
  const { h } = handler({ onUnknownUser: (r) => seen.push(r.user) });
  const by = (asker: string) => ({ 'iam.gatehouse.dev/asked-by': [asker] });
  const allow = statusOf(h(sar({ extra: by('olga') })).body);
  assert.equal(allow['allowed'], true);
  assert.doesNotMatch(String(allow['reason']), /binding|viewer/);
  assert.match(String(allow['reason']), /^Gatehouse: allowed \(/);
  const deny = statusOf(h(sar({ user: 'mallory', extra: by('olga') })).body);
  assert.equal(deny['denied'], true);
  assert.doesNotMatch(String(deny['reason']), /Suspended|mallory/);
  const none = statusOf(h(sar({ user: 'newcomer', extra: by('olga') })).body);
  assert.doesNotMatch(String(none['reason']), /newcomer|User/);
  assert.deepEqual(seen, [], 'a review about someone without a User registers no one');
  assert.deepEqual(statusOf(h(sar({ extra: by('alice') })).body), { allowed: true, reason: 'role viewer via binding alice-viewer' });
  // A mark that is not one string counts as someone else.
  assert.doesNotMatch(String(statusOf(h(sar({ user: 'mallory', extra: { 'iam.gatehouse.dev/asked-by': ['mallory', 'x'] } })).body)['reason']), /Suspended/);
});
