// The authenticator's decisions: every reason a token is refused, and what an accepted one acts as.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { world, user } from './fixture.js';
import { teamGroups } from '../../../src/credentials/authenticate.js';

test('an Active user\'s token acts as their username with their teams as gatehouse:team: groups', () => {
  const w = world();
  w.users.set('alice', user('alice', 'Active', 'u1', 'alice@example.com'));
  w.teams.set('alice', ['vision', 'audio']);
  const t = w.give('alice', 'usr');
  const r = w.auth.check(t.token, 'usr', {});
  assert.ok(r.ok);
  assert.deepEqual(r.identity, { username: 'alice@example.com', uid: 'u1', user: 'alice', groups: ['gatehouse:team:audio', 'gatehouse:team:vision'], tokenId: t.id });
  assert.deepEqual(teamGroups([]), []);
});

test('a Pending user authenticates (authorization refuses them); Rejected and Suspended do not', () => {
  const w = world();
  for (const [name, state, ok] of [['p', 'Pending', true], ['r', 'Rejected', false], ['s', 'Suspended', false]] as const) {
    w.users.set(name, user(name, state));
    const r = w.auth.check(w.give(name, 'usr').token, 'usr', {});
    assert.equal(r.ok, ok, state);
    if (!r.ok) assert.equal(r.reason, 'userInactive');
  }
});

test('every refusal has its reason and status', () => {
  const w = world();
  w.users.set('a', user('a'));
  const good = w.give('a', 'usr');
  const inv = w.give('a', 'inv', { expiresAt: w.clock.t + 1000 });
  const reason = (token: string | undefined, kind: 'usr' | 'inv' = 'usr'): string => {
    const r = w.auth.check(token, kind, {});
    return r.ok ? 'ok' : `${r.reason}/${r.status}`;
  };
  assert.equal(reason(good.token), 'ok');
  assert.equal(reason(undefined), 'missing/401');
  assert.equal(reason('abc'), 'malformed/401');
  assert.equal(reason(inv.token), 'wrongKind/401');
  assert.equal(reason(good.token, 'inv'), 'wrongKind/401');
  assert.equal(reason(good.token.replace(/_([0-9a-f]{16})_/, '_0000000000000000_')), 'unknownToken/401');
  assert.equal(reason(good.token.slice(0, -2) + (good.token.endsWith('AA') ? 'BB' : 'AA')), 'mismatch/401');
  assert.equal(reason(inv.token, 'inv'), 'ok');
  w.clock.t += 1000;
  assert.equal(reason(inv.token, 'inv'), 'expired/401');
  const used = w.give('a', 'inv', { redeemedAt: w.clock.t });
  assert.equal(reason(used.token, 'inv'), 'redeemed/401');
  // The User was deleted and made again under the same name: a different uid.
  w.users.set('a', user('a', 'Active', 'another-uid'));
  assert.equal(reason(good.token), 'userGone/401');
  w.users.delete('a');
  assert.equal(reason(good.token), 'userGone/401');
  w.users.set('a', { ...user('a'), metadata: { name: 'a', uid: 'uid-a', deletionTimestamp: '2026-01-01T00:00:00Z' } });
  assert.equal(reason(good.token), 'userGone/401');
  w.users.set('sys', user('sys', 'Active', 'uid-sys', 'system:admin'));
  assert.equal(reason(w.give('sys', 'usr').token), 'reservedName/401');
  w.ready.value = false;
  assert.equal(reason(good.token), 'notSynced/503');
});

test('per source: after the budget of failures an address gets 429 for guesses, but a good token from it still passes', () => {
  const w = world({ perSource: 3 });
  w.users.set('a', user('a'));
  const good = w.give('a', 'usr');
  for (let i = 0; i < 3; i++) assert.equal(w.auth.check('nope', 'usr', { source: '10.0.0.1' }).ok, false);
  const limited = w.auth.check('nope', 'usr', { source: '10.0.0.1' });
  assert.ok(!limited.ok && limited.reason === 'rateLimited' && limited.status === 429);
  assert.ok(w.auth.check(good.token, 'usr', { source: '10.0.0.1' }).ok, 'a right secret is never refused by the limit');
  const other = w.auth.check('nope', 'usr', { source: '10.0.0.2' });
  assert.ok(!other.ok && other.reason === 'malformed', 'another address is not affected');
  // Good requests never spend the budget.
  for (let i = 0; i < 50; i++) assert.ok(w.auth.check(good.token, 'usr', { source: '10.0.0.3' }).ok);
  w.clock.t += 20_000; // 3 per minute: one back every 20 s
  const back = w.auth.check('nope', 'usr', { source: '10.0.0.1' });
  assert.ok(!back.ok && back.reason === 'malformed');
});

test('per token id: wrong secrets for a known id are limited, and never lock out the right secret (lock-out by token id)', () => {
  const w = world({ perUser: 2 });
  w.users.set('a', user('a'));
  const good = w.give('a', 'usr');
  const wrong = good.token.slice(0, -2) + (good.token.endsWith('AA') ? 'BB' : 'AA');
  for (let i = 0; i < 50; i++) assert.equal(w.auth.check(wrong, 'usr', {}).ok, false);
  const r = w.auth.check(wrong, 'usr', {});
  assert.ok(!r.ok && r.reason === 'rateLimited' && r.status === 429);
  assert.ok(w.auth.check(good.token, 'usr', {}).ok, 'the victim\'s right token still authenticates');
  assert.ok(w.auth.check(good.token, 'usr', { login: true }).ok, 'and may still rotate');
  // Logins: only a caller holding the right secret spends the user's login budget.
  const w2 = world({ perUser: 2 });
  w2.users.set('b', user('b'));
  const inv = w2.give('b', 'inv');
  const wrongInv = inv.token.slice(0, -2) + (inv.token.endsWith('AA') ? 'BB' : 'AA');
  for (let i = 0; i < 10; i++) assert.equal(w2.auth.check(wrongInv, 'inv', { login: true }).ok, false);
  assert.ok(w2.auth.check(inv.token, 'inv', { login: true }).ok);
  assert.ok(w2.auth.check(inv.token, 'inv', { login: true }).ok);
  const third = w2.auth.check(inv.token, 'inv', { login: true });
  assert.ok(!third.ok && third.reason === 'rateLimited', 'the holder\'s own logins count');
});
