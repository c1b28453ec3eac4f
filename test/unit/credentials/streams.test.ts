// The proxy's index of open streams (issue 19, finding 3) and the TokenReview audience rule
// (finding 8), one by one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStreamRegistry } from '../../../src/credentials/streams.js';
import { acceptedAudiences } from '../../../src/credentials/tokenreview.js';

test('streams: indexed by token and user; sweep ends exactly those whose token is no longer live', () => {
  const reg = createStreamRegistry();
  const ended: string[] = [];
  const a1 = reg.open({ tokenId: 't1', user: 'alice', username: 'alice' }, 'request', () => ended.push('a1'));
  reg.open({ tokenId: 't1', user: 'alice', username: 'alice' }, 'upgrade', () => ended.push('a2'));
  reg.open({ tokenId: 't2', user: 'alice', username: 'alice' }, 'request', () => ended.push('a3'));
  reg.open({ tokenId: 't3', user: 'bob', username: 'bob' }, 'upgrade', () => ended.push('b1'));
  assert.equal(reg.size, 4);
  assert.equal(reg.count('upgrade'), 2);
  a1(); // closed by the client: forgotten, never ended
  assert.equal(reg.size, 3);
  assert.equal(reg.sweep((id) => id !== 't1'), 1);
  assert.deepEqual(ended, ['a2']);
  assert.equal(reg.endUser('alice'), 1);
  assert.deepEqual(ended, ['a2', 'a3']);
  // A username that changed since the stream opened ends it too.
  assert.equal(reg.sweep((_id, username) => username === 'robert'), 1);
  assert.deepEqual(ended, ['a2', 'a3', 'b1']);
  assert.equal(reg.size, 0);
});

test('streams: an end() that throws does not keep the others open', () => {
  const reg = createStreamRegistry();
  let ended = 0;
  reg.open({ tokenId: 't', user: 'u', username: 'u' }, 'request', () => {
    throw new Error('already gone');
  });
  reg.open({ tokenId: 't', user: 'u', username: 'u' }, 'request', () => ended++);
  assert.equal(reg.endToken('t'), 2);
  assert.equal(ended, 1);
  assert.equal(reg.endAll(), 0);
});

test('audiences: never the requested list itself; none configured means the API server\'s own (no audience named)', () => {
  assert.deepEqual(acceptedAudiences([], []), []);
  assert.deepEqual(acceptedAudiences(['vault'], []), [], 'answered without an audience: valid for the API server only');
  assert.deepEqual(acceptedAudiences(['vault'], ['https://kubernetes.default.svc']), undefined);
  assert.deepEqual(acceptedAudiences(['vault', 'https://kubernetes.default.svc', 'https://kubernetes.default.svc'], ['https://kubernetes.default.svc']), ['https://kubernetes.default.svc']);
  assert.deepEqual(acceptedAudiences([], ['a', 'b']), ['a', 'b']);
});
