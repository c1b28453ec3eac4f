import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScopes, subjectsFrom, filterBindings, teamsOfUser } from '../../../src/client/assignments.js';
import { applyMembership } from '../../../src/client/edits.js';
import { permissionsInUse } from '../../../src/cli/commands/permissions.js';
import { normalizePermission } from '../../../src/client/permissions.js';
import type { RoleBinding } from '../../../src/api/types.js';

test('parseScopes: one kind per assignment, names may repeat or be comma-separated', () => {
  assert.deepEqual(parseScopes(['cluster']), { cluster: true });
  assert.deepEqual(parseScopes(['team:a', 'team:b,a']), { teams: ['a', 'b'] });
  assert.deepEqual(parseScopes(['namespace:x', 'ns:y']), { namespaces: ['x', 'y'] });
  assert.throws(() => parseScopes([]), /--scope is required/);
  assert.throws(() => parseScopes(['cluster', 'team:a']), /exactly one kind/);
  assert.throws(() => parseScopes(['team:']), /expected cluster/);
});

test('subjectsFrom keeps order and drops duplicates', () => {
  assert.deepEqual(subjectsFrom(['a', 'a'], ['t'], ['g']), [{ kind: 'User', name: 'a' }, { kind: 'Team', name: 't' }, { kind: 'Group', name: 'g' }]);
});

const rb = (name: string, role: string, subjects: RoleBinding['spec']['subjects']): RoleBinding => ({ metadata: { name }, spec: { role, subjects, scope: { cluster: true } } });

test('filterBindings: --user matches directly, by username and through the user\'s teams', () => {
  const all = [rb('direct', 'r1', [{ kind: 'User', name: 'alice' }]), rb('byname', 'r2', [{ kind: 'User', name: 'alice@x' }]), rb('team', 'r1', [{ kind: 'Team', name: 'vision' }]), rb('other', 'r1', [{ kind: 'User', name: 'bob' }])];
  assert.deepEqual(filterBindings(all, { user: 'alice', userAliases: ['alice', 'alice@x'], userTeams: ['vision'] }).map((b) => b.metadata.name), ['direct', 'byname', 'team']);
  // A name that resolved to another User (its aliases) is not matched as typed (one resolution).
  assert.deepEqual(filterBindings(all, { user: 'alice@x', userAliases: ['carol'] }).map((b) => b.metadata.name), []);
  assert.deepEqual(filterBindings(all, { user: 'alice', role: 'r1' }).map((b) => b.metadata.name), ['direct']);
  assert.deepEqual(filterBindings(all, { team: 'vision' }).map((b) => b.metadata.name), ['team']);
});

test('applyMembership adds without duplicates, removes, and reports no change as undefined', () => {
  const spec = { members: ['a', 'b'], namespaces: ['n'] };
  assert.deepEqual(applyMembership(spec, { members: ['b', 'c'], groups: [], namespaces: [] }, true), { members: ['a', 'b', 'c'] });
  assert.deepEqual(applyMembership(spec, { members: ['a'], groups: [], namespaces: ['n'] }, false), { members: ['b'], namespaces: [] });
  assert.equal(applyMembership(spec, { members: ['a'], groups: [], namespaces: [] }, true), undefined);
  assert.equal(applyMembership(spec, { members: ['z'], groups: [], namespaces: [] }, false), undefined);
});

test('teamsOfUser matches the object name and the username', () => {
  const user = { metadata: { name: 'alice' }, spec: { username: 'alice@x', state: 'Active' as const } };
  const teams = [{ metadata: { name: 't1' }, spec: { members: ['alice'] } }, { metadata: { name: 't2' }, spec: { members: ['alice@x'] } }, { metadata: { name: 't3' }, spec: {} }];
  assert.deepEqual(teamsOfUser(user, teams), ['t1', 't2']);
});

test('permissionsInUse lists each permission once with its roles', () => {
  const roles = [{ metadata: { name: 'b' }, spec: { permissions: ['jobs:*', 'me'] } }, { metadata: { name: 'a' }, spec: { permissions: ['me'] } }];
  assert.deepEqual(permissionsInUse(roles), [{ permission: 'jobs:*', roles: ['b'] }, { permission: 'me', roles: ['a', 'b'] }]);
});

test('normalizePermission: a bare action means it on every resource (zenml -p read)', () => {
  assert.equal(normalizePermission('read'), '*:read');
  assert.equal(normalizePermission('write'), '*:write');
  assert.equal(normalizePermission('me'), 'me');
  assert.equal(normalizePermission('jobs:write'), 'jobs:write');
});

test('normalizePermission rejects what the operator would reject, with the grammar problem', () => {
  assert.throws(() => normalizePermission('jobs'), /invalid permission "jobs": missing ":action"/);
  assert.throws(() => normalizePermission('Jobs:read'), /not a lowercase resource name/);
  assert.equal(normalizePermission('kubeflow.org/notebooks:create'), 'kubeflow.org/notebooks:create');
});
