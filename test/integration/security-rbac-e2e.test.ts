// Security round 3 (issue 32), authorization mode `rbac`, through a real API server that runs
// `--authorization-mode=RBAC` only (as EKS, GKE and AKS): what a namespace user can do to the RBAC
// objects Gatehouse compiles, and what the operator reports about expiry. docs/security.md,
// "Round 3: memory, compiled objects and expiry".
//  - item 11: the owner of a namespace removes the managed-by label from the compiled RoleBinding
//    that makes them its owner; the operator takes it back by its reserved name, so suspending them
//    still ends the grant, and the next owner gets it; foreign objects under reserved names are
//    replaced or deleted and counted, never left granting.
//  - item 13: the next expiry and the overdue grants are metrics any replica exports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from '../support/stack.js';
import { manifest } from '../support/world.js';
import { eventually } from '../support/operator.js';
import { canI } from '../support/authz-e2e.js';
import type { RbacApplier } from '../../src/controller/rbac-applier.js';
import { MANAGED_BY_LABEL, SOURCE_ANNOTATION } from '../../src/rbac/objects.js';

const GH = 'iam.gatehouse.dev/v1alpha1';
const RBAC = 'rbac.authorization.k8s.io/v1';
let stack: Stack;
let rbac: RbacApplier;

before(async () => {
  stack = await startStack({
    authorizationMode: 'rbac',
    admission: false,
    config: { projects: { ownerRole: 's-owner' } },
  });
  rbac = stack.operator.controller.rbac!;
  assert.ok(rbac, 'mode rbac starts the RBAC applier');
});
after(async () => {
  await stack?.stop();
});

const yaml = manifest;

async function converged(): Promise<void> {
  await stack.settle();
  await eventually('RBAC objects converged', async () => {
    await rbac.idle();
    return rbac.converged();
  }, 60_000, 100);
}

async function metric(name: string): Promise<number> {
  const text = await stack.operator.webhook.metrics.render();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} is exported`);
  return Number(line.split(' ')[1]);
}

const rbOwner = ['-n', 's-alice', 'rolebinding', 'gatehouse:project-owner'];
const labelOf = async (args: string[]): Promise<string> => (await stack.kubectlOk(['get', ...args, '-o', `jsonpath={.metadata.labels.app\\.kubernetes\\.io/managed-by}`])).trim();

test('item 11: an owner who removes the managed-by label from their compiled RoleBinding keeps nothing after suspension', async () => {
  await stack.kubectlOk(['apply', '-f', '-'], {
    input: yaml([
      { apiVersion: GH, kind: 'Role', metadata: { name: 's-owner' }, spec: { permissions: ['*:*', 'secrets:*'] } },
      { apiVersion: GH, kind: 'User', metadata: { name: 's-alice' }, spec: { state: 'Active' } },
      { apiVersion: GH, kind: 'User', metadata: { name: 's-erin' }, spec: { state: 'Active' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 's-alice', labels: { 'iam.gatehouse.dev/owner': 's-alice' } } },
    ]),
  });
  await converged();
  assert.equal(await canI(stack, 'create', 'pods', { as: 's-alice', namespace: 's-alice' }), 'yes');
  assert.equal(await labelOf(rbOwner), 'gatehouse');
  const foreignBefore = rbac.metrics().foreignObjects;

  // The owner removes the label (RBAC lets her: she holds everything the binding grants there).
  await stack.kubectlOk(['label', ...rbOwner, `${MANAGED_BY_LABEL}-`], { as: 's-alice' });
  await eventually('the label is back', async () => (await labelOf(rbOwner)) === 'gatehouse', 15_000, 100);
  assert.ok(rbac.metrics().foreignObjects > foreignBefore, 'the label removal is reported');
  assert.ok((await metric('gatehouse_rbac_foreign_objects_total')) > foreignBefore, 'and exported');

  // Again, and then she is suspended: her grant ends, label or not.
  await stack.kubectlOk(['label', ...rbOwner, `${MANAGED_BY_LABEL}-`], { as: 's-alice' });
  await stack.kubectlOk(['patch', 'ghuser', 's-alice', '--type=merge', '-p', '{"spec":{"state":"Suspended"}}']);
  await eventually('the compiled RoleBinding is gone', async () => (await stack.kubectl(['get', ...rbOwner])).code !== 0, 15_000, 100);
  await converged();
  assert.match(await canI(stack, 'create', 'pods', { as: 's-alice', namespace: 's-alice' }), /^no/);
  assert.match(await canI(stack, 'get', 'secrets', { as: 's-alice', namespace: 's-alice' }), /^no/);

  // The namespace changes owner: the next owner gets the name, and the grant.
  await stack.kubectlOk(['patch', 'ghuser', 's-alice', '--type=merge', '-p', '{"spec":{"state":"Active"}}']);
  await converged();
  await stack.kubectlOk(['label', ...rbOwner, `${MANAGED_BY_LABEL}-`], { as: 's-alice' });
  await stack.kubectlOk(['label', '--overwrite', 'namespace', 's-alice', 'iam.gatehouse.dev/owner=s-erin']);
  await converged();
  assert.equal(await canI(stack, 'create', 'pods', { as: 's-erin', namespace: 's-alice' }), 'yes');
  assert.match(await canI(stack, 'create', 'pods', { as: 's-alice', namespace: 's-alice' }), /^no/);
  assert.equal(await labelOf(rbOwner), 'gatehouse');
});

test('item 11: objects someone else made under reserved names are replaced or deleted, and reported', async () => {
  const mallory = { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 's-mallory' };
  await stack.kubectlOk(['create', 'namespace', 's-erin']);
  // Before the namespace has an owner: a squatter under the name the owner binding will take, with
  // another roleRef, and an object under a reserved name Gatehouse never wants.
  await stack.kubectlOk(['apply', '-f', '-'], {
    input: yaml([
      { apiVersion: RBAC, kind: 'RoleBinding', metadata: { name: 'gatehouse:project-owner', namespace: 's-erin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' }, subjects: [mallory] },
      { apiVersion: RBAC, kind: 'RoleBinding', metadata: { name: 'gatehouse:binding:s-nothing', namespace: 's-erin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' }, subjects: [mallory] },
      { apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: { name: 'gatehouse:binding:s-cluster' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [mallory] },
      // Outside the reserved prefix: not Gatehouse's, left alone.
      { apiVersion: RBAC, kind: 'RoleBinding', metadata: { name: 'gatehouse-lookalike', namespace: 's-erin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [mallory] },
    ]),
  });
  await eventually('the unwanted reserved names are deleted', async () =>
    (await stack.kubectl(['get', '-n', 's-erin', 'rolebinding', 'gatehouse:binding:s-nothing'])).code !== 0 &&
    (await stack.kubectl(['get', 'clusterrolebinding', 'gatehouse:binding:s-cluster'])).code !== 0 &&
    (await stack.kubectl(['get', '-n', 's-erin', 'rolebinding', 'gatehouse:project-owner'])).code !== 0, 15_000, 100);
  assert.match(await canI(stack, 'get', 'secrets', { as: 's-mallory', namespace: 's-erin' }), /^no/);
  assert.match(await canI(stack, 'get', 'pods', { as: 's-mallory', namespace: 'default' }), /^no/);

  // The squatter again, now under a name Gatehouse wants: replaced (its roleRef differs).
  await stack.kubectlOk(['apply', '-f', '-'], {
    input: yaml([{ apiVersion: RBAC, kind: 'RoleBinding', metadata: { name: 'gatehouse:project-owner', namespace: 's-erin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' }, subjects: [mallory] }]),
  });
  await stack.kubectlOk(['label', 'namespace', 's-erin', 'iam.gatehouse.dev/owner=s-erin']);
  await converged();
  const rb = JSON.parse(await stack.kubectlOk(['get', '-n', 's-erin', 'rolebinding', 'gatehouse:project-owner', '-o', 'json'])) as { roleRef: { name: string }; subjects: Array<{ name: string }>; metadata: { labels: Record<string, string>; annotations: Record<string, string> } };
  assert.equal(rb.roleRef.name, 'gatehouse:role:s-owner');
  assert.deepEqual(rb.subjects.map((s) => s.name), ['s-erin']);
  assert.equal(rb.metadata.labels[MANAGED_BY_LABEL], 'gatehouse');
  assert.equal(rb.metadata.annotations[SOURCE_ANNOTATION], 'projects.ownerRole');
  assert.match(await canI(stack, 'get', 'secrets', { as: 's-mallory', namespace: 's-erin' }), /^no/);
  assert.equal(await canI(stack, 'get', 'secrets', { as: 's-erin', namespace: 's-erin' }), 'yes');
  assert.equal((await stack.kubectl(['get', '-n', 's-erin', 'rolebinding', 'gatehouse-lookalike'])).code, 0, 'a name outside the prefix is left alone');
});

test('item 13: the next expiry and grants still in the cluster past their expiry are metrics', async () => {
  const expiresAt = new Date(Date.now() + 4000).toISOString().replace(/\.\d+Z$/, 'Z');
  await stack.kubectlOk(['apply', '-f', '-'], {
    input: yaml([{ apiVersion: GH, kind: 'RoleBinding', metadata: { name: 's-soon' }, spec: { role: 's-owner', subjects: [{ kind: 'User', name: 's-erin' }], scope: { namespaces: ['s-alice'] }, expiresAt } }]),
  });
  await converged();
  assert.equal(await metric('gatehouse_rbac_next_expiry_timestamp_seconds'), Date.parse(expiresAt) / 1000);
  assert.equal(await metric('gatehouse_rbac_overdue_grants'), 0);
  // A finalizer holds the compiled object past its expiry: what a stopped operator looks like to RBAC.
  const rb = ['-n', 's-alice', 'rolebinding', 'gatehouse:binding:s-soon'];
  await stack.kubectlOk(['patch', ...rb, '--type=merge', '-p', '{"metadata":{"finalizers":["test.gatehouse.dev/hold"]}}']);
  await eventually('the grant is overdue', async () => (await metric('gatehouse_rbac_overdue_grants')) === 1, 20_000, 100);
  assert.equal(await metric('gatehouse_rbac_next_expiry_timestamp_seconds'), 0, 'no expiry ahead');
  await stack.kubectlOk(['patch', ...rb, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  await eventually('the grant ended', async () => (await stack.kubectl(['get', ...rb])).code !== 0, 15_000, 100);
  assert.equal(await metric('gatehouse_rbac_overdue_grants'), 0);
});

test('item 7: the API server refuses lists and names past the CRD schema bounds, naming the field', async () => {
  const rb = (name: string, subjects: object[]) => ({ apiVersion: GH, kind: 'RoleBinding', metadata: { name }, spec: { role: 's-owner', subjects, scope: { namespaces: ['s-alice'] } } });
  const long = await stack.kubectl(['apply', '-f', '-'], { input: yaml([rb('s-long', [{ kind: 'Group', name: `oidc:${'g'.repeat(508)}` }])]) });
  assert.notEqual(long.code, 0);
  assert.match(long.stderr, /spec\.subjects(\[0\])?\.name.*at most 512/);
  const many = await stack.kubectl(['apply', '-f', '-'], { input: yaml([rb('s-many', Array.from({ length: 1001 }, (_, i) => ({ kind: 'Group', name: `g-${i}` })))]) });
  assert.notEqual(many.code, 0);
  assert.match(many.stderr, /spec\.subjects.*(at most 1000|too many)/);
  const members = await stack.kubectl(['apply', '-f', '-'], { input: yaml([{ apiVersion: GH, kind: 'Team', metadata: { name: 's-team' }, spec: { members: ['m'.repeat(254)] } }]) });
  assert.notEqual(members.code, 0);
  assert.match(members.stderr, /spec\.members(\[0\])?.*at most 253/);
  // At the bounds: admitted.
  await stack.kubectlOk(['apply', '-f', '-'], { input: yaml([rb('s-edge', [{ kind: 'Group', name: `oidc:${'g'.repeat(507)}` }])]) });
  await stack.kubectlOk(['delete', 'ghrb', 's-edge']);
});
