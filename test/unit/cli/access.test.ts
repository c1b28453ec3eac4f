// can-i / explain / who-can in-process against an in-memory client: the same decide() the
// operator runs, over the objects the caller could list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../../src/cli/run.js';
import { FakeClient, runFake } from '../../support/fake-client.js';
import { parseTarget } from '../../../src/client/target.js';
import { permissionFor } from '../../../src/client/access.js';

const NOW = Date.parse('2026-01-02T00:00:00Z');

function world(opts: ConstructorParameters<typeof FakeClient>[0] = {}): FakeClient {
  return new FakeClient({ namespaces: [{ metadata: { name: 'vision-dev' } }, { metadata: { name: 'other' } }], ...opts })
    .seed('User',
      { metadata: { name: 'alice' }, spec: { username: 'alice@example.com', state: 'Active' } },
      { metadata: { name: 'bob' }, spec: { state: 'Suspended' } },
      { metadata: { name: 'root' }, spec: { state: 'Active', superuser: true } },
      { metadata: { name: 'erin' }, spec: { state: 'Active' } })
    .seed('Role',
      { metadata: { name: 'researcher' }, spec: { permissions: ['batch/jobs:*', 'pods:read'] } },
      { metadata: { name: 'viewer' }, spec: { permissions: ['*:read'] } })
    .seed('Team', { metadata: { name: 'vision' }, spec: { members: ['alice'], groups: ['oidc:vision'], namespaces: ['vision-dev'] } })
    .seed('RoleBinding',
      { metadata: { name: 'vision-researchers' }, spec: { role: 'researcher', subjects: [{ kind: 'Team', name: 'vision' }], scope: { teams: ['vision'] } } },
      { metadata: { name: 'erin-old' }, spec: { role: 'researcher', subjects: [{ kind: 'User', name: 'erin' }], scope: { cluster: true }, expiresAt: '2026-01-01T00:00:00Z' } });
}

test('parseTarget: kubectl-style TYPE[.GROUP][/NAME], short names, namespaces', () => {
  assert.deepEqual(parseTarget({ verb: 'create', resource: 'jobs', namespace: 'x' }), { resource: { verb: 'create', group: 'batch', resource: 'jobs', namespace: 'x' } });
  assert.deepEqual(parseTarget({ verb: 'get', resource: 'pods' }), { resource: { verb: 'get', group: '', resource: 'pods', namespace: 'default' } });
  assert.deepEqual(parseTarget({ verb: 'get', resource: 'pods', contextNamespace: 'ctx' }), { resource: { verb: 'get', group: '', resource: 'pods', namespace: 'ctx' } });
  assert.deepEqual(parseTarget({ verb: 'list', resource: 'pods', allNamespaces: true }), { resource: { verb: 'list', group: '', resource: 'pods' } });
  assert.deepEqual(parseTarget({ verb: 'create', resource: 'notebooks.kubeflow.org/nb1', namespace: 'x' }), { resource: { verb: 'create', group: 'kubeflow.org', resource: 'notebooks', name: 'nb1', namespace: 'x' } });
  assert.deepEqual(parseTarget({ verb: 'patch', resource: 'ghuser/bob' }), { resource: { verb: 'patch', group: 'iam.gatehouse.dev', resource: 'users', name: 'bob' } });
  assert.deepEqual(parseTarget({ verb: 'get', resource: '/metrics' }), { nonResource: { verb: 'get', path: '/metrics' } });
  assert.throws(() => parseTarget({ verb: 'get', resource: 'ghteam', namespace: 'x' }), /cluster-scoped: leave out -n/);
  assert.throws(() => parseTarget({ verb: 'get', resource: 'a/b/c' }), /TYPE\[\.GROUP\]\[\/NAME\]/);
  assert.equal(permissionFor({ user: 'u', groups: [], resource: { verb: 'get', group: '', resource: 'pods', subresource: 'log' } }), 'pods/log:get');
  assert.equal(permissionFor({ user: 'u', groups: [], resource: { verb: 'create', group: 'batch', resource: 'jobs' } }), 'batch/jobs:create');
});

test('can-i: yes (exit 0) through a team binding, with the reason and the source', async () => {
  const res = await runFake(run, ['can-i', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice'], world(), { now: NOW });
  assert.equal(res.code, 0, res.stderr);
  const lines = res.stdout.split('\n');
  assert.equal(lines[0], 'yes');
  assert.match(lines[1] ?? '', /^gatehouse: yes - role researcher via binding vision-researchers \(Team vision\) in namespace vision-dev/);
  assert.match(res.stdout, /source: decided locally from the objects you can list \(4 users, 2 roles, 1 teams, 2 role assignments, 2 namespaces; default policy .*\); the operator was not asked/);
});

test('can-i: no (exit 1) outside the scope, for a suspended user, and for an expired binding', async () => {
  const outside = await runFake(run, ['can-i', 'create', 'jobs', '-n', 'other', '--as', 'alice'], world(), { now: NOW });
  assert.equal(outside.code, 1);
  assert.match(outside.stdout, /^no\ngatehouse: no opinion - no Gatehouse role grants create batch\/jobs in namespace other to user alice@example\.com \(native RBAC decides\)/);
  assert.match(outside.stderr, /note: asking about username alice@example\.com \(User alice.s spec\.username\)/);
  const suspended = await runFake(run, ['can-i', 'get', 'pods', '-n', 'vision-dev', '--as', 'bob'], world(), { now: NOW });
  assert.equal(suspended.code, 1);
  assert.match(suspended.stdout, /gatehouse: no \(denied\) - user bob is Suspended/);
  const expired = await runFake(run, ['can-i', 'create', 'jobs', '-n', 'other', '--as', 'erin'], world(), { now: NOW });
  assert.equal(expired.code, 1);
});

test('can-i: a group on the request makes the user a team member', async () => {
  const res = await runFake(run, ['can-i', 'get', 'pods', '-n', 'vision-dev', '--as', 'erin', '--as-group', 'oidc:vision'], world(), { now: NOW });
  assert.equal(res.code, 0, res.stdout);
});

test('can-i -o json carries the verdict, the code and the grant', async () => {
  const res = await runFake(run, ['can-i', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice', '-o', 'json'], world(), { now: NOW });
  const j = JSON.parse(res.stdout) as { allowed: boolean; gatehouse: { verdict: string; code: string; grant: { binding: string; permission: string } } };
  assert.equal(res.code, 0);
  assert.equal(j.allowed, true);
  assert.equal(j.gatehouse.code, 'binding');
  assert.equal(j.gatehouse.grant.binding, 'vision-researchers');
  assert.equal(j.gatehouse.grant.permission, 'batch/jobs:*');
});

test('can-i without --as on a cluster that cannot say who you are is a usage error', async () => {
  const res = await runFake(run, ['can-i', 'get', 'pods'], world(), { now: NOW });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /--as USER/);
  const known = await runFake(run, ['can-i', 'get', 'pods', '-n', 'vision-dev'], world({ whoAmI: { user: 'alice', groups: [] } }), { now: NOW });
  assert.equal(known.code, 0, known.stderr);
});

test('--ask-apiserver shows both answers and the API server has the last word', async () => {
  const client = world({ serverAnswer: () => ({ allowed: true, denied: false, reason: 'RBAC: allowed by ClusterRoleBinding "x"' }) });
  const res = await runFake(run, ['can-i', 'create', 'jobs', '-n', 'other', '--as', 'alice', '--ask-apiserver'], client, { now: NOW });
  assert.equal(res.code, 0);
  assert.match(res.stdout, /^yes\ngatehouse: no opinion/);
  assert.match(res.stdout, /apiserver: yes - RBAC: allowed by ClusterRoleBinding "x"/);
  const refused = await runFake(run, ['can-i', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice', '--ask-apiserver'], world(), { now: NOW });
  assert.equal(refused.code, 0, 'falls back to the local answer');
  assert.match(refused.stdout, /apiserver: not asked \(forbidden: cannot create subjectaccessreviews\)/);
});

test('lists the caller may not read narrow the answer, and a warning says so', async () => {
  const client = world({ forbid: (verb, kind) => (verb === 'list' && kind === 'RoleBinding' ? 'rolebindings.iam.gatehouse.dev is forbidden: User "x" cannot list' : undefined) });
  const res = await runFake(run, ['can-i', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice'], client, { now: NOW });
  assert.equal(res.code, 1);
  assert.match(res.stderr, /warning: you may not list rolebindings \(rolebindings\.iam\.gatehouse\.dev is forbidden/);
});

test('explain (allowed): user, teams, the binding that decided, and how to take it away', async () => {
  const res = await runFake(run, ['explain', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice'], world(), { now: NOW });
  assert.equal(res.code, 0, res.stderr);
  const out = res.stdout;
  assert.match(out, /^Request:\s+alice@example\.com wants to create batch\/jobs in namespace vision-dev$/m);
  assert.match(out, /^1\. User:\s+User alice, username alice@example\.com: Active, not a superuser$/m);
  assert.match(out, /^2\. Teams:\n  vision \(member\)$/m);
  assert.match(out, /^  vision-researchers\s+researcher\s+Team vision\s+teams: vision\s+<never>\s+yes\s+yes\s+yes\s+<- decided$/m);
  assert.match(out, /^Decision:\s+yes \(binding\): role researcher via binding vision-researchers .* \[permission batch\/jobs:\*\]$/m);
  assert.match(out, /^To change it:\n  to take it away: kubectl gatehouse role assignment delete vision-researchers \(or take alice out of team vision: kubectl gatehouse team remove vision alice\)$/m);
  assert.match(out, /^Source:\s+decided locally from the objects you can list/m);
});

test('explain (denied): a suspended user is told who can fix it', async () => {
  const res = await runFake(run, ['explain', 'get', 'pods', '-n', 'vision-dev', '--as', 'bob'], world(), { now: NOW });
  assert.equal(res.code, 1);
  assert.match(res.stdout, /^1\. User:\s+User bob: Suspended, not a superuser$/m);
  assert.match(res.stdout, /^Decision:\s+no \(denied\) \(inactive\): user bob is Suspended$/m);
  assert.match(res.stdout, /bob is Suspended: every request is denied until a superuser runs kubectl gatehouse user activate bob/);
});

test('explain (no match): an expired binding and a scope that does not cover are named, with a fix', async () => {
  const expired = await runFake(run, ['explain', 'create', 'jobs', '-n', 'other', '--as', 'erin'], world(), { now: NOW });
  assert.equal(expired.code, 1);
  assert.match(expired.stdout, /^  erin-old\s+researcher\s+User erin\s+cluster\s+2026-01-01T00:00:00Z\s+no\s+yes\s+yes\s*$/m);
  assert.match(expired.stdout, /role assignment erin-old \(role researcher\) would grant it but expired at 2026-01-01T00:00:00Z; assign it again: kubectl gatehouse role assign researcher --user erin --scope namespace:other --expires 7d/);
  const outside = await runFake(run, ['explain', 'create', 'jobs', '-n', 'other', '--as', 'alice'], world(), { now: NOW });
  assert.match(outside.stdout, /role assignment vision-researchers \(role researcher\) grants it, but its scope \(teams: vision\) does not cover namespace other/);
  assert.match(outside.stdout, /roles that grant batch\/jobs:create: researcher; assign one: kubectl gatehouse role assign researcher --user alice --scope namespace:other/);
  const none = await runFake(run, ['explain', 'delete', 'nodes', '--as', 'alice'], world(), { now: NOW });
  assert.match(none.stdout, /no installed role grants nodes:delete; create one: kubectl gatehouse role create NAME -p nodes:delete/);
  const unknown = await runFake(run, ['explain', 'get', 'pods', '-n', 'x', '--as', 'zed'], world(), { now: NOW });
  assert.match(unknown.stdout, /^1\. User:\s+no User object: Gatehouse does not know this user$/m);
  assert.match(unknown.stdout, /kubectl gatehouse user create NAME --username zed/);
});

test('who-can lists superusers and binding subjects, not expired or suspended ones', async () => {
  const res = await runFake(run, ['who-can', 'create', 'jobs', '-n', 'vision-dev'], world(), { now: NOW });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^Who may create batch\/jobs in namespace vision-dev through Gatehouse:$/m);
  assert.match(res.stdout, /User root\s+\(superuser\)\s+user root is a superuser/);
  assert.match(res.stdout, /Team vision\s+researcher\s+vision-researchers\s+role researcher via binding/);
  assert.doesNotMatch(res.stdout, /erin/);
  assert.doesNotMatch(res.stdout, /bob/);
  const json = JSON.parse((await runFake(run, ['who-can', 'create', 'jobs', '-n', 'vision-dev', '-o', 'json'], world(), { now: NOW })).stdout) as { subjects: Array<{ subject: { name: string } }> };
  assert.deepEqual(json.subjects.map((s) => s.subject.name), ['root', 'vision']);
});

test('--config: the operator configuration file feeds seed admins and project roles', async () => {
  const files = { '/etc/gh.yaml': 'seedAdmins: [{username: ops}]\nprojects: {publicRole: viewer}\n' };
  const res = await runFake(run, ['can-i', 'delete', 'nodes', '--as', 'ops', '--config', '/etc/gh.yaml'], world(), { now: NOW, files });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /seed admin/);
  assert.match(res.stdout, /policy from \/etc\/gh\.yaml/);
  const bad = await runFake(run, ['can-i', 'get', 'pods', '--as', 'x', '--config', '/nope.yaml'], world(), { now: NOW, files });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--config: cannot read configuration file \/nope\.yaml/);
});
