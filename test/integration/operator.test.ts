// The composition root end to end: the API server asks the in-process operator (authorization
// and admission) and the answers follow what is applied with kubectl.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from '../support/stack.js';
import { eventually } from '../support/operator.js';

let stack: Stack;
before(async () => {
  stack = await startStack({ config: { seedAdmins: [{ username: 'root' }] } });
});
after(async () => {
  await stack?.stop();
});

const world = `
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: iam.gatehouse.dev/v1alpha1
kind: Role
metadata: {name: pod-reader}
spec: {permissions: ["pods:read"]}
---
apiVersion: iam.gatehouse.dev/v1alpha1
kind: User
metadata: {name: alice}
spec: {state: Active}
---
apiVersion: iam.gatehouse.dev/v1alpha1
kind: RoleBinding
metadata: {name: alice-reads-pods}
spec: {role: pod-reader, subjects: [{kind: User, name: alice}], scope: {namespaces: [team-a]}}
`;

test('a binding applied with kubectl lets its user in through the API server, and only there', async () => {
  await stack.kubectlOk(['apply', '-f', '-'], { input: world });
  const yes = await eventually('alice to be allowed', async () => {
    const r = await stack.kubectl(['auth', 'can-i', 'list', 'pods', '-n', 'team-a', '--as', 'alice']);
    return r.stdout.trim() === 'yes' ? r : undefined;
  });
  assert.equal(yes.code, 0);
  // kubectl prints the webhook's reason after the answer.
  assert.match((await stack.kubectl(['auth', 'can-i', 'delete', 'pods', '-n', 'team-a', '--as', 'alice'])).stdout, /^no - no Gatehouse role grants delete pods in namespace team-a to user alice/);
  assert.match((await stack.kubectl(['auth', 'can-i', 'list', 'pods', '-n', 'default', '--as', 'alice'])).stdout, /^no/);
  const list = await stack.kubectl(['get', 'pods', '-n', 'team-a', '--as', 'alice']);
  assert.equal(list.code, 0, list.stderr);
});

test('the seed admin from the configuration exists, is a superuser and may do anything', async () => {
  await eventually('the seed admin User', async () => (await stack.kubectl(['get', 'ghuser', 'root'])).code === 0);
  assert.equal((await stack.kubectl(['auth', 'can-i', 'delete', 'nodes', '--as', 'root'])).stdout.trim(), 'yes');
});

test('admission is wired: a Role with a bad permission is refused with the field and the rule', async () => {
  const res = await stack.kubectl(['apply', '-f', '-'], {
    input: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Role\nmetadata: {name: broken}\nspec: {permissions: ["pods:"]}\n',
    as: 'root',
  });
  assert.notEqual(res.code, 0);
  assert.match(res.stderr, /denied the request: Gatehouse denied: spec\.permissions\[0\]/);
});
