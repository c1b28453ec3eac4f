// The informer's resilience, driven by a fake API and a manual clock: restarts with backoff,
// relists on 410 (HTTP or ERROR event) and drops what vanished, aborts silent watches, and does
// not mistake a quiet watch that still sends bookmarks for a dead one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInformer, type KubeObject } from '../../../src/controller/informer.js';
import { KubeApiError } from '../../../src/controller/kube.js';
import { silentLogger } from '../../../src/log.js';
import { FakeClock, settle } from '../../support/fake-clock.js';
import { FakeKube, listOf } from '../../support/fake-kube.js';

const obj = (name: string, rv: string, extra: Record<string, unknown> = {}): KubeObject => ({ metadata: { name, resourceVersion: rv }, ...extra }) as KubeObject;

function setup(lists: unknown[], accept?: (o: KubeObject) => boolean) {
  const clock = new FakeClock();
  const kube = new FakeKube();
  let n = 0;
  kube.handler = () => {
    const next = lists[Math.min(n++, lists.length - 1)];
    if (next instanceof Error) throw next;
    return next;
  };
  const seen: string[] = [];
  const replaced: string[][] = [];
  const informer = createInformer<KubeObject>({
    kind: 'Role',
    path: '/apis/iam.gatehouse.dev/v1alpha1/roles',
    client: kube,
    clock,
    logger: silentLogger(),
    random: () => 0.5,
    watch: { silenceTimeoutSeconds: 10, backoffInitialMs: 100, backoffMaxMs: 1000 },
    ...(accept ? { accept } : {}),
    handler: {
      onReplace: (objs) => replaced.push(objs.map((o) => o.metadata.name).sort()),
      onUpsert: (o) => seen.push(`up:${o.metadata.name}`),
      onDelete: (o) => seen.push(`del:${o.metadata.name}`),
    },
  });
  return { clock, kube, informer, seen, replaced };
}

test('lists, resolves synced, then applies watch events from the list resourceVersion', async () => {
  const { kube, informer, seen, replaced } = setup([listOf([obj('a', '5')], '10')]);
  informer.start();
  await informer.synced;
  await settle();
  assert.deepEqual(replaced, [['a']]);
  const w = kube.lastWatch!;
  assert.equal(w.query['resourceVersion'], '10');
  assert.equal(w.query['allowWatchBookmarks'], true);
  // The server ends the watch before the silence timeout (here 5..7 s of 10 s).
  assert.ok(Number(w.query['timeoutSeconds']) >= 5 && Number(w.query['timeoutSeconds']) < 10);
  w.send({ type: 'ADDED', object: obj('b', '11') as never });
  w.send({ type: 'MODIFIED', object: obj('a', '12') as never });
  w.send({ type: 'DELETED', object: obj('b', '13') as never });
  assert.deepEqual(seen, ['up:b', 'up:a', 'del:b']);
  assert.deepEqual([...informer.store.keys()], ['a']);
  await informer.stop();
});

test('a failed watch restarts after a backoff, from the last resourceVersion, without a relist', async () => {
  const { clock, kube, informer, replaced } = setup([listOf([obj('a', '5')], '10')]);
  informer.start();
  await informer.synced;
  await settle();
  kube.lastWatch!.send({ type: 'MODIFIED', object: obj('a', '15') as never });
  kube.lastWatch!.fail(new KubeApiError('connection reset', 0, 'Network'));
  await settle();
  assert.equal(kube.watches.length, 1, 'no immediate retry');
  await clock.advance(100);
  assert.equal(kube.watches.length, 2);
  assert.equal(kube.lastWatch!.query['resourceVersion'], '15');
  assert.equal(replaced.length, 1, 'no relist for a plain error');
  assert.equal(informer.stats.watchRestarts, 1);
  // Repeated failures back off exponentially (75, 150, 300 ms with this jitter draw).
  kube.lastWatch!.fail(new KubeApiError('reset', 0));
  await clock.advance(140);
  assert.equal(kube.watches.length, 2, 'second failure waits longer than the first');
  await clock.advance(10);
  assert.equal(kube.watches.length, 3);
  await informer.stop();
});

test('410 Gone as a watch ERROR event relists, and objects that vanished leave', async () => {
  const { kube, informer, seen, replaced } = setup([listOf([obj('a', '5'), obj('b', '6')], '10'), listOf([obj('a', '20')], '30')]);
  informer.start();
  await informer.synced;
  await settle();
  kube.lastWatch!.send({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } });
  await settle();
  assert.deepEqual(replaced, [['a', 'b'], ['a']]);
  assert.deepEqual([...informer.store.keys()], ['a']);
  assert.equal(kube.lastWatch!.query['resourceVersion'], '30');
  assert.equal(informer.stats.relists, 1);
  assert.deepEqual(seen, []);
  await informer.stop();
});

test('410 Gone as an HTTP status relists too', async () => {
  const { kube, informer, replaced } = setup([listOf([obj('a', '5')], '10'), listOf([], '40')]);
  informer.start();
  await informer.synced;
  await settle();
  kube.lastWatch!.fail(new KubeApiError('gone', 410, 'Gone'));
  await settle();
  assert.deepEqual(replaced, [['a'], []]);
  assert.equal(informer.store.size, 0);
  await informer.stop();
});

test('a list that fails is retried with backoff, and synced waits for it', async () => {
  const { clock, informer } = setup([new KubeApiError('unavailable', 503), listOf([obj('a', '1')], '2')]);
  informer.start();
  await settle();
  assert.equal(informer.hasSynced(), false);
  await clock.advance(100);
  await informer.synced;
  assert.equal(informer.hasSynced(), true);
  await informer.stop();
});

test('a silent watch is aborted by the watchdog and restarted', async () => {
  const { clock, kube, informer } = setup([listOf([], '10')]);
  informer.start();
  await informer.synced;
  await settle();
  const first = kube.lastWatch!;
  await clock.advance(9_999);
  assert.equal(first.signal.aborted, false);
  await clock.advance(1);
  assert.equal(first.signal.aborted, true, 'aborted after silenceTimeoutSeconds');
  assert.equal(informer.stats.silenceAborts, 1);
  await clock.advance(100);
  assert.equal(kube.watches.length, 2, 'a new watch was opened');
  await informer.stop();
});

test('a quiet watch that keeps sending data (bookmarks) is left alone', async () => {
  const { clock, kube, informer } = setup([listOf([], '10')]);
  informer.start();
  await informer.synced;
  await settle();
  const w = kube.lastWatch!;
  for (let i = 0; i < 5; i++) {
    await clock.advance(8_000);
    w.send({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(20 + i) } } });
  }
  assert.equal(w.signal.aborted, false);
  assert.equal(informer.stats.silenceAborts, 0);
  w.end();
  await settle();
  assert.equal(kube.lastWatch!.query['resourceVersion'], '24', 'resumes from the bookmark');
  await informer.stop();
});

test('a handler that throws does not break the watch', async () => {
  const clock = new FakeClock();
  const kube = new FakeKube();
  kube.handler = () => listOf([], '1');
  let calls = 0;
  const informer = createInformer<KubeObject>({
    kind: 'Team', path: '/x', client: kube, clock, logger: silentLogger(),
    watch: { silenceTimeoutSeconds: 10, backoffInitialMs: 100, backoffMaxMs: 1000 },
    handler: { onReplace: () => {}, onUpsert: () => { calls++; throw new Error('bug'); }, onDelete: () => {} },
  });
  informer.start();
  await informer.synced;
  await settle();
  kube.lastWatch!.send({ type: 'ADDED', object: obj('a', '2') as never });
  kube.lastWatch!.send({ type: 'ADDED', object: obj('b', '3') as never });
  assert.equal(calls, 2);
  assert.equal(kube.lastWatch!.closed, false);
  assert.equal(informer.store.size, 2);
  await informer.stop();
});

test('accept: only accepted objects are stored, and one that stops being accepted leaves as if deleted', async () => {
  const mine = (o: KubeObject): boolean => o.metadata.name.startsWith('gh:') || o.metadata.labels?.['own'] === 'yes';
  const { kube, informer, seen, replaced } = setup([listOf([obj('gh:a', '5'), obj('other', '6')], '10')], mine);
  informer.start();
  await informer.synced;
  await settle();
  assert.deepEqual(replaced, [['gh:a']]);
  const w = kube.lastWatch!;
  w.send({ type: 'ADDED', object: obj('x', '11') as never });
  w.send({ type: 'ADDED', object: obj('y', '12', { metadata: { name: 'y', resourceVersion: '12', labels: { own: 'yes' } } }) as never });
  // The label that made y accepted is removed: y leaves the store.
  w.send({ type: 'MODIFIED', object: obj('y', '13') as never });
  w.send({ type: 'DELETED', object: obj('x', '14') as never });
  w.send({ type: 'MODIFIED', object: obj('gh:a', '15') as never });
  assert.deepEqual(seen, ['up:y', 'del:y', 'up:gh:a']);
  assert.deepEqual([...informer.store.keys()], ['gh:a']);
  await informer.stop();
});
