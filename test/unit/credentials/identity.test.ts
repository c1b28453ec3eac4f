// Where a token becomes an identity (the proxy and TokenReview share check()): only the canonical
// username of the User the token was issued for, team groups only for Active users, and nothing
// that would change in an HTTP header. Includes the fuzz pass of issue 19's "Must show".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { world, user } from './fixture.js';
import { usernameProblem, headerSafe } from '../../../src/api/username.js';
import { forwardRequestHeaders } from '../../../src/credentials/headers.js';
import type { User } from '../../../src/api/types.js';

test('a user who is not Active carries no team groups (issue 19, finding 6)', () => {
  const w = world();
  w.users.set('p', user('p', 'Pending'));
  w.teams.set('p', ['vision']);
  const t = w.give('p', 'usr');
  const r = w.auth.check(t.token, 'usr', {});
  assert.ok(r.ok);
  assert.deepEqual(r.identity.groups, []);
  w.users.set('p', user('p', 'Active'));
  const again = w.auth.check(t.token, 'usr', {});
  assert.ok(again.ok);
  assert.deepEqual(again.identity.groups, ['gatehouse:team:vision']);
});

test('a username that is not canonical is refused, not sent (issue 19, finding 1)', () => {
  const w = world();
  for (const [name, username, reason] of [
    ['g1', 'grace ', 'badUsername'],
    ['g2', ' system:kube-controller-manager', 'badUsername'],
    ['g3', 'system:admin', 'reservedName'],
    ['g4', 'gr\u202eace', 'badUsername'],
  ] as const) {
    w.users.set(name, user(name, 'Active', `uid-${name}`, username));
    const r = w.auth.check(w.give(name, 'usr').token, 'usr', {});
    assert.ok(!r.ok && r.reason === reason && r.status === 401, JSON.stringify(username));
  }
});

test('through the proxy, a username a header would change is refused; TokenReview carries it', () => {
  const w = world();
  w.users.set('zoe', user('zoe', 'Active', 'uid-zoe', 'zoë'));
  const t = w.give('zoe', 'usr');
  const viaReview = w.auth.check(t.token, 'usr', {});
  assert.ok(viaReview.ok && viaReview.identity.username === 'zoë');
  const viaProxy = w.auth.check(t.token, 'usr', { viaHeaders: true });
  assert.ok(!viaProxy.ok && viaProxy.reason === 'badUsername');
});

test('a token acts only as the username it was issued for: a username change ends it', () => {
  const w = world();
  w.users.set('grace', user('grace', 'Active', 'uid-grace', 'grace'));
  const t = w.give('grace', 'usr', { username: 'grace' });
  assert.ok(w.auth.check(t.token, 'usr', {}).ok);
  assert.equal(w.auth.stillLive(t.id, 'grace'), true);
  w.users.set('grace', user('grace', 'Active', 'uid-grace', 'mallory'));
  const r = w.auth.check(t.token, 'usr', {});
  assert.ok(!r.ok && r.reason === 'usernameChanged');
  assert.equal(w.auth.stillLive(t.id, 'mallory'), false);
  assert.equal(w.auth.stillLive(t.id, 'grace'), false);
});

const STATES: ReadonlyArray<User['spec']['state']> = ['Pending', 'Active', 'Rejected', 'Suspended'];
const nasty = fc.constantFrom(' ', '\t', '\n', '\r', '\u0000', '\u001b', '\u007f', '\u0085', '\u00a0', '\u200b', '\u202e', ',', ':', 'system:', 'é', 'e\u0301', '张', 'a', 'B', '1', '@', '.', '-', 'gatehouse:team:');
const nastyString = fc.oneof(
  fc.array(nasty, { maxLength: 12 }).map((a) => a.join('')),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('grace', 'system:masters', ' system:kube-controller-manager', 'grace ', 'system:serviceaccount:kube-system:default', 'x'.repeat(300)),
);

test('fuzz: no username, team name or state yields an identity other than the canonical username of the token\'s User, with groups only when Active', () => {
  fc.assert(fc.property(nastyString, fc.array(nastyString, { maxLength: 4 }), fc.constantFrom(...STATES), fc.boolean(), (username, teams, state, viaHeaders) => {
    const w = world();
    w.users.set('u', user('u', state, 'uid-u', username === '' ? undefined : username));
    w.teams.set('u', teams);
    const t = w.give('u', 'usr', { username: username === '' ? 'u' : username });
    const r = w.auth.check(t.token, 'usr', { viaHeaders });
    if (!r.ok) return;
    const expected = username === '' ? 'u' : username;
    assert.equal(r.identity.username, expected);
    assert.equal(usernameProblem(r.identity.username), undefined);
    assert.ok(state === 'Active' || state === 'Pending');
    if (state !== 'Active') assert.deepEqual(r.identity.groups, []);
    if (viaHeaders) {
      assert.ok(headerSafe(r.identity.username));
      assert.ok(r.identity.groups.every(headerSafe));
      // What the proxy sends is exactly the identity: one Impersonate-User, no client-made one.
      const out = forwardRequestHeaders(['Impersonate-User', 'system:admin', 'impersonate-group', 'system:masters'], r.identity, { authorization: 'Bearer op' }, false);
      assert.equal(out['impersonate-user'], expected);
      assert.equal(out['impersonate-user'], String(out['impersonate-user']).trim());
      if (r.identity.groups.length === 0) assert.equal(out['impersonate-group'], undefined);
    }
  }), { numRuns: 3000 });
});
