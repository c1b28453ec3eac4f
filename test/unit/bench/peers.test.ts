// The peer encoders (bench/peers/) must say what Gatehouse says on the plain-RBAC subset, or the
// benchmark compares different questions. A tiny hand-made world with every feature the subset has
// (user and team subjects, cluster / team / namespace scopes, labelled and listed team namespaces,
// group, verb, resource and subresource wildcards, `*:*`, aliases, includes, explicit-only targets
// named and reached through wildcards, a username that differs from the object name), and every
// (user, verb, resource, namespace) over its pools, the explicit-only targets and `*` included, not
// a sample; then random worlds, each with every request over its pools. Every request goes
// through Gatehouse, Casbin, both Cedar encodings and the reference evaluator written from the
// docs (test/support/oracle.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildCasbin, CASBIN_MODEL, objectPattern } from '../../../bench/peers/casbin.js';
import { bindingPolicies, buildCedar, CEDAR_ENCODINGS, rolePolicies, userRoleGrants } from '../../../bench/peers/cedar.js';
import { buildGatehouse } from '../../../bench/peers/gatehouse.js';
import { sampleRequests } from '../../../bench/peers/requests.js';
import type { PeerWorld } from '../../../bench/peers/subset.js';
import { OutsideRbacSubsetError, PEER_EXPLICIT_ONLY, rbacModel, restrictToRbac } from '../../../bench/peers/subset.js';
import type { Namespace, Role, RoleBinding, Team, User } from '../../../src/api/types.js';
import type { AccessRequest } from '../../../src/authz/types.js';
import { binding, ns, policy, role, team, user } from '../../support/authz.js';
import { isExplicitOnlyTarget, referenceDecide } from '../../support/oracle.js';
import { propertySeed, replayable } from '../../support/replay.js';

const world: PeerWorld = {
  users: [user('alice', { username: 'alice@example.com' }), user('bob'), user('carol'), user('dave')],
  roles: [
    role('viewer', ['pods:read', 'apps/deployments:get']),
    role('trainer', ['kubeflow.org/*:create', 'batch/jobs:write'], { includes: ['viewer'] }),
    role('node-reader', ['nodes:get', 'core/namespaces:list']),
    role('admin', ['*:*']),
    role('adapter', ['models:adapt']),
    role('everything-reader', ['*:read', 'pods/*:get']),
    role('debugger', ['pods/exec:create', 'pods/*:get', 'core/secrets:read', 'services/proxy:get', '*/token:create']),
  ],
  teams: [team('vision', { members: ['alice@example.com', 'bob'], namespaces: ['vision-dev'] }), team('nlp', { members: ['carol'] })],
  namespaces: [ns('vision-dev'), ns('vision-prod', { 'iam.gatehouse.dev/team': 'vision' }), ns('nlp-dev', { 'iam.gatehouse.dev/team': 'nlp' }), ns('shared')],
  bindings: [
    binding('vision-trainers', 'trainer', ['team:vision'], { teams: ['vision'] }),
    binding('bob-viewer-shared', 'viewer', ['bob'], { namespaces: ['shared', 'nlp-dev'] }),
    binding('carol-nodes', 'node-reader', ['carol'], { cluster: true }),
    binding('nlp-admin', 'admin', ['team:nlp'], { namespaces: ['nlp-dev'] }),
    binding('dave-adapter', 'adapter', ['dave', 'team:vision'], { cluster: true }),
    binding('dave-reads-all', 'everything-reader', ['dave'], { cluster: true }),
    binding('alice-debugs', 'debugger', ['alice@example.com'], { namespaces: ['vision-dev'] }),
    binding('nobody', 'viewer', ['team:empty'], { teams: ['vision'] }),
  ],
};

const USERS = ['alice@example.com', 'alice', 'bob', 'carol', 'dave', 'stranger'];
const VERBS = ['get', 'list', 'watch', 'create', 'delete', 'adapt', '*'];
type Res = [group: string, resource: string, subresource?: string];
/** Every explicit-only target of the peers' table, as requests see them. */
const EXPLICIT: Res[] = PEER_EXPLICIT_ONLY.map((e): Res => (e.subresource === null ? [e.group, e.resource] : [e.group, e.resource, e.subresource]));
const RESOURCES: Res[] = [
  ['', 'pods'],
  ['apps', 'pods'],
  ['', 'pods', 'log'],
  ['apps', 'deployments'],
  ['kubeflow.org', 'notebooks'],
  ['batch', 'jobs'],
  ['', 'nodes'],
  ['', 'namespaces'],
  ['example.com', 'models'],
  ['kubeflowXorg', 'notebooks'],
  ['apps', 'secrets'],
  ['', '*'],
  ['', 'pods', '*'],
  ...EXPLICIT,
];
const NAMESPACES: (string | undefined)[] = ['vision-dev', 'vision-prod', 'nlp-dev', 'shared', 'elsewhere', undefined];

function every(users: readonly string[], verbs: readonly string[], resources: readonly Res[], namespaces: readonly (string | undefined)[]): AccessRequest[] {
  const out: AccessRequest[] = [];
  for (const u of users)
    for (const verb of verbs)
      for (const [group, resource, subresource] of resources)
        for (const namespace of namespaces)
          out.push({ user: u, groups: ['system:authenticated'], resource: { verb, group, resource, ...(subresource ? { subresource } : {}), ...(namespace ? { namespace } : {}) } });
  return out;
}

const key = (r: AccessRequest): string => {
  const x = r.resource!;
  return `${r.user} ${x.verb} ${x.group}/${x.resource}${x.subresource ? `/${x.subresource}` : ''} in ${x.namespace ?? '(cluster)'}`;
};

interface Systems {
  names: string[];
  ask(r: AccessRequest): boolean[];
}

/** Gatehouse, Casbin, Cedar (both encodings) and the reference evaluator on one world. */
async function systemsFor(w: PeerWorld): Promise<Systems> {
  const gh = buildGatehouse(w);
  const cb = await buildCasbin(w);
  const cds = CEDAR_ENCODINGS.map((e) => buildCedar(w, e));
  const cfg = policy();
  return {
    names: ['gatehouse', 'casbin', ...cds.map((c) => `cedar ${c.encoding}`), 'reference'],
    ask: (r) => [gh.allows(r), cb.allows(r), ...cds.map((c) => c.allows(r)), referenceDecide(w, cfg, r, 0).verdict === 'allow'],
  };
}

function disagreements(s: Systems, reqs: readonly AccessRequest[]): { lines: string[]; allowed: number; explicitAllowed: number; explicitAsked: number } {
  const lines: string[] = [];
  let allowed = 0;
  let explicitAllowed = 0;
  let explicitAsked = 0;
  for (const r of reqs) {
    const a = s.ask(r);
    const explicit = isExplicitOnlyTarget(r.resource!);
    if (explicit) explicitAsked++;
    if (a[0]) {
      allowed++;
      if (explicit) explicitAllowed++;
    }
    if (a.some((x) => x !== a[0])) lines.push(`${key(r)}: ${s.names.map((n, i) => `${n} ${a[i]}`).join(', ')}`);
  }
  return { lines, allowed, explicitAllowed, explicitAsked };
}

describe('peer encoders on a tiny world', () => {
  it('Casbin, both Cedar encodings and the reference give Gatehouse’s answer to every (user, verb, resource, namespace)', async () => {
    const s = await systemsFor(world);
    const reqs = every(USERS, VERBS, RESOURCES, NAMESPACES);
    assert.equal(reqs.length, USERS.length * VERBS.length * RESOURCES.length * NAMESPACES.length);
    const d = disagreements(s, reqs);
    assert.deepEqual(d.lines, []);
    // Guard against a world where everything is denied (agreement would then prove nothing), and
    // one where no explicit-only target is allowed or all are (the rule would then be untested).
    assert.ok(d.allowed > 100 && d.allowed < reqs.length / 2, `allowed ${d.allowed} of ${reqs.length}`);
    assert.ok(d.explicitAllowed > 0 && d.explicitAllowed < d.explicitAsked / 4, `explicit-only: ${d.explicitAllowed} of ${d.explicitAsked} allowed`);
  });

  it('covers what each scope should cover, and `*` never reaches an explicit-only target, in all systems', async () => {
    const s = await systemsFor(world);
    const ask = (u: string, verb: string, group: string, resource: string, namespace?: string, subresource?: string): boolean[] =>
      s.ask({ user: u, groups: [], resource: { verb, group, resource, ...(subresource ? { subresource } : {}), ...(namespace ? { namespace } : {}) } });
    const t = s.names.map(() => true);
    const f = s.names.map(() => false);
    // Team scope through the label and through spec.namespaces; the included role's permissions.
    assert.deepEqual(ask('alice@example.com', 'create', 'kubeflow.org', 'notebooks', 'vision-prod'), t);
    assert.deepEqual(ask('alice@example.com', 'list', '', 'pods', 'vision-dev'), t);
    // Outside the team's namespaces, and cluster-wide: not covered by a team scope.
    assert.deepEqual(ask('alice@example.com', 'list', '', 'pods', 'shared'), f);
    assert.deepEqual(ask('alice@example.com', 'list', '', 'pods'), f);
    // Requests carry the username; the object name alone is not the user.
    assert.deepEqual(ask('alice', 'list', '', 'pods', 'vision-dev'), f);
    // A cluster binding covers cluster-scoped resources and every namespace; `nodes` has no group.
    assert.deepEqual(ask('carol', 'get', '', 'nodes'), t);
    assert.deepEqual(ask('carol', 'get', 'example.com', 'nodes', 'shared'), t);
    // `core/namespaces` is the core group only.
    assert.deepEqual(ask('carol', 'list', '', 'namespaces'), t);
    assert.deepEqual(ask('carol', 'list', 'apps', 'namespaces'), f);
    // `*:*` in one namespace; a custom verb through a team subject of a cluster binding.
    assert.deepEqual(ask('carol', 'delete', 'apps', 'deployments', 'nlp-dev'), t);
    assert.deepEqual(ask('bob', 'adapt', 'example.com', 'models'), t);
    // A dot in a group is not a regex wildcard.
    assert.deepEqual(ask('alice@example.com', 'create', 'kubeflowXorg', 'notebooks', 'vision-dev'), f);
    // Issue 28: `*:*` does not reach Secrets or exec; Secrets in another group are not the core's.
    assert.deepEqual(ask('carol', 'get', '', 'secrets', 'nlp-dev'), f);
    assert.deepEqual(ask('carol', 'create', '', 'pods', 'nlp-dev', 'exec'), f);
    assert.deepEqual(ask('carol', 'get', 'apps', 'secrets', 'nlp-dev'), t);
    assert.deepEqual(ask('carol', 'get', '', 'pods', 'nlp-dev', 'log'), t);
    // `*:read` and `pods/*:get` do not reach them either; pods/log they do.
    assert.deepEqual(ask('dave', 'get', '', 'secrets', 'shared'), f);
    assert.deepEqual(ask('dave', 'get', '', 'pods', 'shared', 'exec'), f);
    assert.deepEqual(ask('dave', 'get', '', 'nodes', undefined, 'proxy'), f);
    assert.deepEqual(ask('dave', 'get', '', 'pods', 'shared', 'log'), t);
    // Named, they are reached: `pods/exec:create`, `core/secrets:read`, `services/proxy:get`...
    assert.deepEqual(ask('alice@example.com', 'create', '', 'pods', 'vision-dev', 'exec'), t);
    assert.deepEqual(ask('alice@example.com', 'list', '', 'secrets', 'vision-dev'), t);
    assert.deepEqual(ask('alice@example.com', 'get', '', 'services', 'vision-dev', 'proxy'), t);
    // ... but `pods/*:get` does not reach pods/attach, nor `*/token:create` service-account tokens.
    assert.deepEqual(ask('alice@example.com', 'get', '', 'pods', 'vision-dev', 'attach'), f);
    assert.deepEqual(ask('alice@example.com', 'create', '', 'serviceaccounts', 'vision-dev', 'token'), f);
  });

  it('agree on the benchmark’s sampled requests, explicit-only ones included', async () => {
    const s = await systemsFor(world);
    const sample = sampleRequests(rbacModel(world), 600, 7);
    const kinds = new Set(sample.map((x) => x.kind));
    assert.equal(kinds.size, 12);
    const d = disagreements(
      s,
      sample.map((x) => x.req),
    );
    assert.deepEqual(d.lines, []);
    assert.ok(d.explicitAsked >= 50, `explicit-only requests ${d.explicitAsked}`);
  });

  it('Casbin’s matcher carries the explicit-only clause generated from the table', () => {
    assert.ok(CASBIN_MODEL.includes('(p.wild == "0" || !(r.obj == "core/secrets" || r.obj == "core/pods/exec" || '), CASBIN_MODEL);
  });
});

// ---------------------------------------------------------------- random worlds

const R_USERS = ['u0', 'u1', 'u2'];
const R_ROLES = ['r0', 'r1', 'r2', 'r3'];
const R_TEAMS = ['t0', 't1'];
const R_NSS = ['n0', 'n1', 'n2'];
const R_PERMS = [
  'pods:get', 'pods:read', '*:read', '*:*', '*:get', 'apps/*:create', 'core/*:delete', 'secrets:get', 'core/secrets:*', 'pods/exec:create', 'pods/*:get', '*/exec:create',
  'pods/log:get', 'serviceaccounts/token:create', 'nodes/proxy:get', 'services/*:get', 'kubeflow.org/notebooks:*', 'deployments:write',
];
const sub = <T>(xs: readonly T[], max?: number) => fc.subarray([...xs], max === undefined ? {} : { maxLength: max });
const some = <T>(names: readonly string[], arb: (n: string) => fc.Arbitrary<T>, minLength = 0) =>
  fc.subarray([...names], { minLength }).chain((ns) => fc.tuple(...ns.map(arb)) as fc.Arbitrary<T[]>);
// Dense enough that a good share of requests is allowed: every user and role exists, roles are not
// empty, and there are at least three bindings.
const peerWorldArb: fc.Arbitrary<PeerWorld> = fc.record({
  users: some(R_USERS, (name) => fc.boolean().map((own): User => ({ kind: 'User', metadata: { name }, spec: { state: 'Active', ...(own ? { username: `${name}@example.com` } : {}) } }))),
  roles: some(R_ROLES, (name) =>
    fc.record({ permissions: sub(R_PERMS, 4), includes: sub([...R_ROLES, 'ghost'], 2) }).map((spec): Role => ({ kind: 'Role', metadata: { name }, spec })),
    R_ROLES.length,
  ),
  teams: some(R_TEAMS, (name) =>
    fc.record({ members: sub([...R_USERS, 'u0@example.com', 'u1@example.com', 'nobody']), namespaces: sub(R_NSS) }).map((spec): Team => ({ kind: 'Team', metadata: { name }, spec })),
  ),
  namespaces: some(R_NSS, (name) => fc.option(fc.constantFrom(...R_TEAMS), { nil: undefined }).map((t): Namespace => ({ kind: 'Namespace', metadata: { name, labels: t ? { 'iam.gatehouse.dev/team': t } : {} } }))),
  bindings: some(['b0', 'b1', 'b2', 'b3', 'b4'], (name) =>
    fc
      .record({
        role: fc.constantFrom(...R_ROLES, ...R_ROLES, 'ghost'),
        subjects: fc.array(
          fc.oneof(
            fc.constantFrom(...R_USERS, 'u1@example.com', 'ghost').map((n) => ({ kind: 'User' as const, name: n })),
            fc.constantFrom(...R_TEAMS, 'ghost').map((n) => ({ kind: 'Team' as const, name: n })),
          ),
          { minLength: 1, maxLength: 2 },
        ),
        scope: fc.oneof(fc.constant({ cluster: true as const }), sub(R_TEAMS).map((teams) => ({ teams })), sub(R_NSS).map((namespaces) => ({ namespaces }))),
      })
      .map((spec): RoleBinding => ({ kind: 'RoleBinding', metadata: { name }, spec })),
    3,
  ),
});
const R_REQ_USERS = ['u0', 'u1', 'u2', 'u0@example.com', 'u1@example.com', 'u2@example.com'];
const R_VERBS = ['get', 'create', 'delete', '*'];
const R_RESOURCES: Res[] = [['', 'pods'], ['apps', 'deployments'], ['', 'pods', 'log'], ['kubeflow.org', 'notebooks'], ['', '*'], ['apps', 'secrets'], ...EXPLICIT];
const R_NAMESPACES = [...R_NSS, undefined];

describe('peer encoders on random worlds', () => {
  it('Gatehouse, Casbin, both Cedar encodings and the reference agree on every request over each world’s pools', async () => {
    const requests = every(R_REQ_USERS, R_VERBS, R_RESOURCES, R_NAMESPACES);
    let allowed = 0;
    let explicitAllowed = 0;
    await replayable(propertySeed(28), (seed) =>
      fc.assert(
        fc.asyncProperty(peerWorldArb, async (w) => {
          const d = disagreements(await systemsFor(w), requests);
          allowed += d.allowed;
          explicitAllowed += d.explicitAllowed;
          assert.deepEqual(d.lines.slice(0, 5), [], `${d.lines.length} disagreements; world ${JSON.stringify(w)}`);
        }),
        { numRuns: 40, seed },
      ),
    );
    // The worlds are not all empty: some requests are allowed, some explicit-only ones by name.
    assert.ok(allowed > 200 && explicitAllowed > 10, `allowed ${allowed}, explicit-only allowed ${explicitAllowed}`);
  });
});

describe('the plain-RBAC subset', () => {
  it('refuses what the encoders cannot express, and restrictToRbac removes it', () => {
    const outside: PeerWorld = {
      ...world,
      users: [...world.users, user('eve', { state: 'Suspended' }), user('root', { superuser: true })],
      roles: [...world.roles, role('logs', ['pods/log:get', 'me', '/metrics:get'])],
    };
    assert.throws(() => rbacModel(outside), OutsideRbacSubsetError);
    const r = restrictToRbac(outside);
    assert.doesNotThrow(() => rbacModel(r.world));
    assert.equal(r.removed.inactiveUsersActivated, 1);
    assert.equal(r.removed.superusersDemoted, 1);
    assert.equal(r.removed.permissionsOutsideGrammarSubset, 2);
  });

  it('writes wildcards as anchored patterns and bindings as one policy each (two with wildcards)', () => {
    assert.equal(objectPattern({ group: null, resource: 'pods' }), '^[^/]+/pods$');
    assert.equal(objectPattern({ group: 'kubeflow.org', resource: '*' }), '^kubeflow\\.org/[^/]+(/[^/]+)?$');
    assert.equal(objectPattern({ group: '', resource: 'pods' }), '^core/pods$');
    assert.equal(objectPattern({ group: '', resource: 'pods', subresource: '*' }), '^core/pods/[^/]+$');
    const text = bindingPolicies({ name: 'b', role: 'viewer', users: ['alice'], teams: [], scope: { kind: 'teams', teams: ['vision'] } }, [{ group: null, resource: 'pods', subresource: null, verbs: ['get'] }]);
    assert.deepEqual(text, { b: '@binding("b")\npermit (principal in User::"alice", action, resource in Team::"vision") when { action == Action::"get" && resource.name == "pods" && resource.sub == "" };' });
    const two = bindingPolicies({ name: 'b', role: 'admin', users: ['alice'], teams: [], scope: { kind: 'cluster' } }, [
      { group: null, resource: '*', subresource: null, verbs: null },
      { group: '', resource: 'secrets', subresource: null, verbs: ['get'] },
    ]);
    assert.deepEqual(Object.keys(two), ['b', 'b (wildcards)']);
    assert.match(two['b (wildcards)']!, /^@binding\("b \(wildcards\)"\)\npermit \(principal in User::"alice", action, resource\) unless \{ \(resource\.group == "" && resource\.name == "secrets" && resource\.sub == ""\) \|\| /);
  });
  it('writes a role as one policy (two with wildcards) and the bindings as per-User grants (role -> namespaces)', () => {
    const text = rolePolicies('viewer', [{ group: null, resource: 'pods', subresource: null, verbs: ['get'] }]);
    assert.deepEqual(text, {
      viewer:
        '@role("viewer")\npermit (principal, action, resource) when { principal.grants has "viewer" && (action == Action::"get" && resource.name == "pods" && resource.sub == "") && (principal.grants["viewer"].contains("*") || (context has ns && principal.grants["viewer"].contains(context.ns))) };',
    });
    const grants = userRoleGrants(rbacModel(world));
    const of = (u: string): string[] => (grants.get(u) ?? []).map((g) => `${g.role}@${g.ns}`).sort();
    // alice: the vision team's team-scoped trainer (spec and label namespaces) and the team's cluster adapter.
    assert.deepEqual(of('alice'), ['adapter@*', 'debugger@vision-dev', 'trainer@vision-dev', 'trainer@vision-prod']);
    assert.deepEqual(of('bob'), ['adapter@*', 'trainer@vision-dev', 'trainer@vision-prod', 'viewer@nlp-dev', 'viewer@shared']);
    assert.deepEqual(of('carol'), ['admin@nlp-dev', 'node-reader@*']);
    assert.deepEqual(of('dave'), ['adapter@*', 'everything-reader@*']);
  });
});
