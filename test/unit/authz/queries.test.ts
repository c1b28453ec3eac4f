import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionIndex } from '../../../src/authz/index.js';
import { canAssign, effectivePermissions, missingPermissions, scopesHolding, whoCan } from '../../../src/authz/queries.js';
import { binding, ns, policy, role, team, user } from '../../support/authz.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const who = (u: string, groups: string[] = []) => ({ user: u, groups });

function world() {
  return PermissionIndex.build(
    {
      users: [user('dept'), user('alice'), user('boss', { superuser: true }), user('owner1'), user('sleepy', { state: 'Suspended' })],
      roles: [
        role('researcher', ['jobs:*', 'pods:read']),
        role('dept-admin', ['iam.gatehouse.dev/rolebindings:create', 'jobs:read'], { canAssign: ['researcher'] }),
        role('viewer', ['*:read']),
        role('power', ['*:*']),
      ],
      teams: [team('dept-x', { members: ['alice'], namespaces: ['x1', 'x2'] }), team('dept-y', { namespaces: ['y1'] })],
      bindings: [
        binding('dept-admins', 'dept-admin', ['dept'], { teams: ['dept-x'] }),
        binding('alice-research', 'researcher', ['team:dept-x'], { teams: ['dept-x'] }),
        binding('sleepy-power', 'power', ['sleepy'], { cluster: true }),
      ],
      namespaces: [ns('x1'), ns('x2'), ns('y1'), ns('mine', { 'iam.gatehouse.dev/owner': 'owner1' })],
    },
    policy({ projects: { ownerRole: 'power' } }),
    () => NOW,
  );
}

describe('queries', () => {
  const index = world();
  it('effectivePermissions lists each grant with role, binding, subject and scope', () => {
    const e = effectivePermissions(index, who('alice'));
    assert.equal(e.active, true);
    assert.deepEqual(e.teams, ['dept-x']);
    assert.deepEqual(e.grants, [
      { role: 'researcher', permissions: ['jobs:*', 'pods:read'], source: 'binding', binding: 'alice-research', subject: { kind: 'Team', name: 'dept-x' }, scope: { cluster: false, teams: ['dept-x'], namespaces: ['x1', 'x2'] } },
    ]);
    const o = effectivePermissions(index, who('owner1'));
    assert.deepEqual(o.grants.map((g) => [g.source, g.role, g.scope]), [['projectOwner', 'power', { cluster: false, namespaces: ['mine'], teams: [] }]]);
  });
  it('whoCan lists superusers and binding subjects, not inactive users', () => {
    const w = whoCan(index, { verb: 'create', group: '', resource: 'jobs', namespace: 'x1' });
    assert.deepEqual(w.map((e) => `${e.subject.kind}:${e.subject.name}`), ['User:boss', 'Team:dept-x']);
    assert.deepEqual(whoCan(index, { verb: 'delete', group: '', resource: 'services', namespace: 'mine' }).map((e) => e.subject.name), ['boss', 'owner1']);
  });
  it('scopesHolding: a team counts when held in the team scope', () => {
    const s = scopesHolding(index, who('dept'), { verb: 'create', group: 'iam.gatehouse.dev', resource: 'rolebindings' });
    assert.equal(s.cluster, false);
    assert.deepEqual([...s.teams], ['dept-x']);
    assert.deepEqual([...s.namespaces].sort(), ['x1', 'x2']);
    assert.equal(scopesHolding(index, who('boss'), { verb: 'create', group: 'iam.gatehouse.dev', resource: 'rolebindings' }).cluster, true);
    assert.equal(scopesHolding(index, who('sleepy'), { verb: 'get', group: '', resource: 'pods' }).cluster, false);
  });
  it('missingPermissions: what the requester lacks in the whole scope', () => {
    assert.deepEqual(missingPermissions(index, who('alice'), ['jobs:create', 'pods:get'], { teams: ['dept-x'] }).missing, []);
    assert.deepEqual(missingPermissions(index, who('alice'), ['pods:get'], { namespaces: ['x1', 'x2'] }).missing, []);
    const m = missingPermissions(index, who('alice'), ['pods:read', 'pods:delete'], { namespaces: ['x1', 'y1'] }).missing;
    assert.deepEqual(m.map((x) => `${x.piece}@${x.where.kind === 'namespace' ? x.where.namespace : x.where.kind}`), ['pods:get@y1', 'pods:list@y1', 'pods:watch@y1', 'pods:delete@x1', 'pods:delete@y1']);
    assert.equal(missingPermissions(index, who('alice'), ['pods:get'], { cluster: true }).missing.length, 1);
    assert.deepEqual(missingPermissions(index, who('boss'), ['*:*'], { cluster: true }).missing, []);
    assert.deepEqual(missingPermissions(index, who('sleepy'), ['pods:get'], { namespaces: ['x1'] }).missing.length, 1);
  });
  it('canAssign honours canAssign lists inside the holder scope only', () => {
    assert.deepEqual(canAssign(index, who('dept'), 'researcher', { teams: ['dept-x'] }).via, 'canAssign');
    assert.equal(canAssign(index, who('dept'), 'researcher', { teams: ['dept-y'] }).allowed, false);
    assert.equal(canAssign(index, who('dept'), 'researcher', { namespaces: ['x1'] }).allowed, true);
    assert.equal(canAssign(index, who('dept'), 'viewer', { teams: ['dept-x'] }).allowed, false);
    assert.equal(canAssign(index, who('alice'), 'researcher', { teams: ['dept-x'] }).via, 'holdsPermissions');
    assert.equal(canAssign(index, who('boss'), 'power', { cluster: true }).via, 'superuser');
    assert.equal(canAssign(index, who('alice'), 'no-such-role', { teams: ['dept-x'] }).allowed, false);
  });
});
