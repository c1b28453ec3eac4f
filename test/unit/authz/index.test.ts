import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionIndex } from '../../../src/authz/index.js';
import { decide } from '../../../src/authz/decide.js';
import { binding, ns, policy, req, role, team, user } from '../../support/authz.js';
import { assertSameAnswers } from '../../support/index-equivalence.js';
import { bindingDiagnostics, roleDiagnostics, teamDiagnostics, userDiagnostics } from '../../../src/controller/diagnostics.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const clock = () => NOW;

describe('PermissionIndex: single-object changes', () => {
  it('an upsert, an update and a delete end where a rebuild ends', () => {
    const index = new PermissionIndex(policy(), clock);
    index.apply({ op: 'upsert', kind: 'Role', object: role('r', ['pods:get']) });
    index.apply({ op: 'upsert', kind: 'User', object: user('a') });
    index.apply({ op: 'upsert', kind: 'Team', object: team('t', { members: ['a'], namespaces: ['n1'] }) });
    index.apply({ op: 'upsert', kind: 'RoleBinding', object: binding('b', 'r', ['team:t'], { teams: ['t'] }) });
    index.apply({ op: 'upsert', kind: 'Team', object: team('t', { members: ['a'], namespaces: ['n2'] }) });
    index.apply({ op: 'upsert', kind: 'Namespace', object: ns('n3', { 'iam.gatehouse.dev/team': 't' }) });
    index.apply({ op: 'delete', kind: 'Namespace', name: 'n3' });
    index.markSynced();
    assert.equal(decide(index, req('a', 'get pods', 'n2')).verdict, 'allow');
    assert.equal(decide(index, req('a', 'get pods', 'n1')).verdict, 'noOpinion');
    assert.equal(decide(index, req('a', 'get pods', 'n3')).verdict, 'noOpinion');
    const rebuilt = PermissionIndex.build(
      { roles: [role('r', ['pods:get'])], users: [user('a')], teams: [team('t', { members: ['a'], namespaces: ['n2'] })], bindings: [binding('b', 'r', ['team:t'], { teams: ['t'] })] },
      policy(),
      clock,
    );
    assertSameAnswers(index, rebuilt);
  });

  it('a role change recompiles the roles that include it', () => {
    const index = PermissionIndex.build(
      { users: [user('a')], roles: [role('base', ['pods:get']), role('mid', [], { includes: ['base'] }), role('top', [], { includes: ['mid'] })], bindings: [binding('b', 'top', ['a'], { cluster: true })] },
      policy(),
      clock,
    );
    assert.equal(decide(index, req('a', 'get pods', 'x')).verdict, 'allow');
    index.apply({ op: 'upsert', kind: 'Role', object: role('base', ['jobs:get']) });
    assert.equal(decide(index, req('a', 'get pods', 'x')).verdict, 'noOpinion');
    assert.equal(decide(index, req('a', 'get jobs', 'x')).verdict, 'allow');
    index.apply({ op: 'delete', kind: 'Role', name: 'base' });
    assert.equal(decide(index, req('a', 'get jobs', 'x')).verdict, 'noOpinion');
    assert.deepEqual(roleDiagnostics(index, 'mid')?.missingIncludes, ['base']);
    assert.deepEqual(roleDiagnostics(index, 'top')?.missingIncludes, []);
  });

  it('replaceAll: objects that vanished leave the index', () => {
    const index = PermissionIndex.build({ users: [user('a'), user('b')], roles: [role('r', ['*:*'])], bindings: [binding('x', 'r', ['a', 'b'], { cluster: true })] }, policy(), clock);
    const g = index.generation;
    index.replaceAll('User', [user('a')]);
    assert.ok(index.generation > g);
    assert.equal(index.getUser('b'), undefined);
    assert.equal(decide(index, req('b', 'get pods', 'n')).code, 'unknownUser');
    assert.equal(decide(index, req('a', 'get pods', 'n')).verdict, 'allow');
  });
});

describe('PermissionIndex: diagnostics for status', () => {
  const index = PermissionIndex.build(
    {
      users: [user('alice'), user('al2', { username: 'alice' })],
      roles: [
        role('a', ['pods:get', 'bad'], { includes: ['b', 'ghost'] }),
        role('b', ['jobs:get'], { includes: ['c'] }),
        role('c', [], { includes: ['a'], rules: [{ apiGroups: [''], verbs: ['get'] }] }),
        role('loner', [], { includes: ['loner'] }),
      ],
      teams: [team('t', { members: ['alice', 'nobody'], namespaces: ['n1'] })],
      bindings: [
        binding('rb', 'a', ['alice', 'team:t', 'team:missing', 'ghost-user', 'group:g'], { teams: ['t'] }, '2026-01-01T00:00:00Z'),
        binding('rb2', 'nope', ['alice'], { cluster: true }),
      ],
      namespaces: [ns('n2', { 'iam.gatehouse.dev/team': 't' })],
    },
    policy(),
    clock,
  );
  it('reports include cycles instead of looping, and invalid permissions', () => {
    const a = roleDiagnostics(index, 'a')!;
    assert.deepEqual(a.cycle, ['a', 'b', 'c', 'a']);
    assert.deepEqual(a.invalidPermissions, ['bad']);
    assert.match(a.problems[0]!, /"bad".*missing ":action"/);
    assert.deepEqual(a.missingIncludes, ['ghost']);
    assert.equal(a.bindingCount, 1);
    assert.deepEqual(roleDiagnostics(index, 'c')!.invalidPermissions.length, 1);
    assert.deepEqual(roleDiagnostics(index, 'loner')!.cycle, ['loner', 'loner']);
    // Every role on the cycle holds all of the cycle's permissions.
    assert.deepEqual(index.compiledRole('c')!.atoms.map((x) => x.text).sort(), ['jobs:get', 'pods:get']);
  });
  it('team: member count, resolved namespaces, missing members', () => {
    assert.deepEqual(teamDiagnostics(index, 't'), { memberCount: 2, namespaces: ['n1', 'n2'], missingMembers: ['nobody'], bindingCount: 1 });
  });
  it('binding: role found, unresolved subjects, resolved namespaces, expired', () => {
    assert.deepEqual(bindingDiagnostics(index, 'rb'), {
      scope: 'teams: t',
      subjectCount: 5,
      roleFound: true,
      unresolvedSubjects: ['Team missing', 'User ghost-user'],
      resolvedNamespaces: ['n1', 'n2'],
      expired: true,
      invalidExpiresAt: false,
    });
    assert.equal(bindingDiagnostics(index, 'rb2')!.roleFound, false);
  });
  it('user: teams, live roles, duplicate usernames', () => {
    assert.deepEqual(userDiagnostics(index, 'alice'), { phase: 'Active', teams: ['t'], roles: ['nope'], seed: false, duplicateUsernameOf: ['al2'], aliases: ['alice'] });
    assert.deepEqual(index.bindingsForRole('a'), ['rb']);
  });
});

describe('PermissionIndex: nextExpiry', () => {
  it('is the earliest future expiresAt, and follows changes and time', () => {
    const t1 = '2026-07-01T00:00:00Z';
    const t2 = '2026-08-01T00:00:00Z';
    const index = PermissionIndex.build(
      { roles: [role('r', ['pods:get'])], bindings: [binding('a', 'r', ['u'], { cluster: true }, t2), binding('b', 'r', ['u'], { cluster: true }, t1), binding('c', 'r', ['u'], { cluster: true })] },
      policy(),
      clock,
    );
    assert.equal(index.nextExpiry(NOW), Date.parse(t1));
    assert.equal(index.nextExpiry(NOW + 1000), Date.parse(t1));
    assert.equal(index.nextExpiry(Date.parse(t1)), Date.parse(t2), 'an expiry at now is not in the future');
    assert.equal(index.nextExpiry(NOW), Date.parse(t1), 'asking for an earlier time again');
    index.apply({ op: 'delete', kind: 'RoleBinding', name: 'b' });
    assert.equal(index.nextExpiry(NOW), Date.parse(t2));
    assert.equal(index.nextExpiry(Date.parse(t2)), null);
  });

  it('the generation moves once when bindings expire, with nothing re-applied; an unchanged update moves nothing', () => {
    let now = NOW;
    const t1 = '2026-07-01T00:00:00Z';
    const b = binding('b', 'r', ['u'], { cluster: true }, t1);
    const index = PermissionIndex.build({ roles: [role('r', ['pods:get'])], users: [user('u')], bindings: [b] }, policy(), () => now);
    const g = index.generation;
    assert.equal(index.apply({ op: 'upsert', kind: 'RoleBinding', object: { ...b, status: { expired: false } } as never }), false, 'a status-only update is no change');
    assert.equal(index.generation, g);
    now = Date.parse(t1) - 1;
    assert.equal(index.generation, g, 'not before the expiry');
    now = Date.parse(t1);
    assert.equal(index.generation, g + 1);
    now += 60_000;
    assert.equal(index.generation, g + 1, 'once');
    assert.equal(index.apply({ op: 'upsert', kind: 'RoleBinding', object: binding('b', 'r', ['u'], { cluster: true }) }), true);
    assert.equal(index.generation, g + 2);
  });
});

describe('PermissionIndex: issue 16 (an object being deleted grants nothing; one resolution of names to Users)', () => {
  const deleting = <T extends { metadata: { deletionTimestamp?: string } }>(o: T): T => ({ ...o, metadata: { ...o.metadata, deletionTimestamp: '2026-05-31T00:00:00Z' } });
  const world = () => ({
    users: [user('mia'), user('svc', { username: 'svc-bot' })],
    roles: [role('r', ['pods:get'])],
    teams: [team('t', { members: ['mia'], namespaces: ['n'] })],
    bindings: [binding('direct', 'r', ['mia'], { namespaces: ['a'] }), binding('via-team', 'r', ['team:t'], { namespaces: ['b'] }), binding('svc', 'r', ['svc'], { namespaces: ['w'] })],
  });
  const verdict = (index: PermissionIndex, u: string, namespace: string) => decide(index, req(u, 'get pods', namespace)).verdict;

  it('a RoleBinding, Team or Role being deleted grants nothing from that moment; a rebuild agrees', () => {
    const index = PermissionIndex.build(world(), policy(), clock);
    assert.equal(verdict(index, 'mia', 'a'), 'allow');
    assert.equal(verdict(index, 'mia', 'b'), 'allow');
    index.apply({ op: 'upsert', kind: 'RoleBinding', object: deleting(binding('direct', 'r', ['mia'], { namespaces: ['a'] })) });
    assert.equal(verdict(index, 'mia', 'a'), 'noOpinion');
    index.apply({ op: 'upsert', kind: 'Team', object: deleting(team('t', { members: ['mia'], namespaces: ['n'] })) });
    assert.equal(verdict(index, 'mia', 'b'), 'noOpinion');
    index.apply({ op: 'upsert', kind: 'Role', object: deleting(role('r', ['pods:get'])) });
    assert.equal(verdict(index, 'svc-bot', 'w'), 'noOpinion');
    const w = world();
    const rebuilt = PermissionIndex.build({ ...w, roles: w.roles.map(deleting), teams: w.teams.map(deleting), bindings: [deleting(w.bindings[0]!), ...w.bindings.slice(1)] }, policy(), clock);
    assertSameAnswers(index, rebuilt);
  });

  it('a User being deleted counts as Suspended (denied), and keeps its username taken', () => {
    const index = PermissionIndex.build(world(), policy(), clock);
    index.apply({ op: 'upsert', kind: 'User', object: deleting(user('mia')) });
    const d = decide(index, req('mia', 'get pods', 'a'));
    assert.equal(d.verdict, 'deny');
    assert.match(d.reason, /being deleted/);
    assert.equal(index.userRecord('mia')?.state, 'Suspended');
    assert.equal(index.getUserByUsername('mia')?.metadata.name, 'mia');
  });

  it('a username that is another User\'s name does not reach what names that User', () => {
    const index = PermissionIndex.build({ ...world(), users: [...world().users, user('impostor', { username: 'svc' })] }, policy(), clock);
    assert.equal(verdict(index, 'svc', 'w'), 'noOpinion');
    assert.equal(verdict(index, 'svc-bot', 'w'), 'allow');
    assert.deepEqual(index.userRecord('svc')?.aliases, ['impostor']);
    // With no User named svc any more, the name resolves to the User whose username it is.
    index.apply({ op: 'delete', kind: 'User', name: 'svc' });
    assert.equal(verdict(index, 'svc', 'w'), 'allow');
    assert.deepEqual(index.userRecord('svc')?.aliases, ['impostor', 'svc']);
    const rebuilt = PermissionIndex.build({ ...world(), users: [user('mia'), user('impostor', { username: 'svc' })] }, policy(), clock);
    assertSameAnswers(index, rebuilt);
  });
});
