// The RBAC compiler against decide(): tables for each kind of grant, and random worlds where the
// objects it writes, read the way the API server's RBAC authorizer reads them, allow exactly what
// decide() allows (outside the documented gaps: `me` and registration need the webhook).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionIndex } from '../../../src/authz/index.js';
import { compileRbac } from '../../../src/rbac/compile.js';
import { keyOf, MANAGED_BY_LABEL, rbacName, type RbacBindingObject, type RbacObject } from '../../../src/rbac/objects.js';
import { indexSource } from '../../../src/rbac/source.js';
import { atomRules, atomToRule, BUILTIN_GROUPS, roleRules } from '../../../src/rbac/rules.js';
import { parsePermission } from '../../../src/authz/permission.js';
import { binding, ns, policy, role, team, user } from '../../support/authz.js';
import { rbacAllows } from '../../support/rbac-eval.js';
import { compareWithDecide, randomRbacWorld, RBAC_WORLD_API_GROUPS, RBAC_WORLD_CONFIG } from '../../support/rbac-world.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

function build(world: Parameters<typeof PermissionIndex.build>[0], raw: Record<string, unknown> = {}): PermissionIndex {
  const index = PermissionIndex.build(world, policy(raw), () => NOW);
  index.markSynced();
  return index;
}
const compile = (index: PermissionIndex, maxSubjects?: number) => compileRbac(indexSource(index), { now: NOW, apiGroups: RBAC_WORLD_API_GROUPS, ...(maxSubjects ? { maxSubjects } : {}) });
const bindingsOf = (objs: ReadonlyMap<string, RbacObject>) => [...objs.values()].filter((o): o is RbacBindingObject => o.kind !== 'ClusterRole');
const userNames = (o: RbacBindingObject) => o.subjects.filter((s) => s.kind === 'User').map((s) => s.name);

describe('atomToRule: the grammar as PolicyRules', () => {
  const cases: Array<[string, unknown]> = [
    ['pods:read', { apiGroups: ['*'], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
    ['core/pods:write', { apiGroups: [''], resources: ['pods'], verbs: ['create', 'delete', 'deletecollection', 'patch', 'update'] }],
    ['apps/deployments/scale:*', { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['*'] }],
    ['usecases:adapt', { apiGroups: ['*'], resources: ['usecases'], verbs: ['adapt'] }],
    // `*` does not reach impersonate, bind, escalate, approve or sign (EXPLICIT_VERBS): spelt out.
    ['*:*', { apiGroups: ['*'], resources: ['*'], verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'use', 'watch'] }],
    ['pods:*', { apiGroups: ['*'], resources: ['pods'], verbs: ['*'] }],
    ['serviceaccounts:*', { apiGroups: ['*'], resources: ['serviceaccounts'], verbs: ['approve', 'bind', 'create', 'delete', 'deletecollection', 'escalate', 'get', 'list', 'patch', 'sign', 'update', 'use', 'watch'] }],
    ['serviceaccounts:impersonate', { apiGroups: ['*'], resources: ['serviceaccounts'], verbs: ['impersonate'] }],
    ['*/scale:update', { apiGroups: ['*'], resources: ['*/scale'], verbs: ['update'] }],
    ['*/*:get', { apiGroups: ['*'], resources: ['*'], verbs: ['get'] }],
    ['/logs/*:get', { nonResourceURLs: ['/logs/*'], verbs: ['get'] }],
    ['/metrics:get', { nonResourceURLs: ['/metrics'], verbs: ['get'] }],
  ];
  for (const [text, want] of cases) it(text, () => assert.deepEqual(atomToRule(parsePermission(text).atom), want));
  it('r/* lists every subresource the server can serve for r (RBAC has no "every subresource of r")', () => {
    const rule = atomToRule(parsePermission('pods/*:get').atom)!;
    assert.ok(rule.resources!.includes('pods/log') && rule.resources!.includes('pods/status'));
    assert.ok(!rule.resources!.includes('pods/exec') && !rule.resources!.includes('pods/portforward'), 'a wildcard never reaches exec (EXPLICIT_ONLY)');
    assert.ok(!rule.resources!.includes('pods'));
    assert.deepEqual(atomToRule(parsePermission('kubeflow.org/notebooks/*:get').atom)!.resources, ['notebooks/scale', 'notebooks/status']);
  });
  it('me is not a rule', () => assert.equal(atomToRule(parsePermission('me').atom), null));
  it('a wildcard over the core group is the core resources less EXPLICIT_ONLY, other groups by name', () => {
    const rules = atomRules(parsePermission('*:read').atom, ['kubeflow.org', ...BUILTIN_GROUPS]);
    const core = rules.find((r) => r.apiGroups?.[0] === '')!;
    assert.ok(core.resources!.includes('configmaps') && core.resources!.includes('pods/log'));
    for (const never of ['secrets', 'pods/exec', 'pods/attach', 'pods/portforward', 'pods/proxy', 'services/proxy', 'nodes/proxy', 'serviceaccounts/token', '*']) {
      assert.ok(!core.resources!.includes(never), never);
    }
    const other = rules.find((r) => r.apiGroups!.includes('apps'))!;
    assert.deepEqual(other.resources, ['*']);
    // Groups with a target `*` must not reach are listed by resource too (EXPLICIT_ONLY).
    assert.deepEqual(rules.find((r) => r.apiGroups?.[0] === 'authorization.k8s.io')!.resources, ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']);
    assert.deepEqual(rules.find((r) => r.apiGroups?.[0] === 'certificates.k8s.io')!.resources, ['certificatesigningrequests', 'certificatesigningrequests/status', 'signers']);
    assert.ok(other.apiGroups!.includes('kubeflow.org') && other.apiGroups!.includes('apps') && !other.apiGroups!.includes('') && !other.apiGroups!.includes('*'));
    assert.deepEqual(atomRules(parsePermission('core/*:get').atom, ['apps']).map((r) => r.apiGroups), [['']]);
    assert.deepEqual(atomRules(parsePermission('*/exec:create').atom, []), [], 'no core resource is left, and no other group is known');
    assert.deepEqual(atomRules(parsePermission('secrets:get').atom, []), [{ apiGroups: ['*'], resources: ['secrets'], verbs: ['get'] }], 'named exactly, it is granted');
    assert.deepEqual(atomRules(parsePermission('*/scale:update').atom, []), [{ apiGroups: ['*'], resources: ['*/scale'], verbs: ['update'] }]);
  });
  it('rules of the same shape merge, in a fixed order', () => {
    const atoms = ['services:get', 'pods:get', 'pods:get', 'core/configmaps:get'].map((t) => parsePermission(t).atom);
    assert.deepEqual(roleRules(atoms), [
      { apiGroups: ['*'], resources: ['pods', 'services'], verbs: ['get'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
    ].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)));
  });
});

describe('compileRbac: what goes where', () => {
  const world = {
    users: [user('alice'), user('bob', { state: 'Pending' }), user('carol', { username: 'carol@corp' }), user('root', { superuser: true }), user('sam', { state: 'Suspended', superuser: true })],
    roles: [role('viewer', ['pods:read']), role('researcher', ['jobs:*'], { includes: ['viewer'] }), role('admin', ['iam.gatehouse.dev/rolebindings:create'])],
    teams: [team('vision', { members: ['alice', 'bob', 'carol'], groups: ['oidc:vision'], namespaces: ['vision-extra'] })],
    bindings: [
      binding('vr', 'researcher', ['team:vision'], { teams: ['vision'] }),
      binding('cl', 'viewer', ['alice', 'group:system:authenticated'], { cluster: true }),
      binding('old', 'viewer', ['alice'], { cluster: true }, '2026-01-01T00:00:00Z'),
      binding('soon', 'viewer', ['carol'], { namespaces: ['vision-dev', 'nowhere'] }, '2026-07-01T00:00:00Z'),
      binding('adm', 'admin', ['alice'], { teams: ['vision'] }),
    ],
    namespaces: [ns('vision-dev', { 'iam.gatehouse.dev/team': 'vision' }), ns('vision-extra'), ns('other')],
  };
  const index = build(world);
  const { objects, nextExpiry, subjectCounts } = compile(index);
  const get = (kind: string, namespace: string, name: string) => objects.get(`${kind}/${namespace}/${name}`);

  it('one ClusterRole per Role, includes flattened', () => {
    const cr = get('ClusterRole', '', 'gatehouse:role:researcher');
    assert.ok(cr && cr.kind === 'ClusterRole');
    assert.deepEqual(cr.rules.map((r) => r.resources), [['jobs'], ['pods']]);
  });
  it('a team-scoped binding becomes a RoleBinding in each of the team\'s namespaces, with Active members and the team\'s groups', () => {
    for (const n of ['vision-dev', 'vision-extra']) {
      const rb = get('RoleBinding', n, 'gatehouse:binding:vr') as RbacBindingObject;
      assert.ok(rb, n);
      assert.deepEqual(rb.subjects.map((s) => `${s.kind}:${s.name}`), ['Group:oidc:vision', 'User:alice', 'User:carol@corp']);
      assert.equal(rb.roleRef.name, 'gatehouse:role:researcher');
    }
    assert.equal(get('RoleBinding', 'other', 'gatehouse:binding:vr'), undefined);
  });
  it('a cluster binding becomes a ClusterRoleBinding; system: groups are never subjects', () => {
    const crb = get('ClusterRoleBinding', '', 'gatehouse:binding:cl') as RbacBindingObject;
    assert.deepEqual(crb.subjects.map((s) => s.name), ['alice']);
  });
  it('expired bindings compile to nothing; the next expiry is reported; missing namespaces get nothing', () => {
    assert.equal(get('ClusterRoleBinding', '', 'gatehouse:binding:old'), undefined);
    assert.ok(get('RoleBinding', 'vision-dev', 'gatehouse:binding:soon'));
    assert.equal(get('RoleBinding', 'nowhere', 'gatehouse:binding:soon'), undefined);
    assert.equal(nextExpiry, Date.parse('2026-07-01T00:00:00Z'));
  });
  it('superusers: Active ones only', () => {
    const crb = get('ClusterRoleBinding', '', 'gatehouse:superusers') as RbacBindingObject;
    assert.deepEqual(userNames(crb), ['root']);
  });
  it('writes on Gatehouse kinds held in a team scope become a cluster-wide delegate rule on those kinds only', () => {
    const cr = get('ClusterRole', '', 'gatehouse:delegate:admin');
    assert.ok(cr && cr.kind === 'ClusterRole');
    assert.deepEqual(cr.rules, [{ apiGroups: ['iam.gatehouse.dev'], resources: ['rolebindings'], verbs: ['create'] }]);
    assert.deepEqual(userNames(get('ClusterRoleBinding', '', 'gatehouse:delegate:adm') as RbacBindingObject), ['alice']);
    // jobs:* has no API group, but iam.gatehouse.dev/jobs is no Gatehouse kind: delegation reaches
    // the four kinds only, by name, never a subresource (decide()'s isDelegatedWrite).
    assert.equal(get('ClusterRole', '', 'gatehouse:delegate:researcher'), undefined);
    assert.equal(get('ClusterRole', '', 'gatehouse:delegate:viewer'), undefined, 'viewer holds no Gatehouse writes');
  });
  it('every object carries the managed-by label and its source', () => {
    for (const o of objects.values()) {
      assert.equal(o.metadata.labels[MANAGED_BY_LABEL], 'gatehouse');
      assert.ok(o.metadata.annotations['iam.gatehouse.dev/source']);
    }
    assert.equal(get('RoleBinding', 'vision-dev', 'gatehouse:binding:vr')!.metadata.annotations['iam.gatehouse.dev/source'], 'RoleBinding/vr');
  });
  it('subject counts name each user once per binding object', () => {
    // alice: vr in two namespaces, cl, adm in two namespaces + its delegate; carol: vr x2, soon
    assert.equal(subjectCounts.get('alice'), 6);
    assert.equal(subjectCounts.get('carol@corp'), 3);
    assert.equal(subjectCounts.get('bob'), undefined);
  });
  it('is deterministic: the same world compiles to the same objects', () => {
    const again = compile(build(world));
    assert.deepEqual([...again.objects.keys()].sort(), [...objects.keys()].sort());
    for (const [k, o] of objects) assert.deepEqual(again.objects.get(k), o);
  });
});

describe('projects, public namespaces, defaults, splitting, names', () => {
  it('owner, public and default RoleBindings; every Active user in the public and default ones', () => {
    const index = build({
      users: [user('alice'), user('bob'), user('pat', { state: 'Pending' })],
      roles: [role('owner', ['*:*']), role('reader', ['pods:read']), role('dflt', ['configmaps:get'])],
      teams: [team('everyone', { namespaces: ['commons'] })],
      namespaces: [ns('alice-proj', { 'iam.gatehouse.dev/owner': 'alice', 'iam.gatehouse.dev/visibility': 'public' }), ns('commons')],
    }, { projects: { ownerRole: 'owner', publicRole: 'reader' }, defaults: { role: 'dflt', team: 'everyone' } });
    const { objects } = compile(index);
    assert.deepEqual(userNames(objects.get('RoleBinding/alice-proj/gatehouse:project-owner') as RbacBindingObject), ['alice']);
    assert.deepEqual(userNames(objects.get('RoleBinding/alice-proj/gatehouse:public') as RbacBindingObject), ['alice', 'bob']);
    assert.deepEqual(userNames(objects.get('RoleBinding/commons/gatehouse:default') as RbacBindingObject), ['alice', 'bob']);
    // owner's *:* includes writes on Gatehouse kinds: project owners hold them cluster-wide (admission checks scope).
    assert.deepEqual(userNames(objects.get('ClusterRoleBinding//gatehouse:project-owners:delegate') as RbacBindingObject), ['alice']);
  });
  it('splits a long subject list into numbered objects of bounded size', () => {
    const users = Array.from({ length: 25 }, (_, i) => user(`u${String(i).padStart(2, '0')}`));
    const index = build({ users, roles: [role('dflt', ['pods:get'])], teams: [team('all', { namespaces: ['n'] })], namespaces: [ns('n')] }, { defaults: { role: 'dflt', team: 'all' } });
    const { objects } = compile(index, 10);
    const parts = bindingsOf(objects).filter((o) => o.metadata.namespace === 'n').map((o) => o.metadata.name).sort();
    assert.ok(parts.length >= 3, `at least 3 parts of at most 10: ${parts.join(' ')}`);
    assert.equal(parts[0], 'gatehouse:default');
    for (const p of parts.slice(1)) assert.match(p, /^gatehouse:default:[0-9a-z]{5}$/);
    for (const p of parts) assert.ok((objects.get(`RoleBinding/n/${p}`) as RbacBindingObject).subjects.length <= 10);
    const all = parts.flatMap((p) => userNames(objects.get(`RoleBinding/n/${p}`) as RbacBindingObject));
    assert.equal(all.length, 25);
    assert.equal(new Set(all).size, 25);
  });
  it('one subject more in a long list rewrites one or two parts, not every part after it (issue 26)', () => {
    const world = (n: number) => build({
      users: Array.from({ length: n }, (_, i) => user(`u${String(i).padStart(4, '0')}`)),
      roles: [role('dflt', ['pods:get'])], teams: [team('all', { namespaces: ['n'] })], namespaces: [ns('n')],
    }, { defaults: { role: 'dflt', team: 'all' } });
    const partsOf = (index: PermissionIndex) => new Map(bindingsOf(compile(index, 100).objects).filter((o) => o.metadata.namespace === 'n').map((o) => [o.metadata.name, JSON.stringify(o.subjects)]));
    const before = partsOf(world(2000));
    // u0000 sorts first: with positional parts every part would shift by one subject.
    const index = world(2000);
    index.apply({ op: 'upsert', kind: 'User', object: user('u0000a') });
    const after = partsOf(index);
    assert.ok(before.size >= 20, `${before.size} parts`);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
    assert.ok(changed.length >= 1 && changed.length <= 2, `parts rewritten: ${changed.join(' ')}`);
    for (const subjects of after.values()) assert.ok(JSON.parse(subjects).length <= 100);
  });
  it('bindings and roles named like the fixed objects do not collide with them', () => {
    const index = build({
      users: [user('alice'), user('root', { superuser: true })],
      roles: [role('owner', ['*:*']), role('superuser', ['*:*'])],
      teams: [team('everyone', { namespaces: ['commons'] })],
      bindings: ['public', 'default', 'project-owners', 'superusers'].map((n) => binding(n, 'superuser', ['alice'], { cluster: true })),
      namespaces: [ns('commons', { 'iam.gatehouse.dev/owner': 'alice', 'iam.gatehouse.dev/visibility': 'public' })],
    }, { projects: { ownerRole: 'owner', publicRole: 'owner' }, defaults: { role: 'owner', team: 'everyone' } });
    const names = [...compile(index).objects.values()].filter((o) => o.kind === 'ClusterRoleBinding').map((o) => o.metadata.name).sort();
    assert.deepEqual(names, [
      'gatehouse:binding:default', 'gatehouse:binding:project-owners', 'gatehouse:binding:public', 'gatehouse:binding:superusers',
      'gatehouse:default:delegate', 'gatehouse:delegate:default', 'gatehouse:delegate:project-owners', 'gatehouse:delegate:public', 'gatehouse:delegate:superusers',
      'gatehouse:project-owners:delegate', 'gatehouse:public:delegate', 'gatehouse:superusers',
    ]);
  });
  it('long names end in ~hash, stay within 253 characters and differ from every short one', () => {
    const long = 'b'.repeat(250);
    const a = rbacName('binding', long);
    const b = rbacName('binding', `${long}x`);
    assert.ok(a.length <= 253 && b.length <= 253);
    assert.notEqual(a, b);
    assert.match(a, /~[0-9a-f]{16}$/);
    assert.equal(rbacName('binding', 'short'), 'gatehouse:binding:short');
  });
});

describe('random worlds: RBAC allows exactly what decide() allows', () => {
  it('300 worlds x 200 requests', () => {
    let allows = 0;
    let total = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const w = randomRbacWorld(seed, undefined, NOW);
      const index = build(w, RBAC_WORLD_CONFIG);
      const objs = [...compile(index, 3).objects.values()];
      for (const r of w.requests(200)) {
        const allow = rbacAllows(objs, r);
        if (allow) allows++;
        total++;
        const problem = compareWithDecide(index, allow, r, NOW);
        assert.equal(problem, null, `seed ${seed}: ${problem}`);
      }
    }
    // The worlds must exercise both answers, or the comparison proves nothing.
    assert.ok(allows > total * 0.1 && allows < total * 0.9, `${allows} of ${total} allowed`);
  });
  it('keys are unique and every binding refers to a ClusterRole that is written', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const index = build(randomRbacWorld(seed, undefined, NOW), RBAC_WORLD_CONFIG);
      const { objects } = compile(index, 3);
      for (const [k, o] of objects) assert.equal(k, keyOf(o));
      for (const b of bindingsOf(objects)) assert.ok(objects.has(`ClusterRole//${b.roleRef.name}`), b.roleRef.name);
    }
  });
});

describe('issue 19 finding 6: nothing compiled for users who are not Active', () => {
  it('no subject names a Pending, Rejected or Suspended team member, and no gatehouse:team: group is compiled', () => {
    const index = build({
      users: [user('alice'), user('pat', { state: 'Pending' }), user('rex', { state: 'Rejected' }), user('sam', { state: 'Suspended' })],
      roles: [role('r', ['pods:*'])],
      teams: [team('vision', { members: ['alice', 'pat', 'rex', 'sam'], namespaces: ['vision-dev'] })],
      bindings: [binding('b', 'r', [{ kind: 'Team', name: 'vision' }, { kind: 'User', name: 'pat' }], { teams: ['vision'] }), binding('c', 'r', ['sam'], { cluster: true })],
      namespaces: [ns('vision-dev', { 'iam.gatehouse.dev/owner': 'pat' })],
    }, { projects: { ownerRole: 'r' } });
    const { objects } = compile(index);
    const subjects = bindingsOf(objects).flatMap((o) => o.subjects);
    assert.ok(subjects.some((s) => s.kind === 'User' && s.name === 'alice'), 'alice is compiled');
    for (const s of subjects) {
      assert.ok(!(s.kind === 'User' && ['pat', 'rex', 'sam'].includes(s.name)), `${s.kind} ${s.name} compiled`);
      assert.ok(!s.name.startsWith('gatehouse:team:'), `${s.kind} ${s.name} compiled`);
    }
  });
});
