import { test } from 'node:test';
import assert from 'node:assert/strict';
import { table, details, age, forDisplay } from '../../../src/cli/format.js';
import { parseExpiry, bindingName, nameFragment } from '../../../src/client/assignments.js';
import { editDistance, nearestNames } from '../../../src/client/edits.js';

test('table pads every column but the last, kubectl-style', () => {
  assert.equal(table(['NAME', 'STATE'], [['alice', 'Active'], ['bo', 'Pending']]), 'NAME    STATE\nalice   Active\nbo      Pending\n');
});

test('details aligns values and indents lists; empty lists say <none>', () => {
  assert.equal(details([['Name', 'alice'], ['Teams', ['a', 'b']], ['Roles', []]]), 'Name:   alice\nTeams:\n  a\n  b\nRoles:  <none>\n');
});

test('age uses the units kubectl uses', () => {
  const now = Date.parse('2026-01-10T00:00:00Z');
  assert.equal(age('2026-01-09T23:59:30Z', now), '30s');
  assert.equal(age('2026-01-09T23:00:00Z', now), '60m');
  assert.equal(age('2026-01-09T00:00:00Z', now), '24h');
  assert.equal(age('2026-01-01T00:00:00Z', now), '9d');
  assert.equal(age(undefined, now), '<unknown>');
});

test('parseExpiry: durations from now and RFC 3339 times, in UTC without milliseconds', () => {
  const now = Date.parse('2026-01-01T00:00:00.500Z');
  assert.equal(parseExpiry('24h', now), '2026-01-02T00:00:00Z');
  assert.equal(parseExpiry('7d', now), '2026-01-08T00:00:00Z');
  assert.equal(parseExpiry('1d12h', now), '2026-01-02T12:00:00Z');
  assert.equal(parseExpiry('90m', now), '2026-01-01T01:30:00Z');
  assert.equal(parseExpiry('2026-12-31T00:00:00Z', now), '2026-12-31T00:00:00Z');
  assert.equal(parseExpiry('2026-12-31T02:00:00+02:00', now), '2026-12-31T00:00:00Z');
  assert.throws(() => parseExpiry('2025-01-01T00:00:00Z', now), /is in the past/);
  assert.throws(() => parseExpiry('0h', now), /positive/);
  assert.throws(() => parseExpiry('tomorrow', now), /neither a duration/);
  assert.throws(() => parseExpiry('2026-13-45', now), /neither a duration/);
});

test('editDistance is Levenshtein', () => {
  assert.equal(editDistance('alice', 'alice'), 0);
  assert.equal(editDistance('alcie', 'alice'), 2);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('nearestNames: close names first, far ones left out, substrings count as close', () => {
  assert.deepEqual(nearestNames('alcie', ['alice', 'bob', 'alicia', 'zed']), ['alice', 'alicia']);
  assert.deepEqual(nearestNames('bob', ['alice', 'carol']), []);
  assert.deepEqual(nearestNames('alice', ['alice@example.com', 'bob']), ['alice@example.com']);
});

test('bindingName is readable, a valid object name, and differs by scope but not by subject order', () => {
  const a = bindingName('researcher', [{ kind: 'Team', name: 'vision' }], { namespaces: ['vision-dev'] });
  assert.match(a, /^researcher-vision-[0-9a-f]{6}$/);
  assert.notEqual(a, bindingName('researcher', [{ kind: 'Team', name: 'vision' }], { cluster: true }));
  const two = bindingName('r', [{ kind: 'User', name: 'Alice@Example.com' }, { kind: 'Group', name: 'g' }], { cluster: true });
  assert.match(two, /^r-alice-example-com-and-1-[0-9a-f]{6}$/);
  const swapped = bindingName('r', [{ kind: 'Group', name: 'g' }, { kind: 'User', name: 'Alice@Example.com' }], { cluster: true });
  assert.equal(swapped.slice(-6), two.slice(-6), 'the hash does not depend on the order subjects were given in');
  assert.ok(bindingName('x'.repeat(300), [{ kind: 'User', name: 'y'.repeat(300) }], {}).length <= 253);
  assert.equal(nameFragment('--Hello World--'), 'hello-world');
});

test('forDisplay drops managedFields only', () => {
  assert.deepEqual(forDisplay({ metadata: { name: 'a', managedFields: [1] }, spec: {} }), { metadata: { name: 'a' }, spec: {} });
});
