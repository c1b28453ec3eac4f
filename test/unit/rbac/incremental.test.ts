// The incremental RBAC compiler (src/rbac/compile.ts) against a fresh compile: random worlds are
// changed one object at a time (the clock jumps past expiries, discovery finds a new API group), and after every change the
// compiler's objects, subject counts and next expiry equal compileRbac() of the same index, every
// object that moved is in the update's `changed` set (what the applier checks), and far fewer
// units are recompiled than a full compile would.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionIndex, type Change } from '../../../src/authz/index.js';
import { compileRbac, RbacCompiler } from '../../../src/rbac/compile.js';
import type { RbacObject } from '../../../src/rbac/objects.js';
import { indexSource } from '../../../src/rbac/source.js';
import { binding, ns, policy, role, team, user } from '../../support/authz.js';
import { randomRbacWorld, RBAC_WORLD_API_GROUPS, RBAC_WORLD_CONFIG, type RbacWorld } from '../../support/rbac-world.js';
import { prng } from '../../../bench/world.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const BIGGER = { users: 13, teams: 5, roles: 10, bindings: 18, namespaces: 9 };
const SMALLER = { users: 7, teams: 3, roles: 6, bindings: 10, namespaces: 4 };

const texts = (objects: ReadonlyMap<string, RbacObject>): Map<string, string> => new Map([...objects].map(([k, o]) => [k, JSON.stringify(o)]));

/** Every object of `to` upserted and every object of `from` missing in `to` deleted, one Change each. */
function changesBetween(from: RbacWorld, to: RbacWorld): Change[] {
  const out: Change[] = [];
  const kinds = [['Namespace', 'namespaces'], ['Role', 'roles'], ['User', 'users'], ['Team', 'teams'], ['RoleBinding', 'bindings']] as const;
  for (const [kind, field] of kinds) {
    const names = new Set(to[field].map((o) => o.metadata.name));
    for (const o of to[field]) out.push({ op: 'upsert', kind, object: o } as Change);
    for (const o of from[field]) if (!names.has(o.metadata.name)) out.push({ op: 'delete', kind, name: o.metadata.name });
  }
  return out;
}

describe('RbacCompiler: an update after any change equals a fresh compile', () => {
  it('30 random change sequences, compared after every change', () => {
    let recompiled = 0;
    let units = 0;
    let steps = 0;
    for (let seed = 1; seed <= 30; seed++) {
      let now = NOW;
      const from = randomRbacWorld(seed, undefined, NOW);
      // Worlds of other sizes, so objects also appear and vanish (names are w-ns0, w-ns1, ...).
      const to = randomRbacWorld(seed + 1000, seed % 2 === 0 ? BIGGER : SMALLER, NOW);
      const index = PermissionIndex.build(from, policy(RBAC_WORLD_CONFIG), () => now);
      index.markSynced();
      const src = indexSource(index);
      const compiler = new RbacCompiler(3);
      let apiGroups = RBAC_WORLD_API_GROUPS;
      let previous = texts(compiler.update(src, { now, apiGroups }).objects);
      const rand = prng(seed);
      const sequence: Array<Change | 'tick' | 'discovery'> = [...changesBetween(from, to), 'tick', 'discovery'];
      for (let i = sequence.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [sequence[i], sequence[j]] = [sequence[j]!, sequence[i]!];
      }
      for (const step of sequence) {
        if (step === 'tick') now += 31 * DAY; // past every binding's expiry in these worlds
        else if (step === 'discovery') apiGroups = [...apiGroups, 'late.example.com']; // a CRD group installed later
        else index.apply(step);
        const inc = compiler.update(src, { now, apiGroups });
        const fresh = compileRbac(src, { now, apiGroups, maxSubjects: 3 });
        const what = `seed ${seed}, after ${typeof step === 'string' ? step : `${step.op} ${step.kind} ${step.op === 'delete' ? step.name : step.object.metadata.name}`}`;
        const got = texts(inc.objects);
        assert.deepEqual([...got].sort(), [...texts(fresh.objects)].sort(), what);
        assert.deepEqual([...inc.subjectCounts].sort(), [...fresh.subjectCounts].sort(), what);
        assert.equal(inc.nextExpiry, fresh.nextExpiry, what);
        for (const k of new Set([...previous.keys(), ...got.keys()])) {
          if (previous.get(k) !== got.get(k)) assert.ok(inc.changed.has(k), `${what}: ${k} moved but is not in changed`);
        }
        previous = got;
        recompiled += inc.recompiled;
        units += index.listRoles().length + index.listBindings().length + index.listNamespaces().length + 3;
        steps++;
      }
    }
    assert.ok(steps > 30 * 30, `${steps} steps`);
    // Incremental: one change recompiles a few units, not the world.
    assert.ok(recompiled < units * 0.25, `${recompiled} of ${units} units recompiled`);
  });
});

describe('RbacCompiler: a Namespace event re-asks only that namespace\'s questions (issue 26)', () => {
  it('a new team namespace reads that namespace and its team, not every namespace and team', () => {
    const teams = Array.from({ length: 40 }, (_, i) => team(`t${i}`, { members: i === 7 ? ['alice'] : [] }));
    const namespaces = Array.from({ length: 40 }, (_, i) => ns(`n${i}`, { 'iam.gatehouse.dev/team': `t${i}` }));
    const bindings = Array.from({ length: 40 }, (_, i) => binding(`b${i}`, 'r', [{ kind: 'Team', name: `t${i}` }], { teams: [`t${i}`] }));
    const index = PermissionIndex.build({ users: [user('alice')], roles: [role('r', ['pods:get'])], teams, bindings, namespaces }, policy({}));
    const src = indexSource(index);
    const asked = { teamNamespaces: [] as string[], namespaces: 0, namespace: [] as string[] };
    const counting = {
      ...src,
      // A team's own namespaces (default roles) and a `teams:` scope's subtree (bindings): both count.
      teamNamespaces: (t: string) => (asked.teamNamespaces.push(t), src.teamNamespaces(t)),
      subtreeNamespaces: (t: string) => (asked.teamNamespaces.push(t), src.subtreeNamespaces(t)),
      namespaces: () => (asked.namespaces++, src.namespaces()),
      namespace: (n: string) => (asked.namespace.push(n), src.namespace(n)),
    };
    const compiler = new RbacCompiler();
    compiler.update(counting, { now: NOW });
    asked.teamNamespaces = [];
    asked.namespaces = 0;
    asked.namespace = [];
    index.apply({ op: 'upsert', kind: 'Namespace', object: ns('new-ns', { 'iam.gatehouse.dev/team': 't7' }) });
    const out = compiler.update(counting, { now: NOW });
    assert.deepEqual([...new Set(asked.teamNamespaces)], ['t7'], 'only the new namespace\'s team');
    assert.equal(asked.namespaces, 0, 'no listing of every namespace');
    assert.deepEqual(asked.namespace, ['new-ns']);
    assert.ok(out.objects.has('RoleBinding/new-ns/gatehouse:binding:b7'));
    assert.deepEqual(texts(out.objects), texts(compileRbac(src, { now: NOW }).objects));
  });
});
