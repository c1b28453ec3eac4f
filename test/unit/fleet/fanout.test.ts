// The fan-out core of fleet questions (issue 30) with a fake question per target: order, errors,
// timeouts, and the concurrency bound. No timing assertions: timeouts here only make a question
// that never answers fail, and the order of answers is forced with explicit gates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fanOut, formatMs, FanOutOptionsError, FanOutTimeout } from '../../../src/fleet/fanout.js';

/** A promise the test settles by hand. */
function gate<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('results come back in the targets\' order, whatever order the answers arrive in', async () => {
  const gates = new Map(['a', 'b', 'c', 'd'].map((t) => [t, gate<string>()]));
  const run = fanOut(['a', 'b', 'c', 'd'], (t) => gates.get(t)!.promise, { maxParallel: 4, timeoutMs: 60_000 });
  await tick();
  for (const t of ['d', 'b', 'a', 'c']) {
    gates.get(t)!.resolve(`answer ${t}`);
    await tick();
  }
  const res = await run;
  assert.deepEqual(res.map((r) => r.target), ['a', 'b', 'c', 'd']);
  assert.deepEqual(res.map((r) => (r.ok ? r.value : undefined)), ['answer a', 'answer b', 'answer c', 'answer d']);
});

test('a rejection and a synchronous throw are that target\'s failure; the others still answer', async () => {
  const boom = new Error('connection refused');
  const res = await fanOut(['ok', 'rejects', 'throws', 'ok2'], (t) => {
    if (t === 'throws') throw new Error('bad kubeconfig');
    if (t === 'rejects') return Promise.reject(boom);
    return Promise.resolve(t.toUpperCase());
  }, { maxParallel: 2, timeoutMs: 60_000 });
  assert.deepEqual(res.map((r) => r.ok), [true, false, false, true]);
  const [, rejected, thrown] = res;
  assert.ok(rejected && !rejected.ok && rejected.error === boom && !rejected.timedOut);
  assert.ok(thrown && !thrown.ok && (thrown.error as Error).message === 'bad kubeconfig' && !thrown.timedOut);
});

test('a target that does not answer in time fails with FanOutTimeout, its signal is aborted, and its late answer is ignored', async () => {
  const late = gate<string>();
  let aborted: unknown;
  const res = await fanOut(['slow', 'fast'], (t, signal) => {
    if (t === 'fast') return Promise.resolve('fast answer');
    signal.addEventListener('abort', () => (aborted = signal.reason));
    return late.promise;
  }, { maxParallel: 2, timeoutMs: 30 });
  const [slow, fast] = res;
  assert.ok(slow && !slow.ok && slow.timedOut);
  assert.ok(!slow.ok && slow.error instanceof FanOutTimeout);
  assert.equal((slow.error as FanOutTimeout).message, 'no answer within 30ms');
  assert.ok(aborted instanceof FanOutTimeout, 'the question was told to stop');
  assert.ok(fast && fast.ok && fast.value === 'fast answer');
  // The late answer changes nothing (and a late rejection is no unhandled rejection).
  late.resolve('too late');
  await tick();
  assert.ok(!res[0]!.ok);
});

test('a late rejection after a timeout is swallowed', async () => {
  const late = gate<string>();
  const res = await fanOut(['x'], () => late.promise, { maxParallel: 1, timeoutMs: 10 });
  assert.ok(!res[0]!.ok && res[0]!.timedOut);
  late.reject(new Error('late failure'));
  await tick();
});

test('the concurrency bound is never exceeded, and every target is asked exactly once', async () => {
  for (const maxParallel of [1, 2, 3, 8, 50]) {
    const targets = Array.from({ length: 20 }, (_, i) => `ctx-${i}`);
    let inFlight = 0;
    let peak = 0;
    const asked: string[] = [];
    const res = await fanOut(targets, async (t) => {
      asked.push(t);
      inFlight++;
      peak = Math.max(peak, inFlight);
      // Answer after a varying number of turns, so slots free in a scrambled order.
      const turns = 1 + ((Number(t.slice(4)) * 7) % 5);
      for (let i = 0; i < turns; i++) await tick();
      inFlight--;
      if (t === 'ctx-3') throw new Error('down');
      return t;
    }, { maxParallel, timeoutMs: 60_000 });
    assert.ok(peak <= maxParallel, `peak ${peak} > maxParallel ${maxParallel}`);
    assert.equal(peak, Math.min(maxParallel, targets.length), 'the bound is used, not just respected');
    assert.deepEqual([...asked].sort(), [...targets].sort());
    assert.equal(asked.length, targets.length);
    assert.deepEqual(res.map((r) => r.target), targets);
    assert.equal(res.filter((r) => !r.ok).length, 1);
  }
});

test('a timed-out question gives its slot to the next target (one slot, the first hangs)', async () => {
  let inFlight = 0;
  let peak = 0;
  const res = await fanOut(['hangs', 'next', 'last'], (t, signal) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    if (t === 'hangs') {
      // A question that honours its signal stops when it is timed out.
      return new Promise<string>((_, reject) => signal.addEventListener('abort', () => {
        inFlight--;
        reject(signal.reason);
      }));
    }
    inFlight--;
    return Promise.resolve(t);
  }, { maxParallel: 1, timeoutMs: 20 });
  assert.deepEqual(res.map((r) => [r.target, r.ok]), [['hangs', false], ['next', true], ['last', true]]);
  assert.equal(peak, 1);
});

test('no targets: no questions; bad options are refused', async () => {
  let called = 0;
  assert.deepEqual(await fanOut([], async () => called++, { maxParallel: 4, timeoutMs: 1000 }), []);
  assert.equal(called, 0);
  await assert.rejects(fanOut(['a'], async () => 1, { maxParallel: 0, timeoutMs: 1000 }), FanOutOptionsError);
  await assert.rejects(fanOut(['a'], async () => 1, { maxParallel: 1.5, timeoutMs: 1000 }), FanOutOptionsError);
  await assert.rejects(fanOut(['a'], async () => 1, { maxParallel: 1, timeoutMs: 0 }), FanOutOptionsError);
  await assert.rejects(fanOut(['a'], async () => 1, { maxParallel: 1, timeoutMs: Number.NaN }), FanOutOptionsError);
});

test('ms is measured with the clock given', async () => {
  let t = 1000;
  const res = await fanOut(['a'], async () => {
    t += 250;
    return 'x';
  }, { maxParallel: 1, timeoutMs: 1000, now: () => t });
  assert.equal(res[0]!.ms, 250);
});

test('formatMs', () => {
  assert.equal(formatMs(250), '250ms');
  assert.equal(formatMs(10_000), '10s');
  assert.equal(formatMs(1500), '1.5s');
  assert.equal(formatMs(120_000), '2m');
});
