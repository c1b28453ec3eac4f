// Subject ids are counted references (issue 32, item 7): create/delete cycles of bindings, teams,
// users and namespaces give every id back, ids are reused instead of growing the id-indexed arrays,
// and an index that went through the cycles answers as a fresh build of what is left.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PermissionIndex } from '../../../src/authz/index.js';
import { decide } from '../../../src/authz/decide.js';
import { SubjectIds } from '../../../src/authz/subject-ids.js';
import { binding, ns, policy, req, role, team, user } from '../../support/authz.js';
import { assertSameAnswers } from '../../support/index-equivalence.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const clock = () => NOW;
const longGroup = (cycle: number, i: number): string => `oidc:${'g'.repeat(200)}-${cycle}-${i}`;

describe('SubjectIds', () => {
  it('the last release frees the id and its name, and the id is reused', () => {
    const ids = new SubjectIds();
    const arr = ids.array<string>();
    const a = ids.acquire('Group', 'g1');
    assert.equal(ids.acquire('Group', 'g1'), a);
    arr[a] = 'x';
    ids.release(a);
    assert.equal(ids.find('Group', 'g1'), a, 'one reference still held');
    ids.release(a);
    assert.equal(ids.find('Group', 'g1'), undefined);
    assert.equal(ids.live, 0);
    assert.equal(arr[a], undefined, 'a freed id leaves nothing in the arrays');
    const b = ids.acquire('User', 'u1');
    assert.equal(b, a, 'freed ids are reused before the arrays grow');
    assert.equal(ids.name(b), 'u1');
    assert.equal(ids.capacity, 1);
    assert.throws(() => ids.release(0));
    ids.release(b);
    assert.throws(() => ids.release(b), /released more often than acquired/);
  });
});

describe('PermissionIndex: subject ids are freed', () => {
  it('1,000-subject bindings created and deleted 50 times: live ids and allocated ids return to the baseline', () => {
    const index = PermissionIndex.build({ roles: [role('viewer', ['pods:get'])], users: [user('alice')], namespaces: [ns('proj-a')] }, policy({ defaults: { team: 'everyone' } }), clock);
    const base = index.subjectCounts();
    let peak = 0;
    for (let cycle = 0; cycle < 50; cycle++) {
      for (let b = 0; b < 3; b++) {
        const subjects = Array.from({ length: 1000 }, (_, i) => `group:${longGroup(cycle, b * 1000 + i)}`);
        index.apply({ op: 'upsert', kind: 'RoleBinding', object: binding(`big-${b}`, 'viewer', subjects, { namespaces: ['proj-a'] }) });
      }
      peak = Math.max(peak, index.subjectCounts().liveIds);
      assert.equal(decide(index, req('alice', 'get pods', 'proj-a', { groups: [longGroup(cycle, 1500)] })).verdict, 'allow');
      for (let b = 0; b < 3; b++) index.apply({ op: 'delete', kind: 'RoleBinding', name: `big-${b}` });
      assert.equal(decide(index, req('alice', 'get pods', 'proj-a', { groups: [longGroup(cycle, 1500)] })).verdict, 'noOpinion');
    }
    const end = index.subjectCounts();
    assert.equal(peak, base.liveIds + 3000);
    assert.equal(end.liveIds, base.liveIds, 'every id given back');
    assert.ok(end.allocatedIds <= base.allocatedIds + 3000, `ids reused: ${end.allocatedIds} allocated`);
    assert.equal(end.memberSets, base.memberSets);
  });

  it('teams, members, groups, namespace labels, scope teams and users: ids and member sets return to the baseline', () => {
    const index = PermissionIndex.build({ roles: [role('r', ['pods:get'])], users: [user('alice'), user('bob')] }, policy(), clock);
    const base = index.subjectCounts();
    for (let cycle = 0; cycle < 20; cycle++) {
      const t = `team-${cycle}`;
      index.apply({ op: 'upsert', kind: 'User', object: user(`u-${cycle}`, { username: `name-${cycle}` }) });
      index.apply({ op: 'upsert', kind: 'Team', object: team(t, { members: [`u-${cycle}`, `ghost-${cycle}`, 'alice'], groups: [`g-${cycle}`, `g-${cycle}`], namespaces: [`n-${cycle}`] }) });
      index.apply({ op: 'upsert', kind: 'Namespace', object: ns(`l-${cycle}`, { 'iam.gatehouse.dev/team': t }) });
      index.apply({ op: 'upsert', kind: 'RoleBinding', object: binding(`b-${cycle}`, 'r', [`team:${t}`, `u-${cycle}`, `team:${t}`], { teams: [t, `other-${cycle}`] }) });
      assert.equal(decide(index, req(`name-${cycle}`, 'get pods', `l-${cycle}`)).verdict, 'allow');
      assert.equal(decide(index, req('bob', 'get pods', `n-${cycle}`, { groups: [`g-${cycle}`] })).verdict, 'allow');
      // Changes in place keep the counts straight too.
      index.apply({ op: 'upsert', kind: 'Team', object: team(t, { members: ['alice'], groups: [`h-${cycle}`], namespaces: [`n-${cycle}`] }) });
      index.apply({ op: 'upsert', kind: 'User', object: user(`u-${cycle}`, { username: `other-${cycle}` }) });
      index.apply({ op: 'delete', kind: 'RoleBinding', name: `b-${cycle}` });
      index.apply({ op: 'delete', kind: 'Namespace', name: `l-${cycle}` });
      index.apply({ op: 'delete', kind: 'Team', name: t });
      index.apply({ op: 'delete', kind: 'User', name: `u-${cycle}` });
    }
    assert.deepEqual(index.subjectCounts().liveIds, base.liveIds);
    assert.deepEqual(index.subjectCounts().memberSets, base.memberSets);
  });

  it('any sequence of changes: the index answers as a rebuild of what is left, and ids match what is held', () => {
    const names = ['a', 'b', 'c'];
    const change = fc.oneof(
      fc.record({ kind: fc.constant('User' as const), name: fc.constantFrom(...names), username: fc.constantFrom(...names, 'x'), del: fc.boolean() }),
      fc.record({ kind: fc.constant('Team' as const), name: fc.constantFrom('t1', 't2'), members: fc.subarray(names), groups: fc.subarray(['g1', 'g2']), nss: fc.subarray(['n1', 'n2']), del: fc.boolean() }),
      fc.record({ kind: fc.constant('Namespace' as const), name: fc.constantFrom('n1', 'n2', 'n3'), team: fc.constantFrom('t1', 't2', 't3', ''), del: fc.boolean() }),
      fc.record({ kind: fc.constant('RoleBinding' as const), name: fc.constantFrom('b1', 'b2'), subjects: fc.subarray(['a', 'b', 'team:t1', 'team:t3', 'group:g1', 'group:g9']), teams: fc.subarray(['t1', 't2', 't4']), del: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(change, { maxLength: 30 }), (changes) => {
        const index = PermissionIndex.build({ roles: [role('r', ['pods:get'])] }, policy(), clock);
        const base = index.subjectCounts().liveIds;
        for (const c of changes) {
          if (c.del) {
            index.apply({ op: 'delete', kind: c.kind, name: c.name });
            continue;
          }
          if (c.kind === 'User') index.apply({ op: 'upsert', kind: 'User', object: user(c.name, { username: c.username }) });
          else if (c.kind === 'Team') index.apply({ op: 'upsert', kind: 'Team', object: team(c.name, { members: c.members, groups: c.groups, namespaces: c.nss }) });
          else if (c.kind === 'Namespace') index.apply({ op: 'upsert', kind: 'Namespace', object: ns(c.name, c.team ? { 'iam.gatehouse.dev/team': c.team } : {}) });
          else index.apply({ op: 'upsert', kind: 'RoleBinding', object: binding(c.name, 'r', c.subjects, c.teams.length > 0 ? { teams: c.teams } : { cluster: true }) });
        }
        const rebuilt = PermissionIndex.build(
          { roles: index.listRoles(), users: index.listUsers(), teams: index.listTeams(), namespaces: index.listNamespaces(), bindings: index.listBindings() },
          policy(),
          clock,
        );
        assertSameAnswers(index, rebuilt);
        // What is left holds exactly the ids a fresh build of it holds.
        assert.equal(index.subjectCounts().liveIds - base, rebuilt.subjectCounts().liveIds - base);
        for (const u of index.listUsers()) index.apply({ op: 'delete', kind: 'User', name: u.metadata.name });
        for (const t of ['t1', 't2']) index.apply({ op: 'delete', kind: 'Team', name: t });
        for (const n of index.listNamespaces()) index.apply({ op: 'delete', kind: 'Namespace', name: n.metadata.name });
        for (const b of index.listBindings()) index.apply({ op: 'delete', kind: 'RoleBinding', name: b.metadata.name });
        assert.equal(index.subjectCounts().liveIds, base);
        assert.equal(index.subjectCounts().memberSets, 0);
      }),
      { numRuns: 300 },
    );
  });
});
