// Lease-based leader election against an in-memory Lease with optimistic concurrency.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLeaderElector, microTime, type LeaderElector } from '../../../src/controller/leader.js';
import { KubeApiError, type KubeRequest } from '../../../src/controller/kube.js';
import { silentLogger } from '../../../src/log.js';
import { FakeClock, settle } from '../../support/fake-clock.js';
import { FakeKube } from '../../support/fake-kube.js';

const settings = { enabled: true, leaseName: 'gh', leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 };

/** One Lease in memory; `down` makes every request fail, `hang` never answers. */
function leaseServer() {
  let lease: any;
  let rv = 0;
  const state = { down: new Set<FakeKube>(), hang: new Set<FakeKube>() };
  const clientFor = (): FakeKube => {
    const kube = new FakeKube();
    kube.handler = (req: KubeRequest) => {
      if (state.hang.has(kube)) return new Promise(() => {});
      if (state.down.has(kube)) throw new KubeApiError('connection refused', 0, 'Network');
      if (req.method === 'GET') {
        if (!lease) throw new KubeApiError('not found', 404);
        return structuredClone(lease);
      }
      const body = structuredClone(req.body) as any;
      if (req.method === 'POST') {
        if (lease) throw new KubeApiError('exists', 409);
      } else if (body.metadata.resourceVersion !== lease.metadata.resourceVersion) {
        throw new KubeApiError('conflict', 409);
      }
      lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++rv) } };
      return structuredClone(lease);
    };
    return kube;
  };
  return { clientFor, state, get lease() { return lease; } };
}

function elector(clock: FakeClock, kube: FakeKube, identity: string, log: string[]): LeaderElector {
  return createLeaderElector({
    client: kube, namespace: 'gatehouse-system', identity, settings, clock, logger: silentLogger(), random: () => 0,
    onStartedLeading: () => log.push(`${identity}+`),
    onStoppedLeading: () => log.push(`${identity}-`),
  });
}

test('MicroTime has six fractional digits', () => {
  assert.equal(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), '2026-01-02T03:04:05.678000Z');
});

test('one of two replicas leads; stopping it releases the lease and the other takes over at once', async () => {
  const clock = new FakeClock();
  const server = leaseServer();
  const log: string[] = [];
  const a = elector(clock, server.clientFor(), 'a', log);
  const b = elector(clock, server.clientFor(), 'b', log);
  a.start();
  await settle();
  b.start();
  await clock.advance(10_000);
  assert.equal(a.isLeader(), true);
  assert.equal(b.isLeader(), false);
  assert.deepEqual(log, ['a+']);
  assert.equal(server.lease.spec.holderIdentity, 'a');
  await a.stop();
  assert.equal(server.lease.spec.holderIdentity, '', 'released');
  await clock.advance(2_500);
  assert.equal(b.isLeader(), true, 'took over within one retry period, not a whole lease duration');
  assert.equal(server.lease.spec.leaseTransitions, 1);
  assert.deepEqual(log, ['a+', 'a-', 'b+']);
  await b.stop();
});

test('a leader that cannot renew steps down at the renew deadline, even while a request hangs', async () => {
  const clock = new FakeClock();
  const server = leaseServer();
  const log: string[] = [];
  const ka = server.clientFor();
  const a = elector(clock, ka, 'a', log);
  const b = elector(clock, server.clientFor(), 'b', log);
  a.start();
  await settle();
  b.start();
  await clock.advance(3_000);
  assert.equal(a.isLeader(), true);
  const term = a.term()!;
  server.state.hang.add(ka);
  // Last renewal at 2 s (every retry period), so the deadline is 12 s.
  await clock.advance(8_000);
  assert.equal(a.isLeader(), true, 'still within the renew deadline');
  await clock.advance(1_500);
  assert.equal(a.isLeader(), false, 'stepped down');
  assert.equal(term.aborted, true, 'the term signal stops writes in flight');
  assert.equal(b.isLeader(), false, 'b waits until the lease has run out');
  await clock.advance(10_000);
  assert.equal(b.isLeader(), true);
  assert.deepEqual(log, ['a+', 'a-', 'b+']);
  server.state.hang.delete(ka);
  await b.stop();
  await a.stop();
});

test('a replica whose requests fail never leads, and leads once they work', async () => {
  const clock = new FakeClock();
  const server = leaseServer();
  const kube = server.clientFor();
  server.state.down.add(kube);
  const log: string[] = [];
  const a = elector(clock, kube, 'a', log);
  a.start();
  await clock.advance(20_000);
  assert.equal(a.isLeader(), false);
  server.state.down.delete(kube);
  await clock.advance(3_000);
  assert.equal(a.isLeader(), true);
  await a.stop();
});

test('with election disabled the replica leads from start to stop', async () => {
  const clock = new FakeClock();
  const kube = new FakeKube();
  const e = createLeaderElector({ client: kube, namespace: 'x', identity: 'solo', settings: { ...settings, enabled: false }, clock, logger: silentLogger() });
  e.start();
  await clock.advance(60_000);
  assert.equal(e.isLeader(), true);
  assert.equal(kube.requests.length, 0, 'no Lease traffic');
  await e.stop();
  assert.equal(e.isLeader(), false);
});
