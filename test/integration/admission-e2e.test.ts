// Issue 6, end to end: the admission rules as a person meets them through kubectl and a real
// kube-apiserver that calls the in-process operator (authorization webhook before RBAC, both
// admission webhooks). Every request is made with impersonation (`--as`), so it runs through the
// whole authorizer chain first: a write to Gatehouse's kinds by someone who holds the permission in
// some scope reaches admission (delegated administration), where the scope and escalation rules
// decide. The admin (no --as) is system:masters: break-glass.
//
// Scenarios (docs/admission.md, "End-to-end scenarios"): 1 semantic, 2 GitOps order, 3 superuser,
// 4 approval, 6 me, 7 RoleBinding escalation, 8 Team escalation, 9 Role escalation, 10 seed admins
// (the last-superuser half is in admission-lockout-e2e.test.ts, which has no seed admin), 12 delete
// and finalizers, 13 dry run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../support/stack.js';
import { startWithWorld, world } from '../support/world.js';
import { eventually } from '../support/operator.js';
import { apply, create, assertDenied, assertForbidden, assertOk, canIBecomes, exists, getJson, mergePatch } from '../support/e2e.js';

let stack: Stack;

const G = 'iam.gatehouse.dev';

// dana: a department admin in namespace a (Run:ai): may create and delete RoleBindings there, holds
// researcher there, and her role lists viewer (which grants services she lacks) in canAssign.
// alice: teams:update for teams vision and gpu, a member of vision; gpu is bound to admin.
// rolf: roles:create cluster-wide and jobs:*. uma: users:update cluster-wide. ava: users:approve.
// meg: only `me`. mo: `me`, and users:write in namespace a (so a write to another User reaches
// admission). sue: a superuser. root: the seed admin. alice, rolf and mo may read Gatehouse's kinds
// cluster-wide (binding readers), so kubectl apply and patch (which read first) work for them.
const WORLD = world()
  .namespace('a')
  .namespace('b')
  .role('researcher', ['pods:*', 'configmaps:read'])
  .role('viewer', ['pods:read', 'services:read'])
  .role('admin', ['*:*'])
  .role('dept-admin', { permissions: [`${G}/rolebindings:create`, `${G}/rolebindings:delete`, `${G}/rolebindings:read`], canAssign: ['viewer'] })
  .role('team-admin', [`${G}/teams:update`, `${G}/teams:patch`, `${G}/teams:get`])
  .role('role-maker', [`${G}/roles:create`, 'jobs:*'])
  .role('user-admin', [`${G}/users:update`, `${G}/users:patch`, `${G}/users:read`])
  .role('approver', [`${G}/users:approve`, `${G}/users:read`])
  .role('self', ['me'])
  .role('user-writer', [`${G}/users:write`])
  .role('gatehouse-reader', [`${G}/users:read`, `${G}/roles:read`, `${G}/teams:read`, `${G}/rolebindings:read`])
  .users({
    dana: { state: 'Active' },
    alice: { state: 'Active' },
    bob: { state: 'Active', displayName: 'Bob' },
    rolf: { state: 'Active' },
    uma: { state: 'Active' },
    ava: { state: 'Active' },
    meg: { state: 'Active', displayName: 'Meg' },
    mo: { state: 'Active' },
    sue: { state: 'Active', superuser: true },
    tmp: { state: 'Active' },
    pat: { state: 'Pending' },
    pia: { state: 'Pending' },
  })
  .team('vision', { members: ['alice'] })
  .team('gpu', { members: ['bob'] })
  .binding('dana-dept-admin', 'dept-admin', 'User:dana', 'namespace:a')
  .binding('dana-researcher', 'researcher', 'User:dana', 'namespace:a')
  .binding('bob-viewer-b', 'viewer', 'User:bob', 'namespace:b')
  .binding('alice-team-admin', 'team-admin', 'User:alice', 'team:vision,gpu')
  .binding('vision-researchers', 'researcher', 'Team:vision', 'team:vision')
  .binding('gpu-admins', 'admin', 'Team:gpu', 'cluster')
  .binding('rolf-role-maker', 'role-maker', 'User:rolf', 'cluster')
  .binding('uma-user-admin', 'user-admin', 'User:uma', 'cluster')
  .binding('ava-approver', 'approver', 'User:ava', 'cluster')
  .binding('self-service', 'self', ['User:meg', 'User:mo'], 'cluster')
  .binding('mo-user-writer-a', 'user-writer', 'User:mo', 'namespace:a')
  // kubectl apply and kubectl patch read the object first, and reads of Gatehouse's kinds need a
  // cluster-wide grant; dana has none and uses kubectl create, as a delegated admin without it would.
  .binding('readers', 'gatehouse-reader', ['User:alice', 'User:rolf', 'User:mo'], 'cluster');

function rb(name: string, role: string, scope: string, subject = 'bob'): string {
  return `apiVersion: ${G}/v1alpha1\nkind: RoleBinding\nmetadata: {name: ${name}}\nspec: {role: ${role}, subjects: [{kind: User, name: ${subject}}], scope: ${scope}}\n`;
}

function role(name: string, permissions: string[]): string {
  return `apiVersion: ${G}/v1alpha1\nkind: Role\nmetadata: {name: ${name}}\nspec: {permissions: ${JSON.stringify(permissions)}}\n`;
}

before(async () => {
  stack = await startWithWorld(WORLD, { config: { seedAdmins: [{ username: 'root', email: 'root@example.com' }] } });
  await canIBecomes(stack, ['list', 'configmaps', '-n', 'a'], 'dana', 'yes');
  await eventually('the seed admin', () => exists(stack, 'ghuser/root'));
  await stack.settle();
});

after(async () => {
  await stack?.stop();
});

test('semantic: a Role with a permission without an action is refused (permission-syntax)', async () => {
  const res = await apply(stack, role('broken', ['pods:read', 'pods']), { as: 'sue' });
  assertDenied(res, 'permission-syntax', 'spec.permissions[1]');
  assert.match(res.stderr, /invalid permission "pods"/);
  assert.equal(await exists(stack, 'ghrole/broken'), false);
});

test('semantic: RoleBindings with two scope kinds, a bad namespace name, a bad expiresAt or a duplicate subject are refused', async () => {
  // Two scope kinds and a time that is not date-time: the CRD's schema (oneOf, format) refuses
  // them before any webhook is called; the webhook's one-scope and expires-at rules are the
  // backstop for API servers that do not enforce them (unit-tested in test/unit/admission).
  const both = await apply(stack, rb('two-scopes', 'viewer', '{teams: [vision], namespaces: [a]}'), { as: 'sue' });
  assert.notEqual(both.code, 0, both.stdout);
  assert.match(both.stderr, /The RoleBinding "two-scopes" is invalid: .*"spec\.scope" must validate one and only one schema \(oneOf\)/);
  const badTime = await apply(stack,
    `apiVersion: ${G}/v1alpha1\nkind: RoleBinding\nmetadata: {name: bad-time}\nspec: {role: viewer, subjects: [{kind: User, name: bob}], scope: {namespaces: [a]}, expiresAt: "next friday"}\n`,
    { as: 'sue' });
  assert.notEqual(badTime.code, 0, badTime.stdout);
  assert.match(badTime.stderr, /spec\.expiresAt: Invalid value: "next friday": spec\.expiresAt in body must be of type date-time/);
  // A time that has passed is valid but grants nothing: admitted, with a warning from the webhook.
  const past = await apply(stack,
    `apiVersion: ${G}/v1alpha1\nkind: RoleBinding\nmetadata: {name: past}\nspec: {role: viewer, subjects: [{kind: User, name: bob}], scope: {namespaces: [a]}, expiresAt: "2020-01-01T00:00:00Z"}\n`,
    { as: 'sue' });
  assertOk(past, 'a binding that has already expired');
  assert.match(past.stderr, /Warning: spec\.expiresAt: 2020-01-01T00:00:00Z has passed; the binding grants nothing/);

  const badNs = await apply(stack, rb('bad-ns', 'viewer', '{namespaces: [Team_A]}'), { as: 'sue' });
  assertDenied(badNs, 'invalid-name', 'spec.scope.namespaces[0]');
  assert.match(badNs.stderr, /"Team_A" must be/);

  const dup = await apply(stack,
    `apiVersion: ${G}/v1alpha1\nkind: RoleBinding\nmetadata: {name: dup}\nspec: {role: viewer, subjects: [{kind: User, name: bob}, {kind: Team, name: gpu}, {kind: User, name: bob}], scope: {namespaces: [a]}}\n`,
    { as: 'sue' });
  assertDenied(dup, 'duplicate-subject', 'spec.subjects[2]');
  assert.match(dup.stderr, /User bob is already listed at spec\.subjects\[0\]/);
  for (const name of ['two-scopes', 'bad-ns', 'bad-time', 'dup']) assert.equal(await exists(stack, `ghrb/${name}`), false, name);
});

test('GitOps order: a RoleBinding applied before its Role is admitted with a warning, and turns Ready when the Role arrives', async () => {
  const res = await apply(stack, rb('later-bob', 'later', '{namespaces: [a]}'), { as: 'sue' });
  assertOk(res, 'a binding to a Role that does not exist yet');
  assert.match(res.stderr, /Warning: spec\.role: Role later does not exist yet/);
  const notReady = await eventually('status RoleNotFound', async () => {
    const o = await getJson(stack, 'ghrb/later-bob');
    const c = (o.status?.['conditions'] as Array<Record<string, string>> | undefined)?.find((x) => x['type'] === 'Ready');
    return c?.['reason'] === 'RoleNotFound' ? c : undefined;
  });
  assert.equal(notReady['status'], 'False');

  assertOk(await apply(stack, role('later', ['configmaps:read']), { as: 'sue' }), 'the Role, applied second');
  const ready = await eventually('status Ready', async () => {
    const o = await getJson(stack, 'ghrb/later-bob');
    const c = (o.status?.['conditions'] as Array<Record<string, string>> | undefined)?.find((x) => x['type'] === 'Ready');
    return c?.['status'] === 'True' ? { c, o } : undefined;
  });
  assert.equal(ready.c['reason'], 'Bound');
  assert.equal(ready.o.status?.['observedGeneration'], (ready.o.metadata['generation'] as number));
  await canIBecomes(stack, ['list', 'configmaps', '-n', 'a'], 'bob', 'yes');
});

test('superuser-only: a user with users:update cluster-wide cannot make anyone a superuser; a superuser can', async () => {
  const res = await mergePatch(stack, 'ghuser/tmp', { spec: { superuser: true } }, { as: 'uma' });
  assertDenied(res, 'superuser-only', 'spec.superuser');
  assert.match(res.stderr, /Gatehouse denied: spec\.superuser: only superusers may set or change superuser \(rule: superuser-only\)/);
  const own = await apply(stack, `apiVersion: ${G}/v1alpha1\nkind: User\nmetadata: {name: uma}\nspec: {state: Active, superuser: true}\n`, { as: 'uma' });
  assertDenied(own, 'superuser-only', 'spec.superuser');
  // uma may change other fields: users:update reaches and passes admission.
  assertOk(await mergePatch(stack, 'ghuser/tmp', { spec: { displayName: 'Temp' } }, { as: 'uma' }), 'uma edits a displayName');

  assertOk(await mergePatch(stack, 'ghuser/tmp', { spec: { superuser: true } }, { as: 'sue' }), 'a superuser grants superuser');
  assert.equal((await getJson(stack, 'ghuser/tmp')).spec['superuser'], true);
  assertOk(await mergePatch(stack, 'ghuser/tmp', { spec: { superuser: false } }, { as: 'sue' }), 'and revokes it');
});

test('approve-only: a holder of users:approve activates a Pending user; a holder of only users:update cannot', async () => {
  const denied = await mergePatch(stack, 'ghuser/pia', { spec: { state: 'Active' } }, { as: 'uma' });
  assertDenied(denied, 'approve-only', 'spec.state');
  assert.match(denied.stderr, /changing state \(approve, reject, suspend\) needs a superuser or iam\.gatehouse\.dev\/users:approve cluster-wide/);
  assert.equal((await getJson(stack, 'ghuser/pia')).spec['state'], 'Pending');

  assertOk(await mergePatch(stack, 'ghuser/pat', { spec: { state: 'Active' } }, { as: 'ava' }), 'the approver activates pat');
  assert.equal((await getJson(stack, 'ghuser/pat')).spec['state'], 'Active');
  // Approval is not a licence for other fields.
  assertDenied(await mergePatch(stack, 'ghuser/pia', { spec: { displayName: 'Pia' } }, { as: 'ava' }), 'delegated-scope', 'spec.displayName');
});

test('me: a user edits their own displayName and email, not their own state, and not another user', async () => {
  assertOk(await mergePatch(stack, 'ghuser/meg', { spec: { displayName: 'Meg Ryan', email: 'meg@example.com' } }, { as: 'meg' }), 'meg edits her own displayName and email');
  const meg = await getJson(stack, 'ghuser/meg');
  assert.equal(meg.spec['displayName'], 'Meg Ryan');
  assert.equal(meg.spec['email'], 'meg@example.com');
  assert.equal((await stack.kubectl(['get', 'ghuser', 'meg'], { as: 'meg' })).code, 0, 'me reads her own User');

  const state = await mergePatch(stack, 'ghuser/meg', { spec: { state: 'Suspended' } }, { as: 'meg' });
  assertDenied(state, 'approve-only', 'spec.state');
  const su = await mergePatch(stack, 'ghuser/meg', { spec: { superuser: true } }, { as: 'meg' });
  assertDenied(su, 'superuser-only', 'spec.superuser');

  // `me` does not reach another User: the authorizer has no grant, RBAC says no.
  assertForbidden(await mergePatch(stack, 'ghuser/bob', { spec: { displayName: 'Bobby' } }, { as: 'meg' }));
  // With users:write somewhere (namespace a) the write reaches admission, which wants it cluster-wide.
  const other = await mergePatch(stack, 'ghuser/bob', { spec: { displayName: 'Bobby' } }, { as: 'mo' });
  assertDenied(other, 'delegated-scope', 'spec.displayName');
  assert.match(other.stderr, /changing spec\.displayName of User bob requires iam\.gatehouse\.dev\/users:update in the whole cluster; mo holds it in namespace a/);
  assert.equal((await getJson(stack, 'ghuser/bob')).spec['displayName'], 'Bob');
});

test('escalation: a RoleBinding admin in namespace a binds what she holds there, and canAssign roles, nothing more and nowhere else', async () => {
  assertOk(await create(stack, rb('bob-researcher-a', 'researcher', '{namespaces: [a]}'), { as: 'dana' }), 'binding researcher (held) in a');
  await canIBecomes(stack, ['delete', 'pods', '-n', 'a'], 'bob', 'yes');

  const admin = await create(stack, rb('bob-admin-a', 'admin', '{namespaces: [a]}'), { as: 'dana' });
  assertDenied(admin, 'no-escalation', 'spec.role');
  assert.match(admin.stderr, /binding Role admin in namespace a would grant \*:\* in namespace a, which dana does not hold, and no role of theirs lists admin in canAssign for that scope/);

  const elsewhere = await create(stack, rb('bob-researcher-b', 'researcher', '{namespaces: [b]}'), { as: 'dana' });
  assertDenied(elsewhere, 'delegated-scope', 'spec.scope');
  assert.match(elsewhere.stderr, /requires iam\.gatehouse\.dev\/rolebindings:create in namespace b; dana holds it in namespace a/);

  // viewer grants services:read, which dana lacks, but her role lists viewer in canAssign.
  assertOk(await create(stack, rb('bob-viewer-a', 'viewer', '{namespaces: [a]}'), { as: 'dana' }), 'binding viewer through canAssign in a');
  await canIBecomes(stack, ['list', 'services', '-n', 'a'], 'bob', 'yes');
  const wide = await create(stack, rb('bob-viewer-all', 'viewer', '{cluster: true}'), { as: 'dana' });
  assertDenied(wide, 'delegated-scope', 'spec.scope');
  assert.match(wide.stderr, /in the whole cluster; dana holds it in namespace a/);

  // Nothing refused was stored, and dana herself gained nothing outside a.
  for (const name of ['bob-admin-a', 'bob-researcher-b', 'bob-viewer-all']) assert.equal(await exists(stack, `ghrb/${name}`), false, name);
  assert.equal((await stack.kubectl(['auth', 'can-i', 'list', 'services', '-n', 'b', '--as', 'dana'])).stdout.trim().split(/\s/)[0], 'no');
});

test('team escalation: alice cannot add herself to a more powerful team, nor a namespace to her team where she lacks its roles; adding a peer works', async () => {
  const self = await mergePatch(stack, 'ghteam/gpu', { spec: { members: ['bob', 'alice'] } }, { as: 'alice' });
  assertDenied(self, 'no-escalation', 'spec.members[1]');
  assert.match(self.stderr, /adding User alice to Team gpu would give them role admin \(binding gpu-admins\) in the whole cluster, and alice lacks \*:\*/);
  assert.deepEqual((await getJson(stack, 'ghteam/gpu')).spec['members'], ['bob']);

  const ns = await mergePatch(stack, 'ghteam/vision', { spec: { namespaces: ['b'] } }, { as: 'alice' });
  assertDenied(ns, 'no-escalation', 'spec.namespaces[0]');
  // Every binding scoped to team vision would reach namespace b; the first one alice lacks is named.
  assert.match(ns.stderr, /adding namespace b to Team vision would extend role [a-z-]+ \(binding [a-z-]+\) in namespace b, and alice lacks /);
  assert.equal((await getJson(stack, 'ghteam/vision')).spec['namespaces'], undefined);

  // Adding bob to vision gives him researcher in vision's scope, which alice holds there as a member.
  assertOk(await mergePatch(stack, 'ghteam/vision', { spec: { members: ['alice', 'bob'] } }, { as: 'alice' }), 'alice adds bob to vision');
  // And teams outside her delegated scope are not hers to change at all.
  assertOk(await apply(stack, `apiVersion: ${G}/v1alpha1\nkind: Team\nmetadata: {name: nlp}\nspec: {members: []}\n`), 'admin creates team nlp');
  assertDenied(await mergePatch(stack, 'ghteam/nlp', { spec: { members: ['alice'] } }, { as: 'alice' }), 'delegated-scope', 'metadata.name');
});

test('role escalation: roles:create cluster-wide with jobs:* creates a jobs:read Role, not a *:* one', async () => {
  assertOk(await apply(stack, role('job-reader', ['jobs:read']), { as: 'rolf' }), 'a Role within what rolf holds');
  const res = await apply(stack, role('god', ['*:*']), { as: 'rolf' });
  assertDenied(res, 'no-escalation');
  assert.match(res.stderr, /\*:\*/);
  assert.equal(await exists(stack, 'ghrole/god'), false);
});

test('seed admins: a superuser can neither change nor delete one; system:masters can, with a break-glass warning', async () => {
  const change = await mergePatch(stack, 'ghuser/root', { spec: { displayName: 'Groot' } }, { as: 'sue' });
  assertDenied(change, 'seed-protected', 'spec.displayName');
  assert.match(change.stderr, /User root is a seed admin and cannot be changed through the API; seed admins come from the operator configuration \(Helm values seedAdmins\); change them there/);
  const del = await stack.kubectl(['delete', 'ghuser', 'root'], { as: 'sue' });
  assertDenied(del, 'seed-protected', 'metadata.name');
  assert.equal(await exists(stack, 'ghuser/root'), true);

  const glass = await mergePatch(stack, 'ghuser/root', { spec: { displayName: 'Groot' } });
  assertOk(glass, 'system:masters edits a seed admin');
  assert.match(glass.stderr, /Warning: break-glass: would be denied for others: spec\.displayName: User root is a seed admin .*\(rule: seed-protected\)/);
});

test('delete and finalizers: deleting a RoleBinding outside one\'s scope is refused; a metadata-only change to a seed admin is admitted', async () => {
  const del = await stack.kubectl(['delete', 'ghrb', 'bob-viewer-b'], { as: 'dana' });
  assertDenied(del, 'delegated-scope', 'spec.scope');
  assert.match(del.stderr, /deleting RoleBinding bob-viewer-b requires iam\.gatehouse\.dev\/rolebindings:delete in namespace b/);
  assert.equal(await exists(stack, 'ghrb/bob-viewer-b'), true);
  assertOk(await stack.kubectl(['delete', 'ghrb', 'bob-viewer-a'], { as: 'dana' }), 'dana deletes a binding in her namespace');

  assertOk(await mergePatch(stack, 'ghuser/root', { metadata: { finalizers: ['example.com/hold'] } }, { as: 'sue' }), 'adding a finalizer to a seed admin');
  assertOk(await stack.kubectl(['patch', 'ghuser/root', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]'], { as: 'sue' }), 'removing it again');
  assert.equal((await getJson(stack, 'ghuser/root')).metadata['finalizers'], undefined);
});

test('dry run: --dry-run=server gets the same answers and stores nothing', async () => {
  const denied = await create(stack, rb('dry-admin', 'admin', '{namespaces: [a]}'), { as: 'dana', extra: ['--dry-run=server'] });
  assertDenied(denied, 'no-escalation', 'spec.role');
  const allowed = await create(stack, rb('dry-researcher', 'researcher', '{namespaces: [a]}'), { as: 'dana', extra: ['--dry-run=server'] });
  assertOk(allowed, 'an allowed binding, dry run');
  assert.match(allowed.stdout, /created \(server dry run\)/);
  const su = await mergePatch(stack, 'ghuser/tmp', { spec: { superuser: true } }, { as: 'uma', extra: ['--dry-run=server'] });
  assertDenied(su, 'superuser-only', 'spec.superuser');
  const warned = await apply(stack, rb('dry-later', 'not-yet', '{namespaces: [a]}'), { as: 'sue', extra: ['--dry-run=server'] });
  assertOk(warned, 'a dangling binding, dry run');
  assert.match(warned.stderr, /Warning: spec\.role: Role not-yet does not exist yet/);
  await stack.settle();
  for (const name of ['dry-admin', 'dry-researcher', 'dry-later']) assert.equal(await exists(stack, `ghrb/${name}`), false, name);
  assert.equal((await getJson(stack, 'ghuser/tmp')).spec['superuser'], false);
});
