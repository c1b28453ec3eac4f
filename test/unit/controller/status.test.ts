// Status rules: what each kind's status says (Ready with an actionable reason), the Events a
// transition produces, and which objects must be recomputed when one changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionIndex } from '../../../src/authz/index.js';
import { parseConfig } from '../../../src/config.js';
import type { Namespace, Role, RoleBinding, Team, User } from '../../../src/api/types.js';
import { canonical, computeStatus, dependents, statusEqual, type StatusWorld } from '../../../src/controller/status.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const user = (name: string, state: User['spec']['state'] = 'Active', extra: Partial<User['spec']> = {}, status?: User['status']): User => ({ metadata: { name, generation: 3 }, spec: { state, ...extra }, ...(status ? { status } : {}) });
const role = (name: string, spec: Role['spec'] = {}, status?: Role['status']): Role => ({ metadata: { name, generation: 1 }, spec, ...(status ? { status } : {}) });
const team = (name: string, spec: Team['spec'] = {}): Team => ({ metadata: { name, generation: 1 }, spec });
const binding = (name: string, spec: Partial<RoleBinding['spec']>, status?: RoleBinding['status']): RoleBinding => ({
  metadata: { name, generation: 2 },
  spec: { role: 'r', subjects: [{ kind: 'User', name: 'alice' }], scope: { cluster: true }, ...spec },
  ...(status ? { status } : {}),
});
const ns = (name: string, labels: Record<string, string> = {}): Namespace => ({ metadata: { name, labels } });

function worldOf(objs: { users?: User[]; roles?: Role[]; teams?: Team[]; bindings?: RoleBinding[]; namespaces?: Namespace[] }, seedAdmins: Array<{ username: string }> = []): StatusWorld {
  const config = parseConfig({ seedAdmins });
  const index = PermissionIndex.build(objs, config, () => NOW);
  return { index };
}

const ready = (s: any) => s.conditions.find((c: any) => c.type === 'Ready');
const activeCond = (s: any) => s.conditions.find((c: any) => c.type === 'Active');

test('a binding whose role is missing is Ready=False RoleNotFound, and Bound once it exists', () => {
  const b = binding('rb', { role: 'researcher' });
  const before = computeStatus('RoleBinding', b, worldOf({ users: [user('alice')], bindings: [b] }), NOW).status as any;
  assert.equal(ready(before).status, 'False');
  assert.equal(ready(before).reason, 'RoleNotFound');
  assert.match(ready(before).message, /Role researcher does not exist yet/);
  assert.equal(before.roleFound, false);
  assert.equal(before.observedGeneration, 2);
  assert.equal(ready(before).observedGeneration, 2);
  const after = computeStatus('RoleBinding', b, worldOf({ users: [user('alice')], roles: [role('researcher')], bindings: [b] }), NOW).status as any;
  assert.equal(ready(after).status, 'True');
  assert.equal(ready(after).reason, 'Bound');
  assert.equal(after.scope, 'cluster');
  assert.equal(after.subjectCount, 1);
});

test('binding: unresolved subjects, missing scope teams, resolved namespaces, expiry', () => {
  const scoped = binding('rb', { subjects: [{ kind: 'User', name: 'ghost' }, { kind: 'Group', name: 'oidc:x' }], scope: { teams: ['vision', 'nlp'] } });
  const w = worldOf({ roles: [role('r')], teams: [team('vision', { namespaces: ['v-dev'] })], namespaces: [ns('v-prod', { 'iam.gatehouse.dev/team': 'vision' })], bindings: [scoped] });
  const s = computeStatus('RoleBinding', scoped, w, NOW).status as any;
  assert.equal(ready(s).reason, 'ScopeTeamNotFound');
  assert.deepEqual(s.unresolvedSubjects, ['User ghost']);
  assert.deepEqual(s.resolvedNamespaces, ['v-dev', 'v-prod']);
  assert.equal(s.scope, 'teams: vision,nlp');

  const old = binding('old', { expiresAt: '2026-05-01T00:00:00Z' }, { expired: false });
  const r = computeStatus('RoleBinding', old, worldOf({ users: [user('alice')], roles: [role('r')], bindings: [old] }), NOW);
  assert.equal((r.status as any).expired, true);
  assert.equal(ready(r.status).reason, 'Expired');
  assert.deepEqual(r.events.map((e) => e.reason), ['BindingExpired']);
  // Once the status says expired, no second Event.
  const again = computeStatus('RoleBinding', { ...old, status: r.status as any }, worldOf({ users: [user('alice')], roles: [role('r')], bindings: [old] }), NOW);
  assert.deepEqual(again.events, []);
  assert.equal(r.recheckAt, null, 'an expired binding changes no more by time');
});

test('a status that changes by time alone says when to look again: the earliest expiry ahead that it reads', () => {
  const soon = '2026-06-02T00:00:00Z';
  const later = '2026-07-01T00:00:00Z';
  const bindings = [
    binding('later', { expiresAt: later }),
    binding('soon', { subjects: [{ kind: 'Team', name: 'vision' }], expiresAt: soon }),
    binding('past', { expiresAt: '2026-05-01T00:00:00Z' }),
    binding('forever', {}),
    binding('others', { subjects: [{ kind: 'User', name: 'carol' }], expiresAt: '2026-06-01T12:00:00Z' }),
  ];
  const alice = user('alice');
  const w = worldOf({ users: [alice, user('carol')], roles: [role('r')], teams: [team('vision', { members: ['alice'] })], bindings });
  assert.equal(computeStatus('User', alice, w, NOW).recheckAt, Date.parse(soon), 'through a team, not another user\'s binding');
  assert.equal(computeStatus('User', alice, w, Date.parse(soon)).recheckAt, Date.parse(later), 'an expiry at now is behind');
  assert.equal(computeStatus('RoleBinding', bindings[0]!, w, NOW).recheckAt, Date.parse(later));
  assert.equal(computeStatus('RoleBinding', bindings[3]!, w, NOW).recheckAt, null);
  assert.equal(computeStatus('Role', role('r'), w, NOW).recheckAt, null);
  assert.equal(computeStatus('Team', team('vision', { members: ['alice'] }), w, NOW).recheckAt, null);
});

test('role: invalid permissions, missing includes, a cycle with its Event, binding count', () => {
  const bad = role('bad', { permissions: ['pods', 'jobs:read'] });
  const w1 = worldOf({ roles: [bad] });
  const s1 = computeStatus('Role', bad, w1, NOW).status as any;
  assert.equal(ready(s1).reason, 'InvalidPermissions');
  assert.equal(s1.invalidPermissions.length, 1);
  assert.match(s1.invalidPermissions[0], /pods/);

  const inc = role('inc', { includes: ['later'] });
  assert.equal(ready(computeStatus('Role', inc, worldOf({ roles: [inc] }), NOW).status).reason, 'MissingIncludes');

  const a = role('a', { includes: ['b'] });
  const b = role('b', { includes: ['a'] });
  const r = computeStatus('Role', a, worldOf({ roles: [a, b] }), NOW);
  assert.equal(ready(r.status).reason, 'IncludeCycle');
  assert.deepEqual(r.events.map((e) => [e.type, e.reason]), [['Warning', 'RoleIncludesItself']]);

  const ok = role('r', { permissions: ['jobs:*', 'projects:read'] });
  const s = computeStatus('Role', ok, worldOf({ roles: [ok], bindings: [binding('x', {}), binding('y', {})] }), NOW).status as any;
  assert.equal(ready(s).status, 'True');
  assert.equal(s.bindingCount, 2);
  assert.ok(s.permissionCount >= 2);
});

test('team: members without Users, namespaces listed and labelled', () => {
  const t = team('vision', { members: ['alice', 'bob'], namespaces: ['v-dev'] });
  const s = computeStatus('Team', t, worldOf({ users: [user('alice')], teams: [t], namespaces: [ns('v-prod', { 'iam.gatehouse.dev/team': 'vision' })] }), NOW).status as any;
  assert.equal(ready(s).reason, 'MissingMembers');
  assert.deepEqual(s.missingMembers, ['bob']);
  assert.equal(s.memberCount, 2);
  assert.deepEqual(s.namespaces, ['v-dev', 'v-prod']);
});

test('user: phase, teams, roles as role@scope, seed, and Events only on real transitions', () => {
  const alice = user('alice', 'Active', {}, { phase: 'Pending' });
  const w = worldOf({
    users: [alice],
    roles: [role('r')],
    teams: [team('vision', { members: ['alice'] })],
    bindings: [binding('direct', {}), binding('viateam', { subjects: [{ kind: 'Team', name: 'vision' }], scope: { namespaces: ['a', 'b'] } }), binding('gone', { expiresAt: '2020-01-01T00:00:00Z' })],
  });
  const r = computeStatus('User', alice, w, NOW);
  const s = r.status as any;
  assert.equal(s.phase, 'Active');
  assert.deepEqual(s.teams, ['vision']);
  assert.deepEqual(s.roles, ['r@cluster', 'r@namespace:a', 'r@namespace:b']);
  assert.equal(s.seed, false);
  assert.equal(ready(s).status, 'True');
  assert.deepEqual(r.events.map((e) => e.reason), ['UserActivated']);
  // No status yet (a new object): no Event.
  assert.deepEqual(computeStatus('User', user('alice'), w, NOW).events, []);

  for (const [state, reason, ev] of [['Pending', 'PendingApproval', undefined], ['Rejected', 'Rejected', 'UserRejected'], ['Suspended', 'Suspended', 'UserSuspended']] as const) {
    const u = user('carol', state, {}, { phase: 'Active' });
    const res = computeStatus('User', u, worldOf({ users: [u] }), NOW);
    // GitOps: a user kept in this state is as intended, so Ready (reconciled) is True; the
    // state is its own condition.
    assert.equal(ready(res.status).status, 'True', state);
    assert.equal(activeCond(res.status).status, 'False', state);
    assert.equal(activeCond(res.status).reason, reason);
    assert.deepEqual(res.events.map((e) => e.reason), ev ? [ev] : []);
  }

  const root = user('root', 'Active', { superuser: true });
  const seed = computeStatus('User', root, worldOf({ users: [root] }, [{ username: 'root' }]), NOW).status as any;
  assert.equal(seed.seed, true);
  assert.equal(seed.phase, 'Seed');
  assert.equal(ready(seed).status, 'True');
  assert.equal(activeCond(seed).reason, 'SeedAdmin');
});

test('two Users with one username: the first name is in effect, the other is Ready=False', () => {
  const a = user('a-user', 'Active', { username: 'same' });
  const b = user('b-user', 'Active', { username: 'same' });
  const w = worldOf({ users: [a, b] });
  assert.equal(ready(computeStatus('User', a, w, NOW).status).status, 'True');
  const sb = computeStatus('User', b, w, NOW).status;
  assert.equal(ready(sb).reason, 'DuplicateUsername');
});

test('lastTransitionTime stays while the Ready status stays, so an unchanged status compares equal', () => {
  const r = role('r', { permissions: ['jobs:read'] });
  const w = worldOf({ roles: [r] });
  const first = computeStatus('Role', r, w, NOW).status;
  const later = computeStatus('Role', { ...r, status: first as any }, w, NOW + 60_000).status;
  assert.ok(statusEqual(first, later));
  assert.equal(canonical({ b: 1, a: [2, { d: 1, c: 2 }] }), '{"a":[2,{"c":2,"d":1}],"b":1}');
});

test('dependents: a role change reaches its bindings and the roles that include it; a team change its members and bindings', () => {
  const w = worldOf({
    users: [user('alice', 'Active', { username: 'alice@x' })],
    roles: [role('base'), role('mid', { includes: ['base'] }), role('top', { includes: ['mid'] })],
    teams: [team('vision', { members: ['alice@x'] })],
    bindings: [
      binding('b1', { role: 'base' }),
      binding('b2', { role: 'top', subjects: [{ kind: 'Team', name: 'vision' }], scope: { teams: ['vision'] } }),
      binding('b3', { role: 'base', subjects: [], scope: { teams: ['vision'] } }),
    ],
    namespaces: [ns('v-prod', { 'iam.gatehouse.dev/team': 'vision' })],
  });
  assert.deepEqual([...dependents('Role', [role('base')], w)].sort(), ['Role/base', 'Role/mid', 'Role/top', 'RoleBinding/b1', 'RoleBinding/b3']);
  const teamDeps = dependents('Team', [team('vision', { members: ['alice@x'] })], w);
  assert.ok(teamDeps.has('User/alice'), 'a member named by username reaches the User object');
  assert.ok(teamDeps.has('RoleBinding/b2'));
  assert.ok(dependents('Namespace', [ns('v-prod', { 'iam.gatehouse.dev/team': 'vision' })], w).has('RoleBinding/b2'));
  // A binding scoped to the team without subjects still resolves the team's namespaces in its status.
  assert.ok(teamDeps.has('RoleBinding/b3'));
  assert.ok(dependents('Namespace', [ns('v-prod', { 'iam.gatehouse.dev/team': 'vision' })], w).has('RoleBinding/b3'));
  const bindingDeps = dependents('RoleBinding', [binding('b2', { role: 'top', subjects: [{ kind: 'Team', name: 'vision' }] })], w);
  assert.ok(bindingDeps.has('Role/top') && bindingDeps.has('User/alice'));
  const userDeps = dependents('User', [user('alice', 'Active', { username: 'alice@x' })], w);
  assert.ok(userDeps.has('Team/vision'));
});
