// Access review (issue 24), the pure parts and the adapters with an in-memory API stand-in: the
// usage recorder, the replicas' publications, the leader's flush (one write per object per
// interval, peers merged, non-leaders silent), the history of changes, the report's filters, and
// the access-review dashboard naming only series the operator exports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PermissionIndex } from '../../../src/authz/index.js';
import { decide } from '../../../src/authz/decide.js';
import { parseConfig } from '../../../src/config.js';
import type { RoleBinding, Team, User } from '../../../src/api/types.js';
import type { Decision } from '../../../src/authz/types.js';
import { UsageRecorder, mergeSnapshots } from '../../../src/review/usage.js';
import { createUsageSync, decodeUsage, encodeUsage, usageLeaseName, USAGE_ANNOTATION, parseDuration } from '../../../src/review/usage-sync.js';
import { accessChange, createHistoryRecorder, describeChange, changeEvent } from '../../../src/review/history.js';
import { registerReviewMetrics, ageBucket } from '../../../src/review/metrics.js';
import { createWebhookMetrics } from '../../../src/webhook/metrics.js';
import { KubeApiError, type KubeClient, type KubeRequest } from '../../../src/controller/kube.js';
import { silentLogger } from '../../../src/log.js';
import { grantRows, filterRows, revocable, usageNotSeen, historyEntries, filterHistory, toCsv, parseReviewDuration } from '../../../src/client/review.js';
import type { AdmissionReviewRequest } from '../../../src/admission/types.js';
import { chartDir } from '../../support/helm.js';

const G = 'iam.gatehouse.dev';
const T0 = Date.parse('2026-06-01T00:00:00Z');
const allow = (binding?: string): Decision => ({ verdict: 'allow', code: binding ? 'binding' : 'superuser', reason: 'x', ...(binding ? { grant: { role: 'r', source: 'binding', binding, scope: { kind: 'cluster' } } } : {}) });

test('the recorder counts allows only: the binding and the user, the later time, beyond its first slots', () => {
  const r = new UsageRecorder();
  r.record(allow('b1'), 'alice', T0);
  r.record(allow('b1'), 'alice', T0 - 5000); // answered concurrently with an older clock read
  r.record({ verdict: 'noOpinion', code: 'noMatch', reason: 'x' }, 'bob', T0);
  r.record({ verdict: 'deny', code: 'inactive', reason: 'x' }, 'carol', T0);
  r.record({ verdict: 'allow', code: 'registration', reason: 'x' }, 'dora', T0);
  r.record(allow(), 'sue', T0 + 1);
  assert.equal(r.bindingLastUsed('b1'), T0);
  assert.equal(r.userLastUsed('alice'), T0);
  assert.equal(r.userLastUsed('sue'), T0 + 1);
  for (const u of ['bob', 'carol', 'dora']) assert.equal(r.userLastUsed(u), undefined, u);
  for (let i = 0; i < 300; i++) r.record(allow(`b${i}`), `u${i}`, T0 + i);
  assert.equal(r.bindingLastUsed('b299'), T0 + 299);
  assert.equal(r.bindingLastUsed('b1'), T0 + 1);
  assert.equal(r.sizes.bindings, 300);
  assert.equal(r.recorded, 303);
});

test('record() allocates nothing per request once a name has its slot', () => {
  const r = new UsageRecorder();
  const d = allow('b1');
  // Warm-up (the JIT), with small-integer times so the loop itself makes no heap numbers.
  for (let i = 1; i <= 200_000; i++) r.record(d, 'alice', i);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 200_001; i <= 400_000; i++) r.record(d, 'alice', i);
  const grown = process.memoryUsage().heapUsed - before;
  // 200,000 records that allocated even 16 bytes each would grow the heap by 3.2 MB.
  assert.ok(grown < 2_000_000, `heap grew by ${grown} bytes`);
  assert.equal(r.bindingLastUsed('b1'), 400_000);
});

test('publications: seconds per name, round trip, capped to the newest, malformed reads as nothing', () => {
  const snap = { bindings: { a: T0 + 1500, b: T0 }, users: { alice: T0 + 999 } };
  const { text, dropped } = encodeUsage(snap);
  assert.equal(dropped, 0);
  assert.deepEqual(decodeUsage(text), { bindings: { a: T0 + 1000, b: T0 }, users: { alice: T0 } });
  const many = { bindings: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`binding-${i}`, T0 + i * 1000])), users: {} };
  const capped = encodeUsage(many, 10_000);
  assert.ok(capped.text.length <= 10_000 && capped.dropped > 0);
  const kept = decodeUsage(capped.text);
  assert.ok('binding-1999' in kept.bindings, 'the newest use is kept');
  assert.ok(!('binding-0' in kept.bindings), 'the oldest is dropped');
  for (const bad of ['', 'not json', '[]', '{"b":[1],"u":{"x":"y","z":-1}}']) assert.deepEqual(decodeUsage(bad), { bindings: {}, users: {} });
  assert.deepEqual(mergeSnapshots([{ bindings: { a: 1 }, users: {} }, { bindings: { a: 3, b: 2 }, users: { u: 1 } }]), { bindings: { a: 3, b: 2 }, users: { u: 1 } });
  assert.equal(usageLeaseName('Gatehouse-7d9f_x'), 'gatehouse-usage-gatehouse-7d9f-x');
  assert.equal(parseDuration('10m'), 600_000);
  assert.equal(parseDuration('10 minutes'), undefined);
});

/** The API server as the sync sees it: Leases in a map, status PATCHes recorded. */
function fakeKube(): KubeClient & { leases: Map<string, any>; patches: Array<{ path: string; body: any }> } {
  const leases = new Map<string, any>();
  const patches: Array<{ path: string; body: any }> = [];
  return {
    leases,
    patches,
    async request<T>(req: KubeRequest): Promise<T> {
      if (req.method === 'PATCH') {
        patches.push({ path: req.path, body: req.body });
        return {} as T;
      }
      const name = req.path.split('/').pop()!;
      if (req.method === 'GET' && name === 'leases') return { items: [...leases.values()] } as T;
      if (req.method === 'GET') {
        if (!leases.has(name)) throw new KubeApiError('not found', 404);
        return leases.get(name) as T;
      }
      if (req.method === 'DELETE') {
        leases.delete(name);
        return {} as T;
      }
      const body = req.body as any;
      leases.set(body.metadata.name, body);
      return body as T;
    },
    async watch() {
      throw new Error('no watch');
    },
  };
}

function indexWith(bindings: RoleBinding[], users: User[]): PermissionIndex {
  return PermissionIndex.build({ users, bindings, roles: [{ metadata: { name: 'r' }, spec: { permissions: ['pods:read'] } }] }, parseConfig({}), () => T0);
}
const binding = (name: string, subject: string, status?: RoleBinding['status']): RoleBinding => ({ metadata: { name }, spec: { role: 'r', subjects: [{ kind: 'User', name: subject }], scope: { cluster: true } }, ...(status ? { status } : {}) });
const user = (name: string, extra: Partial<User['spec']> = {}, status?: User['status']): User => ({ metadata: { name }, spec: { state: 'Active', ...extra }, ...(status ? { status } : {}) });

test('the leader merges every replica\'s publication and writes each object at most once per interval; a non-leader only publishes', async () => {
  const kube = fakeKube();
  const index = indexWith([binding('alice-pods', 'alice'), binding('carol-pods', 'carol'), binding('old', 'bob', { lastUsedAt: '2026-06-01T00:00:00Z' })], [user('alice'), user('carol'), user('bob')]);
  let clock = T0;
  const leaderRec = new UsageRecorder();
  const peerRec = new UsageRecorder();
  const leader = createUsageSync({ kube, namespace: 'gh', identity: 'a', recorder: leaderRec, index, isLeader: () => true, flushIntervalMs: 60_000, logger: silentLogger(), now: () => clock });
  const peer = createUsageSync({ kube, namespace: 'gh', identity: 'b', recorder: peerRec, index, isLeader: () => false, flushIntervalMs: 60_000, logger: silentLogger(), now: () => clock });
  // alice through the leader; carol only through the peer; bob's binding used no later than its status says.
  leaderRec.record(decide(index, { user: 'alice', groups: [], resource: { verb: 'get', group: '', resource: 'pods', namespace: 'x' } }), 'alice', T0 + 2000);
  peerRec.record(decide(index, { user: 'carol', groups: [], resource: { verb: 'list', group: '', resource: 'pods', namespace: 'x' } }), 'carol', T0 + 3000);
  peerRec.record(allow('old'), 'bob', T0 + 500);
  assert.equal(await peer.flush(), 0, 'a non-leader writes nothing');
  await peer.publish();
  assert.ok(kube.leases.get('gatehouse-usage-b').metadata.annotations[USAGE_ANNOTATION].includes('carol-pods'));
  assert.equal(kube.patches.length, 0);
  await leader.flush();
  const written = kube.patches.map((p) => `${p.path.split('/').slice(-3, -1).join('/')}=${p.body.status.lastUsedAt}`).sort();
  assert.deepEqual(written, [
    'rolebindings/alice-pods=2026-06-01T00:00:02Z',
    'rolebindings/carol-pods=2026-06-01T00:00:03Z',
    'users/alice=2026-06-01T00:00:02Z',
    // bob's User has no lastUsedAt yet; his binding's status already says as much as the peer saw.
    'users/bob=2026-06-01T00:00:00Z',
    'users/carol=2026-06-01T00:00:03Z',
  ]);
  // Used again within the interval: no second write until the interval has passed.
  clock = T0 + 30_000;
  leaderRec.record(allow('alice-pods'), 'alice', clock);
  assert.equal(await leader.flush(), 0);
  clock = T0 + 61_000;
  assert.equal(await leader.flush(), 2, 'alice-pods and alice, once each');
  assert.equal(leader.stats().statusWrites, 7);
});

const review = (kind: string, operation: 'CREATE' | 'UPDATE' | 'DELETE', oldObject: any, object: any, user = 'sue', dryRun = false): AdmissionReviewRequest => ({
  apiVersion: 'admission.k8s.io/v1', uid: 'u', kind: { group: G, version: 'v1alpha1', kind }, resource: { group: G, version: 'v1alpha1', resource: `${kind.toLowerCase()}s` },
  operation, requester: { user, groups: [] }, dryRun, name: (object ?? oldObject).metadata.name,
  ...(object ? { object } : {}), ...(oldObject ? { oldObject } : {}),
});

test('history: state, superuser, permissions, members and bindings are changes, with the actor; other edits and dry runs are not', () => {
  const u0 = { metadata: { name: 'erin' }, spec: { state: 'Active', email: 'a@x' } };
  const suspended = accessChange(review('User', 'UPDATE', u0, { ...u0, spec: { ...u0.spec, state: 'Suspended' } }, 'tom'))!;
  assert.equal(suspended.actor, 'tom');
  assert.equal(suspended.change, 'changed');
  assert.deepEqual([suspended.before?.['state'], suspended.after?.['state']], ['Active', 'Suspended']);
  assert.match(describeChange(suspended), /^tom changed User erin: state Active -> Suspended$/);
  assert.equal(accessChange(review('User', 'UPDATE', u0, { ...u0, spec: { ...u0.spec, email: 'b@x' } })), null, 'an email change is not an access change');
  assert.equal(accessChange(review('User', 'UPDATE', u0, { ...u0, spec: { ...u0.spec, superuser: true } }, 'tom', true)), null, 'a dry run changes nothing');
  const t0 = { metadata: { name: 'ml' }, spec: { members: ['alice'] } };
  const members = accessChange(review('Team', 'UPDATE', t0, { ...t0, spec: { members: ['alice', 'erin'] } }))!;
  assert.deepEqual(members.users, ['alice', 'erin']);
  assert.deepEqual(members.teams, ['ml']);
  const b = { metadata: { name: 'x' }, spec: { role: 'job-runner', subjects: [{ kind: 'User', name: 'bob' }], scope: { teams: ['ml'] } } };
  const deleted = accessChange(review('RoleBinding', 'DELETE', b, undefined, 'dan'))!;
  assert.equal(deleted.change, 'deleted');
  assert.deepEqual([deleted.users, deleted.teams, deleted.roles], [['bob'], ['ml'], ['job-runner']]);
  const ev = changeEvent(deleted, 'gatehouse-system', 'op', T0) as any;
  assert.equal(ev.metadata.annotations[`${G}/actor`], 'dan');
  assert.equal(ev.involvedObject.kind, 'RoleBinding');
  const entries = historyEntries([ev]);
  assert.deepEqual(entries.map((e) => [e.actor, e.change, e.kind, e.name]), [['dan', 'deleted', 'RoleBinding', 'x']]);
  assert.equal(filterHistory(entries, { team: 'ml' }, T0).length, 1);
  assert.equal(filterHistory(entries, { role: 'other' }, T0).length, 0);
  assert.equal(filterHistory(entries, { sinceMs: 1000 }, T0 + 5000).length, 0);
});

test('history: a failing Events API neither throws nor blocks; a full queue drops Events and counts them', async () => {
  let calls = 0;
  const kube: KubeClient = {
    async request() {
      calls++;
      throw new KubeApiError('boom', 500);
    },
    async watch() {},
  };
  const h = createHistoryRecorder({ kube, namespace: 'n', identity: 'i', logger: silentLogger(), now: () => T0, maxQueue: 2 });
  const r0 = { metadata: { name: 'r' }, spec: { permissions: ['a'] } };
  for (let i = 0; i < 5; i++) h.observe(review('Role', 'UPDATE', r0, { ...r0, spec: { permissions: [`p${i}`] } }));
  await h.drain();
  const s = h.stats();
  assert.equal(s.recorded, 5);
  assert.equal(s.sent, 0);
  assert.equal(s.failed + s.dropped, 5);
  assert.ok(s.dropped >= 2);
  assert.equal(calls, s.failed);
});

test('review: the filters, never-used and unused, superusers, expiring, user through a team; revoke keeps young grants; CSV', () => {
  const day = 86_400_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const mk = (name: string, subject: string, created: number, used?: number, expiresAt?: string): RoleBinding => ({
    metadata: { name, creationTimestamp: iso(created) },
    spec: { role: 'r', subjects: [{ kind: subject.split(':')[0] as 'User', name: subject.split(':')[1]! }], scope: { cluster: true }, ...(expiresAt ? { expiresAt } : {}) },
    ...(used ? { status: { lastUsedAt: iso(used) } } : {}),
  });
  const bindings = [
    mk('fresh-unused', 'User:alice', T0 - day),
    mk('old-unused', 'User:alice', T0 - 200 * day),
    mk('old-used-long-ago', 'Team:ml', T0 - 200 * day, T0 - 100 * day),
    mk('used', 'User:bob', T0 - 200 * day, T0 - day, iso(T0 + 3 * day)),
  ];
  const users: User[] = [{ metadata: { name: 'sue' }, spec: { state: 'Active', superuser: true } }, { metadata: { name: 'carol' }, spec: { state: 'Active', username: 'carol@x' } }];
  const teams: Team[] = [{ metadata: { name: 'ml' }, spec: { members: ['carol'] } }];
  const rows = grantRows({ bindings, users });
  const names = (f: Parameters<typeof filterRows>[1]) => filterRows(rows, f, T0, { users, teams }).map((r) => r.name);
  assert.deepEqual(names({ unusedMs: 90 * day }), ['fresh-unused', 'old-unused', 'old-used-long-ago', 'sue']);
  assert.deepEqual(names({ neverUsed: true }), ['fresh-unused', 'old-unused', 'sue']);
  assert.deepEqual(names({ superusers: true }), ['sue']);
  assert.deepEqual(names({ expiringMs: 7 * day }), ['used']);
  assert.deepEqual(names({ user: 'carol@x' }), ['old-used-long-ago']);
  assert.deepEqual(names({ team: 'ml' }), ['old-used-long-ago']);
  const { revoke, tooYoung } = revocable(rows, 90 * day, T0);
  assert.deepEqual(revoke.map((r) => r.name), ['old-unused', 'old-used-long-ago']);
  assert.deepEqual(tooYoung.map((r) => r.name), ['fresh-unused']);
  assert.equal(toCsv(['a', 'b'], [['x,y', 'say "hi"']]), 'a,b\n"x,y","say ""hi"""\n');
  assert.equal(parseReviewDuration('90d', '--unused'), 90 * day);
  assert.throws(() => parseReviewDuration('90 days', '--unused'), /use a number and s, m, h, d or w/);
  assert.equal(ageBucket(2 * day), '7d');
  assert.equal(ageBucket(365 * day), 'over90d');
});

test('the access-review dashboard is valid JSON in the chart\'s dashboards and names only series the operator exports', async () => {
  const file = path.join(chartDir(), 'dashboards', 'access-review.json');
  const dashboard = JSON.parse(readFileSync(file, 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
  const m = createWebhookMetrics({ processMetrics: true });
  registerReviewMetrics(m.registry, { index: indexWith([], []), recorder: new UsageRecorder(), now: () => T0, usageSeen: true });
  const exported = new Set([...(await m.render()).matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1]!));
  const used = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\b(gatehouse_[a-z0-9_]+)/g)].map((x) => x[1]!)));
  assert.ok(used.length >= 8);
  for (const n of used) assert.ok(exported.has(n), `the dashboard uses ${n}, which the operator does not export`);
  for (const n of ['gatehouse_grants_by_age', 'gatehouse_grants_by_last_use']) assert.ok(used.includes(n), n);
  const template = readFileSync(path.join(chartDir(), 'templates', 'dashboard.yaml'), 'utf8');
  assert.match(template, /dashboards\/access-review\.json/);
});

test('authorization mode rbac: status says requests are not seen; the by-last-use series says unknown', async () => {
  const { computeStatus } = await import('../../../src/controller/status.js');
  const index = indexWith([binding('b', 'alice')], [user('alice')]);
  const st = computeStatus('RoleBinding', binding('b', 'alice'), { index, mode: 'rbac' }, T0).status as { conditions: Array<{ type: string; message: string }> };
  assert.match(st.conditions.find((c) => c.type === 'Ready')!.message, /Gatehouse does not see requests, so lastUsedAt is not recorded/);
  // A status the usage sync wrote survives the controller's recomputation.
  const kept = computeStatus('RoleBinding', binding('b', 'alice', { lastUsedAt: '2026-06-01T00:00:00Z' }), { index }, T0).status as { lastUsedAt?: string };
  assert.equal(kept.lastUsedAt, '2026-06-01T00:00:00Z');
  assert.equal(usageNotSeen([binding('b', 'alice', st as RoleBinding['status'])]), true, 'the review reads the mode from status');
  assert.equal(usageNotSeen([binding('b', 'alice', computeStatus('RoleBinding', binding('b', 'alice'), { index }, T0).status as RoleBinding['status'])]), false);
  const m = createWebhookMetrics({});
  registerReviewMetrics(m.registry, { index, recorder: new UsageRecorder(), now: () => T0, usageSeen: false });
  assert.match(await m.render(), /gatehouse_grants_by_last_use\{within="unknown"\} 1/);
});
