// Issue 30, the rule at every reader: a RoleBinding whose spec.clusters does not select this cluster
// is not in force (decide(), who-can, effective permissions, the RBAC compiler, explain), a User
// limited to other clusters is denied every request with a reason naming this cluster (superusers
// too; seed admins never), an unnamed cluster holds nothing that selects clusters, and status says
// so in an InEffect condition while Ready stays True.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RoleBinding, User } from '../../../src/api/types.js';
import { PermissionIndex, type World } from '../../../src/authz/index.js';
import { decide } from '../../../src/authz/decide.js';
import { effectivePermissions, whoCan } from '../../../src/authz/queries.js';
import { compileRbac } from '../../../src/rbac/compile.js';
import { indexSource } from '../../../src/rbac/source.js';
import { computeStatus } from '../../../src/controller/status.js';
import { explainChain } from '../../../src/client/access.js';
import { binding, policy, req, role, team, user } from '../../support/authz.js';
import { rbacAllows } from '../../support/rbac-eval.js';
import { assertSameAnswers } from '../../support/index-equivalence.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const EU = { name: 'gpu-eu-1', labels: { region: 'eu', tier: 'prod' } };
const US = { name: 'gpu-us-1', labels: { region: 'us', tier: 'prod' } };

const withClusters = <T extends User | RoleBinding>(o: T, clusters: NonNullable<T['spec']['clusters']>): T => ({ ...o, spec: { ...o.spec, clusters } }) as T;

function world(): Required<World> {
  return {
    users: [
      user('alice'),
      withClusters(user('erin'), { names: ['gpu-eu-1'] }),
      withClusters(user('root-eu', { superuser: true }), { matchLabels: { region: 'eu' } }),
      user('bob'),
    ],
    roles: [role('viewer', ['pods:read']), role('trainer', ['jobs:*'])],
    teams: [team('ml', { members: ['bob', 'erin'] })],
    bindings: [
      binding('everywhere', 'viewer', ['alice', 'erin', 'team:ml'], { cluster: true }),
      withClusters(binding('eu-trainers', 'trainer', ['alice', 'team:ml'], { namespaces: ['ml'] }), { matchLabels: { region: 'eu' } }),
      withClusters(binding('us-trainers', 'trainer', ['bob'], { cluster: true }), { matchExpressions: [{ key: 'region', operator: 'In', values: ['us'] }] }),
    ],
    namespaces: [{ kind: 'Namespace', metadata: { name: 'ml' } }],
  };
}

const on = (cluster: { name: string; labels: Record<string, string> } | undefined, w: World = world()) =>
  PermissionIndex.build(w, policy({ seedAdmins: [{ username: 'seed' }], ...(cluster ? { cluster } : {}) }), () => NOW);

describe('fleet: bindings hold only on the clusters they select', () => {
  it('a binding selecting region=eu grants on the eu cluster only', () => {
    const eu = on(EU);
    const us = on(US);
    const r = req('alice', 'create jobs', 'ml');
    assert.equal(decide(eu, r).verdict, 'allow');
    assert.equal(decide(eu, r).grant?.binding, 'eu-trainers');
    assert.equal(decide(us, r).verdict, 'noOpinion');
    // Teams hold everywhere: bob reaches eu-trainers through team ml on eu, us-trainers on us.
    assert.equal(decide(eu, req('bob', 'create jobs', 'ml')).grant?.binding, 'eu-trainers');
    assert.equal(decide(us, req('bob', 'create jobs', 'ml')).grant?.binding, 'us-trainers');
    assert.equal(decide(eu, req('bob', 'create jobs', 'other')).verdict, 'noOpinion');
  });

  it('a binding not in force is left out of every read: getBinding, listBindings, who-can, effective permissions', () => {
    const us = on(US);
    assert.equal(us.getBinding('eu-trainers'), undefined);
    assert.deepEqual(us.listBindings().map((b) => b.metadata.name).sort(), ['everywhere', 'us-trainers']);
    assert.deepEqual(us.bindingsNotInForce().map((b) => b.metadata.name), ['eu-trainers']);
    assert.equal(us.bindingNotInForce('eu-trainers')?.spec.role, 'trainer');
    assert.deepEqual(us.bindingsForRole('trainer'), ['us-trainers']);
    const who = whoCan(us, { verb: 'create', group: '', resource: 'jobs', namespace: 'ml' }).map((e) => `${e.subject.kind}/${e.subject.name}`);
    assert.ok(!who.includes('User/alice'), `who-can on us: ${who.join(', ')}`);
    const eff = effectivePermissions(us, { user: 'alice', groups: [] });
    assert.deepEqual(eff.grants.map((g) => g.binding), ['everywhere']);
  });

  it('the RBAC compiler writes no grant for a binding not in force here', () => {
    const objects = (index: PermissionIndex) => [...compileRbac(indexSource(index), { now: NOW }).objects.values()];
    const r = req('alice', 'create jobs', 'ml');
    assert.equal(rbacAllows(objects(on(EU)), r), true);
    assert.equal(rbacAllows(objects(on(US)), r), false);
  });

  it('an unnamed cluster holds no object that selects clusters (fail closed), even with matching labels', () => {
    for (const cluster of [undefined, { name: '', labels: { region: 'eu', tier: 'prod' } }]) {
      const index = on(cluster);
      assert.equal(decide(index, req('alice', 'create jobs', 'ml')).verdict, 'noOpinion');
      assert.equal(decide(index, req('alice', 'get pods', 'ml')).grant?.binding, 'everywhere');
      assert.deepEqual(index.bindingsNotInForce().map((b) => b.metadata.name), ['eu-trainers', 'us-trainers']);
    }
  });

  it('changes move a binding between in force and not, and end where a rebuild ends', () => {
    const index = on(US);
    const w = world();
    const moved = withClusters(binding('eu-trainers', 'trainer', ['alice', 'team:ml'], { namespaces: ['ml'] }), { names: ['gpu-us-1'] });
    assert.equal(index.apply({ op: 'upsert', kind: 'RoleBinding', object: moved }), true);
    assert.equal(decide(index, req('alice', 'create jobs', 'ml')).grant?.binding, 'eu-trainers');
    const back = w.bindings[1]!;
    index.apply({ op: 'upsert', kind: 'RoleBinding', object: back });
    assert.equal(decide(index, req('alice', 'create jobs', 'ml')).verdict, 'noOpinion');
    index.apply({ op: 'delete', kind: 'RoleBinding', name: 'eu-trainers' });
    assert.deepEqual(index.bindingsNotInForce(), []);
    assertSameAnswers(index, PermissionIndex.build({ ...w, bindings: w.bindings.filter((b) => b.metadata.name !== 'eu-trainers') }, index.config, () => NOW));
    const relisted = on(US);
    relisted.replaceAll('RoleBinding', [moved]);
    assertSameAnswers(relisted, PermissionIndex.build({ ...w, bindings: [moved] }, relisted.config, () => NOW));
  });
});

describe('fleet: a User limited to other clusters may not act here', () => {
  it('every request is denied with a reason naming this cluster and the selector', () => {
    const us = on(US);
    const d = decide(us, req('erin', 'get pods', 'ml'));
    assert.equal(d.verdict, 'deny');
    assert.equal(d.code, 'inactive');
    assert.match(d.reason, /^user erin may not act on cluster gpu-us-1: spec\.clusters selects names: gpu-eu-1, and cluster gpu-us-1 \(labels region=us,tier=prod\) is not one of them$/);
    // On the cluster it names, the same User acts as usual.
    assert.equal(decide(on(EU), req('erin', 'get pods', 'ml')).verdict, 'allow');
  });

  it('superusers limited elsewhere are denied too; seed admins are never limited', () => {
    const us = on(US);
    const d = decide(us, req('root-eu', 'delete nodes'));
    assert.equal(d.verdict, 'deny');
    assert.match(d.reason, /may not act on cluster gpu-us-1/);
    assert.equal(decide(on(EU), req('root-eu', 'delete nodes')).code, 'superuser');
    // A seed admin's User object limited elsewhere (it cannot be, through admission) changes nothing.
    const w = world();
    const limitedSeed = { ...w, users: [...w.users, withClusters(user('seed'), { names: ['gpu-eu-1'] })] };
    assert.equal(decide(on(US, limitedSeed), req('seed', 'delete nodes')).code, 'superuser');
  });

  it('an unnamed cluster says so in the reason', () => {
    const d = decide(on(undefined), req('erin', 'get pods', 'ml'));
    assert.equal(d.verdict, 'deny');
    assert.match(d.reason, /^user erin may not act on this cluster \(unnamed\): .*this cluster has no name \(set the Helm value cluster\.name\)/);
  });

  it('like a Suspended user: denyInactiveUsers false gives no opinion, introspection is left to RBAC', () => {
    const index = PermissionIndex.build(world(), policy({ cluster: US, authorization: { denyInactiveUsers: false } }), () => NOW);
    assert.equal(decide(index, req('erin', 'get pods', 'ml')).verdict, 'noOpinion');
    const ssar = decide(on(US), req('erin', 'create authorization.k8s.io/selfsubjectaccessreviews'));
    assert.equal(ssar.verdict, 'noOpinion');
    assert.match(ssar.reason, /may not act on cluster gpu-us-1/);
  });

  it('who-can, effective permissions and the RBAC compiler leave them out', () => {
    const us = on(US);
    const who = whoCan(us, { verb: 'get', group: '', resource: 'pods', namespace: 'ml' }).map((e) => `${e.subject.kind}/${e.subject.name}`);
    assert.ok(!who.includes('User/root-eu'), who.join(', '));
    assert.equal(effectivePermissions(us, { user: 'erin', groups: [] }).active, false);
    assert.equal(us.userRecord('erin')?.otherCluster, true);
    assert.equal(us.userRecord('erin')?.state, 'Suspended');
    const objects = [...compileRbac(indexSource(us), { now: NOW }).objects.values()];
    // Named directly and through team ml: neither reaches erin here; team ml still reaches bob.
    assert.equal(rbacAllows(objects, req('erin', 'get pods', 'ml')), false);
    assert.equal(rbacAllows(objects, req('bob', 'get pods', 'ml')), true);
    assert.equal(rbacAllows(objects, req('alice', 'get pods', 'ml')), true);
    assert.equal(rbacAllows(objects, req('root-eu', 'delete nodes')), false);
    const eu = [...compileRbac(indexSource(on(EU)), { now: NOW }).objects.values()];
    assert.equal(rbacAllows(eu, req('erin', 'get pods', 'ml')), true);
  });

  it('explain says why, and names assignments meant for other clusters', () => {
    const us = on(US);
    const denied = explainChain(us, req('erin', 'get pods', 'ml'), NOW);
    assert.equal(denied.cluster, 'gpu-us-1');
    assert.equal(denied.userObject.otherCluster, true);
    assert.ok(denied.hints.some((h) => /erin may not act on cluster gpu-us-1/.test(h)), denied.hints.join('\n'));
    const none = explainChain(us, req('alice', 'create jobs', 'ml'), NOW);
    assert.deepEqual(none.notInForceHere.map((b) => b.name), ['eu-trainers']);
    assert.ok(none.hints.some((h) => /role assignment eu-trainers \(role trainer\) names alice but is not in force on cluster gpu-us-1/.test(h)), none.hints.join('\n'));
  });
});

describe('fleet: status says whether an object is in force here', () => {
  const cond = (status: unknown, type: string) => (status as { conditions: Array<{ type: string; status: string; reason: string; message: string }> }).conditions.find((c) => c.type === type)!;

  it('RoleBinding: InEffect True (AllClusters, SelectedCluster) or False (OtherCluster) with Ready True', () => {
    const w = world();
    const us = { index: on(US) };
    const eu = { index: on(EU) };
    const everywhere = computeStatus('RoleBinding', w.bindings[0]!, us, NOW).status;
    assert.equal(cond(everywhere, 'InEffect').reason, 'AllClusters');
    const onEu = computeStatus('RoleBinding', w.bindings[1]!, eu, NOW).status;
    assert.equal(cond(onEu, 'InEffect').reason, 'SelectedCluster');
    assert.equal(cond(onEu, 'Ready').status, 'True');
    const onUs = computeStatus('RoleBinding', w.bindings[1]!, us, NOW).status;
    assert.equal(cond(onUs, 'Ready').status, 'True');
    assert.equal(cond(onUs, 'Ready').reason, 'NotInForceHere');
    assert.equal(cond(onUs, 'InEffect').status, 'False');
    assert.equal(cond(onUs, 'InEffect').reason, 'OtherCluster');
    assert.match(cond(onUs, 'InEffect').message, /cluster gpu-us-1.*region=eu/);
    const unnamed = computeStatus('RoleBinding', w.bindings[1]!, { index: on(undefined) }, NOW).status;
    assert.equal(cond(unnamed, 'InEffect').reason, 'ClusterUnnamed');
    assert.equal(cond(unnamed, 'Ready').status, 'True');
  });

  it('User: InEffect False on other clusters, Ready True; seed admins InEffect True', () => {
    const w = world();
    const erin = w.users[1]!;
    const onUs = computeStatus('User', erin, { index: on(US) }, NOW).status;
    assert.equal(cond(onUs, 'Ready').status, 'True');
    assert.equal(cond(onUs, 'InEffect').status, 'False');
    assert.equal(cond(onUs, 'InEffect').reason, 'OtherCluster');
    assert.match(cond(onUs, 'InEffect').message, /every request is denied/);
    assert.equal(cond(onUs, 'Active').status, 'False');
    assert.equal(cond(onUs, 'Active').reason, 'OtherCluster');
    assert.equal(cond(computeStatus('User', erin, { index: on(EU) }, NOW).status, 'Active').status, 'True');
    assert.equal(cond(computeStatus('User', erin, { index: on(EU) }, NOW).status, 'InEffect').reason, 'SelectedCluster');
    assert.equal(cond(computeStatus('User', w.users[0]!, { index: on(US) }, NOW).status, 'InEffect').reason, 'AllClusters');
    const seed = withClusters(user('seed'), { names: ['gpu-eu-1'] });
    assert.equal(cond(computeStatus('User', seed, { index: on(US, { ...w, users: [...w.users, seed] }) }, NOW).status, 'InEffect').reason, 'SeedAdmin');
  });
});
