// The peer encoders (bench/peers/) must say what Gatehouse says on the plain-RBAC subset, or the
// benchmark compares different questions. A tiny hand-made world with every feature the subset has
// (user and team subjects, cluster / team / namespace scopes, labelled and listed team namespaces,
// group and verb wildcards, aliases, includes, a username that differs from the object name), and
// every request over its users, verbs, resources and namespaces.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCasbin, objectPattern } from '../../../bench/peers/casbin.js';
import { bindingPolicy, buildCedar, CEDAR_ENCODINGS, rolePolicy, userRoleGrants } from '../../../bench/peers/cedar.js';
import { buildGatehouse } from '../../../bench/peers/gatehouse.js';
import { sampleRequests } from '../../../bench/peers/requests.js';
import type { PeerWorld } from '../../../bench/peers/subset.js';
import { OutsideRbacSubsetError, rbacModel, restrictToRbac } from '../../../bench/peers/subset.js';
import type { AccessRequest } from '../../../src/authz/types.js';
import { binding, ns, role, team, user } from '../../support/authz.js';

const world: PeerWorld = {
  users: [user('alice', { username: 'alice@example.com' }), user('bob'), user('carol'), user('dave')],
  roles: [
    role('viewer', ['pods:read', 'apps/deployments:get']),
    role('trainer', ['kubeflow.org/*:create', 'batch/jobs:write'], { includes: ['viewer'] }),
    role('node-reader', ['nodes:get', 'core/namespaces:list']),
    role('admin', ['*:*']),
    role('adapter', ['models:adapt']),
  ],
  teams: [team('vision', { members: ['alice', 'bob'], namespaces: ['vision-dev'] }), team('nlp', { members: ['carol'] })],
  namespaces: [ns('vision-dev'), ns('vision-prod', { 'iam.gatehouse.dev/team': 'vision' }), ns('nlp-dev', { 'iam.gatehouse.dev/team': 'nlp' }), ns('shared')],
  bindings: [
    binding('vision-trainers', 'trainer', ['team:vision'], { teams: ['vision'] }),
    binding('bob-viewer-shared', 'viewer', ['bob'], { namespaces: ['shared', 'nlp-dev'] }),
    binding('carol-nodes', 'node-reader', ['carol'], { cluster: true }),
    binding('nlp-admin', 'admin', ['team:nlp'], { namespaces: ['nlp-dev'] }),
    binding('dave-adapter', 'adapter', ['dave', 'team:vision'], { cluster: true }),
    binding('nobody', 'viewer', ['team:empty'], { teams: ['vision'] }),
  ],
};

const USERS = ['alice@example.com', 'alice', 'bob', 'carol', 'dave', 'stranger'];
const VERBS = ['get', 'list', 'watch', 'create', 'delete', 'adapt'];
const RESOURCES: [string, string][] = [
  ['', 'pods'],
  ['apps', 'pods'],
  ['apps', 'deployments'],
  ['kubeflow.org', 'notebooks'],
  ['batch', 'jobs'],
  ['', 'nodes'],
  ['', 'namespaces'],
  ['example.com', 'models'],
  ['kubeflowXorg', 'notebooks'],
];
const NAMESPACES: (string | undefined)[] = ['vision-dev', 'vision-prod', 'nlp-dev', 'shared', 'elsewhere', undefined];

function allRequests(): AccessRequest[] {
  const out: AccessRequest[] = [];
  for (const u of USERS)
    for (const verb of VERBS)
      for (const [group, resource] of RESOURCES)
        for (const namespace of NAMESPACES) out.push({ user: u, groups: ['system:authenticated'], resource: { verb, group, resource, ...(namespace ? { namespace } : {}) } });
  return out;
}

const key = (r: AccessRequest): string => `${r.user} ${r.resource!.verb} ${r.resource!.group}/${r.resource!.resource} in ${r.resource!.namespace ?? '(cluster)'}`;

describe('peer encoders on a tiny world', () => {
  for (const encoding of CEDAR_ENCODINGS) {
    it(`Casbin and Cedar (${encoding} encoding) give Gatehouse’s answer to every request`, async () => {
      const gh = buildGatehouse(world);
      const cb = await buildCasbin(world);
      const cd = buildCedar(world, encoding);
      assert.equal(cd.encoding, encoding);
      const reqs = allRequests();
      const disagreements: string[] = [];
      let allowed = 0;
      for (const r of reqs) {
        const a = gh.allows(r);
        if (a) allowed++;
        const b = cb.allows(r);
        const c = cd.allows(r);
        if (a !== b || a !== c) disagreements.push(`${key(r)}: gatehouse ${a} casbin ${b} cedar ${c}`);
      }
      assert.deepEqual(disagreements, []);
      // Guard against a world where everything is denied (agreement would then prove nothing).
      assert.ok(allowed > 50 && allowed < reqs.length / 2, `allowed ${allowed} of ${reqs.length}`);
    });
  }

  it('covers what each scope should cover, in all three systems (both Cedar encodings)', async () => {
    const systems = [buildGatehouse(world), await buildCasbin(world), buildCedar(world, 'role'), buildCedar(world, 'binding')];
    const ask = (u: string, verb: string, group: string, resource: string, namespace?: string): boolean[] =>
      systems.map((s) => s.allows({ user: u, groups: [], resource: { verb, group, resource, ...(namespace ? { namespace } : {}) } }));
    const [t, f] = [[true, true, true, true], [false, false, false, false]];
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
  });

  it('agree on the benchmark’s sampled requests', async () => {
    const gh = buildGatehouse(world);
    const cb = await buildCasbin(world);
    const cds = CEDAR_ENCODINGS.map((e) => buildCedar(world, e));
    const sample = sampleRequests(rbacModel(world), 550, 7);
    const kinds = new Set(sample.map((s) => s.kind));
    assert.equal(kinds.size, 11);
    for (const { kind, req } of sample) {
      const a = gh.allows(req);
      assert.equal(cb.allows(req), a, `casbin, ${kind}: ${key(req)}`);
      for (const cd of cds) assert.equal(cd.allows(req), a, `cedar ${cd.encoding}, ${kind}: ${key(req)}`);
    }
  });
});

describe('the plain-RBAC subset', () => {
  it('refuses what the encoders cannot express, and restrictToRbac removes it', () => {
    const outside: PeerWorld = {
      ...world,
      users: [...world.users, user('eve', { state: 'Suspended' }), user('root', { superuser: true })],
      roles: [...world.roles, role('logs', ['pods/log:get', 'me'])],
    };
    assert.throws(() => rbacModel(outside), OutsideRbacSubsetError);
    const r = restrictToRbac(outside);
    assert.doesNotThrow(() => rbacModel(r.world));
    assert.equal(r.removed.inactiveUsersActivated, 1);
    assert.equal(r.removed.superusersDemoted, 1);
    assert.equal(r.removed.permissionsOutsideGrammarSubset, 2);
  });

  it('writes wildcards as anchored patterns and bindings as one policy each', () => {
    assert.equal(objectPattern({ group: null, resource: 'pods' }), '^[^/]+/pods$');
    assert.equal(objectPattern({ group: 'kubeflow.org', resource: '*' }), '^kubeflow\\.org/[^/]+$');
    assert.equal(objectPattern({ group: '', resource: 'pods' }), '^core/pods$');
    const text = bindingPolicy({ name: 'b', role: 'viewer', users: ['alice'], teams: [], scope: { kind: 'teams', teams: ['vision'] } }, [{ group: null, resource: 'pods', verbs: ['get'] }]);
    assert.equal(text, '@binding("b")\npermit (principal in User::"alice", action, resource in Team::"vision") when { action == Action::"get" && resource.name == "pods" };');
  });
  it('writes a role as one policy and the bindings as per-User grants (role -> namespaces)', () => {
    const text = rolePolicy('viewer', [{ group: null, resource: 'pods', verbs: ['get'] }]);
    assert.equal(
      text,
      '@role("viewer")\npermit (principal, action, resource) when { principal.grants has "viewer" && (action == Action::"get" && resource.name == "pods") && (principal.grants["viewer"].contains("*") || (context has ns && principal.grants["viewer"].contains(context.ns))) };',
    );
    const grants = userRoleGrants(rbacModel(world));
    const of = (u: string): string[] => (grants.get(u) ?? []).map((g) => `${g.role}@${g.ns}`).sort();
    // alice: the vision team's team-scoped trainer (spec and label namespaces) and the team's cluster adapter.
    assert.deepEqual(of('alice'), ['adapter@*', 'trainer@vision-dev', 'trainer@vision-prod']);
    assert.deepEqual(of('bob'), ['adapter@*', 'trainer@vision-dev', 'trainer@vision-prod', 'viewer@nlp-dev', 'viewer@shared']);
    assert.deepEqual(of('carol'), ['admin@nlp-dev', 'node-reader@*']);
    assert.deepEqual(of('dave'), ['adapter@*']);
  });
});
