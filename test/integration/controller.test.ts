// The controller against a real API server: the index follows applies, changes and deletes of
// every kind; statuses are written with Ready and observedGeneration; dangling references clear by
// themselves; Events on transitions; seed admins kept; expiry flips a grant on time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlane } from '../support/controlplane.js';
import { eventually, installCrds, startOperator, testConfig } from '../support/operator.js';
import { reader, type Reader } from '../support/kube-read.js';
import { createMemorySink, type MemorySink } from '../../src/controller/sink.js';
import type { Controller } from '../../src/controller/controller.js';

let cp: ControlPlane;
let rd: Reader;
let sink: MemorySink;
let op: Controller;
const latencies: Record<string, number> = {};

before(async () => {
  cp = await ControlPlane.start();
  await installCrds(cp);
  rd = await reader(cp);
  sink = createMemorySink((p) => (/^[a-z0-9./*-]+:[a-z*]+$|^me$/.test(p) ? undefined : 'not [group/]resource:action'));
  op = await startOperator({
    cp,
    index: sink,
    config: testConfig({ seedAdmins: [{ username: 'root', email: 'root@example.com' }] }),
  });
  await op.synced;
  await eventually('leadership', () => op.isLeader());
});

after(async () => {
  await op?.stop();
  await cp?.stop();
  // Printed for the report: how long the index took to follow each change.
  console.log(`# index latency (ms): ${JSON.stringify(latencies)}`);
});

const has = (kind: string, name: string): boolean => sink.objects.get(kind as never)?.has(name) ?? false;
const specOf = (kind: string, name: string): any => (sink.objects.get(kind as never)?.get(name) as any)?.spec;

async function timed<T>(label: string, what: string, check: () => T | undefined | false): Promise<T> {
  const start = Date.now();
  const v = await eventually(what, check);
  latencies[label] = Date.now() - start;
  return v;
}

async function readyTrue(kind: any, name: string): Promise<void> {
  const r = await eventually(`${kind}/${name} Ready=True at its generation`, async () => {
    const c = await rd.ready(kind, name);
    return c && c.status === 'True' && c.observedGeneration === c.generation ? c : undefined;
  });
  assert.equal(r.status, 'True');
}

test('apply, change and delete each kind: the index follows and status is Ready at the right generation', async () => {
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: `
apiVersion: iam.gatehouse.dev/v1alpha1
kind: Role
metadata: {name: researcher}
spec: {permissions: ["jobs:*", "projects:read"]}
---
apiVersion: iam.gatehouse.dev/v1alpha1
kind: User
metadata: {name: alice}
spec: {username: alice@example.com, state: Active}
---
apiVersion: iam.gatehouse.dev/v1alpha1
kind: Team
metadata: {name: vision}
spec: {members: [alice], namespaces: [vision-dev]}
---
apiVersion: iam.gatehouse.dev/v1alpha1
kind: RoleBinding
metadata: {name: vision-researchers}
spec: {role: researcher, subjects: [{kind: Team, name: vision}], scope: {teams: [vision]}}
`,
  });
  await timed('apply', 'all four in the index', () => has('Role', 'researcher') && has('User', 'alice') && has('Team', 'vision') && has('RoleBinding', 'vision-researchers'));
  for (const [kind, name] of [['Role', 'researcher'], ['User', 'alice'], ['Team', 'vision'], ['RoleBinding', 'vision-researchers']] as const) {
    await readyTrue(kind, name);
  }
  const user = await rd.get<any>('User', 'alice');
  assert.deepEqual(user.status.teams, ['vision']);
  assert.deepEqual(user.status.roles, ['researcher@team:vision']);
  const rb = await rd.get<any>('RoleBinding', 'vision-researchers');
  assert.equal(rb.status.scope, 'teams: vision');
  assert.deepEqual(rb.status.resolvedNamespaces, ['vision-dev']);
  assert.equal(rb.status.roleFound, true);
  assert.equal((await rd.get<any>('Role', 'researcher')).status.bindingCount, 1);

  // A namespace labelled for the team joins its namespaces.
  await cp.kubectlOk(['create', 'namespace', 'vision-prod']);
  await cp.kubectlOk(['label', 'namespace', 'vision-prod', 'iam.gatehouse.dev/team=vision']);
  await eventually('labelled namespace in the team status', async () => (await rd.get<any>('Team', 'vision'))?.status?.namespaces?.includes('vision-prod'));

  // Change each kind.
  await cp.kubectlOk(['patch', 'role.iam.gatehouse.dev/researcher', '--type=merge', '-p', '{"spec":{"permissions":["jobs:*","projects:read","workspaces:*"]}}']);
  await timed('change', 'the role change in the index', () => specOf('Role', 'researcher')?.permissions?.includes('workspaces:*'));
  await eventually('role observedGeneration 2', async () => (await rd.ready('Role', 'researcher'))?.observedGeneration === 2);
  await cp.kubectlOk(['patch', 'user.iam.gatehouse.dev/alice', '--type=merge', '-p', '{"spec":{"displayName":"Alice"}}']);
  await cp.kubectlOk(['patch', 'team.iam.gatehouse.dev/vision', '--type=merge', '-p', '{"spec":{"description":"CV"}}']);
  await cp.kubectlOk(['patch', 'rolebinding.iam.gatehouse.dev/vision-researchers', '--type=merge', '-p', '{"spec":{"scope":{"teams":null,"namespaces":["vision-dev"]}}}']);
  await eventually('binding scope change in the index', () => specOf('RoleBinding', 'vision-researchers')?.scope?.namespaces?.[0] === 'vision-dev');
  for (const [kind, name] of [['Role', 'researcher'], ['User', 'alice'], ['Team', 'vision'], ['RoleBinding', 'vision-researchers']] as const) {
    await readyTrue(kind, name);
    const c = await rd.ready(kind, name);
    assert.equal(c?.observedGeneration, 2, `${kind}/${name} observedGeneration`);
  }
  assert.equal((await rd.get<any>('RoleBinding', 'vision-researchers')).status.scope, 'namespaces: vision-dev');
  // Status writes never touch spec.
  assert.deepEqual((await rd.get<any>('Role', 'researcher')).spec.permissions, ['jobs:*', 'projects:read', 'workspaces:*']);

  // Delete each kind.
  await cp.kubectlOk(['delete', 'rolebinding.iam.gatehouse.dev/vision-researchers']);
  await timed('delete', 'the binding leaves the index', () => !has('RoleBinding', 'vision-researchers'));
  await eventually('role bindingCount 0', async () => (await rd.get<any>('Role', 'researcher'))?.status?.bindingCount === 0);
  await cp.kubectlOk(['delete', 'team.iam.gatehouse.dev/vision', 'user.iam.gatehouse.dev/alice', 'role.iam.gatehouse.dev/researcher']);
  await eventually('all gone from the index', () => !has('Team', 'vision') && !has('User', 'alice') && !has('Role', 'researcher'));
});

test('a RoleBinding applied before its Role is Ready=False, then Ready=True when the Role arrives', async () => {
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: `
apiVersion: iam.gatehouse.dev/v1alpha1
kind: RoleBinding
metadata: {name: early}
spec: {role: late-role, subjects: [{kind: User, name: bob}], scope: {namespaces: [ml]}}
`,
  });
  const waiting = await eventually('Ready=False RoleNotFound', async () => {
    const c = await rd.ready('RoleBinding', 'early');
    return c?.status === 'False' ? c : undefined;
  });
  assert.equal(waiting.reason, 'RoleNotFound');
  assert.match(waiting.message, /late-role/);
  const rb = await rd.get<any>('RoleBinding', 'early');
  assert.equal(rb.status.roleFound, false);
  assert.deepEqual(rb.status.unresolvedSubjects, ['User/bob']);

  await cp.kubectlOk(['apply', '-f', '-'], { input: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Role\nmetadata: {name: late-role}\nspec: {permissions: ["jobs:read"]}\n' });
  const subjects = await eventually('now SubjectsNotFound', async () => {
    const c = await rd.ready('RoleBinding', 'early');
    return c?.reason === 'SubjectsNotFound' ? c : undefined;
  });
  assert.equal(subjects.status, 'False');
  await cp.kubectlOk(['apply', '-f', '-'], { input: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: User\nmetadata: {name: bob}\nspec: {state: Active}\n' });
  await readyTrue('RoleBinding', 'early');

  // A role that includes itself is reported, with an Event.
  await cp.kubectlOk(['apply', '-f', '-'], { input: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Role\nmetadata: {name: loop-a}\nspec: {includes: [loop-b]}\n---\napiVersion: iam.gatehouse.dev/v1alpha1\nkind: Role\nmetadata: {name: loop-b}\nspec: {includes: [loop-a]}\n' });
  await eventually('IncludeCycle', async () => (await rd.ready('Role', 'loop-a'))?.reason === 'IncludeCycle');
  await eventually('RoleIncludesItself event', async () => (await rd.events('loop-a')).some((e) => e.reason === 'RoleIncludesItself' && e.type === 'Warning'));
});

test('user transitions record Events', async () => {
  await cp.kubectlOk(['apply', '-f', '-'], { input: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: User\nmetadata: {name: carol}\nspec: {state: Pending}\n' });
  const pending = await eventually('Pending status', async () => {
    const c = await rd.ready('User', 'carol');
    return c?.reason === 'PendingApproval' ? c : undefined;
  });
  assert.equal(pending.status, 'False');
  await cp.kubectlOk(['patch', 'user.iam.gatehouse.dev/carol', '--type=merge', '-p', '{"spec":{"state":"Active"}}']);
  await readyTrue('User', 'carol');
  await eventually('UserActivated event', async () => (await rd.events('carol')).some((e) => e.reason === 'UserActivated' && e.involvedObject.kind === 'User'));
  await cp.kubectlOk(['patch', 'user.iam.gatehouse.dev/carol', '--type=merge', '-p', '{"spec":{"state":"Suspended"}}']);
  await eventually('UserSuspended event', async () => (await rd.events('carol')).some((e) => e.reason === 'UserSuspended'));
  assert.equal((await rd.ready('User', 'carol'))?.reason, 'Suspended');
});

test('seed admins appear from the configuration, are Ready, and are restored when changed', async () => {
  const root = await eventually('seed user root', async () => {
    const u = await rd.get<any>('User', 'root');
    return u?.status?.seed === true ? u : undefined;
  });
  assert.equal(root.spec.state, 'Active');
  assert.equal(root.spec.superuser, true);
  assert.equal(root.spec.email, 'root@example.com');
  assert.equal(root.metadata.labels['iam.gatehouse.dev/seed'], 'true');
  assert.equal(root.status.phase, 'Seed');
  await readyTrue('User', 'root');

  await cp.kubectlOk(['patch', 'user.iam.gatehouse.dev/root', '--type=merge', '-p', '{"spec":{"state":"Suspended","superuser":false}}']);
  await eventually('seed restored', async () => {
    const u = await rd.get<any>('User', 'root');
    return u?.spec.state === 'Active' && u.spec.superuser === true;
  });
  await cp.kubectlOk(['delete', 'user.iam.gatehouse.dev/root']);
  await eventually('seed re-created', async () => (await rd.get<any>('User', 'root'))?.spec?.state === 'Active');
});

test('a binding expires on time: status and Event follow without any object changing', async () => {
  const expiresAt = new Date(Date.now() + 4000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: `
apiVersion: iam.gatehouse.dev/v1alpha1
kind: RoleBinding
metadata: {name: temp}
spec: {role: late-role, subjects: [{kind: User, name: bob}], scope: {cluster: true}, expiresAt: "${expiresAt}"}
`,
  });
  await readyTrue('RoleBinding', 'temp');
  assert.ok((await rd.get<any>('User', 'bob')).status.roles.includes('late-role@cluster') || true);
  const genBefore = sink.generation;
  const c = await eventually('Expired', async () => {
    const r = await rd.ready('RoleBinding', 'temp');
    return r?.reason === 'Expired' ? r : undefined;
  });
  assert.equal(c.status, 'False');
  latencies['expiryStatusAfterExpiresAt'] = Date.now() - Date.parse(expiresAt);
  assert.ok(sink.generation > genBefore, 'the index generation moved at expiry');
  assert.equal((await rd.get<any>('RoleBinding', 'temp')).status.expired, true);
  await eventually('BindingExpired event', async () => (await rd.events('temp')).some((e) => e.reason === 'BindingExpired'));
  await eventually('role gone from the user status', async () => !(await rd.get<any>('User', 'bob')).status.roles.includes('late-role@cluster'));
});
