// Issue 6, end to end (second stack): self-registration, namespaces as projects, no lockout, and
// break-glass repair, through kubectl and a real kube-apiserver calling the in-process operator.
// This stack has no seed admin, so the superusers created here can be the last one standing
// (seed admins are covered in admission-e2e.test.ts). The tests run in order and build on each
// other; the last one switches admission off.
//
// Scenarios (docs/admission.md, "End-to-end scenarios"): 5 self-registration, 10 lockout (last
// superuser, system:masters), 11 namespaces.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../support/stack.js';
import { startWithWorld, world } from '../support/world.js';
import { eventually } from '../support/operator.js';
import { assertDenied, assertOk, canIBecomes, create, exists, getJson, mergePatch, userIs } from '../support/e2e.js';

let stack: Stack;
const G = 'iam.gatehouse.dev';
const OWNER = `${G}/owner`;
const TEAM = `${G}/team`;
const VISIBILITY = `${G}/visibility`;

// alice and bob may create namespaces (a cluster-wide Gatehouse grant; no RBAC); bob and tina may
// also patch any namespace, so their label changes reach admission. tina may update team vision.
// carol has no User yet but a binding waiting for her in namespace proj.
const WORLD = world()
  .namespace('proj')
  .namespace('ml-t', { [TEAM]: 'vision' })
  .role('project-owner', ['pods:*', 'configmaps:*', 'namespaces:get', 'namespaces:patch'])
  .role('ns-creator', ['namespaces:create'])
  .role('ns-editor', ['namespaces:get', 'namespaces:patch'])
  .role('team-admin', [`${G}/teams:update`, `${G}/teams:patch`])
  .role('pod-reader', ['pods:read'])
  .users({
    sue: { state: 'Active', superuser: true },
    sam: { state: 'Active' },
    alice: { state: 'Active' },
    bob: { state: 'Active' },
    tina: { state: 'Active' },
  })
  .team('vision', { members: ['tina'] })
  .binding('ns-creators', 'ns-creator', ['User:alice', 'User:bob'], 'cluster')
  .binding('ns-editors', 'ns-editor', ['User:bob', 'User:tina'], 'cluster')
  .binding('tina-team-admin', 'team-admin', 'User:tina', 'team:vision')
  .binding('carol-pod-reader', 'pod-reader', 'User:carol', 'namespace:proj');

function labelsOf(o: { metadata: Record<string, unknown> }): Record<string, string> {
  return (o.metadata['labels'] as Record<string, string> | undefined) ?? {};
}

before(async () => {
  stack = await startWithWorld(WORLD, { config: { projects: { ownerRole: 'project-owner' }, registration: { mode: 'approval' } } });
  await canIBecomes(stack, ['create', 'namespaces'], 'alice', 'yes');
  await stack.settle();
});

after(async () => {
  await stack?.stop();
});

test('self-registration: carol asks for Active and superuser, is stored Pending and not superuser; a superuser activates her and her binding starts to work', async () => {
  assert.equal((await stack.kubectl(['auth', 'can-i', 'list', 'pods', '-n', 'proj'], { as: 'carol' })).stdout.trim().split(/\s/)[0], 'no');
  const res = await create(stack, `apiVersion: ${G}/v1alpha1\nkind: User\nmetadata: {name: carol}\nspec: {state: Active, superuser: true, email: carol@example.com}\n`, { as: 'carol' });
  assertOk(res, 'carol registers herself');
  assert.match(res.stderr, /Warning: spec\.state set to Pending: a self-registered User waits for an administrator's approval \(registration approval\)/);
  assert.match(res.stderr, /Warning: spec\.superuser set to false: only superusers may make superusers/);
  const carol = await getJson(stack, 'ghuser/carol');
  assert.equal(carol.spec['state'], 'Pending');
  assert.equal(carol.spec['superuser'], false);
  assert.equal(carol.spec['email'], 'carol@example.com');

  // Registering someone else is not self-registration.
  const other = await create(stack, `apiVersion: ${G}/v1alpha1\nkind: User\nmetadata: {name: dave}\nspec: {state: Pending}\n`, { as: 'erin' });
  assertDenied(other, 'delegated-scope', 'metadata.name');
  assert.match(other.stderr, /creating User dave requires iam\.gatehouse\.dev\/users:create in the whole cluster; erin holds it nowhere \(rule: delegated-scope\)/);
  assert.equal(await exists(stack, 'ghuser/dave'), false);

  // Pending: denied outright (RBAC cannot let her in either), until a superuser approves her.
  await userIs(stack, 'carol', 'Pending');
  const pending = await stack.kubectl(['auth', 'can-i', 'list', 'pods', '-n', 'proj'], { as: 'carol' });
  // Denied outright, with the reason; asking (the SelfSubjectAccessReview behind can-i) is left to RBAC.
  assert.equal(pending.code, 1, pending.stderr);
  assert.equal(pending.stdout.trim(), 'no - user carol is Pending');
  const pendingApprove = await mergePatch(stack, 'ghuser/carol', { spec: { state: 'Active' } }, { as: 'carol' });
  assert.notEqual(pendingApprove.code, 0, 'a Pending user cannot approve herself');
  // Refused for the right reason: authorization denies a Pending user outright, before admission
  // (kubectl patch reads the object first, so the refused verb is get).
  assert.match(pendingApprove.stderr, /User "carol" cannot (get|patch) resource "users" in API group "iam\.gatehouse\.dev".*: user carol is Pending/, pendingApprove.stderr);

  assertOk(await mergePatch(stack, 'ghuser/carol', { spec: { state: 'Active' } }, { as: 'sue' }), 'sue activates carol');
  await canIBecomes(stack, ['list', 'pods', '-n', 'proj'], 'carol', 'yes');
  assert.equal((await stack.kubectl(['auth', 'can-i', 'list', 'pods', '-n', 'default'], { as: 'carol' })).stdout.trim().split(/\s/)[0], 'no');
});

test('namespaces: a namespace created by an Active user is labelled with its owner, who then holds the owner role there', async () => {
  const res = await stack.kubectl(['create', 'namespace', 'ml-a'], { as: 'alice' });
  assertOk(res, 'alice creates ml-a');
  assert.equal(labelsOf(await getJson(stack, 'namespace/ml-a'))[OWNER], 'alice');
  await canIBecomes(stack, ['create', 'pods', '-n', 'ml-a'], 'alice', 'yes');
  assertOk(await stack.kubectl(['create', 'configmap', 'settings', '-n', 'ml-a', '--from-literal=lr=0.01'], { as: 'alice' }), 'alice creates a configmap in her project');
  assert.equal((await stack.kubectl(['auth', 'can-i', 'create', 'pods', '-n', 'ml-a'], { as: 'bob' })).stdout.trim().split(/\s/)[0], 'no');
  // Creating a namespace that names someone else as its owner is not for alice to do.
  const forged = await stack.kubectl(['create', '-f', '-'], {
    as: 'alice',
    input: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ml-forged\n  labels: {${OWNER}: bob}\n`,
  });
  assertDenied(forged, 'namespace-labels', `metadata.labels[${OWNER}]`);
});

test('namespaces: only the owner, a team updater or a superuser changes the owner, team and visibility labels', async () => {
  // bob may patch namespaces (RBAC-like grant) but is not ml-a's owner.
  const steal = await stack.kubectl(['label', 'namespace', 'ml-a', `${OWNER}=bob`, '--overwrite'], { as: 'bob' });
  assertDenied(steal, 'namespace-labels', `metadata.labels[${OWNER}]`);
  assert.match(steal.stderr, /only its current owner \(alice\) or a superuser may change the owner of namespace ml-a/);
  assertDenied(await stack.kubectl(['label', 'namespace', 'ml-a', `${VISIBILITY}=public`], { as: 'bob' }), 'namespace-labels', `metadata.labels[${VISIBILITY}]`);
  // Other labels are not Gatehouse's business.
  assertOk(await stack.kubectl(['label', 'namespace', 'ml-a', 'cost-center=42'], { as: 'bob' }), 'bob sets an unrelated label');

  assertOk(await stack.kubectl(['label', 'namespace', 'ml-a', `${VISIBILITY}=public`], { as: 'alice' }), 'the owner makes it public');
  assert.equal(labelsOf(await getJson(stack, 'namespace/ml-a'))[VISIBILITY], 'public');

  // ml-t belongs to team vision: tina (teams:update for vision) may change its labels, bob may not.
  assertOk(await stack.kubectl(['label', 'namespace', 'ml-t', `${VISIBILITY}=public`], { as: 'tina' }), 'a team updater makes the team namespace public');
  assertDenied(await stack.kubectl(['label', 'namespace', 'ml-t', `${VISIBILITY}=private`, '--overwrite'], { as: 'bob' }), 'namespace-labels');

  // bob owns ml-b, but may not put it into team vision.
  assertOk(await stack.kubectl(['create', 'namespace', 'ml-b'], { as: 'bob' }), 'bob creates ml-b');
  assert.equal(labelsOf(await getJson(stack, 'namespace/ml-b'))[OWNER], 'bob');
  const join = await stack.kubectl(['label', 'namespace', 'ml-b', `${TEAM}=vision`], { as: 'bob' });
  assertDenied(join, 'namespace-labels', `metadata.labels[${TEAM}]`);
  assert.match(join.stderr, /putting namespace ml-b into Team vision changes the team, which needs iam\.gatehouse\.dev\/teams:update for team vision/);

  // A superuser may hand ml-a to bob.
  assertOk(await stack.kubectl(['label', 'namespace', 'ml-a', `${OWNER}=bob`, '--overwrite'], { as: 'sue' }), 'a superuser changes the owner');
  await canIBecomes(stack, ['create', 'pods', '-n', 'ml-a'], 'bob', 'yes');
  await canIBecomes(stack, ['create', 'pods', '-n', 'ml-a'], 'alice', 'no');
});

test('lockout: the last Active superuser cannot be deleted, demoted or suspended; with a second one it works', async () => {
  const del = await stack.kubectl(['delete', 'ghuser', 'sue'], { as: 'sue' });
  assertDenied(del, 'last-superuser', 'metadata.name');
  assert.match(del.stderr, /User sue is the last Active superuser and cannot be deleted; make another user an Active superuser first/);
  const demote = await mergePatch(stack, 'ghuser/sue', { spec: { superuser: false } }, { as: 'sue' });
  assertDenied(demote, 'last-superuser', 'spec.superuser');
  assertDenied(await mergePatch(stack, 'ghuser/sue', { spec: { state: 'Suspended' } }, { as: 'sue' }), 'last-superuser', 'spec.state');
  assertDenied(await mergePatch(stack, 'ghuser/sue', { spec: { state: 'Rejected' } }, { as: 'sue' }), 'last-superuser', 'spec.state');
  const sue = await getJson(stack, 'ghuser/sue');
  assert.equal(sue.spec['superuser'], true);
  assert.equal(sue.spec['state'], 'Active');

  assertOk(await mergePatch(stack, 'ghuser/sam', { spec: { superuser: true } }, { as: 'sue' }), 'sue makes sam a superuser');
  await canIBecomes(stack, ['delete', 'nodes'], 'sam', 'yes');
  assertOk(await mergePatch(stack, 'ghuser/sue', { spec: { superuser: false } }, { as: 'sue' }), 'with sam there, sue steps down');
  await canIBecomes(stack, ['delete', 'nodes'], 'sue', 'no');
  // Now sam is the last one.
  assertDenied(await stack.kubectl(['delete', 'ghuser', 'sam'], { as: 'sam' }), 'last-superuser', 'metadata.name');
});

test('break-glass: system:masters demotes the last superuser with a warning and can delete the webhook configurations', async () => {
  const demote = await mergePatch(stack, 'ghuser/sam', { spec: { superuser: false } });
  assertOk(demote, 'the admin demotes the last superuser');
  assert.match(demote.stderr, /Warning: break-glass: would be denied for others: spec\.superuser: User sam is the last Active superuser; make another user an Active superuser first \(rule: last-superuser\)/);
  assertOk(await mergePatch(stack, 'ghuser/sam', { spec: { superuser: true } }), 'and restores him');

  // The ultimate repair: switch Gatehouse's admission off. What was refused is then only RBAC's
  // and the authorizer's business.
  assertOk(await stack.kubectl(['delete', 'validatingwebhookconfiguration,mutatingwebhookconfiguration', '-l', 'app.kubernetes.io/name=gatehouse']), 'deleting the webhook configurations');
  const left = await stack.kubectl(['get', 'validatingwebhookconfiguration,mutatingwebhookconfiguration', '-o', 'name']);
  assert.doesNotMatch(left.stdout, /gatehouse|iam\.gatehouse\.dev/);
  // The API server's webhook informer notices the deletion within moments.
  const through = await eventually('bob\'s label to go through without admission', async () => {
    const r = await stack.kubectl(['label', 'namespace', 'ml-b', `${TEAM}=vision`], { as: 'bob' });
    return r.code === 0 ? r : undefined;
  });
  assert.match(through.stdout, /namespace\/ml-b labeled/);
});
