// Property tests on random small worlds (small name pools, so names collide, roles include each
// other in cycles, subjects dangle, bindings expire):
//  1. decide() agrees with a slow reference evaluator written here from docs/design.md, which scans
//     every object and uses only the grammar's plain matchers (not the index or RoleMatcher);
//  2. any sequence of single-object changes and relists ends in the state a rebuild gives.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Namespace, Role, RoleBinding, Team, User, PolicyRule } from '../../../src/api/types.js';
import { usernameOf } from '../../../src/authz/rules.js';
import type { PolicyConfig } from '../../../src/config.js';
import { PermissionIndex } from '../../../src/authz/index.js';
import type { Change, World } from '../../../src/authz/index.js';
import { decide } from '../../../src/authz/decide.js';
import { resourceKeys } from '../../../src/authz/matcher.js';
import { atomMatchesPath, atomMatchesResource, compileRule, parsePermission } from '../../../src/authz/permission.js';
import type { PermissionAtom } from '../../../src/authz/permission.js';
import type { AccessRequest, Decision } from '../../../src/authz/types.js';
import { policy } from '../../support/authz.js';
import { assertSameAnswers } from '../../support/index-equivalence.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const USERS = ['u0', 'u1', 'u2', 'u3'];
const ROLES = ['r0', 'r1', 'r2', 'r3', 'r4'];
const TEAMS = ['t0', 't1', 't2'];
const GROUPS = ['g0', 'g1'];
const NSS = ['n0', 'n1', 'n2', 'n3'];
const PERMS = [
  'pods:get', 'pods:read', 'pods/log:get', 'pods/*:get', '*:read', '*:*', 'apps/deployments:*', 'jobs:adapt', 'core/pods:delete',
  'iam.gatehouse.dev/rolebindings:create', 'iam.gatehouse.dev/users:*', 'iam.gatehouse.dev/users:approve', 'users:get', 'me', '/metrics:get', '/logs/*:get', 'bad', 'Pods:get',
];
const RULES: PolicyRule[] = [
  { apiGroups: [''], resources: ['pods', 'jobs'], verbs: ['get', 'list', 'delete'], resourceNames: ['u0', 'u1'] },
  { apiGroups: ['iam.gatehouse.dev'], resources: ['users'], verbs: ['update'], resourceNames: ['u2'] },
  { apiGroups: ['*'], resources: ['jobs', 'pods/log'], verbs: ['write'] },
  { nonResourceURLs: ['/healthz'], verbs: ['get'] },
  { resources: ['pods'], verbs: ['get'] }, // invalid: no apiGroups
];
const TIMES = ['2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z', 'not-a-date'];

const sub = <T>(xs: readonly T[]) => fc.subarray([...xs]);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const userArb = (name: string): fc.Arbitrary<User> =>
  fc.record({ username: opt(fc.constantFrom(...USERS, 'x@e')), state: fc.constantFrom('Active', 'Active', 'Pending', 'Suspended', 'Rejected'), superuser: fc.constantFrom(false, false, false, true) }).map(
    ({ username, state, superuser }) => ({ kind: 'User', metadata: { name }, spec: { ...(username ? { username } : {}), state: state as User['spec']['state'], superuser } }),
  );
const roleArb = (name: string): fc.Arbitrary<Role> =>
  // Sparse roles, so a decision often hangs on one permission (wide roles would hide mistakes).
  fc.record({ permissions: fc.subarray(PERMS, { maxLength: 4 }), rules: fc.subarray(RULES, { maxLength: 2 }), includes: fc.subarray([...ROLES, 'ghost'], { maxLength: 2 }), canAssign: sub(ROLES) }).map((spec) => ({ kind: 'Role', metadata: { name }, spec }));
const teamArb = (name: string): fc.Arbitrary<Team> =>
  fc.record({ members: sub([...USERS, 'x@e', 'nobody']), groups: sub([...GROUPS, 'system:masters']), namespaces: sub(NSS) }).map((spec) => ({ kind: 'Team', metadata: { name }, spec }));
const scopeArb = fc.oneof(fc.constant({ cluster: true }), sub(TEAMS).map((teams) => ({ teams })), sub(NSS).map((namespaces) => ({ namespaces })));
const subjectArb = fc.oneof(
  fc.constantFrom(...USERS, 'x@e', 'ghost').map((name) => ({ kind: 'User' as const, name })),
  fc.constantFrom(...TEAMS, 'ghost').map((name) => ({ kind: 'Team' as const, name })),
  fc.constantFrom(...GROUPS, 'system:masters').map((name) => ({ kind: 'Group' as const, name })),
);
const bindingArb = (name: string): fc.Arbitrary<RoleBinding> =>
  fc.record({ role: fc.constantFrom(...ROLES, 'ghost'), subjects: fc.array(subjectArb, { maxLength: 3 }), scope: scopeArb, expiresAt: opt(fc.constantFrom(...TIMES)) }).map(({ expiresAt, ...spec }) => ({
    kind: 'RoleBinding',
    metadata: { name },
    spec: { ...spec, ...(expiresAt ? { expiresAt } : {}) },
  }));
const nsArb = (name: string): fc.Arbitrary<Namespace> =>
  fc.record({ team: opt(fc.constantFrom(...TEAMS)), owner: opt(fc.constantFrom(...USERS, 'x@e')), pub: fc.boolean() }).map(({ team, owner, pub }) => {
    const labels: Record<string, string> = {};
    if (team) labels['iam.gatehouse.dev/team'] = team;
    if (owner) labels['iam.gatehouse.dev/owner'] = owner;
    if (pub) labels['iam.gatehouse.dev/visibility'] = 'public';
    return { kind: 'Namespace', metadata: { name, labels } };
  });
const some = <T>(names: readonly string[], arb: (n: string) => fc.Arbitrary<T>) => sub(names).chain((ns) => fc.tuple(...ns.map(arb)) as fc.Arbitrary<T[]>);

const worldArb: fc.Arbitrary<Required<World>> = fc.record({
  users: some(USERS, userArb),
  roles: some(ROLES, roleArb),
  teams: some(TEAMS, teamArb),
  bindings: some(['b0', 'b1', 'b2', 'b3', 'b4', 'b5'], bindingArb),
  namespaces: some(NSS, nsArb),
});
const configArb: fc.Arbitrary<PolicyConfig> = fc
  .record({
    seed: fc.boolean(),
    defaults: fc.record({ role: opt(fc.constantFrom(...ROLES)), team: opt(fc.constantFrom(...TEAMS)) }),
    projects: fc.record({ ownerRole: opt(fc.constantFrom(...ROLES)), publicRole: opt(fc.constantFrom(...ROLES)) }),
    mode: fc.constantFrom('approval', 'open', 'closed'),
    deny: fc.boolean(),
  })
  .map(({ seed, defaults, projects, mode, deny }) => {
    const strip = (o: Record<string, string | undefined>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    return policy({
      seedAdmins: seed ? [{ username: 'u2' }] : [],
      defaults: strip(defaults),
      projects: strip(projects),
      registration: { mode },
      authorization: { denyInactiveUsers: deny, ignoreUsers: ['u1-ignored'], ignoreGroups: ['g-ignored'] },
    });
  });
const requestArb: fc.Arbitrary<AccessRequest> = fc
  .record({
    user: fc.constantFrom(...USERS, 'x@e', 'stranger', 'system:admin', 'u1-ignored'),
    groups: sub([...GROUPS, 'system:masters', 'system:serviceaccounts', 'g-ignored', 'system:authenticated']),
    nonResource: fc.constantFrom(false, false, false, false, false, true),
    path: fc.constantFrom('/metrics', '/healthz', '/logs/a', '/logs'),
    verb: fc.constantFrom('get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'adapt'),
    group: fc.constantFrom('', 'apps', 'iam.gatehouse.dev', 'batch'),
    resource: fc.constantFrom('pods', 'jobs', 'users', 'rolebindings', 'deployments'),
    subresource: opt(fc.constantFrom('log', 'exec')),
    namespace: opt(fc.constantFrom(...NSS, 'elsewhere')),
    name: opt(fc.constantFrom(...USERS, 'x@e')),
  })
  .map((r) =>
    r.nonResource
      ? { user: r.user, groups: r.groups, nonResource: { path: r.path, verb: r.verb } }
      : {
          user: r.user,
          groups: r.groups,
          resource: { verb: r.verb, group: r.group, resource: r.resource, ...(r.subresource ? { subresource: r.subresource } : {}), ...(r.namespace ? { namespace: r.namespace } : {}), ...(r.name ? { name: r.name } : {}) },
        },
  );

// ---------------------------------------------------------------- the reference evaluator

type RefGrant = { role: string; binding?: string };
function reference(w: Required<World>, cfg: PolicyConfig, r: AccessRequest, now: number): { verdict: Decision['verdict']; code: Decision['code']; binding?: string } {
  if (r.user.startsWith('system:') || cfg.authorization.ignoreUsers.includes(r.user)) return { verdict: 'noOpinion', code: 'ignored' };
  if (r.groups.some((g) => g === 'system:serviceaccounts' || g.startsWith('system:serviceaccounts:') || cfg.authorization.ignoreGroups.includes(g))) return { verdict: 'noOpinion', code: 'ignored' };
  const candidates = w.users.filter((u) => usernameOf(u) === r.user).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const obj = candidates[0];
  const seed = cfg.seedAdmins.some((s) => s.username === r.user);
  if (!obj && !seed) {
    const reg = (cfg.registration.mode === 'approval' || cfg.registration.mode === 'open') && r.resource?.verb === 'create' && r.resource.group === 'iam.gatehouse.dev' && r.resource.resource === 'users' && !r.resource.subresource;
    return reg ? { verdict: 'allow', code: 'registration' } : { verdict: 'noOpinion', code: 'unknownUser' };
  }
  const state = seed ? 'Active' : obj!.spec.state;
  if (state !== 'Active') return cfg.authorization.denyInactiveUsers ? { verdict: 'deny', code: 'inactive' } : { verdict: 'noOpinion', code: 'inactive' };
  if (seed || obj!.spec.superuser) return { verdict: 'allow', code: 'superuser' };
  const ids = new Set([r.user, ...(obj ? [obj.metadata.name] : [])]);
  const groups = r.groups.filter((g) => g !== 'system:masters');
  const inTeam = (t: string) => {
    const team = w.teams.find((x) => x.metadata.name === t);
    return !!team && ((team.spec.members ?? []).some((m) => ids.has(m)) || (team.spec.groups ?? []).some((g) => groups.includes(g)));
  };
  const atomsOf = (role: string): PermissionAtom[] => {
    const out: PermissionAtom[] = [];
    const seen = new Set<string>();
    const visit = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      const ro = w.roles.find((x) => x.metadata.name === name);
      if (!ro) return;
      for (const p of ro.spec.permissions ?? []) {
        try {
          out.push(parsePermission(p).atom);
        } catch {
          /* invalid permissions grant nothing */
        }
      }
      (ro.spec.rules ?? []).forEach((rule) => {
        try {
          out.push(...compileRule(rule).map((x) => x.atom));
        } catch {
          /* invalid rules grant nothing */
        }
      });
      for (const inc of ro.spec.includes ?? []) visit(inc);
    };
    visit(role);
    return out;
  };
  const grants = (role: string) =>
    atomsOf(role).some((a) =>
      r.nonResource
        ? atomMatchesPath(a, r.nonResource.path, r.nonResource.verb)
        : atomMatchesResource(a, { verb: r.resource!.verb, group: r.resource!.group, resource: r.resource!.resource, subresource: r.resource!.subresource, name: r.resource!.name }),
    );
  const teamNamespaces = (t: string) => {
    const team = w.teams.find((x) => x.metadata.name === t);
    return new Set([...(team?.spec.namespaces ?? []), ...w.namespaces.filter((n) => n.metadata.labels?.['iam.gatehouse.dev/team'] === t).map((n) => n.metadata.name)]);
  };
  const ns = r.resource?.namespace;
  const live = w.bindings
    .filter((b) => b.spec.expiresAt === undefined || Date.parse(b.spec.expiresAt) > now)
    .filter((b) => b.spec.subjects.some((s) => (s.kind === 'User' ? ids.has(s.name) : s.kind === 'Group' ? groups.includes(s.name) : inTeam(s.name))))
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const covers = (b: RoleBinding) => {
    if (b.spec.scope.cluster) return true;
    if (ns === undefined) return false;
    if (b.spec.scope.teams) return b.spec.scope.teams.some((t) => teamNamespaces(t).has(ns));
    return (b.spec.scope.namespaces ?? []).includes(ns);
  };
  const hit = live.find((b) => covers(b) && grants(b.spec.role));
  if (hit) return { verdict: 'allow', code: 'binding', binding: hit.metadata.name };
  if (r.nonResource) return { verdict: 'noOpinion', code: 'noMatch' };
  const nsObj = w.namespaces.find((n) => n.metadata.name === ns);
  const owner = nsObj?.metadata.labels?.['iam.gatehouse.dev/owner'];
  const heldAnywhere = (pred: (role: string) => boolean): RefGrant | null => {
    const b = live.find((x) => pred(x.spec.role));
    if (b) return { role: b.spec.role, binding: b.metadata.name };
    const { ownerRole, publicRole } = cfg.projects;
    if (ownerRole && pred(ownerRole) && w.namespaces.some((n) => ids.has(n.metadata.labels?.['iam.gatehouse.dev/owner'] ?? '\0'))) return { role: ownerRole };
    if (publicRole && pred(publicRole) && w.namespaces.some((n) => n.metadata.labels?.['iam.gatehouse.dev/visibility'] === 'public')) return { role: publicRole };
    if (cfg.defaults.role && cfg.defaults.team && pred(cfg.defaults.role)) return { role: cfg.defaults.role };
    return null;
  };
  if (ns !== undefined) {
    if (cfg.projects.ownerRole && owner !== undefined && ids.has(owner) && grants(cfg.projects.ownerRole)) return { verdict: 'allow', code: 'projectOwner' };
    if (cfg.projects.publicRole && nsObj?.metadata.labels?.['iam.gatehouse.dev/visibility'] === 'public' && grants(cfg.projects.publicRole)) return { verdict: 'allow', code: 'publicProject' };
    if (cfg.defaults.role && cfg.defaults.team && teamNamespaces(cfg.defaults.team).has(ns) && grants(cfg.defaults.role)) return { verdict: 'allow', code: 'default' };
    return { verdict: 'noOpinion', code: 'noMatch' };
  }
  const res = r.resource!;
  if (res.group === 'iam.gatehouse.dev') {
    if (res.resource === 'users' && !res.subresource && ['get', 'list', 'watch', 'update', 'patch'].includes(res.verb) && obj && res.name === obj.metadata.name) {
      const g = heldAnywhere((role) => atomsOf(role).some((a) => a.kind === 'me'));
      if (g) return { verdict: 'allow', code: 'self', ...(g.binding ? { binding: g.binding } : {}) };
    }
    if (['create', 'update', 'patch', 'delete', 'deletecollection'].includes(res.verb)) {
      const g = heldAnywhere(grants);
      if (g) return { verdict: 'allow', code: 'delegated', ...(g.binding ? { binding: g.binding } : {}) };
    }
    // Approval: users:approve (held anywhere) lets update/patch of a User through; admission keeps it to state.
    if (res.resource === 'users' && !res.subresource && (res.verb === 'update' || res.verb === 'patch')) {
      const approves = (role: string) => atomsOf(role).some((a) => atomMatchesResource(a, { verb: 'approve', group: res.group, resource: 'users', name: res.name }));
      const g = heldAnywhere(approves);
      if (g) return { verdict: 'allow', code: 'delegated', ...(g.binding ? { binding: g.binding } : {}) };
    }
  }
  return { verdict: 'noOpinion', code: 'noMatch' };
}

describe('property: decide() agrees with the reference evaluator', () => {
  it('on random worlds and requests', () => {
    fc.assert(
      fc.property(worldArb, configArb, fc.array(requestArb, { minLength: 1, maxLength: 25 }), (w, cfg, requests) => {
        const index = PermissionIndex.build(w, cfg, () => NOW);
        for (const r of requests) {
          const d = decide(index, r);
          const want = reference(w, cfg, r, NOW);
          const got = { verdict: d.verdict, code: d.code, ...(d.grant?.binding ? { binding: d.grant.binding } : {}) };
          assert.deepEqual(got, want, `${JSON.stringify(r)} -> ${d.reason}`);
        }
      }),
      { numRuns: 400, seed: 20260601 },
    );
  });
});

// ---------------------------------------------------------------- incremental == rebuild

type Upsert = Extract<Change, { op: 'upsert' }>;
type Op = { t: 'upsert'; change: Upsert } | { t: 'delete'; kind: Change['kind']; name: string } | { t: 'relist'; kind: 'User' | 'Role' | 'Team' | 'RoleBinding' | 'Namespace'; world: Required<World> };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...USERS).chain(userArb).map((object): Op => ({ t: 'upsert', change: { op: 'upsert', kind: 'User', object } })) },
  { weight: 6, arbitrary: fc.constantFrom(...ROLES).chain(roleArb).map((object): Op => ({ t: 'upsert', change: { op: 'upsert', kind: 'Role', object } })) },
  { weight: 6, arbitrary: fc.constantFrom(...TEAMS).chain(teamArb).map((object): Op => ({ t: 'upsert', change: { op: 'upsert', kind: 'Team', object } })) },
  { weight: 6, arbitrary: fc.constantFrom('b0', 'b1', 'b2').chain(bindingArb).map((object): Op => ({ t: 'upsert', change: { op: 'upsert', kind: 'RoleBinding', object } })) },
  { weight: 6, arbitrary: fc.constantFrom(...NSS).chain(nsArb).map((object): Op => ({ t: 'upsert', change: { op: 'upsert', kind: 'Namespace', object } })) },
  {
    weight: 8,
    arbitrary: fc.oneof(
      fc.constantFrom(...USERS).map((name) => ({ kind: 'User' as const, name })),
      fc.constantFrom(...ROLES).map((name) => ({ kind: 'Role' as const, name })),
      fc.constantFrom(...TEAMS).map((name) => ({ kind: 'Team' as const, name })),
      fc.constantFrom('b0', 'b1', 'b2', 'b3').map((name) => ({ kind: 'RoleBinding' as const, name })),
      fc.constantFrom(...NSS).map((name) => ({ kind: 'Namespace' as const, name })),
    ).map(({ kind, name }): Op => ({ t: 'delete', kind, name })),
  },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('User', 'Role', 'Team', 'RoleBinding', 'Namespace') as fc.Arbitrary<'User' | 'Role' | 'Team' | 'RoleBinding' | 'Namespace'>, worldArb).map(([kind, world]): Op => ({ t: 'relist', kind, world })) },
);
const KEY = { User: 'users', Role: 'roles', Team: 'teams', RoleBinding: 'bindings', Namespace: 'namespaces' } as const;

describe('property: incremental updates end where a rebuild ends', () => {
  it('on random worlds and change sequences', () => {
    fc.assert(
      fc.property(worldArb, configArb, fc.array(opArb, { maxLength: 30 }), fc.array(requestArb, { maxLength: 10 }), (w, cfg, ops, requests) => {
        const index = PermissionIndex.build(w, cfg, () => NOW);
        const state = new Map<string, Map<string, { metadata: { name: string } }>>();
        for (const k of Object.values(KEY)) state.set(k, new Map((w[k] as { metadata: { name: string } }[]).map((o) => [o.metadata.name, o])));
        for (const op of ops) {
          if (op.t === 'upsert') {
            index.apply(op.change);
            state.get(KEY[op.change.kind])!.set(op.change.object.metadata.name, op.change.object);
          } else if (op.t === 'delete') {
            index.apply({ op: 'delete', kind: op.kind, name: op.name });
            state.get(KEY[op.kind])!.delete(op.name);
          } else {
            const objs = op.world[KEY[op.kind]] as { metadata: { name: string } }[];
            (index.replaceAll as (k: string, o: unknown[]) => void)(op.kind, objs);
            state.set(KEY[op.kind], new Map(objs.map((o) => [o.metadata.name, o])));
          }
        }
        const final = Object.fromEntries([...state.entries()].map(([k, m]) => [k, [...m.values()]])) as unknown as Required<World>;
        const rebuilt = PermissionIndex.build(final, cfg, () => NOW);
        assertSameAnswers(index, rebuilt, requests);
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});

describe('property: role matching (bitsets, includes, resourceNames, paths) agrees with the reference', () => {
  // One Active user bound cluster-wide to r0, so every decision hangs on what r0 (with its
  // includes) grants; roles change one at a time so the incremental paths are exercised too.
  const targetArb = fc.record({
    verb: fc.constantFrom('get', 'list', 'delete', 'update', 'adapt'),
    group: fc.constantFrom('', '', 'apps', 'iam.gatehouse.dev'),
    resource: fc.constantFrom('pods', 'jobs', 'users', 'deployments', 'rolebindings'),
    subresource: fc.constantFrom(undefined, undefined, undefined, 'log'),
    namespace: opt(fc.constantFrom('n0')),
    name: fc.constantFrom(undefined, 'u0', 'u1', 'u2'),
    path: fc.constantFrom(undefined, undefined, undefined, undefined, '/metrics', '/logs/x', '/healthz'),
  });
  it('on random roles, role changes and targets', () => {
    fc.assert(
      fc.property(some(ROLES, roleArb), fc.array(fc.constantFrom(...ROLES).chain(roleArb), { maxLength: 4 }), fc.array(targetArb, { minLength: 10, maxLength: 30 }), (roles, changes, targets) => {
        const cfg = policy();
        const w: Required<World> = { users: [{ kind: 'User', metadata: { name: 'u9' }, spec: { state: 'Active' } }], roles, teams: [], bindings: [{ kind: 'RoleBinding', metadata: { name: 'b' }, spec: { role: 'r0', subjects: [{ kind: 'User', name: 'u9' }], scope: { cluster: true } } }], namespaces: [] };
        const index = PermissionIndex.build(w, cfg, () => NOW);
        for (const r of targets) index.roleBitsFor({ verb: r.verb, group: r.group, resource: r.resource, subresource: r.subresource, keys: resourceKeys(r.group, r.resource, r.subresource) }); // warm the cache, so changes must invalidate it
        const byName = new Map(roles.map((r) => [r.metadata.name, r]));
        for (const c of changes) {
          index.apply({ op: 'upsert', kind: 'Role', object: c });
          byName.set(c.metadata.name, c);
        }
        const final = { ...w, roles: [...byName.values()] };
        for (const x of targets) {
          const r: AccessRequest = x.path
            ? { user: 'u9', groups: [], nonResource: { path: x.path, verb: x.verb } }
            : { user: 'u9', groups: [], resource: { verb: x.verb, group: x.group, resource: x.resource, ...(x.subresource ? { subresource: x.subresource } : {}), ...(x.namespace ? { namespace: x.namespace } : {}), ...(x.name ? { name: x.name } : {}) } };
          const d = decide(index, r);
          const want = reference(final, cfg, r, NOW);
          assert.deepEqual({ verdict: d.verdict, code: d.code }, { verdict: want.verdict, code: want.code }, `${JSON.stringify(r)} -> ${d.reason}`);
        }
      }),
      { numRuns: 500, seed: 11 },
    );
  });
});
