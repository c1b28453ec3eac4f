// The console's page models: one row per user with every role, teams, the role matrix, paging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Role, RoleBinding, Team, User } from '../../../src/api/types.js';
import { PermissionIndex } from '../../../src/authz/index.js';
import { parseConfig } from '../../../src/config.js';
import { paged, userRows, userPage, pendingRows, teamRows, roleMatrix, ruleOf, MAX_PAGE } from '../../../src/console/views.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const users: User[] = [
  { metadata: { name: 'alice', creationTimestamp: '2026-01-02T00:00:00Z' }, spec: { username: 'alice@example.com', email: 'alice@example.com', state: 'Active' } },
  { metadata: { name: 'bob', creationTimestamp: '2026-01-03T00:00:00Z' }, spec: { state: 'Pending' } },
  { metadata: { name: 'carl', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { state: 'Pending', superuser: true } },
];
const teams: Team[] = [{ metadata: { name: 'vision' }, spec: { members: ['alice@example.com'], groups: ['oidc:ml'], namespaces: ['vision-dev'] } }];
const bindings: RoleBinding[] = [
  { metadata: { name: 'vision-researchers' }, spec: { role: 'researcher', subjects: [{ kind: 'Team', name: 'vision' }], scope: { teams: ['vision'] } } },
  { metadata: { name: 'alice-admin' }, spec: { role: 'admin', subjects: [{ kind: 'User', name: 'alice' }], scope: { cluster: true }, expiresAt: '2026-07-01T00:00:00Z' } },
  { metadata: { name: 'alice-old' }, spec: { role: 'viewer', subjects: [{ kind: 'User', name: 'alice@example.com' }], scope: { namespaces: ['a'] }, expiresAt: '2026-01-01T00:00:00Z' } },
  { metadata: { name: 'ml-group' }, spec: { role: 'viewer', subjects: [{ kind: 'Group', name: 'oidc:ml' }], scope: { cluster: true } } },
];

test('userRows: one row per user, every role with its scope, via which subject, and the next expiry', () => {
  const rows = userRows({ users, teams, bindings }, NOW);
  assert.deepEqual(rows.map((r) => r.name), ['alice', 'bob', 'carl']);
  const alice = rows[0]!;
  assert.deepEqual(alice.teams, ['vision']);
  assert.deepEqual(alice.roles.map((g) => [g.binding, g.role, g.scope, g.via, g.expired]), [
    ['alice-admin', 'admin', 'cluster', 'User alice', false],
    ['alice-old', 'viewer', 'namespaces: a', 'User alice@example.com', true],
    ['vision-researchers', 'researcher', 'teams: vision', 'Team vision', false],
  ]);
  assert.equal(alice.nextExpiry, '2026-07-01T00:00:00Z', 'the expired grant is not the next expiry');
  assert.deepEqual(rows[1]!.roles, []);
  assert.equal(rows[2]!.superuser, true);
});

test('pendingRows: only Pending users, oldest registration first', () => {
  assert.deepEqual(pendingRows(users).map((r) => r.name), ['carl', 'bob']);
});

test('teamRows: members, groups, namespaces, what the team holds and what is scoped to it', () => {
  const [vision] = teamRows({ teams, bindings }, NOW);
  assert.deepEqual(vision?.members, ['alice@example.com']);
  assert.deepEqual(vision?.holds.map((h) => h.binding), ['vision-researchers']);
  assert.deepEqual(vision?.scopedHere, [{ binding: 'vision-researchers', role: 'researcher', subjects: 'Team vision' }]);
});

test('paged: every word must match, case-insensitively; offsets and limits are clamped', () => {
  const items = Array.from({ length: 120 }, (_, i) => `user-${i} ${i % 2 ? 'odd' : 'even'}`);
  const p = paged(items, (x) => x, 'ODD user-1', 0, 5);
  assert.equal(p.total, 16);
  assert.deepEqual(p.items, ['user-1 odd', 'user-11 odd', 'user-13 odd', 'user-15 odd', 'user-17 odd']);
  assert.equal(paged(items, (x) => x, '', 1000, 50).offset, 119);
  assert.equal(paged(items, (x) => x, '', -5, 1e9).limit, MAX_PAGE);
  assert.equal(paged(items, (x) => x, '', Number.NaN, Number.NaN).limit, 50);
  assert.equal(paged([], (x: string) => x, 'x', 3, 10).total, 0);
});

test('roleMatrix: CRUD letters per resource, includes folded in, presets marked, other grants apart', () => {
  const roles: Role[] = [
    { metadata: { name: 'researcher', labels: { 'iam.gatehouse.dev/preset': 'runai' } }, spec: { permissions: ['batch/jobs:*', 'pods:read', 'pods:create', 'me'], includes: ['viewer'] } },
    { metadata: { name: 'viewer' }, spec: { permissions: ['services:get', 'configmaps:read', 'deployments:update,delete', '/metrics:get'] } },
  ];
  const index = PermissionIndex.build({ roles }, parseConfig({}), () => NOW);
  const m = roleMatrix(index);
  const r = m.rows.find((x) => x.role === 'researcher')!;
  assert.equal(r.preset, 'runai');
  assert.equal(r.cells['batch/jobs'], '*');
  assert.equal(r.cells['pods'], 'CR');
  assert.equal(r.cells['services'], '+get', 'get alone is not the whole read alias');
  assert.equal(r.cells['configmaps'], 'R', 'included from viewer');
  assert.deepEqual(r.other, ['me', '/metrics:get']);
  const v = m.rows.find((x) => x.role === 'viewer')!;
  assert.equal(v.preset, undefined);
  assert.equal(v.cells['deployments'], 'UD');
  assert.equal(v.cells['pods'], undefined);
  assert.ok(m.resources.includes('batch/jobs') && m.resources.includes('pods'));
});

test('ruleOf: the rule id of an admission denial', () => {
  assert.equal(ruleOf('admission webhook "validate.iam.gatehouse.dev" denied the request: Gatehouse denied: spec.scope: x (rule: delegated-scope)'), 'delegated-scope');
  assert.equal(ruleOf('forbidden: User "x" cannot list'), undefined);
});

test('userPage: the same rows as userRows, paged; a search also finds roles and teams', () => {
  const world = { users, teams, bindings };
  const all = userRows(world, NOW);
  assert.deepEqual(userPage(world, NOW, { q: '', offset: 1, limit: 1 }).items, [all[1]]);
  assert.equal(userPage(world, NOW, { q: '', offset: 0, limit: 10 }).total, 3);
  assert.deepEqual(userPage(world, NOW, { q: 'researcher vision', offset: 0, limit: 10 }).items.map((r) => r.name), ['alice']);
  assert.deepEqual(userPage(world, NOW, { q: '', state: 'Pending', offset: 0, limit: 10 }).items.map((r) => r.name), ['bob', 'carl']);
});

test('teamRows: tree order with depth and parent, a usage bar per budgeted resource', () => {
  const gpu = 'requests.nvidia.com/gpu';
  const tree: Team[] = [
    { metadata: { name: 'zeta' }, spec: {} },
    { metadata: { name: 'vision' }, spec: { parent: 'research', quota: { hard: { [gpu]: '4' } } } },
    { metadata: { name: 'research' }, spec: { quota: { hard: { [gpu]: '8', 'requests.memory': '64Gi' } } },
      status: { quota: { hard: { [gpu]: '8', 'requests.memory': '64Gi' }, used: { [gpu]: '6', 'requests.memory': '16Gi' } } } },
    { metadata: { name: 'lost' }, spec: { parent: 'gone' } },
  ];
  const rows = teamRows({ teams: tree, bindings: [] }, NOW);
  assert.deepEqual(rows.map((r) => [r.name, r.depth, r.parent, r.note]), [
    ['lost', 0, 'gone', 'parent gone not found'],
    ['research', 0, null, null],
    ['vision', 1, 'research', null],
    ['zeta', 0, null, null],
  ]);
  const research = rows[1]!;
  assert.deepEqual(research.budget, [
    { resource: 'requests.memory', hard: '64Gi', used: '16Gi', percent: 25 },
    { resource: gpu, hard: '8', used: '6', percent: 75 },
  ]);
  // No status yet: the team's own budget, nothing used.
  assert.deepEqual(rows[2]!.budget, [{ resource: gpu, hard: '4', used: '0', percent: 0 }]);
  assert.deepEqual(rows[3]!.budget, []);
});
