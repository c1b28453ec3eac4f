// Issue 5's "Must show", end to end: users made with impersonation (`kubectl --as alice
// --as-group oidc:vision`) go through the real kube-apiserver, which asks Gatehouse's webhook
// first (Webhook,RBAC, caches off) and native RBAC after it. Each test asserts what a person sees:
// `kubectl auth can-i`'s yes or `no - <reason>`, a real `kubectl get` that works or is Forbidden,
// and for allows the reason the API server returns in a SubjectAccessReview.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from '../support/stack.js';
import { eventually } from '../support/operator.js';
import { canI, metricsText, review, series } from '../support/authz-e2e.js';

let stack: Stack;

const CONFIG = {
  seedAdmins: [{ username: 'root' }],
  defaults: { role: 'everyone-reader', team: 'everyone' },
  projects: { ownerRole: 'project-owner', publicRole: 'project-viewer' },
  registration: { mode: 'approval' },
};

const G = 'apiVersion: iam.gatehouse.dev/v1alpha1';
const ns = (name: string, labels: Record<string, string> = {}) =>
  `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}, labels: ${JSON.stringify(labels)}}`;
const role = (name: string, permissions: string[]) => `${G}\nkind: Role\nmetadata: {name: ${name}}\nspec: {permissions: ${JSON.stringify(permissions)}}`;
const user = (name: string, state = 'Active') => `${G}\nkind: User\nmetadata: {name: ${name}}\nspec: {state: ${state}}`;
const rb = (name: string, roleName: string, subjects: { kind: string; name: string }[], scope: unknown, extra = '') =>
  `${G}\nkind: RoleBinding\nmetadata: {name: ${name}}\nspec: {role: ${roleName}, subjects: ${JSON.stringify(subjects)}, scope: ${JSON.stringify(scope)}${extra}}`;
const U = (name: string) => ({ kind: 'User', name });

const WORLD = [
  ns('team-a'), ns('team-b'), ns('vision-dev'), ns('shared'), ns('rbac-ns'),
  ns('proj-alice', { 'iam.gatehouse.dev/owner': 'alice' }),
  ns('proj-public', { 'iam.gatehouse.dev/visibility': 'public' }),
  role('pod-reader', ['pods:read']),
  role('researcher', ['pods:*', 'configmaps:read']),
  role('project-owner', ['pods:*', 'configmaps:*']),
  role('project-viewer', ['pods:read']),
  role('everyone-reader', ['configmaps:read']),
  role('node-reader', ['nodes:read', 'namespaces:read']),
  role('ns-creator', ['namespaces:create']),
  role('changer', ['pods:read']),
  ...['alice', 'bob', 'carol', 'dave', 'frank', 'gina', 'harry', 'ivy', 'act'].map((n) => user(n)),
  user('pat', 'Pending'), user('rex', 'Rejected'), user('sue', 'Suspended'), user('ops', 'Suspended'),
  `${G}\nkind: Team\nmetadata: {name: vision}\nspec: {members: [bob], groups: ["oidc:vision"], namespaces: [vision-dev]}`,
  `${G}\nkind: Team\nmetadata: {name: everyone}\nspec: {namespaces: [shared]}`,
  rb('alice-reads-pods', 'pod-reader', [U('alice')], { namespaces: ['team-a'] }),
  rb('vision-researchers', 'researcher', [{ kind: 'Team', name: 'vision' }], { teams: ['vision'] }),
  rb('frank-nodes-in-team-a', 'node-reader', [U('frank')], { namespaces: ['team-a'] }),
  rb('gina-nodes', 'node-reader', [U('gina')], { cluster: true }),
  rb('dave-creates-namespaces', 'ns-creator', [U('dave')], { cluster: true }),
  rb('harry-changes', 'changer', [U('harry')], { namespaces: ['team-a'] }),
].join('\n---\n');

before(async () => {
  stack = await startStack({ config: CONFIG });
  await stack.kubectlOk(['apply', '-f', '-'], { input: WORLD });
  // Native RBAC: the built-in `view` for the inactive users, an Active one, and a user without a
  // User. kube-controller-manager aggregates `view`'s rules shortly after the API server starts.
  await eventually('the built-in view ClusterRole aggregated', async () =>
    (await stack.kubectl(['get', 'clusterrole', 'view', '-o', 'jsonpath={.rules[*].resources}'])).stdout.includes('pods'), 120_000, 500);
  await stack.kubectlOk(['create', 'clusterrolebinding', 'native-view', '--clusterrole=view',
    '--user=pat', '--user=rex', '--user=sue', '--user=act', '--user=uma', '--user=system:serviceaccount:ci:builder']);
  await stack.settle();
});
after(async () => {
  await stack?.stop();
});

test('a user with a binding can do what the role gives and no more', async () => {
  assert.equal(await canI(stack, 'get', 'pods', { as: 'alice', namespace: 'team-a' }), 'yes');
  assert.equal(await canI(stack, 'watch', 'pods', { as: 'alice', namespace: 'team-a' }), 'yes');
  assert.equal(await canI(stack, 'delete', 'pods', { as: 'alice', namespace: 'team-a' }),
    'no - no Gatehouse role grants delete pods in namespace team-a to user alice');
  assert.match(await canI(stack, 'get', 'secrets', { as: 'alice', namespace: 'team-a' }), /^no - no Gatehouse role grants get secrets in namespace team-a to user alice/);
  assert.match(await canI(stack, 'get', 'pods', { as: 'alice', namespace: 'team-a', subresource: 'log' }), /^no - no Gatehouse role grants get pods\/log/, 'pods does not match pods/log');
  // A real request: the list works, a create is Forbidden with Gatehouse's reason.
  const list = await stack.kubectl(['get', 'pods', '-n', 'team-a'], { as: 'alice' });
  assert.equal(list.code, 0, list.stderr);
  const create = await stack.kubectl(['create', 'configmap', 'x', '-n', 'team-a'], { as: 'alice' });
  assert.notEqual(create.code, 0);
  assert.match(create.stderr, /forbidden: User "alice" cannot create resource "configmaps".*no Gatehouse role grants create configmaps in namespace team-a to user alice/);
  const why = await review(stack, 'alice', { verb: 'list', resource: 'pods', namespace: 'team-a' });
  assert.deepEqual(why, { allowed: true, reason: 'role pod-reader via binding alice-reads-pods (User alice) in namespace team-a' });
});

test('a namespace-scoped grant does not reach other namespaces', async () => {
  assert.equal(await canI(stack, 'get', 'pods', { as: 'alice', namespace: 'team-b' }),
    'no - no Gatehouse role grants get pods in namespace team-b to user alice');
  const list = await stack.kubectl(['get', 'pods', '-n', 'team-b'], { as: 'alice' });
  assert.notEqual(list.code, 0);
  assert.match(list.stderr, /Forbidden.*cannot list resource "pods".*in the namespace "team-b"/);
  // Nor the cluster: a list across namespaces is a cluster-scoped request.
  assert.equal(await canI(stack, 'list', 'pods', { as: 'alice', allNamespaces: true }), 'no - no Gatehouse role grants list pods (cluster-scoped) to user alice');
});

test('a team member gets the team binding: a direct member, and through an identity-provider group', async () => {
  // bob is in spec.members; carol is in no team, but carries the group oidc:vision.
  assert.equal(await canI(stack, 'create', 'pods', { as: 'bob', namespace: 'vision-dev' }), 'yes');
  assert.deepEqual(await review(stack, 'bob', { verb: 'create', resource: 'pods', namespace: 'vision-dev' }),
    { allowed: true, reason: 'role researcher via binding vision-researchers (Team vision) in namespace vision-dev (scope team vision)' });
  assert.equal(await canI(stack, 'create', 'pods', { as: 'carol', namespace: 'vision-dev' }),
    'no - no Gatehouse role grants create pods in namespace vision-dev to user carol');
  assert.equal(await canI(stack, 'create', 'pods', { as: 'carol', asGroups: ['oidc:vision'], namespace: 'vision-dev' }), 'yes');
  assert.deepEqual(await review(stack, 'carol', { verb: 'create', resource: 'pods', namespace: 'vision-dev' }, ['oidc:vision', 'system:authenticated']),
    { allowed: true, reason: 'role researcher via binding vision-researchers (Team vision) in namespace vision-dev (scope team vision)' });
  const real = await stack.kubectl(['get', 'configmaps', '-n', 'vision-dev'], { as: 'carol', asGroups: ['oidc:vision'] });
  assert.equal(real.code, 0, real.stderr);
  // The team's scope is its namespaces: nothing in team-a, and the role's limits still hold.
  assert.equal(await canI(stack, 'create', 'pods', { as: 'bob', namespace: 'team-a' }),
    'no - no Gatehouse role grants create pods in namespace team-a to user bob');
  assert.equal(await canI(stack, 'create', 'configmaps', { as: 'bob', namespace: 'vision-dev' }),
    'no - no Gatehouse role grants create configmaps in namespace vision-dev to user bob');
});

test('Pending, Rejected and Suspended users are refused even where native RBAC allows', async () => {
  // RBAC alone would allow: act has the same ClusterRoleBinding to `view`, no Gatehouse grant,
  // and is let in by RBAC after Gatehouse's no opinion.
  assert.equal(await canI(stack, 'get', 'pods', { as: 'act', namespace: 'rbac-ns' }), 'yes');
  assert.deepEqual(await review(stack, 'act', { verb: 'get', resource: 'pods', namespace: 'rbac-ns' }),
    { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "native-view" of ClusterRole "view" to User "act"' });
  for (const [name, state] of [['pat', 'Pending'], ['rex', 'Rejected'], ['sue', 'Suspended']] as const) {
    assert.equal(await canI(stack, 'get', 'pods', { as: name, namespace: 'rbac-ns' }), `no - user ${name} is ${state}`);
    const get = await stack.kubectl(['get', 'pods', '-n', 'rbac-ns'], { as: name });
    assert.notEqual(get.code, 0, `${name}'s get must fail`);
    assert.match(get.stderr, new RegExp(`Forbidden.*User "${name}" cannot list resource "pods".*: user ${name} is ${state}`));
    const status = await review(stack, name, { verb: 'get', resource: 'pods', namespace: 'rbac-ns' });
    assert.equal(status.allowed, false);
    assert.equal(status.denied, true, 'an explicit deny, not a no opinion, so RBAC is not asked');
    // Nor through a Gatehouse grant that would apply to every Active user (the public project).
    assert.equal(await canI(stack, 'get', 'pods', { as: name, namespace: 'proj-public' }), `no - user ${name} is ${state}`);
  }
});

test('an unknown user (no User object) falls through to native RBAC', async () => {
  // uma has a native ClusterRoleBinding to view; ned has nothing.
  assert.equal(await canI(stack, 'get', 'pods', { as: 'uma', namespace: 'rbac-ns' }), 'yes');
  assert.equal((await review(stack, 'uma', { verb: 'get', resource: 'pods', namespace: 'rbac-ns' })).reason,
    'RBAC: allowed by ClusterRoleBinding "native-view" of ClusterRole "view" to User "uma"');
  assert.match(await canI(stack, 'get', 'pods', { as: 'ned', namespace: 'rbac-ns' }), /^no - user ned has no User object/);
  const get = await stack.kubectl(['get', 'pods', '-n', 'rbac-ns'], { as: 'ned' });
  assert.match(get.stderr, /Forbidden.*User "ned" cannot list resource "pods"/);
  // Not even the public project or the defaults: those are for Active users.
  assert.match(await canI(stack, 'get', 'pods', { as: 'ned', namespace: 'proj-public' }), /^no - user ned has no User object/);
  assert.match(await canI(stack, 'get', 'configmaps', { as: 'ned', namespace: 'shared' }), /^no - user ned has no User object/);
});

test('service accounts are left to native RBAC', async () => {
  const sa = 'system:serviceaccount:ci:builder';
  const groups = ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'];
  assert.equal(await canI(stack, 'get', 'pods', { as: sa, asGroups: groups, namespace: 'team-a' }), 'yes');
  assert.match(await canI(stack, 'delete', 'pods', { as: sa, asGroups: groups, namespace: 'team-a' }), /^no - user system:serviceaccount:ci:builder is a system identity; Gatehouse has no opinion/);
});

test('the admin in system:masters is unaffected, even with a Suspended User of the same name', async () => {
  assert.equal(await canI(stack, '*', '*', {}), 'yes');
  const nodes = await stack.kubectl(['get', 'nodes']);
  assert.equal(nodes.code, 0, nodes.stderr);
  // ops is Suspended in Gatehouse, but the API server lets system:masters in before any authorizer.
  assert.equal(await canI(stack, 'delete', 'nodes', { as: 'ops', asGroups: ['system:masters'] }), 'yes');
  assert.equal(await canI(stack, 'delete', 'nodes', { as: 'ops' }), 'no - user ops is Suspended');
});

test('project ownership: the owner label gives projects.ownerRole in that namespace only', async () => {
  assert.equal(await canI(stack, 'create', 'configmaps', { as: 'alice', namespace: 'proj-alice' }), 'yes');
  assert.deepEqual(await review(stack, 'alice', { verb: 'create', resource: 'configmaps', namespace: 'proj-alice' }),
    { allowed: true, reason: 'role project-owner as owner of namespace proj-alice (projects.ownerRole)' });
  assert.equal(await canI(stack, 'create', 'configmaps', { as: 'bob', namespace: 'proj-alice' }),
    'no - no Gatehouse role grants create configmaps in namespace proj-alice to user bob');
  assert.equal(await canI(stack, 'get', 'secrets', { as: 'alice', namespace: 'proj-alice' }),
    'no - no Gatehouse role grants get secrets in namespace proj-alice to user alice', 'only what project-owner holds');
  const made = await stack.kubectl(['create', 'configmap', 'notes', '-n', 'proj-alice', '--from-literal=a=b'], { as: 'alice' });
  assert.equal(made.code, 0, made.stderr);
});

test('a namespace an Active user creates is labelled with its owner, who then holds the owner role there', async () => {
  // dave may create namespaces (cluster-scoped binding); the admission mutation labels it his.
  const made = await stack.kubectl(['create', 'namespace', 'dave-lab'], { as: 'dave' });
  assert.equal(made.code, 0, made.stderr);
  const label = await stack.kubectlOk(['get', 'namespace', 'dave-lab', '-o', 'jsonpath={.metadata.labels.iam\\.gatehouse\\.dev/owner}']);
  assert.equal(label, 'dave');
  await stack.settle();
  assert.equal(await canI(stack, 'delete', 'pods', { as: 'dave', namespace: 'dave-lab' }), 'yes');
  assert.equal(await canI(stack, 'delete', 'pods', { as: 'alice', namespace: 'dave-lab' }),
    'no - no Gatehouse role grants delete pods in namespace dave-lab to user alice');
});

test('a public project gives every Active user projects.publicRole there, and only that', async () => {
  for (const name of ['alice', 'carol', 'ivy']) {
    assert.equal(await canI(stack, 'list', 'pods', { as: name, namespace: 'proj-public' }), 'yes', name);
  }
  assert.deepEqual(await review(stack, 'ivy', { verb: 'list', resource: 'pods', namespace: 'proj-public' }),
    { allowed: true, reason: 'role project-viewer in public namespace proj-public (projects.publicRole)' });
  assert.equal(await canI(stack, 'create', 'pods', { as: 'ivy', namespace: 'proj-public' }),
    'no - no Gatehouse role grants create pods in namespace proj-public to user ivy');
  assert.equal(await canI(stack, 'list', 'pods', { as: 'ivy', namespace: 'team-b' }),
    'no - no Gatehouse role grants list pods in namespace team-b to user ivy');
});

test('defaults: every Active user holds defaults.role in the default team\'s namespaces', async () => {
  assert.equal(await canI(stack, 'get', 'configmaps', { as: 'ivy', namespace: 'shared' }), 'yes');
  assert.deepEqual(await review(stack, 'ivy', { verb: 'get', resource: 'configmaps', namespace: 'shared' }),
    { allowed: true, reason: 'role everyone-reader held by every active user in namespace shared (scope team everyone) (defaults)' });
  assert.equal(await canI(stack, 'get', 'configmaps', { as: 'ivy', namespace: 'team-b' }),
    'no - no Gatehouse role grants get configmaps in namespace team-b to user ivy');
  assert.equal(await canI(stack, 'create', 'configmaps', { as: 'ivy', namespace: 'shared' }),
    'no - no Gatehouse role grants create configmaps in namespace shared to user ivy');
  assert.equal(await canI(stack, 'get', 'configmaps', { as: 'pat', namespace: 'shared' }), 'no - user pat is Pending');
});

test('cluster-scoped resources (nodes, namespaces) need a cluster-scoped binding', async () => {
  // frank's node-reader is bound in namespace team-a: it cannot reach nodes or the namespace list.
  // `-A` makes kubectl ask without a namespace, as the real request does: plain `kubectl auth
  // can-i get nodes` sends the context's namespace even for a cluster-scoped resource (so does
  // RBAC's answer to it: a RoleBinding in that namespace would say yes there).
  assert.equal(await canI(stack, 'get', 'nodes', { as: 'frank', allNamespaces: true }), 'no - no Gatehouse role grants get nodes (cluster-scoped) to user frank');
  assert.equal(await canI(stack, 'list', 'namespaces', { as: 'frank', allNamespaces: true }), 'no - no Gatehouse role grants list namespaces (cluster-scoped) to user frank');
  const get = await stack.kubectl(['get', 'nodes'], { as: 'frank' });
  assert.match(get.stderr, /Forbidden.*User "frank" cannot list resource "nodes" in API group "" at the cluster scope: no Gatehouse role grants list nodes \(cluster-scoped\) to user frank/);
  const nsList = await stack.kubectl(['get', 'namespaces'], { as: 'frank' });
  assert.match(nsList.stderr, /Forbidden.*User "frank" cannot list resource "namespaces" in API group "" at the cluster scope/);
  // gina holds the same role cluster-wide.
  assert.equal(await canI(stack, 'get', 'nodes', { as: 'gina', allNamespaces: true }), 'yes');
  assert.equal(await canI(stack, 'list', 'namespaces', { as: 'gina', allNamespaces: true }), 'yes');
  assert.deepEqual(await review(stack, 'gina', { verb: 'list', resource: 'nodes' }),
    { allowed: true, reason: 'role node-reader via binding gina-nodes (User gina) cluster-wide' });
  const list = await stack.kubectl(['get', 'namespaces'], { as: 'gina' });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /team-a/);
  assert.equal(await canI(stack, 'delete', 'nodes', { as: 'gina', allNamespaces: true }), 'no - no Gatehouse role grants delete nodes (cluster-scoped) to user gina');
});

test('an expired binding grants nothing', async () => {
  // First an hour away, so the positive half is asked well inside the window on any machine; then
  // a few seconds away, so the grant ends by time alone, and not before its expiry.
  const at = (ms: number) => new Date(Date.now() + ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const binding = (expiresAt: string) => rb('ivy-secrets-briefly', 'project-owner', [U('ivy')], { namespaces: ['team-b'] }, `, expiresAt: "${expiresAt}"`);
  await stack.kubectlOk(['apply', '-f', '-'], { input: binding(at(3600_000)) });
  await stack.settle();
  assert.equal(await canI(stack, 'get', 'configmaps', { as: 'ivy', namespace: 'team-b' }), 'yes');
  const expiresAt = at(4_000);
  await stack.kubectlOk(['apply', '-f', '-'], { input: binding(expiresAt) });
  await stack.settle();
  const after = await eventually('the binding to expire', async () => {
    const out = await canI(stack, 'get', 'configmaps', { as: 'ivy', namespace: 'team-b' });
    return out.startsWith('no') ? { out, answeredBy: Date.now() } : undefined;
  }, 30_000, 250);
  assert.equal(after.out, 'no - no Gatehouse role grants get configmaps in namespace team-b to user ivy');
  assert.ok(after.answeredBy >= Date.parse(expiresAt), 'the grant ended at its expiry, not before');
  const get = await stack.kubectl(['get', 'configmaps', '-n', 'team-b'], { as: 'ivy' });
  assert.match(get.stderr, /Forbidden/);
});

test('a grant follows changes to the role and the binding (revocation takes effect at once with caches off)', async () => {
  assert.equal(await canI(stack, 'get', 'pods', { as: 'harry', namespace: 'team-a' }), 'yes');
  assert.match(await canI(stack, 'get', 'configmaps', { as: 'harry', namespace: 'team-a' }), /^no - /);
  // Narrow the role: pods go, configmaps come.
  await stack.kubectlOk(['apply', '-f', '-'], { input: role('changer', ['configmaps:read']) });
  await stack.settle();
  assert.equal(await canI(stack, 'get', 'pods', { as: 'harry', namespace: 'team-a' }),
    'no - no Gatehouse role grants get pods in namespace team-a to user harry');
  assert.equal(await canI(stack, 'get', 'configmaps', { as: 'harry', namespace: 'team-a' }), 'yes');
  // Move the binding to another namespace.
  await stack.kubectlOk(['apply', '-f', '-'], { input: rb('harry-changes', 'changer', [U('harry')], { namespaces: ['team-b'] }) });
  await stack.settle();
  assert.match(await canI(stack, 'get', 'configmaps', { as: 'harry', namespace: 'team-a' }), /^no - no Gatehouse role grants/);
  assert.equal(await canI(stack, 'get', 'configmaps', { as: 'harry', namespace: 'team-b' }), 'yes');
  // Delete it: revoked.
  await stack.kubectlOk(['delete', 'ghrb', 'harry-changes']);
  await stack.settle();
  assert.equal(await canI(stack, 'get', 'configmaps', { as: 'harry', namespace: 'team-b' }),
    'no - no Gatehouse role grants get configmaps in namespace team-b to user harry');
  // Suspending a user revokes everything they had, at once.
  assert.equal(await canI(stack, 'get', 'pods', { as: 'alice', namespace: 'team-a' }), 'yes');
  await stack.kubectlOk(['patch', 'ghuser', 'alice', '--type=merge', '-p', '{"spec":{"state":"Suspended"}}']);
  await stack.settle();
  assert.equal(await canI(stack, 'get', 'pods', { as: 'alice', namespace: 'team-a' }), 'no - user alice is Suspended');
  await stack.kubectlOk(['patch', 'ghuser', 'alice', '--type=merge', '-p', '{"spec":{"state":"Active"}}']);
  await stack.settle();
  assert.equal(await canI(stack, 'get', 'pods', { as: 'alice', namespace: 'team-a' }), 'yes');
});

test('registration approval: an unknown user may create their own User (forced Pending) but cannot read others', async () => {
  assert.equal(await canI(stack, 'create', 'users.iam.gatehouse.dev', { as: 'newbie' }), 'yes');
  assert.match(await canI(stack, 'get', 'users.iam.gatehouse.dev', { as: 'newbie' }), /^no - user newbie has no User object/);
  const others = await stack.kubectl(['get', 'ghuser', 'alice'], { as: 'newbie' });
  assert.match(others.stderr, /Forbidden.*User "newbie" cannot get resource "users" in API group "iam.gatehouse.dev"/);
  // Someone else's User is refused by admission.
  const forOther = await stack.kubectl(['create', '-f', '-'], { as: 'newbie', input: `${G}\nkind: User\nmetadata: {name: mallory}\nspec: {state: Pending}` });
  assert.notEqual(forOther.code, 0);
  assert.match(forOther.stderr, /denied the request/);
  // Their own, asking for Active: stored Pending.
  const own = await stack.kubectl(['create', '-f', '-'], { as: 'newbie', input: `${G}\nkind: User\nmetadata: {name: newbie}\nspec: {state: Active, email: newbie@example.com}` });
  assert.equal(own.code, 0, own.stderr);
  assert.equal(await stack.kubectlOk(['get', 'ghuser', 'newbie', '-o', 'jsonpath={.spec.state}']), 'Pending');
  await stack.settle();
  // Now they are a Pending user: refused, also for a second registration.
  assert.equal(await canI(stack, 'create', 'users.iam.gatehouse.dev', { as: 'newbie' }), 'no - user newbie is Pending');
  assert.equal(await canI(stack, 'get', 'users.iam.gatehouse.dev', { as: 'newbie' }), 'no - user newbie is Pending');
});

test('metrics: GET /metrics shows the decisions by result', async () => {
  const text = await metricsText(stack);
  const decisions = series(text, 'gatehouse_authorization_decisions_total');
  const total = (verdict: string, code?: string) => decisions
    .filter((s) => s.labels['verdict'] === verdict && (code === undefined || s.labels['code'] === code))
    .reduce((n, s) => n + s.value, 0);
  // The tests above made every kind of decision through the API server.
  assert.ok(total('allow', 'binding') > 0, 'allow via binding');
  assert.ok(total('allow', 'projectOwner') > 0, 'allow via project ownership');
  assert.ok(total('allow', 'publicProject') > 0, 'allow via a public project');
  assert.ok(total('allow', 'default') > 0, 'allow via defaults');
  assert.ok(total('deny', 'inactive') >= 3, 'deny for inactive users');
  assert.ok(total('noOpinion', 'unknownUser') > 0, 'no opinion for unknown users');
  assert.ok(total('noOpinion', 'noMatch') > 0, 'no opinion when nothing matches');
  assert.ok(total('noOpinion', 'ignored') > 0, 'no opinion for system identities');
  assert.equal(total('error'), 0, 'no evaluation errors');
  // And the count moves with a new decision.
  const denies = total('deny');
  assert.equal(await canI(stack, 'get', 'pods', { as: 'sue', namespace: 'team-a' }), 'no - user sue is Suspended');
  const after = series(await metricsText(stack), 'gatehouse_authorization_decisions_total')
    .filter((s) => s.labels['verdict'] === 'deny').reduce((n, s) => n + s.value, 0);
  assert.ok(after > denies, `deny count ${denies} -> ${after}`);
});
