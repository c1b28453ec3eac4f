import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionIndex } from '../../../src/authz/index.js';
import { decide } from '../../../src/authz/decide.js';
import { parseConfig } from '../../../src/config.js';
import { ownerLabelValue, OWNER_USERNAME_ANNOTATION } from '../../../src/api/owner.js';
import type { Decision, DecisionCode, Verdict } from '../../../src/authz/types.js';
import { binding, ns, policy, req, role, team, user } from '../../support/authz.js';
import type { AccessRequest } from '../../../src/authz/types.js';
import { bindingDiagnostics, roleDiagnostics } from '../../../src/controller/diagnostics.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

function world(config: Record<string, unknown> = {}) {
  return PermissionIndex.build(
    {
      users: [
        user('alice'),
        user('bob'),
        user('carol', { username: 'carol@example.com' }),
        user('pending', { state: 'Pending' }),
        user('rejected', { state: 'Rejected' }),
        user('suspended', { state: 'Suspended' }),
        user('boss', { superuser: true }),
        user('fallen', { superuser: true, state: 'Suspended' }),
        user('dave'),
        user('erin'),
        user('owner1'),
      ],
      roles: [
        role('researcher', ['jobs:*', 'pods:read', 'projects:read', 'kubeflow.org/notebooks:create']),
        role('viewer', ['*:read']),
        role('logs', ['pods/log:get']),
        role('node-reader', ['nodes:read', '/metrics:get']),
        role('lead', ['pods:delete'], { includes: ['researcher'] }),
        role('project-owner', ['*:*']),
        role('binder', ['iam.gatehouse.dev/rolebindings:create', 'iam.gatehouse.dev/rolebindings:get']),
        role('self', ['me']),
        role('configs', [], { rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['app'] }] }),
      ],
      teams: [
        team('vision', { members: ['alice'], namespaces: ['vision-dev'] }),
        team('nlp', { groups: ['oidc:nlp'] }),
        team('everyone', { groups: ['oidc:all'] }),
      ],
      bindings: [
        binding('vision-researchers', 'researcher', ['team:vision'], { teams: ['vision'] }),
        binding('bob-a', 'researcher', ['bob'], { namespaces: ['ns-a'] }),
        binding('bob-nodes', 'node-reader', ['bob'], { namespaces: ['ns-a'] }),
        binding('carol-nodes', 'node-reader', ['carol'], { cluster: true }),
        binding('dave-expired', 'researcher', ['dave'], { namespaces: ['ns-a'] }, '2026-01-01T00:00:00Z'),
        binding('dave-later', 'researcher', ['dave'], { namespaces: ['ns-b'] }, '2027-01-01T00:00:00Z'),
        binding('nlp-viewers', 'viewer', ['team:nlp'], { namespaces: ['nlp-dev'] }),
        binding('ml-group', 'logs', ['group:oidc:ml'], { namespaces: ['ns-a'] }),
        binding('masters', 'viewer', ['group:system:masters'], { cluster: true }),
        binding('pending-b', 'viewer', ['pending', 'rejected', 'suspended'], { cluster: true }),
        binding('erin-binder', 'binder', ['erin'], { teams: ['vision'] }),
        binding('erin-self', 'self', ['erin'], { namespaces: ['whatever'] }),
        binding('bob-lead', 'lead', ['bob'], { namespaces: ['ns-lead'] }),
        binding('bob-configs', 'configs', ['bob'], { namespaces: ['ns-a'] }),
      ],
      namespaces: [
        ns('vision-dev'),
        ns('vision-labelled', { 'iam.gatehouse.dev/team': 'vision' }),
        ns('ns-a'),
        ns('ns-b'),
        ns('owned', { 'iam.gatehouse.dev/owner': 'owner1' }),
        ns('open', { 'iam.gatehouse.dev/visibility': 'public' }),
        ns('common', { 'iam.gatehouse.dev/team': 'everyone' }),
      ],
    },
    policy({
      projects: { ownerRole: 'project-owner', publicRole: 'viewer' },
      defaults: { role: 'viewer', team: 'everyone' },
      seedAdmins: [{ username: 'root' }],
      authorization: { ignoreUsers: ['robot'], ignoreGroups: ['ci'] },
      ...config,
    }),
    () => NOW,
  );
}

type Case = [name: string, request: AccessRequest, verdict: Verdict, code: DecisionCode, reason?: RegExp];
const cases: Case[] = [
  // 1. ignored
  ['system: users are ignored', req('system:kube-scheduler', 'get pods', 'ns-a'), 'noOpinion', 'ignored'],
  ['service accounts are ignored', req('system:serviceaccount:ns-a:default', 'get pods', 'ns-a'), 'noOpinion', 'ignored'],
  ['service-account groups are ignored', req('alice', 'get pods', 'vision-dev', { groups: ['system:serviceaccounts'] }), 'noOpinion', 'ignored'],
  ['configured ignoreUsers', req('robot', 'get pods', 'ns-a'), 'noOpinion', 'ignored'],
  ['configured ignoreGroups', req('alice', 'get jobs', 'vision-dev', { groups: ['ci'] }), 'noOpinion', 'ignored'],
  // 3. unknown users
  ['an unknown user gets no opinion', req('stranger', 'get pods', 'ns-a'), 'noOpinion', 'unknownUser', /stranger has no User/],
  ['an unknown user may register', req('stranger', 'create iam.gatehouse.dev/users'), 'allow', 'registration'],
  ['registration is create only', req('stranger', 'update iam.gatehouse.dev/users'), 'noOpinion', 'unknownUser'],
  // 4. inactive users are denied even with bindings
  ['a Pending user is denied', req('pending', 'get pods', 'ns-a'), 'deny', 'inactive', /pending is Pending/],
  ['a Rejected user is denied', req('rejected', 'get pods', 'ns-a'), 'deny', 'inactive'],
  ['a Suspended user is denied', req('suspended', 'get pods', 'ns-a'), 'deny', 'inactive'],
  ['a suspended superuser is denied', req('fallen', 'get pods', 'ns-a'), 'deny', 'inactive'],
  // ...but asking what they may do, and discovery, are left to RBAC, so `kubectl auth can-i` as a
  // Pending user answers "no - user pending is Pending" instead of failing.
  ['an inactive user may ask what they may do (kubectl auth can-i)', req('pending', 'create authorization.k8s.io/selfsubjectaccessreviews'), 'noOpinion', 'inactive', /^user pending is Pending; self reviews and API discovery are left to RBAC$/],
  ['an inactive user may list their own rules', req('suspended', 'create authorization.k8s.io/selfsubjectrulesreviews'), 'noOpinion', 'inactive'],
  ['an inactive user may ask who they are (kubectl auth whoami)', req('rejected', 'create authentication.k8s.io/selfsubjectreviews'), 'noOpinion', 'inactive'],
  ['an inactive user may discover the API', req('pending', 'get /apis/apps/v1'), 'noOpinion', 'inactive'],
  ['an inactive user may read /version', req('pending', 'get /version'), 'noOpinion', 'inactive'],
  ['an inactive user is denied a review about someone else', req('pending', 'create authorization.k8s.io/subjectaccessreviews'), 'deny', 'inactive'],
  ['an inactive user is denied other non-resource URLs', req('pending', 'get /metrics'), 'deny', 'inactive'],
  ['an inactive user is denied writes to discovery paths', req('pending', 'post /apis'), 'deny', 'inactive'],
  ['an inactive user is denied a path that only starts like discovery', req('pending', 'get /apisx'), 'deny', 'inactive'],
  // 5. superusers
  ['a superuser is allowed', req('boss', 'delete nodes'), 'allow', 'superuser'],
  ['a seed admin is a superuser without a User', req('root', 'delete nodes'), 'allow', 'superuser', /seed admin/],
  // 6. bindings
  ['a team binding in the team namespace', req('alice', 'create jobs', 'vision-dev'), 'allow', 'binding', /^role researcher via binding vision-researchers \(Team vision\) in namespace vision-dev \(scope team vision\)$/],
  ['a team scope covers labelled namespaces', req('alice', 'get pods', 'vision-labelled'), 'allow', 'binding', /vision-labelled/],
  ['a team scope does not cover other namespaces', req('alice', 'get pods', 'ns-a'), 'noOpinion', 'noMatch'],
  ['pods does not match pods/log', req('alice', 'get pods/log', 'vision-dev'), 'noOpinion', 'noMatch'],
  ['a user binding in namespace A', req('bob', 'get pods', 'ns-a'), 'allow', 'binding', /binding bob-a \(User bob\) in namespace ns-a/],
  ['a binding in namespace A grants nothing in B', req('bob', 'get pods', 'ns-b'), 'noOpinion', 'noMatch'],
  ['cluster-scoped resources need a cluster binding', req('bob', 'get nodes'), 'noOpinion', 'noMatch'],
  ['non-resource URLs need a cluster binding', req('bob', 'get /metrics'), 'noOpinion', 'noMatch'],
  ['a cluster binding covers cluster-scoped resources', req('carol@example.com', 'list nodes'), 'allow', 'binding', /cluster-wide/],
  ['a cluster binding covers non-resource URLs', req('carol@example.com', 'get /metrics'), 'allow', 'binding'],
  ['the username, not the object name, is the identity', req('carol', 'list nodes'), 'noOpinion', 'unknownUser'],
  ['an expired binding grants nothing', req('dave', 'get pods', 'ns-a'), 'noOpinion', 'noMatch'],
  ['a binding before expiry grants', req('dave', 'get pods', 'ns-b'), 'allow', 'binding'],
  ['team membership through a request group', req('erin', 'get services', 'nlp-dev', { groups: ['oidc:nlp'] }), 'allow', 'binding', /\(Team nlp\)/],
  ['without the group, no team', req('erin', 'get services', 'nlp-dev'), 'noOpinion', 'noMatch'],
  ['a Group subject', req('erin', 'get pods/log', 'ns-a', { groups: ['oidc:ml'] }), 'allow', 'binding', /\(Group oidc:ml\)/],
  ['system:masters grants nothing', req('erin', 'get secrets', 'ns-a', { groups: ['system:masters'] }), 'noOpinion', 'noMatch'],
  ['includes: a role holds its included roles', req('bob', 'create jobs', 'ns-lead'), 'allow', 'binding', /role lead/],
  ['resourceNames: the named object', req('bob', 'get configmaps', 'ns-a', { name: 'app' }), 'allow', 'binding'],
  ['resourceNames: another object', req('bob', 'get configmaps', 'ns-a', { name: 'db' }), 'noOpinion', 'noMatch'],
  // 7. projects
  ['a namespace owner holds the owner role', req('owner1', 'delete services', 'owned'), 'allow', 'projectOwner', /owner of namespace owned/],
  ['the owner role only in the owned namespace', req('owner1', 'delete services', 'ns-a'), 'noOpinion', 'noMatch'],
  ['a public namespace gives the public role', req('owner1', 'list pods', 'open'), 'allow', 'publicProject'],
  ['the public role is read only', req('owner1', 'create pods', 'open'), 'noOpinion', 'noMatch'],
  // What `*` does not reach (EXPLICIT_ONLY): Secrets, exec, proxies, tokens must be named.
  ['*:read (the default role) does not read Secrets', req('bob', 'get secrets', 'common'), 'noOpinion', 'noMatch'],
  ['*:* (the owner role) does not reach Secrets', req('owner1', 'delete secrets', 'owned'), 'noOpinion', 'noMatch'],
  ['*:* does not reach pods/exec', req('owner1', 'create pods/exec', 'owned'), 'noOpinion', 'noMatch'],
  ['*:read does not reach pods/exec by get', req('owner1', 'get pods/exec', 'open'), 'noOpinion', 'noMatch'],
  ['*:* still reaches pods/log', req('owner1', 'get pods/log', 'owned'), 'allow', 'projectOwner'],
  // 8. defaults
  ['the default role in the default team scope', req('bob', 'get pods', 'common'), 'allow', 'default', /every active user/],
  ['the default role only there', req('bob', 'get secrets', 'ns-b'), 'noOpinion', 'noMatch'],
  // Delegated administration and me
  ['a write to Gatehouse kinds held in a team scope is delegated', req('erin', 'create iam.gatehouse.dev/rolebindings'), 'allow', 'delegated', /team vision/],
  ['reads of Gatehouse kinds need a cluster grant', req('erin', 'get iam.gatehouse.dev/rolebindings', undefined, { name: 'x' }), 'noOpinion', 'noMatch'],
  ['me: get own User', req('erin', 'get iam.gatehouse.dev/users', undefined, { name: 'erin' }), 'allow', 'self', /permission me/],
  ['me: update own User', req('erin', 'patch iam.gatehouse.dev/users', undefined, { name: 'erin' }), 'allow', 'self'],
  ['me: not another User', req('erin', 'get iam.gatehouse.dev/users', undefined, { name: 'alice' }), 'noOpinion', 'noMatch'],
  ['me: not a list of every User', req('erin', 'list iam.gatehouse.dev/users'), 'noOpinion', 'noMatch'],
  ['me: not delete', req('erin', 'delete iam.gatehouse.dev/users', undefined, { name: 'erin' }), 'noOpinion', 'noMatch'],
  ['without me, no own User', req('bob', 'get iam.gatehouse.dev/users', undefined, { name: 'bob' }), 'noOpinion', 'noMatch'],
];

describe('decide(): docs/design.md order, table', () => {
  const index = world();
  for (const [name, request, verdict, code, reason] of cases) {
    it(name, () => {
      const d: Decision = decide(index, request);
      assert.equal(d.verdict, verdict, d.reason);
      assert.equal(d.code, code, d.reason);
      if (reason) assert.match(d.reason, reason);
      if (d.verdict === 'allow' && d.code !== 'registration' && d.code !== 'superuser') assert.ok(d.grant, 'an allow names its grant');
    });
  }
});

describe('decide(): state and configuration', () => {
  it('says no opinion until synced', () => {
    const index = new PermissionIndex(policy(), () => NOW);
    index.apply({ op: 'upsert', kind: 'User', object: user('boss', { superuser: true }) });
    assert.equal(decide(index, req('boss', 'get pods', 'x')).code, 'notSynced');
    index.markSynced();
    assert.equal(decide(index, req('boss', 'get pods', 'x')).verdict, 'allow');
  });
  it('denyInactiveUsers false: inactive users get no opinion', () => {
    const d = decide(world({ authorization: { denyInactiveUsers: false } }), req('pending', 'get pods', 'ns-a'));
    assert.equal(d.verdict, 'noOpinion');
    assert.equal(d.code, 'inactive');
  });
  it('registration closed: unknown users may not create a User', () => {
    assert.equal(decide(world({ registration: { mode: 'closed' } }), req('stranger', 'create iam.gatehouse.dev/users')).code, 'unknownUser');
  });
  it('expiry is evaluated with the clock at decide time', () => {
    let now = Date.parse('2026-12-31T23:59:59Z');
    const index = PermissionIndex.build(
      { users: [user('dave')], roles: [role('r', ['pods:get'])], bindings: [binding('b', 'r', ['dave'], { namespaces: ['n'] }, '2027-01-01T00:00:00Z')] },
      policy(),
      () => now,
    );
    assert.equal(decide(index, req('dave', 'get pods', 'n')).verdict, 'allow');
    now = Date.parse('2027-01-01T00:00:00Z');
    assert.equal(decide(index, req('dave', 'get pods', 'n')).verdict, 'noOpinion');
    assert.equal(index.nextExpiry(Date.parse('2026-01-01T00:00:00Z')), Date.parse('2027-01-01T00:00:00Z'));
    assert.equal(index.nextExpiry(now), null);
  });
  it('explain names the permission that matched', () => {
    const d = decide(world(), req('bob', 'create jobs', 'ns-lead'), { explain: true });
    assert.equal(d.grant?.permission, 'jobs:* (from researcher)');
  });
  it('a stable reason: the binding with the smallest name wins', () => {
    const index = PermissionIndex.build(
      { users: [user('u')], roles: [role('r', ['pods:get'])], bindings: [binding('zz', 'r', ['u'], { cluster: true }), binding('aa', 'r', ['u'], { namespaces: ['n'] })] },
      policy(),
      () => NOW,
    );
    assert.equal(decide(index, req('u', 'get pods', 'n')).grant?.binding, 'aa');
  });
  it('a seed admin stays an Active superuser whatever its User object says', () => {
    const index = PermissionIndex.build({ users: [user('root', { state: 'Suspended', superuser: false })] }, policy({ seedAdmins: [{ username: 'root' }] }), () => NOW);
    const d = decide(index, req('root', 'delete nodes'));
    assert.equal(d.code, 'superuser');
    assert.equal(index.userRecord('root')?.seed, true);
  });
  it('an unparseable expiresAt grants nothing (fails closed) and is reported', () => {
    const index = PermissionIndex.build(
      { users: [user('u')], roles: [role('r', ['pods:get'])], bindings: [binding('b', 'r', ['u'], { cluster: true }, 'someday')] },
      policy(),
      () => NOW,
    );
    assert.equal(decide(index, req('u', 'get pods', 'n')).verdict, 'noOpinion');
    assert.equal(bindingDiagnostics(index, 'b')?.invalidExpiresAt, true);
  });
  it('roles on an include cycle hold the whole cycle and decide() terminates', () => {
    const index = PermissionIndex.build(
      { users: [user('u')], roles: [role('a', ['pods:get'], { includes: ['b'] }), role('b', ['jobs:get'], { includes: ['a'] })], bindings: [binding('x', 'a', ['u'], { cluster: true })] },
      policy(),
      () => NOW,
    );
    assert.equal(decide(index, req('u', 'get jobs', 'n')).verdict, 'allow');
    assert.deepEqual(roleDiagnostics(index, 'b')?.cycle, ['b', 'a', 'b']);
  });
  it('a binding to a role that does not exist grants nothing until the role appears', () => {
    const index = PermissionIndex.build({ users: [user('u')], bindings: [binding('x', 'later', ['u'], { cluster: true })] }, policy(), () => NOW);
    assert.equal(decide(index, req('u', 'get pods', 'n')).verdict, 'noOpinion');
    index.apply({ op: 'upsert', kind: 'Role', object: role('later', ['pods:get']) });
    assert.equal(decide(index, req('u', 'get pods', 'n')).verdict, 'allow');
    index.apply({ op: 'delete', kind: 'Role', name: 'later' });
    assert.equal(decide(index, req('u', 'get pods', 'n')).verdict, 'noOpinion');
  });
  it('a User subject and a Team member may name the username as well as the object name', () => {
    const index = PermissionIndex.build(
      {
        users: [user('carol', { username: 'carol@example.com' })],
        roles: [role('r', ['pods:get'])],
        teams: [team('t', { members: ['carol@example.com'] })],
        bindings: [binding('by-username', 'r', ['carol@example.com'], { namespaces: ['a'] }), binding('by-team', 'r', ['team:t'], { namespaces: ['b'] })],
      },
      policy(),
      () => NOW,
    );
    assert.equal(decide(index, req('carol@example.com', 'get pods', 'a')).verdict, 'allow');
    assert.equal(decide(index, req('carol@example.com', 'get pods', 'b')).verdict, 'allow');
  });
});

it('a namespace owned by a username that is not a valid label value is its owner\'s project', () => {
  const config = parseConfig({ projects: { ownerRole: 'project-owner' } });
  const index = PermissionIndex.build({
    users: [{ metadata: { name: 'alice' }, spec: { username: 'alice@example.com', state: 'Active' } }],
    roles: [{ metadata: { name: 'project-owner' }, spec: { permissions: ['*:*'] } }],
    teams: [],
    bindings: [],
    namespaces: [{ metadata: { name: 'alice-lab', labels: { 'iam.gatehouse.dev/owner': ownerLabelValue('alice@example.com') }, annotations: { [OWNER_USERNAME_ANNOTATION]: 'alice@example.com' } } }],
  }, config, () => 0);
  const d = decide(index, { user: 'alice@example.com', groups: [], resource: { verb: 'create', group: '', resource: 'pods', namespace: 'alice-lab' } });
  assert.equal(d.verdict, 'allow');
  assert.equal(d.code, 'projectOwner');
  // An annotation that does not agree with the label is not trusted: the label stays the authority.
  index.apply({ op: 'upsert', kind: 'Namespace', object: { metadata: { name: 'alice-lab', labels: { 'iam.gatehouse.dev/owner': 'mallory' }, annotations: { [OWNER_USERNAME_ANNOTATION]: 'alice@example.com' } } } });
  assert.equal(decide(index, { user: 'alice@example.com', groups: [], resource: { verb: 'create', group: '', resource: 'pods', namespace: 'alice-lab' } }).verdict, 'noOpinion');
});

it('users:approve lets an update or patch of a User through authorization (admission keeps it to state)', () => {
  const config = parseConfig({});
  const index = PermissionIndex.build({
    users: [{ metadata: { name: 'ava' }, spec: { state: 'Active' } }, { metadata: { name: 'pat' }, spec: { state: 'Pending' } }],
    roles: [{ metadata: { name: 'approver' }, spec: { permissions: ['iam.gatehouse.dev/users:approve'] } }],
    teams: [],
    bindings: [{ metadata: { name: 'ava-approves' }, spec: { role: 'approver', subjects: [{ kind: 'User', name: 'ava' }], scope: { cluster: true } } }],
    namespaces: [],
  }, config, () => 0);
  const ask = (verb: string, subresource?: string) => decide(index, { user: 'ava', groups: [], resource: { verb, group: 'iam.gatehouse.dev', resource: 'users', name: 'pat', ...(subresource ? { subresource } : {}) } });
  assert.equal(ask('patch').verdict, 'allow');
  assert.equal(ask('patch').code, 'delegated');
  assert.equal(ask('update').verdict, 'allow');
  assert.equal(ask('delete').verdict, 'noOpinion', 'approval is not deletion');
  assert.equal(ask('patch', 'status').verdict, 'noOpinion', 'nor a status write');
});
