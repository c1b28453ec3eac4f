// Registration `auto` end to end: an authenticated user without a User object gets a Pending User
// created for them on their first request through the API server, at most once; the request itself
// is answered no opinion (RBAC decides), the ones after it are denied as Pending until approved.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from '../support/stack.js';
import { eventually } from '../support/operator.js';
import { canI, mapLimit, metricsText, series } from '../support/authz-e2e.js';
import { userObjectName } from '../../src/operator.js';

let stack: Stack;
before(async () => {
  stack = await startStack({ config: { registration: { mode: 'approval', auto: true } } });
});
after(async () => {
  await stack?.stop();
});

interface UserItem {
  metadata: { name: string };
  spec: { username?: string; state: string; superuser?: boolean };
}
async function usersFor(username: string): Promise<UserItem[]> {
  const list = JSON.parse(await stack.kubectlOk(['get', 'ghuser', '-o', 'json'])) as { items: UserItem[] };
  return list.items.filter((u) => (u.spec.username || u.metadata.name) === username);
}
async function registrations(): Promise<number> {
  return series(await metricsText(stack), 'gatehouse_registrations_total').reduce((n, s) => n + s.value, 0);
}

test('an unknown user\'s first requests create one Pending User for them; later requests are denied as Pending', async () => {
  const before = await registrations();
  // Eight requests at once, the first of them from a user Gatehouse has never seen.
  const first = await mapLimit(Array.from({ length: 8 }, (_, i) => i), 8, () => stack.kubectl(['get', 'configmaps', '-n', 'default'], { as: 'walker' }));
  for (const r of first) {
    assert.notEqual(r.code, 0, 'no grant anywhere, so RBAC refuses');
    // Either the first answer (no User yet: no opinion, RBAC refuses) or a later one (Pending: denied).
    assert.match(r.stderr, /Forbidden.*User "walker" cannot list resource "configmaps".*: (user walker has no User object|user walker is Pending)/);
  }
  const users = await eventually('a Pending User for walker', async () => {
    const found = await usersFor('walker');
    return found.length > 0 ? found : undefined;
  });
  assert.equal(users.length, 1, 'one User');
  assert.equal(users[0]!.metadata.name, 'walker');
  assert.equal(users[0]!.spec.state, 'Pending');
  assert.notEqual(users[0]!.spec.superuser, true);
  await stack.settle();
  assert.equal(await canI(stack, 'list', 'configmaps', { as: 'walker', namespace: 'default' }), 'no - user walker is Pending');
  assert.equal((await usersFor('walker')).length, 1, 'still one User');
  assert.equal(await registrations(), before + 1, 'created once');
});

test('a username that is not a valid object name gets a User named after it, with the exact username', async () => {
  const username = 'oidc:Jane.Doe@example.com';
  const r = await stack.kubectl(['get', 'pods', '-n', 'default'], { as: username, asGroups: ['oidc:ml'] });
  assert.match(r.stderr, /Forbidden/);
  const users = await eventually('a Pending User for the OIDC user', async () => {
    const found = await usersFor(username);
    return found.length > 0 ? found : undefined;
  });
  assert.equal(users.length, 1);
  assert.equal(users[0]!.metadata.name, userObjectName(username));
  assert.match(users[0]!.metadata.name, /^oidc-jane\.doe-example\.com-[0-9a-f]{8}$/);
  assert.equal(users[0]!.spec.state, 'Pending');
  await stack.settle();
  assert.equal(await canI(stack, 'get', 'pods', { as: username, namespace: 'default' }), `no - user ${username} is Pending`);
});

test('at most once: a User deleted by an administrator is not created again for the same user', async () => {
  const count = await registrations();
  await stack.kubectlOk(['delete', 'ghuser', 'walker']);
  await stack.settle();
  // walker is unknown again: no opinion (RBAC refuses), and no second User.
  assert.match(await canI(stack, 'list', 'configmaps', { as: 'walker', namespace: 'default' }), /^no - user walker has no User object/);
  for (let i = 0; i < 3; i++) await stack.kubectl(['get', 'configmaps', '-n', 'default'], { as: 'walker' });
  await stack.settle();
  assert.deepEqual(await usersFor('walker'), []);
  assert.equal(await registrations(), count);
});

test('approving an auto-registered user lifts the Pending deny', async () => {
  const username = 'oidc:Jane.Doe@example.com';
  await stack.kubectlOk(['patch', 'ghuser', userObjectName(username), '--type=merge', '-p', '{"spec":{"state":"Active"}}']);
  await stack.settle();
  assert.equal(await canI(stack, 'get', 'pods', { as: username, namespace: 'default' }),
    `no - no Gatehouse role grants get pods in namespace default to user ${username}`);
});

test('system identities and service accounts never get a User', async () => {
  const sa = 'system:serviceaccount:ci:builder';
  await stack.kubectl(['get', 'pods', '-n', 'ci'], { as: sa, asGroups: ['system:serviceaccounts', 'system:serviceaccounts:ci'] });
  await stack.kubectl(['get', 'pods', '-n', 'ci'], { as: 'system:node:worker-1', asGroups: ['system:nodes'] });
  await stack.settle();
  const list = JSON.parse(await stack.kubectlOk(['get', 'ghuser', '-o', 'json'])) as { items: UserItem[] };
  assert.deepEqual(list.items.map((u) => u.spec.username ?? u.metadata.name).filter((n) => n.startsWith('system:')), []);
});
