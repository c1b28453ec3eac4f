// The keyed work queue: dedup, one worker per key, retry with backoff, forgetting on success.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWorkQueue } from '../../../src/controller/queue.js';
import { backoffMs } from '../../../src/controller/clock.js';
import { silentLogger } from '../../../src/log.js';
import { FakeClock, settle } from '../../support/fake-clock.js';

const make = (clock: FakeClock) => createWorkQueue({ clock, logger: silentLogger(), backoffInitialMs: 100, backoffMaxMs: 1000, random: () => 1, concurrency: 2 });

test('backoff doubles from the initial wait up to the cap, with jitter in [d/2, d]', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, 100, 1000, () => 1)), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoffMs(3, 100, 1000, () => 0), 200);
});

test('a key added many times before it runs is processed once', async () => {
  const clock = new FakeClock();
  const q = make(clock);
  const runs: string[] = [];
  for (let i = 0; i < 5; i++) q.add('Role/a');
  q.add('Role/b');
  q.start(async (k) => void runs.push(k));
  await q.idle();
  assert.deepEqual(runs, ['Role/a', 'Role/b']);
});

test('a key added while in flight runs again afterwards, never twice at once', async () => {
  const clock = new FakeClock();
  const q = make(clock);
  let active = 0;
  let maxActive = 0;
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  q.start(async () => {
    active++;
    maxActive = Math.max(maxActive, active);
    runs++;
    if (runs === 1) await gate;
    active--;
  });
  q.add('k');
  await settle();
  q.add('k');
  q.add('k');
  await settle();
  assert.equal(runs, 1);
  release();
  await q.idle();
  assert.equal(runs, 2);
  assert.equal(maxActive, 1);
});

test('a failure is retried after a backoff that grows, and success forgets it', async () => {
  const clock = new FakeClock();
  const q = make(clock);
  let calls = 0;
  q.start(async () => {
    calls++;
    if (calls <= 2) throw new Error('apiserver said no');
  });
  q.add('User/x');
  await settle();
  assert.equal(calls, 1);
  await clock.advance(99);
  assert.equal(calls, 1);
  await clock.advance(1);
  assert.equal(calls, 2, 'first retry after 100 ms');
  await clock.advance(199);
  assert.equal(calls, 2);
  await clock.advance(1);
  assert.equal(calls, 3, 'second retry after 200 ms');
  await q.idle();
  assert.equal(q.stats.failures, 2);
});

test('stop drops queued work and waits for what is in flight; clear drops pending retries', async () => {
  const clock = new FakeClock();
  const q = make(clock);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const done: string[] = [];
  q.start(async (k) => {
    if (k === 'slow') await gate;
    if (k === 'bad') throw new Error('x');
    done.push(k);
  });
  q.add('bad');
  q.add('slow');
  await settle();
  q.clear();
  assert.equal(clock.pending, 0, 'the retry of bad was dropped');
  q.add('later');
  const stopping = q.stop();
  let stopped = false;
  void stopping.then(() => (stopped = true));
  await settle();
  assert.equal(stopped, false, 'waits for the key in flight');
  release();
  await stopping;
  q.add('after-stop');
  await settle();
  assert.ok(!done.includes('after-stop'));
});

test('a success may ask to be looked at again: the key comes back then, idle() does not wait for it, and an add sooner replaces it', async () => {
  const clock = new FakeClock();
  const q = make(clock);
  const runs: number[] = [];
  let requeue: number | undefined = 5000;
  q.start(async () => {
    runs.push(clock.now());
    return requeue === undefined ? undefined : { requeueAfter: requeue };
  });
  const t0 = clock.now();
  q.add('User/bob');
  await q.idle();
  assert.deepEqual(runs, [t0], 'idle while only a time to look again is pending');
  assert.equal(clock.pending, 1);
  await clock.advance(4999);
  assert.equal(runs.length, 1, 'not before the time');
  await clock.advance(1);
  assert.deepEqual(runs, [t0, t0 + 5000]);
  // An add before the time runs now and replaces the pending look (one timer per key).
  q.add('User/bob');
  await settle();
  assert.equal(runs.length, 3);
  assert.equal(clock.pending, 1);
  requeue = undefined;
  await clock.advance(5000);
  assert.equal(runs.length, 4);
  assert.equal(clock.pending, 0, 'a result without requeueAfter leaves no timer');
  q.add('User/bob');
  await settle();
  q.clear();
  assert.equal(clock.pending, 0);
  await q.stop();
});
