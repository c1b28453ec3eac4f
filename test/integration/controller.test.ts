// The controller against a real API server: the index follows applies, changes and deletes of
// every kind; statuses are written with Ready and observedGeneration; dangling references clear by
// themselves; Events on transitions; seed admins kept; expiry flips a grant on time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlPlane } from '../../src/controlplane/controlplane.js';
import { eventually, indexed, newIndex, startControllerBed, startOperator, testConfig, verdict, type ControllerBed } from '../support/operator.js';
import type { Reader } from '../support/kube-read.js';
import type { PermissionIndex } from '../../src/authz/index.js';
import type { Controller } from '../../src/controller/controller.js';

let bed: ControllerBed;
let cp: ControlPlane;
let rd: Reader;
let index: PermissionIndex;
let op: Controller;
const latencies: Record<string, number> = {};

before(async () => {
  bed = await startControllerBed();
  ({ cp, rd } = bed);
  const config = testConfig({ seedAdmins: [{ username: 'root', email: 'root@example.com' }] });
  index = newIndex(config);
  op = await startOperator({ cp, index, config });
  await op.synced;
  await eventually('leadership', () => op.isLeader());
});

after(async () => {
  await op?.stop();
  await bed?.stop();
  // Printed for the report: how long the index took to follow each change.
  console.log(`# index latency (ms): ${JSON.stringify(latencies)}`);
});

const has = (kind: string, name: string): boolean => indexed(index, kind, name) !== undefined;
const specOf = (kind: string, name: string): any => indexed(index, kind, name)?.spec;

/** Runs `action` (a kubectl call) and polls until decide()/the index shows it; records the latency. */
async function timed<T>(label: string, action: () => Promise<unknown>, what: string, check: () => T | undefined | false): Promise<T> {
  const start = Date.now();
  await action();
  const v = await eventually(what, check, 30_000, 10);
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
  assert.equal(verdict(index, 'alice@example.com', 'create', 'jobs', 'vision-dev'), 'noOpinion', 'unknown user before the apply');
  await timed('apply (decide allows)', () => cp.kubectlOk(['apply', '-f', '-'], {
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
  }), 'decide allows alice in vision-dev', () => verdict(index, 'alice@example.com', 'create', 'jobs', 'vision-dev') === 'allow');
  assert.ok(has('Role', 'researcher') && has('User', 'alice') && has('Team', 'vision') && has('RoleBinding', 'vision-researchers'));
  assert.equal(verdict(index, 'alice@example.com', 'create', 'jobs', 'elsewhere'), 'noOpinion', 'only in the team namespaces');
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
  assert.equal(verdict(index, 'alice@example.com', 'create', 'workspaces', 'vision-dev'), 'noOpinion');
  await timed('change role (decide allows the new permission)', () => cp.kubectlOk(['patch', 'role.iam.gatehouse.dev/researcher', '--type=merge', '-p', '{"spec":{"permissions":["jobs:*","projects:read","workspaces:*"]}}']),
    'the role change in decide', () => verdict(index, 'alice@example.com', 'create', 'workspaces', 'vision-dev') === 'allow');
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
  assert.equal(verdict(index, 'alice@example.com', 'create', 'jobs', 'vision-dev'), 'allow');
  await timed('delete binding (decide stops allowing)', () => cp.kubectlOk(['delete', 'rolebinding.iam.gatehouse.dev/vision-researchers']),
    'the binding stops granting', () => verdict(index, 'alice@example.com', 'create', 'jobs', 'vision-dev') !== 'allow');
  assert.equal(has('RoleBinding', 'vision-researchers'), false);
  await eventually('role bindingCount 0', async () => (await rd.get<any>('Role', 'researcher'))?.status?.bindingCount === 0);
  await timed('delete user (decide: unknown user)', () => cp.kubectlOk(['delete', 'user.iam.gatehouse.dev/alice']),
    'alice unknown', () => verdict(index, 'alice@example.com', 'get', 'pods', 'vision-dev') === 'noOpinion' && !has('User', 'alice'));
  await cp.kubectlOk(['delete', 'team.iam.gatehouse.dev/vision', 'role.iam.gatehouse.dev/researcher']);
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
  assert.deepEqual(rb.status.unresolvedSubjects, ['User bob']);

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
  // A Pending user is as intended (Ready: reconciled); its own condition Active says it waits.
  const pending = await eventually('Pending status', async () => {
    const c = await rd.condition('User', 'carol', 'Active');
    return c?.reason === 'PendingApproval' ? c : undefined;
  });
  assert.equal(pending.status, 'False');
  assert.equal((await rd.ready('User', 'carol'))?.status, 'True');
  await cp.kubectlOk(['patch', 'user.iam.gatehouse.dev/carol', '--type=merge', '-p', '{"spec":{"state":"Active"}}']);
  await readyTrue('User', 'carol');
  await eventually('UserActivated event', async () => (await rd.events('carol')).some((e) => e.reason === 'UserActivated' && e.involvedObject.kind === 'User'));
  await cp.kubectlOk(['patch', 'user.iam.gatehouse.dev/carol', '--type=merge', '-p', '{"spec":{"state":"Suspended"}}']);
  await eventually('decide denies the suspended user', () => verdict(index, 'carol', 'get', 'pods', 'x') === 'deny');
  await eventually('UserSuspended event', async () => (await rd.events('carol')).some((e) => e.reason === 'UserSuspended'));
  await eventually('Active=False, Suspended', async () => (await rd.condition('User', 'carol', 'Active'))?.reason === 'Suspended');
  assert.equal((await rd.ready('User', 'carol'))?.status, 'True');
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
  assert.equal(verdict(index, 'root', 'delete', 'nodes'), 'allow', 'a seed admin is a superuser');
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
  // The grant is checked before any expiry is set, and expiresAt is then set relative to the write
  // that carries it: a slow machine makes the test wait longer, never see the grant end early.
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: `
apiVersion: iam.gatehouse.dev/v1alpha1
kind: RoleBinding
metadata: {name: temp}
spec: {role: late-role, subjects: [{kind: User, name: bob}], scope: {cluster: true}}
`,
  });
  await readyTrue('RoleBinding', 'temp');
  await eventually('bob holds late-role@cluster', async () => (await rd.get<any>('User', 'bob'))?.status?.roles?.includes('late-role@cluster'));
  await eventually('bob allowed by the binding', () => verdict(index, 'bob', 'get', 'jobs', 'any-ns') === 'allow');
  const genBefore = index.generation;
  const expiresAt = new Date(Date.now() + 3000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  await cp.kubectlOk(['patch', 'rolebinding.iam.gatehouse.dev/temp', '--type=merge', '-p', JSON.stringify({ spec: { expiresAt } })]);
  await eventually('the index holds the expiry', () => index.getBinding('temp')?.spec.expiresAt === expiresAt);
  // decide() reads the clock: the grant ends at expiresAt, whatever the watches do.
  await eventually('grant ends', () => verdict(index, 'bob', 'get', 'jobs', 'any-ns') !== 'allow', 60_000, 5);
  latencies['expiry: decide stops allowing, ms after expiresAt'] = Date.now() - Date.parse(expiresAt);
  // Correctness, not speed: the grant never ends before its time (load only makes things later).
  assert.ok(Date.now() >= Date.parse(expiresAt), 'not before expiresAt');
  const c = await eventually('Expired', async () => {
    const r = await rd.ready('RoleBinding', 'temp');
    return r?.reason === 'Expired' ? r : undefined;
  });
  assert.equal(c.status, 'False');
  latencies['expiry: status Expired, ms after expiresAt'] = Date.now() - Date.parse(expiresAt);
  assert.ok(index.generation > genBefore, 'the index generation moved at expiry');
  assert.equal((await rd.get<any>('RoleBinding', 'temp')).status.expired, true);
  await eventually('BindingExpired event', async () => (await rd.events('temp')).some((e) => e.reason === 'BindingExpired'));
  await eventually('role gone from the user status', async () => !(await rd.get<any>('User', 'bob')).status.roles.includes('late-role@cluster'));
});

test('a new configuration: an added seed admin appears, a removed one stays but loses the seed label; enabled presets are created and kept', async () => {
  await op.stop();
  const config = testConfig({ seedAdmins: [{ username: 'ops' }], presets: { zenml: true } });
  index = newIndex(config);
  op = await startOperator({ cp, index, config, name: 'op-a2' });
  await op.synced;
  const ops = await eventually('seed ops', async () => {
    const u = await rd.get<any>('User', 'ops');
    return u?.status?.seed === true ? u : undefined;
  });
  assert.equal(ops.spec.superuser, true);
  const root = await eventually('root no longer a seed', async () => {
    const u = await rd.get<any>('User', 'root');
    return u && u.metadata.labels?.['iam.gatehouse.dev/seed'] === undefined && u.status?.seed === false ? u : undefined;
  });
  assert.equal(root.spec.state, 'Active', 'not deleted, not changed');

  const { presetRoles } = await import('../../src/authz/presets.js');
  const wanted = presetRoles({ zenml: true, runai: false, adaptive: false });
  assert.ok(wanted.length > 0);
  for (const r of wanted) {
    const got = await eventually(`preset role ${r.metadata.name}`, async () => {
      const o = await rd.get<any>('Role', r.metadata.name);
      return o?.status?.conditions ? o : undefined;
    });
    assert.equal(got.metadata.labels['iam.gatehouse.dev/preset'], 'zenml');
    assert.deepEqual(got.spec.permissions ?? [], r.spec.permissions ?? []);
  }
  const first = wanted[0]!;
  await cp.kubectlOk(['patch', `role.iam.gatehouse.dev/${first.metadata.name}`, '--type=merge', '-p', '{"spec":{"permissions":["*:*"]}}']);
  await eventually('preset restored', async () => {
    const o = await rd.get<any>('Role', first.metadata.name);
    return JSON.stringify(o?.spec.permissions ?? []) === JSON.stringify(first.spec.permissions ?? []);
  });
});
