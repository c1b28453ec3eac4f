// What the rbac mode's memory layout promises (issue 26, docs/rbac.md "Memory layout"): equal
// values are one object, shared between desired objects and between cached ones; the compact
// forms give the same answers as the values they replace.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PermissionIndex } from '../../../src/authz/index.js';
import { RbacCompiler } from '../../../src/rbac/compile.js';
import { HASH_ANNOTATION, MANAGED_BY, MANAGED_BY_LABEL, SOURCE_ANNOTATION, SOURCE_LABEL, type RbacBindingObject, type RbacObject } from '../../../src/rbac/objects.js';
import { indexSource } from '../../../src/rbac/source.js';
import { SubjectPool, subjectList } from '../../../src/rbac/units.js';
import { contentHash, Interner, slimmer } from '../../../src/controller/rbac-applier.js';
import { binding, ns, policy, role, team, user } from '../../support/authz.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

function build(world: Parameters<typeof PermissionIndex.build>[0], raw: Record<string, unknown> = {}): PermissionIndex {
  const index = PermissionIndex.build(world, policy(raw), () => NOW);
  index.markSynced();
  return index;
}
const bindingObjects = (objects: ReadonlyMap<string, RbacObject>): RbacBindingObject[] => [...objects.values()].filter((o): o is RbacBindingObject => o.kind !== 'ClusterRole');

describe('the compiler shares equal values (issue 26)', () => {
  const world = () => build({
    users: Array.from({ length: 30 }, (_, i) => user(`u${String(i).padStart(2, '0')}`)),
    roles: [role('reader', ['pods:read']), role('dflt', ['configmaps:get'])],
    teams: [team('all', { namespaces: ['a', 'b', 'c'] })],
    namespaces: [ns('a'), ns('b'), ns('c')],
    bindings: [binding('one', 'reader', ['u01', 'u02'], { namespaces: ['a', 'b'] }), binding('two', 'reader', ['u02', 'u03'], { namespaces: ['a'] })],
  }, { defaults: { role: 'dflt', team: 'all' } });

  it('one subject object per name, one labels object per source kind, one subject array per binding', () => {
    const compiler = new RbacCompiler(10);
    const { objects } = compiler.update(indexSource(world()), { now: NOW });
    const byName = new Map<string, object>();
    for (const o of bindingObjects(objects)) {
      for (const s of o.subjects) {
        const seen = byName.get(`${s.kind}:${s.name}`);
        if (seen !== undefined) assert.equal(s, seen, `${s.name} is one object`);
        else byName.set(`${s.kind}:${s.name}`, s);
      }
    }
    const one = bindingObjects(objects).filter((o) => o.metadata.name === 'gatehouse:binding:one');
    assert.equal(one.length, 2);
    assert.equal(one[0]!.subjects, one[1]!.subjects, 'a binding writes one list in every namespace');
    assert.equal(one[0]!.metadata.labels, one[1]!.metadata.labels);
    assert.equal(one[0]!.metadata.annotations, one[1]!.metadata.annotations);
    assert.equal(one[0]!.roleRef, one[1]!.roleRef);
    // The list of everyone (30 users, parts of at most 10) is split once; each part is one array
    // shared by the three namespaces of the default team.
    const parts = (n: string) => bindingObjects(objects).filter((o) => o.metadata.namespace === n && o.metadata.name.startsWith('gatehouse:default')).sort((x, y) => x.metadata.name.localeCompare(y.metadata.name));
    assert.ok(parts('a').length >= 3);
    parts('a').forEach((p, i) => {
      assert.equal(p.subjects, parts('b')[i]!.subjects);
      assert.equal(p.subjects, parts('c')[i]!.subjects);
    });
    assert.deepEqual(one[0]!.metadata.labels, { [MANAGED_BY_LABEL]: MANAGED_BY, [SOURCE_LABEL]: 'binding' });
  });

  it('the shared values are never written into: a second compile of the world gives equal objects', () => {
    const index = world();
    const compiler = new RbacCompiler(10);
    const first = JSON.stringify([...compiler.update(indexSource(index), { now: NOW }).objects]);
    index.apply({ op: 'upsert', kind: 'User', object: user('u00a') });
    compiler.update(indexSource(index), { now: NOW });
    const fresh = new RbacCompiler(10).update(indexSource(index), { now: NOW });
    assert.deepEqual([...compiler.objects].sort(), [...fresh.objects].sort());
    assert.notEqual(JSON.stringify([...compiler.objects]), first);
  });

  it('SubjectPool: one object per kind and name, emptied past its bound', () => {
    const pool = new SubjectPool();
    const a = subjectList(['bob', 'alice'], ['ml'], pool);
    const b = subjectList(['alice'], [], pool);
    assert.deepEqual(a.map((s) => `${s.kind}:${s.name}`), ['Group:ml', 'User:alice', 'User:bob']);
    assert.equal(a[1], b[0]);
    assert.notEqual(pool.subject('Group', 'alice'), pool.subject('User', 'alice'));
    assert.equal(pool.size, 4);
    pool.trim(10);
    assert.equal(pool.size, 4);
    pool.trim(3);
    assert.equal(pool.size, 0);
    assert.deepEqual(subjectList(['alice'], [], pool), b, 'equal after the trim, if not the same object');
  });
});

describe('the applier caches share equal values (issue 26)', () => {
  const item = (name: string, namespace: string, hash: string, extra: Record<string, unknown> = {}) => ({
    metadata: {
      name, namespace, uid: `uid-${namespace}-${name}`, resourceVersion: '42',
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [SOURCE_LABEL]: 'binding', other: 'x' },
      annotations: { [SOURCE_ANNOTATION]: 'RoleBinding/one', [HASH_ANNOTATION]: hash, 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      managedFields: [{ manager: 'gatehouse' }],
      ...extra,
    },
  });

  it('keeps name, namespace, uid, resourceVersion and Gatehouse labels and annotations, one object per distinct value', () => {
    const slim = slimmer(new Interner(() => 10));
    const a = slim(item('gatehouse:binding:one', 'a', 'h1') as never);
    const b = slim(item('gatehouse:binding:one', 'b', 'h1') as never);
    const c = slim(item('gatehouse:binding:one', 'c', 'h2') as never);
    assert.deepEqual(a, { metadata: { name: 'gatehouse:binding:one', namespace: 'a', uid: 'uid-a-gatehouse:binding:one', resourceVersion: '42', labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [SOURCE_LABEL]: 'binding' }, annotations: { [SOURCE_ANNOTATION]: 'RoleBinding/one', [HASH_ANNOTATION]: 'h1' } } });
    assert.equal(a.metadata.labels, b.metadata.labels);
    assert.equal(a.metadata.labels, c.metadata.labels);
    assert.equal(a.metadata.annotations, b.metadata.annotations);
    assert.notEqual(a.metadata.annotations, c.metadata.annotations);
    assert.ok(Object.isFrozen(a.metadata.labels) && Object.isFrozen(a.metadata.annotations));
  });

  it('an object without labels or annotations keeps none; a deletion time is kept', () => {
    const slim = slimmer(new Interner(() => 10));
    const o = slim({ metadata: { name: 'gatehouse:x', uid: 'u', resourceVersion: '1', deletionTimestamp: '2026-06-01T00:00:00Z' } } as never);
    assert.deepEqual(o, { metadata: { name: 'gatehouse:x', uid: 'u', resourceVersion: '1', deletionTimestamp: '2026-06-01T00:00:00Z' } });
  });

  it('the interner empties itself past its bound and still answers equal values', () => {
    const slim = slimmer(new Interner(() => 0));
    const seen = Array.from({ length: 3000 }, (_, i) => slim(item(`gatehouse:binding:b${i}`, `ns-${i}`, `h${i}`) as never));
    seen.forEach((o, i) => assert.equal(o.metadata.annotations?.[HASH_ANNOTATION], `h${i}`));
  });

  it('contentHash is the first 22 characters of the SHA-256 in base64url, as written before (no rewrite on upgrade)', () => {
    const o = { metadata: { labels: { [MANAGED_BY_LABEL]: MANAGED_BY }, annotations: {} }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'r' }, subjects: [] };
    for (let i = 0; i < 200; i++) {
      const x = { ...o, roleRef: { ...o.roleRef, name: `r${i}` } };
      const own = [MANAGED_BY, null, null];
      const text = JSON.stringify([own, ['rbac.authorization.k8s.io', 'ClusterRole', `r${i}`], []]);
      assert.equal(contentHash('RoleBinding', x), createHash('sha256').update(text).digest('base64url').slice(0, 22));
    }
  });
});
