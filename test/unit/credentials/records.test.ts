// The credential Secret's document: decoding refuses what it cannot trust, transitions are pure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addRecord, credentialSecretName, decodeCredentials, encodeCredentials, markRedeemed, MAX_RECORDS, prune, RecordLimitError, recordProblem, TOMBSTONE_MS, forUser, type UserCredentials } from '../../../src/credentials/records.js';
import { createRateLimiter } from '../../../src/credentials/ratelimit.js';
import { issueToken } from '../../../src/credentials/token.js';

const rec = (kind: 'inv' | 'usr', extra = {}) => {
  const t = issueToken(kind);
  return { id: t.id, kind, hash: t.hash, issuedAt: 1000, ...extra };
};

test('encode/decode round-trips; bad records are dropped, bad documents refused', () => {
  const creds: UserCredentials = { user: 'alice', uid: 'u1', records: [rec('usr'), rec('inv', { expiresAt: 5000 })], seedGenerated: true };
  assert.deepEqual(decodeCredentials(encodeCredentials(creds)), creds);
  const withBad = { ...creds, records: [...creds.records, { id: 'x', kind: 'usr', hash: 'h', issuedAt: 1 }, { ...rec('usr'), kind: 'root' }, null] };
  assert.equal(decodeCredentials({ 'credentials.json': Buffer.from(JSON.stringify(withBad)).toString('base64') })?.records.length, 2);
  for (const data of [undefined, {}, { 'credentials.json': 'not base64 json' }, { 'credentials.json': Buffer.from('[]').toString('base64') }, { 'credentials.json': Buffer.from('{"user":1}').toString('base64') }]) {
    assert.equal(decodeCredentials(data as Record<string, string> | undefined), undefined);
  }
});

test('records: limit, redemption, expiry, pruning, a new uid starts empty', () => {
  let c: UserCredentials = { user: 'a', uid: 'u', records: [] };
  for (let i = 0; i < MAX_RECORDS; i++) c = addRecord(c, rec('usr'), 0);
  assert.throws(() => addRecord(c, rec('usr'), 0), RecordLimitError);
  const inv = rec('inv', { expiresAt: 2000 });
  let d = addRecord({ user: 'a', uid: 'u', records: [] }, inv, 0);
  assert.equal(recordProblem(d.records[0]!, 'inv', 1999), undefined);
  assert.equal(recordProblem(d.records[0]!, 'inv', 2000), 'expired');
  assert.equal(recordProblem(d.records[0]!, 'usr', 0), 'wrongKind');
  d = markRedeemed(d, inv.id, 1500);
  assert.equal(recordProblem(d.records[0]!, 'inv', 1600), 'redeemed');
  assert.equal(prune(d, 1500 + TOMBSTONE_MS - 1).records.length, 1);
  assert.equal(prune(d, 1500 + TOMBSTONE_MS).records.length, 0);
  assert.equal(forUser(d, 'a', 'u'), d);
  assert.deepEqual(forUser(d, 'a', 'other').records, []);
});

test('secret names fit the 253-character limit and stay distinct', () => {
  assert.equal(credentialSecretName('alice'), 'gatehouse-credentials-alice');
  const a = credentialSecretName('a'.repeat(253));
  const b = credentialSecretName('a'.repeat(252) + 'b');
  assert.ok(a.length <= 253 && b.length <= 253 && a !== b);
});

test('rate limiter: a bucket per key, refilled over a minute, bounded in size', () => {
  const rl = createRateLimiter(2, 3);
  assert.ok(rl.take('k', 0) && rl.take('k', 0));
  assert.equal(rl.take('k', 0), false);
  assert.equal(rl.allows('k', 29_999), false);
  assert.equal(rl.allows('k', 30_000), true);
  for (const k of ['a', 'b', 'c', 'd']) rl.take(k, 0);
  assert.equal(rl.size, 3);
});
