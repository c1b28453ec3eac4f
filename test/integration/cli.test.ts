// The built kubectl-gatehouse, run as a subprocess against a real kube-apiserver, as a superuser
// (system:masters) and as normal users whom native RBAC lets read but not write (bob) or nothing
// at all (carol). Without the operator running the API server does not call Gatehouse's webhooks,
// so refusals here come from RBAC; the messages are the API server's own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import yaml from 'js-yaml';
import { ControlPlane, type KubectlResult } from '../../src/controlplane/controlplane.js';
import { runCli, pluginDir, runKubectlPlugin } from '../support/cli.js';
import { crdDir } from '../../src/api/crds.js';

let cp: ControlPlane;
const kubeconfigs: Record<'admin' | 'bob' | 'carol', string> = { admin: '', bob: '', carol: '' };
let noCrds: KubectlResult;
let plugins: string;

const RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: gatehouse-reader}
rules:
- apiGroups: [iam.gatehouse.dev]
  resources: [users, roles, teams, rolebindings]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: gatehouse-readers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gatehouse-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: ml-readers}]
`;

/** Runs the CLI as one of the three identities. */
function as(who: keyof typeof kubeconfigs, args: string[]): Promise<KubectlResult> {
  return runCli(args, { kubeconfig: kubeconfigs[who] });
}

async function ok(who: keyof typeof kubeconfigs, args: string[]): Promise<string> {
  const res = await as(who, args);
  assert.equal(res.code, 0, `kubectl gatehouse ${args.join(' ')} as ${who} exited ${res.code}: ${res.stderr}`);
  return res.stdout;
}

async function getJson(resource: string): Promise<{ spec: Record<string, unknown>; metadata: { name: string } }> {
  return JSON.parse(await cp.kubectlOk(['get', resource, '-o', 'json']));
}

before(async () => {
  cp = await ControlPlane.start({
    users: [
      { token: 'bob-token', user: 'bob', groups: ['ml-readers'] },
      { token: 'carol-token', user: 'carol' },
    ],
  });
  kubeconfigs.admin = cp.kubeconfigPath;
  kubeconfigs.bob = await cp.kubeconfigFor('bob-token', 'bob');
  kubeconfigs.carol = await cp.kubeconfigFor('carol-token', 'carol');
  noCrds = await as('admin', ['user', 'list']);
  await cp.kubectlOk(['apply', '-f', crdDir()]);
  await cp.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd',
    'users.iam.gatehouse.dev', 'roles.iam.gatehouse.dev', 'teams.iam.gatehouse.dev', 'rolebindings.iam.gatehouse.dev']);
  await cp.kubectlOk(['apply', '-f', '-'], { input: RBAC });
  plugins = await pluginDir();
});

after(async () => {
  await cp?.stop();
  if (plugins) await rm(plugins, { recursive: true, force: true });
});

test('without the CRDs, the CLI says to install them (exit 3)', () => {
  assert.equal(noCrds.code, 3, noCrds.stderr);
  assert.match(noCrds.stderr, /Gatehouse CRDs \(iam\.gatehouse\.dev\/v1alpha1\) are not installed/);
  assert.match(noCrds.stderr, /kubectl apply -f crds\//);
});

test('superuser: user create, list, show', async () => {
  const out = await ok('admin', ['user', 'create', 'alice', '--username', 'alice@example.com', '--email', 'alice@example.com', '--display-name', 'Alice']);
  assert.equal(out, 'user alice created (state Active)\n');
  assert.match(await ok('admin', ['user', 'create', 'dave', '--state', 'pending']), /user dave created \(state Pending\)/);
  const alice = await getJson('ghuser/alice');
  assert.deepEqual(alice.spec, { username: 'alice@example.com', email: 'alice@example.com', displayName: 'Alice', state: 'Active' });

  const list = await ok('admin', ['user', 'list']);
  assert.match(list, /^NAME\s+USERNAME\s+EMAIL\s+STATE\s+SUPERUSER\s+TEAMS\s+AGE\n/);
  assert.match(list, /\nalice\s+alice@example\.com\s+alice@example\.com\s+Active\s+no\s+<none>\s+\d+[sm]\n/);
  assert.match(list, /\ndave\s+dave\s+Pending\s+no/);
  const pending = await ok('admin', ['user', 'list', '--state', 'Pending']);
  assert.doesNotMatch(pending, /alice/);
  assert.match(pending, /dave/);

  // A User may be named by its username too.
  const shown = await ok('admin', ['user', 'show', 'alice@example.com']);
  assert.match(shown, /^Name:\s+alice$/m);
  assert.match(shown, /^State:\s+Active$/m);
  assert.match(shown, /^Ready:\s+<not reported: is the operator running\?>$/m);
});

test('superuser: activate, reject, suspend change spec.state and say so', async () => {
  assert.equal(await ok('admin', ['user', 'activate', 'dave']), 'user dave activated: state Pending -> Active\n');
  assert.equal((await getJson('ghuser/dave')).spec['state'], 'Active');
  assert.equal(await ok('admin', ['user', 'activate', 'dave']), 'user dave is already Active (unchanged)\n');
  assert.equal(await ok('admin', ['user', 'suspend', 'dave']), 'user dave suspended: state Active -> Suspended\n');
  assert.equal((await getJson('ghuser/dave')).spec['state'], 'Suspended');
  assert.equal(await ok('admin', ['user', 'reject', 'dave']), 'user dave rejected: state Suspended -> Rejected\n');
  assert.equal((await getJson('ghuser/dave')).spec['state'], 'Rejected');
});

test('superuser: superuser grant and revoke', async () => {
  assert.equal(await ok('admin', ['superuser', 'grant', 'alice']), 'user alice is now a superuser\n');
  assert.equal((await getJson('ghuser/alice')).spec['superuser'], true);
  const yamlOut = yaml.load(await ok('admin', ['superuser', 'grant', 'alice', '-o', 'yaml'])) as { spec: { superuser: boolean }; metadata: Record<string, unknown> };
  assert.equal(yamlOut.spec.superuser, true);
  assert.equal(yamlOut.metadata['managedFields'], undefined, '-o yaml leaves out managedFields');
  assert.equal(await ok('admin', ['superuser', 'revoke', 'alice']), 'user alice is no longer a superuser\n');
  assert.equal((await getJson('ghuser/alice')).spec['superuser'], false);
});

test('a user that is not there: exit 3 with the nearest names', async () => {
  const res = await as('admin', ['user', 'activate', 'alcie']);
  assert.equal(res.code, 3);
  assert.match(res.stderr, /user "alcie" not found; did you mean alice(, alice@example\.com)?\?/);
  assert.match(res.stderr, /kubectl gatehouse user list/);
});

test('superuser: role create (zenml-style aliases), list, show', async () => {
  assert.equal(await ok('admin', ['role', 'create', 'auditor', '-p', 'read', '-p', 'jobs:write', '--description', 'Reads everything']),
    'role auditor created with permissions *:read,jobs:write\n');
  assert.deepEqual((await getJson('ghrole/auditor')).spec, { description: 'Reads everything', permissions: ['*:read', 'jobs:write'] });
  await ok('admin', ['role', 'create', 'researcher', '-p', 'jobs:*', '-p', 'projects:read', '-p', 'me', '--can-assign', 'auditor']);
  const list = await ok('admin', ['role', 'list']);
  assert.match(list, /^NAME\s+PERMISSIONS\s+INCLUDES\s+ASSIGNMENTS\s+DESCRIPTION\s+AGE\n/);
  assert.match(list, /\nauditor\s+\*:read,jobs:write\s+<none>\s+0\s+Reads everything\s+\d+[sm]\n/);
  const shown = await ok('admin', ['role', 'show', 'researcher']);
  assert.match(shown, /^Permissions:\n  jobs:\*\n  projects:read\n  me\n/m);
  assert.match(shown, /^Can assign:\n  auditor$/m);
});

test('superuser: team create, add, remove, list, show', async () => {
  assert.match(await ok('admin', ['team', 'create', 'vision', '--member', 'alice', '--group', 'oidc:vision', '--namespace', 'vision-dev', '--description', 'CV']),
    /^team vision created \(members alice; groups oidc:vision; namespaces vision-dev\)\n$/);
  assert.equal(await ok('admin', ['team', 'add', 'vision', 'dave', 'erin']), 'team vision: added user dave, user erin (members now alice,dave,erin)\n');
  assert.deepEqual((await getJson('ghteam/vision')).spec['members'], ['alice', 'dave', 'erin']);
  assert.equal(await ok('admin', ['team', 'remove', 'vision', 'erin']), 'team vision: removed user erin (members now alice,dave)\n');
  assert.deepEqual((await getJson('ghteam/vision')).spec['members'], ['alice', 'dave']);
  assert.match(await ok('admin', ['team', 'remove', 'vision', 'erin']), /team vision unchanged \(user erin not there\)/);
  const list = await ok('admin', ['team', 'list']);
  assert.match(list, /\nvision\s+alice,dave\s+oidc:vision\s+vision-dev\s+CV\s+\d+[sm]\n/);
  assert.match(await ok('admin', ['user', 'list']), /\nalice\s+.*\s+vision\s+\d+[sm]\n/);
});

test('superuser: role assign creates a readable, time-bound RoleBinding; twice says it exists', async () => {
  const before = Date.now();
  const out = await ok('admin', ['role', 'assign', 'researcher', '--team', 'vision', '--scope', 'namespace:vision-dev', '--expires', '24h']);
  const m = /^role researcher assigned to Team vision in namespaces: vision-dev \(until (\S+)\) \(role assignment (researcher-vision-[0-9a-f]{6})\)\n$/.exec(out);
  assert.ok(m, out);
  const rb = await getJson(`ghrb/${m[2]}`);
  assert.deepEqual(rb.spec['subjects'], [{ kind: 'Team', name: 'vision' }]);
  assert.deepEqual(rb.spec['scope'], { namespaces: ['vision-dev'] });
  const expires = Date.parse(rb.spec['expiresAt'] as string);
  assert.ok(expires >= before + 24 * 3600_000 - 2000 && expires <= Date.now() + 24 * 3600_000 + 2000, `expiresAt ${String(rb.spec['expiresAt'])}`);

  const again = await as('admin', ['role', 'assign', 'researcher', '--team', 'vision', '--scope', 'namespace:vision-dev']);
  assert.equal(again.code, 3);
  assert.match(again.stderr, /role researcher is already assigned to Team vision in namespaces: vision-dev \(role assignment researcher-vision-[0-9a-f]{6}\)/);

  await ok('admin', ['role', 'assign', 'auditor', '--user', 'dave', '--scope', 'cluster', '--name', 'dave-audits']);
  const missing = await as('admin', ['role', 'assign', 'ghost', '--user', 'dave', '--scope', 'team:vision']);
  assert.equal(missing.code, 0);
  assert.match(missing.stderr, /warning: role ghost does not exist \(yet\)/);
});

test('superuser: role assignment list filters by user (through teams), team and role', async () => {
  const all = await ok('admin', ['role', 'assignment', 'list']);
  assert.match(all, /^NAME\s+ROLE\s+SUBJECTS\s+SCOPE\s+EXPIRES\s+AGE\n/);
  assert.equal(all.trim().split('\n').length, 4);
  const alice = await ok('admin', ['role', 'assignment', 'list', '--user', 'alice']);
  assert.match(alice, /researcher-vision-[0-9a-f]{6}\s+researcher\s+Team vision\s+namespaces: vision-dev\s+\d{4}-/);
  assert.doesNotMatch(alice, /dave-audits/);
  const byRole = await ok('admin', ['role', 'assignment', 'list', '--role', 'auditor']);
  assert.match(byRole, /dave-audits\s+auditor\s+User dave\s+cluster\s+<never>/);
  const json = JSON.parse(await ok('admin', ['role', 'assignment', 'list', '--team', 'vision', '-o', 'json'])) as { kind: string; items: Array<{ spec: { role: string } }> };
  assert.equal(json.kind, 'List');
  assert.deepEqual(json.items.map((i) => i.spec.role), ['researcher']);
  // user show and team show gather the same chain.
  assert.match(await ok('admin', ['user', 'show', 'alice']), /^Role assignments:\n  researcher-vision-[0-9a-f]{6}: role researcher for Team vision in namespaces: vision-dev \(until /m);
  assert.match(await ok('admin', ['team', 'show', 'vision']), /^Roles the team holds:\n  researcher in namespaces: vision-dev/m);
});

test('superuser: permission list shows the grammar, the aliases and the permissions in use', async () => {
  const out = await ok('admin', ['permission', 'list']);
  assert.match(out, /A permission is \[group\/\]resource\[\/subresource\]:action/);
  assert.match(out, /read\s+get, list, watch/);
  assert.match(out, /write\s+create, update, patch, delete, deletecollection/);
  assert.match(out, /Permissions used by the 2 installed roles:/);
  assert.match(out, /\*:read\s+auditor/);
  assert.match(out, /jobs:\*\s+researcher/);
  const json = JSON.parse(await ok('admin', ['permission', 'list', '-o', 'json'])) as { permissions: Array<{ permission: string; roles: string[] }> };
  assert.deepEqual(json.permissions.find((p) => p.permission === 'me'), { permission: 'me', roles: ['researcher'] });
});

test('normal user with read-only RBAC: reads work, writes are refused with the API server message', async () => {
  assert.match(await ok('bob', ['user', 'list']), /\nalice\s+alice@example\.com/);
  assert.match(await ok('bob', ['role', 'assignment', 'list', '--user', 'alice']), /researcher-vision/);

  const grant = await as('bob', ['superuser', 'grant', 'alice']);
  assert.equal(grant.code, 3);
  assert.match(grant.stderr, /^error: forbidden: users\.iam\.gatehouse\.dev "alice" is forbidden: User "bob" cannot patch resource "users" in API group "iam\.gatehouse\.dev" at the cluster scope/);
  assert.equal((await getJson('ghuser/alice')).spec['superuser'], false, 'nothing changed');

  const activate = await as('bob', ['user', 'activate', 'dave']);
  assert.equal(activate.code, 3);
  assert.match(activate.stderr, /User "bob" cannot patch resource "users"/);
  assert.equal((await getJson('ghuser/dave')).spec['state'], 'Rejected');

  const create = await as('bob', ['role', 'create', 'mine', '-p', '*:*']);
  assert.equal(create.code, 3);
  assert.match(create.stderr, /User "bob" cannot create resource "roles" in API group "iam\.gatehouse\.dev" at the cluster scope/);
  assert.match((await cp.kubectl(['get', 'ghrole/mine'])).stderr, /NotFound/, 'ghrole/mine does not exist');

  const assign = await as('bob', ['role', 'assign', 'researcher', '--user', 'bob', '--scope', 'cluster']);
  assert.equal(assign.code, 3);
  assert.match(assign.stderr, /cannot create resource "rolebindings"/);

  const add = await as('bob', ['team', 'add', 'vision', 'bob']);
  assert.equal(add.code, 3);
  assert.match(add.stderr, /cannot patch resource "teams"/);
  assert.deepEqual((await getJson('ghteam/vision')).spec['members'], ['alice', 'dave']);
});

test('normal user without any RBAC: even listing is refused, with the message', async () => {
  const res = await as('carol', ['user', 'list']);
  assert.equal(res.code, 3);
  assert.match(res.stderr, /^error: forbidden: users\.iam\.gatehouse\.dev is forbidden: User "carol" cannot list resource "users" in API group "iam\.gatehouse\.dev" at the cluster scope/);
  const show = await as('carol', ['user', 'show', 'alice']);
  assert.equal(show.code, 3);
  assert.match(show.stderr, /User "carol" cannot get resource "users"/);
});

test('--as impersonates for the API calls (RBAC then checks the impersonated user)', async () => {
  const res = await as('admin', ['user', 'list', '--as', 'carol']);
  assert.equal(res.code, 3);
  assert.match(res.stderr, /User "carol" cannot list resource "users"/);
  assert.match(await ok('admin', ['user', 'list', '--as', 'someone', '--as-group', 'ml-readers']), /alice/);
});

test('usage errors exit 2 and say what to do', async () => {
  const noScope = await as('admin', ['role', 'assign', 'researcher', '--user', 'alice']);
  assert.equal(noScope.code, 2);
  assert.match(noScope.stderr, /--scope is required: cluster, team:NAME or namespace:NAME/);
  const badFlag = await as('admin', ['user', 'list', '--colour']);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /Unknown option '--colour'/);
  const badExpiry = await as('admin', ['role', 'assign', 'r', '--user', 'a', '--scope', 'cluster', '--expires', 'tomorrow']);
  assert.equal(badExpiry.code, 2);
  assert.match(badExpiry.stderr, /neither a duration \(90m, 24h, 7d\) nor an RFC 3339 time/);
});

test('kubectl finds the plugin on PATH: kubectl gatehouse ...', async () => {
  const res = await runKubectlPlugin(['user', 'list', '-o', 'json'], { kubeconfig: kubeconfigs.admin, pluginDir: plugins });
  assert.equal(res.code, 0, res.stderr);
  const names = (JSON.parse(res.stdout) as { items: Array<{ metadata: { name: string } }> }).items.map((i) => i.metadata.name);
  assert.deepEqual(names, ['alice', 'dave']);
  const help = await runKubectlPlugin(['role', 'assign', '--help'], { kubeconfig: kubeconfigs.admin, pluginDir: plugins });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Examples:\n  kubectl gatehouse role assign researcher --team vision --scope namespace:vision-dev/);
});

test('can-i as the superuser: yes through the team binding, no outside its scope; the source is named', async () => {
  const yes = await as('admin', ['can-i', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice@example.com']);
  assert.equal(yes.code, 0, yes.stdout + yes.stderr);
  assert.match(yes.stdout, /^yes\ngatehouse: yes - role researcher via binding researcher-vision-[0-9a-f]{6} \(Team vision\) in namespace vision-dev\n/);
  assert.match(yes.stdout, /source: decided locally from the objects you can list \(2 users, 2 roles, 1 teams, 3 role assignments, \d+ namespaces; default policy .*\); the operator was not asked/);
  const no = await as('admin', ['can-i', 'create', 'jobs', '-n', 'other', '--as', 'alice']);
  assert.equal(no.code, 1);
  assert.match(no.stdout, /^no\ngatehouse: no opinion - no Gatehouse role grants create batch\/jobs in namespace other to user alice@example\.com \(native RBAC decides\)/);
  assert.match(no.stderr, /note: asking about username alice@example\.com/);
});

test('can-i --ask-apiserver shows the API server answer, which counts', async () => {
  const rbacNo = await as('admin', ['can-i', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice@example.com', '--ask-apiserver']);
  // Without the operator the API server has only RBAC, which gives alice nothing.
  assert.equal(rbacNo.code, 1, rbacNo.stdout);
  assert.match(rbacNo.stdout, /^no\ngatehouse: yes - role researcher/);
  assert.match(rbacNo.stdout, /\napiserver: no\b/);
  const masters = await as('admin', ['can-i', 'delete', 'nodes', '--as', 'root', '--as-group', 'system:masters', '--ask-apiserver']);
  assert.equal(masters.code, 0, masters.stdout);
  assert.match(masters.stdout, /gatehouse: no opinion - user root has no User object/);
  assert.match(masters.stdout, /apiserver: yes/);
  const bobAsks = await as('bob', ['can-i', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice@example.com', '--ask-apiserver']);
  assert.equal(bobAsks.code, 0, 'falls back to the local answer');
  assert.match(bobAsks.stdout, /apiserver: not asked \(forbidden: subjectaccessreviews\.authorization\.k8s\.io is forbidden: User "bob" cannot create resource "subjectaccessreviews"/);
});

test('can-i as normal users: the same answer from what they may list; what they may not is named', async () => {
  const bob = await as('bob', ['can-i', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice@example.com']);
  assert.equal(bob.code, 0, bob.stdout + bob.stderr);
  assert.equal(bob.stderr, '');
  const carol = await as('carol', ['can-i', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice@example.com']);
  assert.equal(carol.code, 1);
  for (const what of ['users', 'roles', 'teams', 'rolebindings', 'namespaces']) {
    assert.match(carol.stderr, new RegExp(`warning: you may not list ${what} \\(.*User "carol" cannot list resource "${what}"`));
  }
  assert.match(carol.stdout, /\(0 users, 0 roles, 0 teams, 0 role assignments, 0 namespaces/);
});

test('explain (allowed) prints the chain and the rule that decided', async () => {
  const res = await as('admin', ['explain', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice@example.com']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^Request:\s+alice@example\.com wants to create batch\/jobs in namespace vision-dev$/m);
  assert.match(res.stdout, /^1\. User:\s+User alice, username alice@example\.com: Active, not a superuser$/m);
  assert.match(res.stdout, /^2\. Teams:\n  vision \(member\)$/m);
  assert.match(res.stdout, /^  researcher-vision-[0-9a-f]{6}\s+researcher\s+Team vision\s+namespaces: vision-dev\s+\d{4}-\S+\s+yes\s+yes\s+yes\s+<- decided$/m);
  assert.match(res.stdout, /^Decision:\s+yes \(binding\): role researcher via binding researcher-vision-[0-9a-f]{6} \(Team vision\) in namespace vision-dev \[permission jobs:\*\]$/m);
  assert.match(res.stdout, /to take it away: kubectl gatehouse role assignment delete researcher-vision-[0-9a-f]{6} \(or take alice out of team vision: kubectl gatehouse team remove vision alice\)/);
});

test('explain (denied) names the user state and who can fix it', async () => {
  const res = await as('admin', ['explain', 'get', 'pods', '-n', 'vision-dev', '--as', 'dave']);
  assert.equal(res.code, 1);
  assert.match(res.stdout, /^1\. User:\s+User dave: Rejected, not a superuser$/m);
  assert.match(res.stdout, /^  dave-audits\s+auditor\s+User dave\s+cluster\s+<never>\s+yes\s+yes\s+yes\s*$/m);
  assert.match(res.stdout, /^Decision:\s+no \(denied\) \(inactive\): user dave is Rejected$/m);
  assert.match(res.stdout, /dave is Rejected: every request is denied until a superuser runs kubectl gatehouse user activate dave/);
  const json = JSON.parse((await as('admin', ['explain', 'get', 'pods', '-n', 'vision-dev', '--as', 'dave', '-o', 'json'])).stdout) as { allowed: boolean; decision: { code: string }; userObject: { state: string } };
  assert.deepEqual([json.allowed, json.decision.code, json.userObject.state], [false, 'inactive', 'Rejected']);
});

test('who-can lists the team that holds the role in the namespace', async () => {
  const res = await as('bob', ['who-can', 'create', 'jobs', '-n', 'vision-dev']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^Who may create batch\/jobs in namespace vision-dev through Gatehouse:$/m);
  assert.match(res.stdout, /Team vision\s+researcher\s+researcher-vision-[0-9a-f]{6}\s+role researcher via binding/);
  assert.doesNotMatch(res.stdout, /User dave/, 'dave is Rejected');
  assert.match(res.stdout, /source: decided locally/);
});

test('superuser: deletes', async () => {
  assert.match(await ok('admin', ['role', 'assignment', 'delete', 'dave-audits']), /^role assignment dave-audits deleted \(role auditor for User dave in cluster\)\n$/);
  assert.match((await cp.kubectl(['get', 'ghrb/dave-audits'])).stderr, /NotFound/, 'ghrb/dave-audits does not exist');
  const delRole = await as('admin', ['role', 'delete', 'researcher']);
  assert.equal(delRole.code, 0);
  assert.match(delRole.stderr, /note: 1 role assignment\(s\) still name it/);
  assert.equal(await ok('admin', ['team', 'delete', 'vision']), 'team vision deleted\n');
  assert.equal(await ok('admin', ['user', 'delete', 'dave']), 'user dave deleted\n');
  const gone = await as('admin', ['user', 'delete', 'dave']);
  assert.equal(gone.code, 3);
  assert.match(gone.stderr, /user "dave" not found/);
});
