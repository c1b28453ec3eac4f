// The peer encoders (bench/peers/) must say what Gatehouse says on the plain-RBAC subset, or the
// benchmark compares different questions. A tiny hand-made world with every feature the subset has
// (user and team subjects, cluster / team / namespace scopes, labelled and listed team namespaces,
// group and verb wildcards, aliases, includes, a username that differs from the object name), and
// every request over its users, verbs, resources and namespaces.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCasbin, objectPattern } from '../../../bench/peers/casbin.js';
import { bindingPolicy, buildCedar } from '../../../bench/peers/cedar.js';
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
  it('Casbin and Cedar give Gatehouse’s answer to every request', async () => {
    const gh = buildGatehouse(world);
    const cb = await buildCasbin(world);
    const cd = buildCedar(world);
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

  it('covers what each scope should cover, in all three systems', async () => {
    const systems = [buildGatehouse(world), await buildCasbin(world), buildCedar(world)];
    const ask = (u: string, verb: string, group: string, resource: string, namespace?: string): boolean[] =>
      systems.map((s) => s.allows({ user: u, groups: [], resource: { verb, group, resource, ...(namespace ? { namespace } : {}) } }));
    // Team scope through the label and through spec.namespaces; the included role's permissions.
    assert.deepEqual(ask('alice@example.com', 'create', 'kubeflow.org', 'notebooks', 'vision-prod'), [true, true, true]);
    assert.deepEqual(ask('alice@example.com', 'list', '', 'pods', 'vision-dev'), [true, true, true]);
    // Outside the team's namespaces, and cluster-wide: not covered by a team scope.
    assert.deepEqual(ask('alice@example.com', 'list', '', 'pods', 'shared'), [false, false, false]);
    assert.deepEqual(ask('alice@example.com', 'list', '', 'pods'), [false, false, false]);
    // Requests carry the username; the object name alone is not the user.
    assert.deepEqual(ask('alice', 'list', '', 'pods', 'vision-dev'), [false, false, false]);
    // A cluster binding covers cluster-scoped resources and every namespace; `nodes` has no group.
    assert.deepEqual(ask('carol', 'get', '', 'nodes'), [true, true, true]);
    assert.deepEqual(ask('carol', 'get', 'example.com', 'nodes', 'shared'), [true, true, true]);
    // `core/namespaces` is the core group only.
    assert.deepEqual(ask('carol', 'list', '', 'namespaces'), [true, true, true]);
    assert.deepEqual(ask('carol', 'list', 'apps', 'namespaces'), [false, false, false]);
    // `*:*` in one namespace; a custom verb through a team subject of a cluster binding.
    assert.deepEqual(ask('carol', 'delete', 'apps', 'deployments', 'nlp-dev'), [true, true, true]);
    assert.deepEqual(ask('bob', 'adapt', 'example.com', 'models'), [true, true, true]);
    // A dot in a group is not a regex wildcard.
    assert.deepEqual(ask('alice@example.com', 'create', 'kubeflowXorg', 'notebooks', 'vision-dev'), [false, false, false]);
  });

  it('agree on the benchmark’s sampled requests', async () => {
    const gh = buildGatehouse(world);
    const cb = await buildCasbin(world);
    const cd = buildCedar(world);
    const sample = sampleRequests(rbacModel(world), 550, 7);
    const kinds = new Set(sample.map((s) => s.kind));
    assert.equal(kinds.size, 11);
    for (const { kind, req } of sample) {
      const a = gh.allows(req);
      assert.equal(cb.allows(req), a, `casbin, ${kind}: ${key(req)}`);
      assert.equal(cd.allows(req), a, `cedar, ${kind}: ${key(req)}`);
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
});
