// The RBAC applier's write pace (issue 26): parallel up to the window, never above the budget,
// everyone paused by a 429's Retry-After, the window halved by it and grown back by successes,
// bounded retries, other errors at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWritePace, NotLeaderError } from '../../../src/controller/write-pace.js';
import { KubeApiError } from '../../../src/controller/kube.js';
import { FakeClock, settle } from '../../support/fake-clock.js';

const throttled = (seconds?: number): KubeApiError => {
  const err = new KubeApiError('POST x: 429 Too Many Requests', 429, 'TooManyRequests');
  if (seconds !== undefined) err.retryAfterMs = seconds * 1000;
  return err;
};

test('writes run in parallel up to the window, not one by one', async () => {
  const clock = new FakeClock();
  const pace = createWritePace({ clock, ratePerSecond: 1000, maxInFlight: 8 });
  const signal = new AbortController().signal;
  let active = 0;
  let peak = 0;
  const gates: Array<() => void> = [];
  const runs = Array.from({ length: 20 }, () => pace.run(signal, async () => {
    active++;
    peak = Math.max(peak, active);
    await new Promise<void>((r) => gates.push(r));
    active--;
  }));
  await settle();
  assert.equal(peak, 8);
  while (gates.length > 0) {
    gates.splice(0).forEach((g) => g());
    await clock.advance(10);
  }
  await Promise.all(runs);
  assert.equal(peak, 8);
});

test('the budget is a ceiling: at most ratePerSecond writes start per second', async () => {
  const clock = new FakeClock();
  const pace = createWritePace({ clock, ratePerSecond: 10, maxInFlight: 64 });
  const signal = new AbortController().signal;
  const started: number[] = [];
  const runs = Array.from({ length: 30 }, () => pace.run(signal, async () => void started.push(clock.now())));
  await settle();
  assert.equal(started.length, 10, 'a full bucket: 10 at once');
  await clock.advance(1000);
  assert.equal(started.length, 20);
  await clock.advance(1000);
  await Promise.all(runs);
  assert.equal(started.length, 30);
});

test('a 429 with Retry-After pauses every write for that long, halves the window, and the write is retried', async () => {
  const clock = new FakeClock();
  const pace = createWritePace({ clock, ratePerSecond: 1000, maxInFlight: 8 });
  const signal = new AbortController().signal;
  let calls = 0;
  const first = pace.run(signal, async () => {
    calls++;
    if (calls === 1) throw throttled(2);
    return 'ok';
  });
  await settle();
  assert.equal(calls, 1);
  assert.equal(pace.stats.throttled, 1);
  assert.equal(pace.stats.window, 4);
  let other = 0;
  const second = pace.run(signal, async () => void other++);
  await clock.advance(1999);
  assert.equal(calls, 1, 'the throttled write waits out Retry-After');
  assert.equal(other, 0, 'so does every other write');
  await clock.advance(1);
  assert.equal(await first, 'ok');
  await second;
  assert.equal(other, 1);
  assert.equal(pace.stats.window, 6, 'each success grows the window back by one');
});

test('retries are bounded: the last throttling error goes to the caller', async () => {
  const clock = new FakeClock();
  const pace = createWritePace({ clock, ratePerSecond: 1000, maxInFlight: 4, maxAttempts: 3 });
  const signal = new AbortController().signal;
  let calls = 0;
  const run = pace.run(signal, async () => {
    calls++;
    throw throttled(1);
  });
  const outcome = run.then(() => 'resolved', (err: unknown) => err);
  await clock.advance(5000);
  const err = await outcome;
  assert.ok(err instanceof KubeApiError && err.statusCode === 429);
  assert.equal(calls, 3);
  assert.equal(pace.stats.window, 1, 'halved on each 429, never below one');
});

test('any other error goes to the caller at once, without a retry', async () => {
  const clock = new FakeClock();
  const pace = createWritePace({ clock, ratePerSecond: 1000, maxInFlight: 4 });
  let calls = 0;
  await assert.rejects(pace.run(new AbortController().signal, async () => {
    calls++;
    throw new KubeApiError('POST x: 422 Invalid', 422, 'Invalid');
  }), /422/);
  assert.equal(calls, 1);
  assert.equal(pace.stats.retries, 0);
});

test('a write waiting for the pace stops when the term ends', async () => {
  const clock = new FakeClock();
  const pace = createWritePace({ clock, ratePerSecond: 1, maxInFlight: 4 });
  const ac = new AbortController();
  await pace.run(ac.signal, async () => undefined);
  const waiting = pace.run(ac.signal, async () => 'never');
  ac.abort();
  await assert.rejects(waiting, NotLeaderError);
});
