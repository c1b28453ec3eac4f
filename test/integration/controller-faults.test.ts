// Network faults between the operator and the API server, through a TCP proxy the test controls:
// a cut connection (with a deletion and a change the operator cannot see), a silent connection
// (caught by the watchdog), and an API server restart (same etcd).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlPlane } from '../../src/controlplane/controlplane.js';
import type { TcpProxy } from '../support/tcp-proxy.js';
import { eventually, indexed, newIndex, startControllerBed, startOperator, testConfig, verdict, type ControllerBed } from '../support/operator.js';
import type { Reader } from '../support/kube-read.js';
import type { PermissionIndex } from '../../src/authz/index.js';
import type { Controller } from '../../src/controller/controller.js';

let bed: ControllerBed;
let cp: ControlPlane;
let proxy: TcpProxy;
let rd: Reader;
let index: PermissionIndex;
let op: Controller;
const figures: Record<string, number> = {};

before(async () => {
  bed = await startControllerBed({ proxy: true });
  ({ cp, rd } = bed);
  proxy = bed.proxy!;
  const config = testConfig({}, { watch: { silenceTimeoutSeconds: 3, backoffInitialMs: 100, backoffMaxMs: 1000 } });
  index = newIndex(config);
  op = await startOperator({ cp, index, serverUrl: proxy.url, config });
  await op.synced;
});

after(async () => {
  await op?.stop();
  await bed?.stop();
  console.log(`# fault figures (ms unless a count): ${JSON.stringify(figures)}`);
});

const has = (kind: string, name: string): boolean => indexed(index, kind, name) !== undefined;
const spec = (kind: string, name: string): any => indexed(index, kind, name)?.spec;

test('cut connection: a binding deleted and a role changed meanwhile are seen after the link returns', async () => {
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: `
apiVersion: iam.gatehouse.dev/v1alpha1
kind: Role
metadata: {name: r1}
spec: {permissions: ["jobs:read"]}
---
apiVersion: iam.gatehouse.dev/v1alpha1
kind: RoleBinding
metadata: {name: b1}
spec: {role: r1, subjects: [{kind: User, name: alice}], scope: {cluster: true}}
---
apiVersion: iam.gatehouse.dev/v1alpha1
kind: RoleBinding
metadata: {name: b2}
spec: {role: r1, subjects: [{kind: User, name: bob}], scope: {cluster: true}}
---
apiVersion: iam.gatehouse.dev/v1alpha1
kind: User
metadata: {name: alice}
spec: {state: Active}
---
apiVersion: iam.gatehouse.dev/v1alpha1
kind: User
metadata: {name: bob}
spec: {state: Active}
`,
  });
  await eventually('objects in the index', () => has('Role', 'r1') && has('RoleBinding', 'b1') && has('RoleBinding', 'b2') && verdict(index, 'alice', 'get', 'jobs', 'ns') === 'allow');
  const restartsBefore = op.metrics().watchRestarts;

  proxy.cut();
  await cp.kubectlOk(['delete', 'rolebinding.iam.gatehouse.dev/b1']);
  await cp.kubectlOk(['patch', 'role.iam.gatehouse.dev/r1', '--type=merge', '-p', '{"spec":{"permissions":["jobs:*"]}}']);
  // The positive sign that the operator looked after both changes: it tried to connect again
  // (each try refused by the cut link), so a leak in the cut would have shown them by now.
  const triesAfterChanges = proxy.accepted;
  await eventually('the operator to try the cut link again', () => proxy.accepted > triesAfterChanges);
  // The operator could not see either change.
  assert.equal(has('RoleBinding', 'b1'), true);
  assert.deepEqual(spec('Role', 'r1').permissions, ['jobs:read']);
  assert.equal(verdict(index, 'alice', 'get', 'jobs', 'ns'), 'allow', 'stale while cut off');

  const restored = Date.now();
  proxy.forward();
  await eventually('converged', () => !has('RoleBinding', 'b1') && spec('Role', 'r1')?.permissions?.[0] === 'jobs:*');
  figures['convergeAfterCut'] = Date.now() - restored;
  assert.equal(verdict(index, 'alice', 'get', 'jobs', 'ns'), 'noOpinion', 'the deleted binding grants nothing');
  assert.equal(verdict(index, 'bob', 'delete', 'jobs', 'ns'), 'allow', 'the changed role is in effect');
  assert.equal(has('RoleBinding', 'b2'), true, 'what was not deleted stays');
  assert.ok(op.metrics().watchRestarts > restartsBefore, 'the watches were restarted');
});

test('a frozen connection (open, silent) is caught by the watchdog', async () => {
  const before = op.metrics().watchSilenceAborts;
  proxy.freeze();
  const frozenAt = Date.now();
  await cp.kubectlOk(['apply', '-f', '-'], { input: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Role\nmetadata: {name: r2}\nspec: {permissions: ["jobs:read"]}\n' });
  await eventually('a silence abort', () => op.metrics().watchSilenceAborts > before, 30_000, 100);
  figures['silenceDetected'] = Date.now() - frozenAt;
  assert.equal(has('Role', 'r2'), false, 'nothing got through the frozen link');
  proxy.forward();
  const restored = Date.now();
  await eventually('r2 arrives after the link thaws', () => has('Role', 'r2'));
  figures['convergeAfterFreeze'] = Date.now() - restored;
  figures['silenceAborts'] = op.metrics().watchSilenceAborts;
});

test('an API server restart (same etcd) is survived', async () => {
  await cp.restartApiserver(1000);
  const up = Date.now();
  await cp.kubectlOk(['apply', '-f', '-'], { input: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Role\nmetadata: {name: r3}\nspec: {permissions: ["jobs:read"]}\n' });
  await cp.kubectlOk(['delete', 'rolebinding.iam.gatehouse.dev/b2']);
  await eventually('changes after the restart arrive', () => has('Role', 'r3') && !has('RoleBinding', 'b2'));
  assert.equal(verdict(index, 'bob', 'get', 'jobs', 'ns'), 'noOpinion', 'the binding deleted after the restart grants nothing');
  figures['convergeAfterApiserverRestart'] = Date.now() - up;
  // Status writing works again too (the operator leads again once the lease can be renewed).
  await eventually('r3 Ready', async () => (await rd.ready('Role', 'r3'))?.status === 'True');
  figures['relists'] = op.metrics().relists;
  figures['watchRestarts'] = op.metrics().watchRestarts;
});
