// Registration `auto`: a Pending User per unknown user, once, at a bounded rate overall.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAutoRegistrar } from '../../../src/webhook/registration.js';
import { createWebhookMetrics } from '../../../src/webhook/metrics.js';
import { silentLogger } from '../../../src/log.js';

function setup(opts: { perSecond?: number; maxRemembered?: number; fail?: (u: string) => boolean } = {}) {
  let clock = 1_000_000;
  const created: string[] = [];
  const metrics = createWebhookMetrics();
  const registrar = createAutoRegistrar({
    perSecond: opts.perSecond ?? 2,
    createPendingUser: async (u) => {
      created.push(u);
      if (opts.fail?.(u)) throw new Error('apiserver unavailable');
    },
    logger: silentLogger(),
    metrics,
    now: () => clock,
    ...(opts.maxRemembered ? { maxRemembered: opts.maxRemembered } : {}),
  });
  const ask = (user: string): void => registrar.onUnknownUser({ user, groups: ['system:authenticated'] });
  return { registrar, created, metrics, ask, advance: (ms: number) => { clock += ms; } };
}

test('one creation per user however often they ask', async () => {
  const { registrar, created, ask, metrics } = setup();
  ask('carol');
  ask('carol');
  ask('carol');
  await registrar.idle();
  assert.deepEqual(created, ['carol']);
  assert.match(await metrics.render(), /gatehouse_registrations_total 1/);
});

// "Off unless registration.auto is true" is decided where the registrar is wired: the composition
// builds none without it (test/unit/webhook/index.test.ts, "registration auto off: nobody is created").

test('system identities and service accounts never get a User', async () => {
  const { registrar, created, ask } = setup();
  ask('system:serviceaccount:default:builder');
  ask('system:kube-scheduler');
  ask('');
  await registrar.idle();
  assert.deepEqual(created, []);
});

test('the overall rate is bounded by a token bucket; deferred users are tried again later', async () => {
  const { registrar, created, ask, advance } = setup({ perSecond: 2 });
  for (const u of ['u1', 'u2', 'u3', 'u4']) ask(u);
  await registrar.idle();
  assert.deepEqual(created, ['u1', 'u2'], 'the bucket holds two tokens');
  assert.equal(registrar.has('u3'), false, 'a deferred user is not remembered');
  advance(500);
  ask('u3');
  ask('u4');
  await registrar.idle();
  assert.deepEqual(created, ['u1', 'u2', 'u3'], 'half a second adds one token');
  advance(10_000);
  for (const u of ['u4', 'u5', 'u6', 'u7']) ask(u);
  await registrar.idle();
  assert.deepEqual(created, ['u1', 'u2', 'u3', 'u4', 'u5'], 'tokens do not pile up past the capacity');
});

test('a failed creation is forgotten, so the next request retries', async () => {
  let failing = true;
  const { registrar, created, ask, advance } = setup({ fail: () => failing });
  ask('dave');
  await registrar.idle();
  assert.equal(registrar.has('dave'), false);
  failing = false;
  advance(1000);
  ask('dave');
  await registrar.idle();
  assert.deepEqual(created, ['dave', 'dave']);
  assert.equal(registrar.has('dave'), true);
});

test('the remembered set is bounded; the oldest are forgotten first', async () => {
  const { registrar, ask, advance } = setup({ perSecond: 1000, maxRemembered: 3 });
  for (const u of ['a', 'b', 'c', 'd']) {
    ask(u);
    advance(10);
  }
  await registrar.idle();
  assert.equal(registrar.has('a'), false);
  assert.equal(registrar.has('d'), true);
});
