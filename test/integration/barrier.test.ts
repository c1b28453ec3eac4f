// settle() is a barrier, not a pause: with every byte from the API server to the operator held
// 2 s by a TCP proxy (so each watch event reaches the index 2 s after the write), the assertion
// right after settle() still sees the write. The old settle() (two quiet 150 ms windows) returned
// before the event arrived and these assertions failed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from '../support/stack.js';
import { verdict } from '../support/operator.js';

let stack: Stack;

before(async () => {
  stack = await startStack({ apiProxy: true });
});

after(async () => {
  await stack?.stop();
});

const DELAY_MS = 2000;
const manifest = (docs: string[]): string => docs.join('---\n');
const role = (name: string, perms: string[]): string => `apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Role\nmetadata: {name: ${name}}\nspec: {permissions: ${JSON.stringify(perms)}}\n`;
const user = (name: string): string => `apiVersion: iam.gatehouse.dev/v1alpha1\nkind: User\nmetadata: {name: ${name}}\nspec: {state: Active}\n`;
const binding = (name: string, roleName: string, who: string): string =>
  `apiVersion: iam.gatehouse.dev/v1alpha1\nkind: RoleBinding\nmetadata: {name: ${name}}\nspec: {role: ${roleName}, subjects: [{kind: User, name: ${who}}], scope: {cluster: true}}\n`;

test('settle(): a created object whose watch event is delayed 2 s is in the index at the next assertion', async (t) => {
  stack.apiProxy!.delay(DELAY_MS);
  try {
    await stack.kubectlOk(['apply', '-f', '-'], { input: user('delayed-dana') });
    // Not an assertion (it would be a race on a loaded machine): whether the delay was still holding
    // the event when kubectl returned, so a reader of the log sees the barrier had work to do.
    t.diagnostic(`index held the user right after the write: ${stack.operator.index.getUser('delayed-dana') !== undefined}`);
    await stack.settle();
    assert.equal(stack.operator.index.getUser('delayed-dana')?.spec.state, 'Active', 'the user is in the index after settle()');
  } finally {
    stack.apiProxy!.forward();
  }
});

test('settle(): a change and a deletion delayed 2 s are applied by the next assertion', async () => {
  await stack.kubectlOk(['apply', '-f', '-'], { input: manifest([role('delayed-r', ['jobs:read']), user('delayed-eve'), binding('delayed-b', 'delayed-r', 'delayed-eve'), binding('delayed-b2', 'delayed-r', 'delayed-eve')]) });
  await stack.settle();
  assert.equal(verdict(stack.operator.index, 'delayed-eve', 'create', 'jobs', 'ml', 'batch'), 'noOpinion', 'read-only at first');
  stack.apiProxy!.delay(DELAY_MS);
  try {
    await stack.kubectlOk(['patch', 'role.iam.gatehouse.dev/delayed-r', '--type=merge', '-p', '{"spec":{"permissions":["jobs:*"]}}']);
    await stack.kubectlOk(['delete', 'rolebinding.iam.gatehouse.dev/delayed-b2']);
    await stack.kubectlOk(['create', 'namespace', 'delayed-ns']);
    await stack.settle();
    assert.deepEqual(stack.operator.index.getRole('delayed-r')?.spec.permissions, ['jobs:*'], 'the role change is applied');
    assert.equal(stack.operator.index.getBinding('delayed-b2'), undefined, 'the deleted binding left the index');
    assert.ok(stack.operator.index.getNamespace('delayed-ns'), 'the new namespace is in the index');
    assert.equal(verdict(stack.operator.index, 'delayed-eve', 'create', 'jobs', 'ml', 'batch'), 'allow', 'decide() answers from the new role');
  } finally {
    stack.apiProxy!.forward();
  }
});

test('settle() names what it waited for when the index never gets there', async () => {
  // A frozen connection delivers nothing: the barrier must fail with a message, not hang or pass.
  stack.apiProxy!.freeze();
  try {
    await stack.kubectlOk(['apply', '-f', '-'], { input: user('frozen-fay') });
    const { indexBarrier } = await import('../support/barrier.js');
    await assert.rejects(
      indexBarrier(stack.operator.controller, { url: stack.cp.url, caFile: stack.cp.caFile, token: stack.cp.adminToken }, 3000),
      /settle\(\): the index did not apply.*waiting for User up to resourceVersion \d+ .*frozen-fay \(not seen\)/,
    );
  } finally {
    stack.apiProxy!.forward();
  }
  await stack.settle();
  assert.ok(stack.operator.index.getUser('frozen-fay'), 'delivered once the link flows again');
});
