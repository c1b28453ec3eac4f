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

/**
 * Watches a set of replicas for the whole test, every 10 ms (all replicas live in this process, so
 * a sample sees each one's own belief): any moment with two leaders is recorded. A real overlap
 * lasts until the stale leader's renew deadline (seconds), far longer than a sample.
 */
function leaderMonitor(): { watch(name: string, c: Controller): void; overlaps: string[]; stop(): void } {
  const replicas = new Map<string, Controller>();
  const overlaps: string[] = [];
  const timer = setInterval(() => {
    const leading = [...replicas].filter(([, c]) => c.isLeader()).map(([n]) => n);
    if (leading.length > 1 && overlaps.length < 20) overlaps.push(`${new Date().toISOString()}: ${leading.join(' and ')}`);
  }, 10);
  return { watch: (name, c) => replicas.set(name, c), overlaps, stop: () => clearInterval(timer) };
}

/** Several lease durations (testConfig: 4 s): a takeover must come well within it, load or not. */
const LEASES = 5 * 4000;

const has = (index: PermissionIndex, kind: 'Role', name: string): boolean => indexed(index, kind, name) !== undefined;
const role = (name: string): string => `apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Role\nmetadata: {name: ${name}}\nspec: {permissions: ["jobs:read"]}\n`;

test('two replicas: one leader writes status; stopping it hands over', async () => {
  const sa = newIndex(testConfig());
  const sb = newIndex(testConfig());
  const a = await startOperator({ cp, index: sa, config: testConfig({}, { identity: 'op-a' }), name: 'op-a' });
  const b = await startOperator({ cp, index: sb, config: testConfig({}, { identity: 'op-b' }), name: 'op-b' });
  let c: Controller | undefined;
  const monitor = leaderMonitor();
  monitor.watch('op-a', a);
  monitor.watch('op-b', b);
  try {
    await Promise.all([a.synced, b.synced]);
    const first = await eventually('a leader', () => (a.isLeader() ? a : b.isLeader() ? b : undefined), LEASES);
    const other = first === a ? b : a;
    await cp.kubectlOk(['apply', '-f', '-'], { input: role('two-1') });
    await eventually('both indexes have the role', () => has(sa, 'Role', 'two-1') && has(sb, 'Role', 'two-1'));
    await eventually('status written', async () => (await rd.ready('Role', 'two-1'))?.status === 'True');
    // Only the leader wrote (never two leaders at once: the monitor, checked at the end).
    // (The test can read the status before the writer has processed the answer to its PATCH.)
    await eventually('the leader counted its status writes', () => first.metrics().statusWrites > 0);
    assert.equal(other.metrics().statusWrites, 0, 'the other replica wrote nothing');

    const stoppedAt = Date.now();
    await first.stop();
    await eventually('the other takes over', () => other.isLeader(), LEASES);
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
    monitor.watch('op-c', c);
    await eventually('op-c leads', () => c!.isLeader(), LEASES);
    const d = await startOperator({ cp, index: newIndex(testConfig()), config: testConfig({}, { identity: 'op-d' }), name: 'op-d' });
    monitor.watch('op-d', d);
    try {
      await d.synced;
      const frozenAt = Date.now();
      proxy.freeze();
      await eventually('op-c steps down', () => !c!.isLeader(), LEASES);
      figures['stepDownAfterFreeze'] = Date.now() - frozenAt;
      await eventually('op-d takes over', () => d.isLeader(), LEASES);
      figures['takeoverAfterFreeze'] = Date.now() - frozenAt;
      await cp.kubectlOk(['apply', '-f', '-'], { input: role('two-3') });
      await eventually('status from op-d', async () => (await rd.ready('Role', 'two-3'))?.status === 'True');
      assert.equal(c.isLeader(), false);
    } finally {
      proxy.forward();
      await d.stop();
    }
    assert.deepEqual(monitor.overlaps, [], 'never two leaders at once');
  } finally {
    monitor.stop();
    await a.stop();
    await b.stop();
    await c?.stop();
  }
});
