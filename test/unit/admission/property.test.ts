// Properties: on random worlds, no non-superuser can create a RoleBinding that grants what they
// lack (checked with decide() before and after adding the binding); nor write metadata outside
// what they administer, nor keep a grant alive through deletion with a finalizer; and the policy
// answers any input, however malformed, without throwing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ObjectMeta, Role, RoleBinding, Scope, Subject, Team, User } from '../../../src/api/types.js';
import { missingPermissions } from '../../../src/authz/queries.js';
import { PermissionIndex, type World } from '../../../src/authz/index.js';
import { decide } from '../../../src/authz/decide.js';
import type { AccessRequest } from '../../../src/authz/types.js';
import { parseConfig } from '../../../src/config.js';
import { validateAdmission } from '../../../src/admission/validate.js';
import { createAdmissionPolicy } from '../../../src/admission/review.js';
import type { AdmissionReviewRequest } from '../../../src/admission/types.js';
import { parseAdmissionEnvelope, parseAdmissionRequest } from '../../../src/webhook/admission.js';
import { ReviewError } from '../../../src/errors.js';
import { createPolicyView } from '../../../src/admission/view.js';
import { binding, ns, role, team, user } from '../../support/authz.js';
import { NOW, as, context, create, update } from '../../support/admission.js';
import { fastCheckReplay } from '../../support/seed.js';

// A failure prints its seed; GATEHOUSE_SEED (and GATEHOUSE_SEED_PATH) replay it (test/support/seed.ts).
fastCheckReplay(fc);

const GH = 'iam.gatehouse.dev';
const POOL = ['pods:get', 'pods:*', 'jobs:read', 'jobs:write', 'secrets:get', '*:get', '*:*', 'pods:delete', `${GH}/rolebindings:create`, `${GH}/rolebindings:*`];
const ROLES = ['r0', 'r1', 'r2', 'r3'];
const USERS = ['u0', 'u1', 'u2', 'u3'];
const NAMESPACES = ['a', 'b', 'c'];
const TEAMS = ['t1', 't2'];
const config = parseConfig({});

const scopeArb: fc.Arbitrary<Scope> = fc.oneof(
  fc.constant({ cluster: true }),
  fc.subarray(TEAMS, { minLength: 1 }).map((teams) => ({ teams })),
  fc.subarray(NAMESPACES, { minLength: 1 }).map((namespaces) => ({ namespaces })),
);
const subjectArb: fc.Arbitrary<Subject> = fc.oneof(
  fc.constantFrom(...USERS).map((name) => ({ kind: 'User' as const, name })),
  fc.constantFrom(...TEAMS).map((name) => ({ kind: 'Team' as const, name })),
);
const bindingArb = (name: string): fc.Arbitrary<RoleBinding> =>
  fc.record({ role: fc.constantFrom(...ROLES, 'missing'), subjects: fc.uniqueArray(subjectArb, { minLength: 1, maxLength: 3, selector: (s) => `${s.kind}/${s.name}` }), scope: scopeArb })
    .map((b) => binding(name, b.role, b.subjects, b.scope));

const worldArb: fc.Arbitrary<World> = fc.record({
  perms: fc.array(fc.subarray(POOL, { maxLength: 4 }), { minLength: ROLES.length, maxLength: ROLES.length }),
  includes: fc.array(fc.subarray(ROLES, { maxLength: 1 }), { minLength: ROLES.length, maxLength: ROLES.length }),
  states: fc.array(fc.constantFrom('Active', 'Active', 'Active', 'Suspended' as const), { minLength: USERS.length, maxLength: USERS.length }),
  members: fc.array(fc.subarray(USERS), { minLength: TEAMS.length, maxLength: TEAMS.length }),
  bindings: fc.array(fc.nat(), { maxLength: 6 }).chain((ids) => fc.tuple(...ids.map((_, i) => bindingArb(`b${i}`)))),
}).map((w) => ({
  roles: ROLES.map((r, i) => role(r, w.perms[i]!, { includes: w.includes[i]! })),
  users: USERS.map((u, i) => user(u, { state: w.states[i]! as 'Active' })),
  teams: [team('t1', { members: w.members[0]!, namespaces: ['a'] }), team('t2', { members: w.members[1]!, namespaces: ['b', 'c'] })],
  bindings: w.bindings,
  namespaces: NAMESPACES.map((n) => ns(n)),
}));

function samples(userName: string): AccessRequest[] {
  const out: AccessRequest[] = [];
  for (const resource of ['pods', 'jobs', 'secrets', 'configmaps']) {
    for (const verb of ['get', 'list', 'create', 'delete']) {
      for (const namespace of [...NAMESPACES, 'elsewhere', undefined]) {
        out.push({ user: userName, groups: [], resource: { verb, group: '', resource, ...(namespace ? { namespace } : {}) } });
      }
    }
  }
  out.push({ user: userName, groups: [], resource: { verb: 'create', group: GH, resource: 'rolebindings' } });
  return out;
}

describe('no escalation through RoleBindings (property)', () => {
  it('whatever a non-superuser may bind, every request it newly allows was already allowed to them', () => {
    let admitted = 0;
    let grantedSomething = 0;
    fc.assert(
      fc.property(worldArb, bindingArb('candidate'), fc.constantFrom(...USERS), (world, candidate, requester) => {
        const before = PermissionIndex.build(world, config, () => NOW);
        const ctx = { config, view: () => createPolicyView(before, () => NOW), now: () => NOW };
        const res = validateAdmission(create(candidate, as(requester)), ctx);
        if (!res.allowed) return;
        admitted++;
        const after = PermissionIndex.build({ ...world, bindings: [...(world.bindings ?? []), candidate] }, config, () => NOW);
        for (const u of USERS) {
          for (const r of samples(u)) {
            if (decide(after, r).verdict !== 'allow' || decide(before, r).verdict === 'allow') continue;
            grantedSomething++;
            const own = decide(before, { ...r, user: requester });
            assert.equal(own.verdict, 'allow', `${requester} bound ${candidate.spec.role} in ${JSON.stringify(candidate.spec.scope)}, which newly allows ${u} ${JSON.stringify(r.resource)}, which ${requester} lacked (${own.reason})`);
          }
        }
      }),
      // About one candidate in ten is admitted: 800 runs admit ~85, so the guard below has room.
      { numRuns: 800 },
    );
    // The property is not vacuous: some bindings were admitted and some of them granted something.
    assert.ok(admitted > 30, `admitted ${admitted}`);
    assert.ok(grantedSomething > 0, `granted ${grantedSomething}`);
  });
});

// Issue 16: metadata is a write like spec, and a finalizer cannot keep a revoked grant alive.
type GhObject = RoleBinding | Role | Team | User;
const METADATA_EDITS: readonly ((m: ObjectMeta & { ownerReferences?: unknown[] }) => void)[] = [
  (m) => (m.labels = { ...m.labels, 'example.com/x': 'y' }),
  (m) => (m.annotations = { ...m.annotations, 'example.com/note': 'x' }),
  (m) => (m.finalizers = [...(m.finalizers ?? []), 'example.com/keep']),
  (m) => (m.ownerReferences = [{ apiVersion: 'v1', kind: 'Namespace', name: 'a', uid: 'u' }]),
];
function pickObject(world: World, i: number): GhObject {
  const all: GhObject[] = [...(world.bindings ?? []), ...(world.roles ?? []), ...(world.teams ?? []), ...(world.users ?? [])];
  return all[i % all.length]!;
}
/** Where a write to the object must be held (product.md, delegated administration). */
function scopeOf(o: GhObject): Scope {
  if (o.kind === 'RoleBinding') return o.spec.scope;
  if (o.kind === 'Team') return { teams: [o.metadata.name] };
  return { cluster: true };
}
const PLURAL = { RoleBinding: 'rolebindings', Role: 'roles', Team: 'teams', User: 'users' } as const;

describe('no escalation through metadata, nor through deletion with finalizers (property)', () => {
  it('an admitted metadata-only write by a non-superuser needs <kind>:update over the object, never sets finalizers or ownerReferences, and changes no decision', () => {
    let admitted = 0;
    fc.assert(
      fc.property(worldArb, fc.nat(), fc.nat(METADATA_EDITS.length - 1), fc.constantFrom(...USERS), (world, pick, e, requester) => {
        const index = PermissionIndex.build(world, config, () => NOW);
        const ctx = { config, view: () => createPolicyView(index, () => NOW), now: () => NOW };
        const old = pickObject(world, pick);
        const nu = structuredClone(old);
        METADATA_EDITS[e]!(nu.metadata);
        const res = validateAdmission(update(old, nu, as(requester)), ctx);
        if (!res.allowed) return;
        admitted++;
        assert.ok(e < 2, `${requester} set ${e === 2 ? 'finalizers' : 'ownerReferences'} on ${old.kind} ${old.metadata.name}`);
        const lacking = missingPermissions(index, { user: requester, groups: [] }, [`${GH}/${PLURAL[old.kind!]}:update`], scopeOf(old), NOW);
        assert.equal(lacking.missing.length, 0, `${requester} changed metadata of ${old.kind} ${old.metadata.name} without ${PLURAL[old.kind!]}:update over ${JSON.stringify(scopeOf(old))}`);
        const replace = <T extends GhObject>(list: readonly T[] | undefined): T[] => (list ?? []).map((o) => (o === old ? (nu as T) : o));
        const after = PermissionIndex.build({ ...world, bindings: replace(world.bindings), roles: replace(world.roles), teams: replace(world.teams), users: replace(world.users) }, config, () => NOW);
        for (const u of USERS) for (const r of samples(u)) assert.equal(decide(after, r).verdict, decide(index, r).verdict, JSON.stringify(r));
      }),
      // About one write in twenty is admitted (most requesters hold no update on Gatehouse's
      // kinds), so 1,500 runs admit ~70 (12 runs: 66-93); fewer than 20 means the generator broke.
      { numRuns: 1500 },
    );
    assert.ok(admitted > 20, `admitted ${admitted}`);
  });

  it('a RoleBinding, Role or Team being deleted (finalizer pending) decides like it is gone; a User being deleted is allowed nothing', () => {
    let changed = 0;
    fc.assert(
      fc.property(worldArb, fc.nat(), (world, pick) => {
        const target = pickObject(world, pick);
        const dying = structuredClone(target);
        dying.metadata.finalizers = ['example.com/keep'];
        dying.metadata.deletionTimestamp = '2026-05-31T00:00:00Z';
        const swap = <T extends GhObject>(list: readonly T[] | undefined, to: T | null): T[] =>
          (list ?? []).flatMap((o) => (o === target ? (to === null ? [] : [to]) : [o]));
        const deleting = PermissionIndex.build({ ...world, bindings: swap(world.bindings, dying as RoleBinding), roles: swap(world.roles, dying as Role), teams: swap(world.teams, dying as Team), users: swap(world.users, dying as User) }, config, () => NOW);
        const before = PermissionIndex.build(world, config, () => NOW);
        if (target.kind === 'User') {
          for (const r of samples(target.metadata.name)) assert.notEqual(decide(deleting, r).verdict, 'allow', JSON.stringify(r));
          return;
        }
        const gone = PermissionIndex.build({ ...world, bindings: swap(world.bindings, null), roles: swap(world.roles, null), teams: swap(world.teams, null) }, config, () => NOW);
        for (const u of USERS) {
          for (const r of samples(u)) {
            const v = decide(deleting, r).verdict;
            assert.equal(v, decide(gone, r).verdict, `${target.kind} ${target.metadata.name} being deleted: ${JSON.stringify(r)}`);
            if (v !== decide(before, r).verdict) changed++;
          }
        }
      }),
      { numRuns: 300 },
    );
    assert.ok(changed > 0, 'some deletion revoked something');
  });
});

describe('the policy answers any input (fuzz through the validators)', () => {
  const ctx = context({ users: [user('boss', { superuser: true }), user('alice')], roles: [role('viewer', ['pods:read'])] }, {});
  const policy = createAdmissionPolicy(ctx);
  const kinds = [
    { group: GH, version: 'v1alpha1', kind: 'User' }, { group: GH, version: 'v1alpha1', kind: 'Role' },
    { group: GH, version: 'v1alpha1', kind: 'Team' }, { group: GH, version: 'v1alpha1', kind: 'RoleBinding' },
    { group: '', version: 'v1', kind: 'Namespace' }, { group: 'apps', version: 'v1', kind: 'Deployment' },
  ];
  const valid = [user('x', { superuser: true }), role('x', ['pods', 'pods:read']), team('x', { members: ['alice'] }), binding('x', 'viewer', ['alice'], { cluster: true }), ns('x', { 'iam.gatehouse.dev/owner': 'alice' })];
  const objectArb = fc.oneof(
    fc.anything({ maxDepth: 4 }),
    fc.constantFrom(...valid),
    fc.tuple(fc.constantFrom(...valid), fc.constantFrom('spec', 'metadata', 'spec.scope', 'spec.subjects', 'metadata.labels', 'spec.permissions', 'spec.rules'), fc.anything({ maxDepth: 2 }))
      .map(([o, path, value]) => {
        const copy = structuredClone(o) as unknown as Record<string, unknown>;
        const keys = path.split('.');
        let target: Record<string, unknown> = copy;
        for (const k of keys.slice(0, -1)) {
          if (typeof target[k] !== 'object' || target[k] === null) target[k] = {};
          target = target[k] as Record<string, unknown>;
        }
        target[keys[keys.length - 1]!] = value;
        return copy;
      }),
  );
  // Mostly well-formed envelopes (so most requests reach the policy), sometimes anything at all.
  const often = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ arbitrary: arb, weight: 6 }, { arbitrary: fc.anything(), weight: 1 });
  const requestArb = fc.record({
    uid: often(fc.uuid()),
    kind: often(fc.constantFrom(...kinds)),
    resource: often(fc.constant({ group: GH, version: 'v1alpha1', resource: 'things' })),
    operation: often(fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT')),
    userInfo: often(fc.record({ username: fc.constantFrom('alice', 'boss', 'carol', 'admin', 'system:serviceaccount:x:y'), groups: fc.subarray(['system:masters', 'oidc:ml', 'system:authenticated']) })),
    object: objectArb,
    oldObject: objectArb,
    name: often(fc.constant('x')),
    dryRun: often(fc.boolean()),
    subResource: often(fc.constantFrom(undefined, 'status')),
  }, { requiredKeys: ['uid', 'kind', 'resource', 'operation', 'userInfo'] });

  it('10,000 random and mutated requests: no throw, a boolean answer, a message on every denial', () => {
    let judged = 0;
    fc.assert(
      fc.property(fc.oneof(requestArb.map((request) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request })), fc.anything()), (body) => {
        // Decoded once at the edge, as the webhook does: what the decoder refuses is answered there
        // (a 400 or a denied review with code 400) and never reaches the policy.
        let review: AdmissionReviewRequest;
        try {
          const envelope = parseAdmissionEnvelope(body);
          review = parseAdmissionRequest(envelope.apiVersion, envelope.uid, envelope.request);
        } catch (err) {
          assert.ok(err instanceof ReviewError, String(err));
          return;
        }
        judged++;
        const v = policy.validate(review);
        assert.equal(typeof v.allowed, 'boolean');
        if (!v.allowed) assert.match(v.message ?? '', /^Gatehouse denied: .*\(rule: [a-z-]+\)/);
        const m = policy.mutate(review);
        if (m.patch) for (const op of m.patch) assert.ok(op.path.startsWith('/'));
      }),
      { numRuns: 10_000 },
    );
    // Not vacuous: many reach the policy.
    assert.ok(judged > 600, `judged ${judged}`);
  });
});
