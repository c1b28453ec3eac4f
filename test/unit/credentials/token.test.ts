// Tokens: shape, randomness, hashing, constant-time comparison, the Authorization header reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bearerToken, hashToken, issueToken, parseToken, tokenMatches, TOKEN_LENGTH } from '../../../src/credentials/token.js';

test('a token has the recognisable shape, 256 random bits, and parses back to its kind and id', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const t = issueToken(i % 2 ? 'inv' : 'usr');
    assert.equal(t.token.length, TOKEN_LENGTH);
    assert.match(t.token, /^gatehouse_(inv|usr)_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(parseToken(t.token), { kind: t.kind, id: t.id });
    assert.equal(t.hash, hashToken(t.token));
    assert.ok(!t.hash.includes(t.token.slice(-43)), 'the hash is not the secret');
    seen.add(t.token.slice(-43));
  }
  assert.equal(seen.size, 200, 'no repeats');
});

test('the secret part carries 32 bytes from the random source', () => {
  const calls: number[] = [];
  const t = issueToken('usr', (n) => {
    calls.push(n);
    return Buffer.alloc(n, 7);
  });
  assert.deepEqual(calls, [8, 32]);
  assert.equal(Buffer.from(t.token.slice(-43), 'base64url').length, 32);
});

test('tokenMatches: only the exact token matches its hash', () => {
  const t = issueToken('usr');
  assert.equal(tokenMatches(t.token, t.hash), true);
  assert.equal(tokenMatches(t.token + 'x', t.hash), false);
  assert.equal(tokenMatches(t.token.slice(0, -1) + (t.token.endsWith('a') ? 'b' : 'a'), t.hash), false);
  assert.equal(tokenMatches(t.token, t.hash.toUpperCase()), false, 'a stored hash must be lower-case hex');
  assert.equal(tokenMatches(t.token, ''), false);
  assert.equal(tokenMatches(t.token, 'zz'.repeat(32)), false);
});

test('parseToken refuses everything that is not exactly the shape', () => {
  const t = issueToken('inv').token;
  for (const bad of ['', t + '=', ' ' + t, t.replace('gatehouse_', 'Gatehouse_'), t.replace('_inv_', '_adm_'), t.slice(0, -1), t.replace(/_([0-9a-f]{16})_/, '_$1x_'.slice(0, 0) + '_ABCDEF0123456789_'), 42, null, undefined, {}, [t]]) {
    assert.equal(parseToken(bad), undefined, JSON.stringify(bad));
  }
});

test('bearerToken: the Bearer scheme, any case, one token', () => {
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bearer abc'), 'abc');
  assert.equal(bearerToken('BEARER   abc  '), 'abc');
  for (const bad of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'Bearer a b', 'Bearerabc', `Bearer ${'a'.repeat(2000)}`, ['Bearer a']]) {
    assert.equal(bearerToken(bad), undefined, JSON.stringify(bad));
  }
});
