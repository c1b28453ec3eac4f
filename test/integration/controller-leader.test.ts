// Two operator replicas against one API server: both keep an index, exactly one writes; stopping
// the leader hands over; a leader cut off from the API server stops writing by itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlPlane } from '../../src/controlplane/controlplane.js';
import type { TcpProxy } from '../support/tcp-proxy.js';
import { eventually, indexed, newIndex, startControllerBed, startOperator, testConfig, type ControllerBed } from '../support/operator.js';
import type { Reader } from '../support/kube-read.js';
import type { PermissionIndex } from '../../src/authz/index.js';
import type { Controller } from '../../src/controller/controller.js';

let bed: ControllerBed;
let cp: ControlPlane;
let rd: Reader;
let proxy: TcpProxy;
const figures: Record<string, number> = {};

before(async () => {
  bed = await startControllerBed({ proxy: true });
  ({ cp, rd } = bed);
  proxy = bed.proxy!;
});

after(async () => {
  await bed?.stop();
  console.log(`# leader figures (ms): ${JSON.stringify(figures)}`);
});

const has = (index: PermissionIndex, kind: 'Role', name: string): boolean => indexed(index, kind, name) !== undefined;
const role = (name: string): string => `apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Role\nmetadata: {name: ${name}}\nspec: {permissions: ["jobs:read"]}\n`;

test('two replicas: one leader writes status; stopping it hands over', async () => {
  const sa = newIndex(testConfig());
  const sb = newIndex(testConfig());
  const a = await startOperator({ cp, index: sa, config: testConfig({}, { identity: 'op-a' }), name: 'op-a' });
  const b = await startOperator({ cp, index: sb, config: testConfig({}, { identity: 'op-b' }), name: 'op-b' });
  let c: Controller | undefined;
  try {
    await Promise.all([a.synced, b.synced]);
    const first = await eventually('a leader', () => (a.isLeader() ? a : b.isLeader() ? b : undefined));
    const other = first === a ? b : a;
    await cp.kubectlOk(['apply', '-f', '-'], { input: role('two-1') });
    await eventually('both indexes have the role', () => has(sa, 'Role', 'two-1') && has(sb, 'Role', 'two-1'));
    await eventually('status written', async () => (await rd.ready('Role', 'two-1'))?.status === 'True');
    // Exactly one leader the whole time, and only it wrote.
    for (let i = 0; i < 10; i++) {
      assert.equal(Number(a.isLeader()) + Number(b.isLeader()), 1, 'exactly one leader');
      await new Promise((r) => setTimeout(r, 100));
    }
    // (The test can read the status before the writer has processed the answer to its PATCH.)
    await eventually('the leader counted its status writes', () => first.metrics().statusWrites > 0);
    assert.equal(other.metrics().statusWrites, 0, 'the other replica wrote nothing');

    const stoppedAt = Date.now();
    await first.stop();
    await eventually('the other takes over', () => other.isLeader());
    figures['handoverAfterStop'] = Date.now() - stoppedAt;
    await cp.kubectlOk(['apply', '-f', '-'], { input: role('two-2') });
    await eventually('the new leader writes status', async () => (await rd.ready('Role', 'two-2'))?.status === 'True');
    await eventually('the new leader counted its status writes', () => other.metrics().statusWrites > 0);
    const lease = JSON.parse(await cp.kubectlOk(['get', 'lease', '-n', 'gatehouse-system', 'gatehouse-leader', '-o', 'json']));
    assert.equal(lease.spec.holderIdentity, other === a ? 'op-a' : 'op-b');

    // A leader that cannot reach the API server stops writing by itself (renew deadline), and a
    // replica that can takes over once the lease runs out.
    await other.stop();
    const sc = newIndex(testConfig());
    c = await startOperator({ cp, index: sc, serverUrl: proxy.url, config: testConfig({}, { identity: 'op-c' }), name: 'op-c' });
    await eventually('op-c leads', () => c!.isLeader());
    const d = await startOperator({ cp, index: newIndex(testConfig()), config: testConfig({}, { identity: 'op-d' }), name: 'op-d' });
    try {
      await d.synced;
      const frozenAt = Date.now();
      proxy.freeze();
      await eventually('op-c steps down', () => !c!.isLeader());
      figures['stepDownAfterFreeze'] = Date.now() - frozenAt;
      await eventually('op-d takes over', () => d.isLeader());
      figures['takeoverAfterFreeze'] = Date.now() - frozenAt;
      await cp.kubectlOk(['apply', '-f', '-'], { input: role('two-3') });
      await eventually('status from op-d', async () => (await rd.ready('Role', 'two-3'))?.status === 'True');
      assert.equal(c.isLeader(), false);
    } finally {
      proxy.forward();
      await d.stop();
    }
  } finally {
    await a.stop();
    await b.stop();
    await c?.stop();
  }
});
