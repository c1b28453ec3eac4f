// The canonical username and the text fields administrators read (src/api/username.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emailProblem, headerSafe, MAX_USERNAME_LENGTH, textProblem, userObjectName, usernameProblem } from '../../../src/api/username.js';

test('canonical usernames: emails, OIDC prefixes, issuer URLs and Unicode letters pass', () => {
  for (const ok of ['alice', 'alice@example.com', 'oidc:alice', 'https://issuer.example#1234', 'zoë', 'ana.maría', '张伟', 'a_b+c=d~e/f']) {
    assert.equal(usernameProblem(ok), undefined, ok);
  }
});

test('non-canonical usernames are refused, each with its reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['grace ', /no spaces/],
    [' grace', /no spaces/],
    ['gr ace', /no spaces/],
    ['grace\t', /no spaces/],
    ['grace\u00a0', /no spaces/],
    ['grace\u200b', /format/],
    ['gra\u202ece', /format/],
    ['a,b', /commas/],
    ['a\u0000b', /control/],
    ['e\u0301', /NFC/], // e + combining acute: NFC is U+00E9
    ['system:kube-controller-manager', /system:/],
    ['system:masters', /system:/],
    ['x'.repeat(MAX_USERNAME_LENGTH + 1), /at most/],
  ];
  for (const [value, reason] of cases) assert.match(usernameProblem(value) ?? 'accepted', reason, JSON.stringify(value));
});

test('fuzz: whatever is accepted has one spelling that survives trimming, NFC and the system: rule', () => {
  const alphabet = fc.constantFrom('a', 'Z', '0', ' ', '\t', '\n', '\r', '\u0000', '\u001b', '\u007f', '\u0085', '\u00a0', '\u200b', '\u202e', '\u2066', ',', ':', 's', 'y', 't', 'e', 'm', '\u0301', 'é', 'ß', '张', '@', '.', '-', '"', '\'', '\\', '/');
  fc.assert(fc.property(fc.oneof(
    fc.string({ unit: alphabet, maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: alphabet, maxLength: 10 }).map((s) => 'system:' + s),
    fc.string({ unit: alphabet, maxLength: 10 }).map((s) => ' system:' + s),
    fc.nat(400).map((n) => 'a'.repeat(n)),
  ), (value) => {
    if (usernameProblem(value) !== undefined) return;
    assert.equal(value, value.trim());
    assert.equal(value, value.normalize('NFC'));
    assert.ok(value.length > 0 && value.length <= MAX_USERNAME_LENGTH);
    assert.ok(!value.startsWith('system:'));
    assert.doesNotMatch(value, /[\s,\p{Cc}\p{Cf}]/u);
  }), { numRuns: 5000 });
});

test('headerSafe: visible ASCII only (node writes headers as Latin-1, the API server trims)', () => {
  assert.ok(headerSafe('alice@example.com'));
  for (const bad of ['zoë', '张伟', 'a b', ' a', 'a\n', '']) assert.equal(headerSafe(bad), false, bad);
});

test('userObjectName: a valid name is itself; anything else is rendered with a hash of the username', () => {
  assert.equal(userObjectName('henry'), 'henry');
  assert.match(userObjectName('Henry'), /^henry-[0-9a-f]{8}$/);
  assert.notEqual(userObjectName('Henry'), userObjectName('HENRY'));
  assert.match(userObjectName('alice@example.com'), /^alice-example.com-[0-9a-f]{8}$/);
  assert.match(userObjectName('a..b'), /^a..b-[0-9a-f]{8}$|^a-b-[0-9a-f]{8}$|^a\.\.b-[0-9a-f]{8}$/);
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (u) => {
    const name = userObjectName(u);
    assert.ok(name.length <= 253);
    assert.match(name, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
  }), { numRuns: 2000 });
});

test('text fields: control characters, line breaks and bidi overrides are refused; emails have a real form', () => {
  assert.equal(textProblem('Grace Hopper (Platform)', 256), undefined);
  assert.equal(textProblem('Zoë 张伟 👩‍👩‍👧', 256), undefined);
  for (const bad of ['a\nActive', 'a\r', '\u001b[2K', 'bell\u0007', '\u202eevil', 'x\u2066', 'x\u2028y', '\u0085']) assert.match(textProblem(bad, 256) ?? 'accepted', /control/, JSON.stringify(bad));
  assert.match(textProblem('x'.repeat(257), 256) ?? '', /at most 256/);
  for (const ok of ['', 'alice@example.com', 'x@y', 'first.last+tag@sub.example.org', "o'brien@example.ie"]) assert.equal(emailProblem(ok), undefined, ok);
  for (const bad of ['dora', 'a@b@c', 'a b@c.d', 'a@b\u001b', '\u202ea@b.c', 'a@-b.c', 'a@b.c.', '.a@b.c', 'a\n@b.c', `${'a'.repeat(250)}@b.co`]) assert.notEqual(emailProblem(bad), undefined, JSON.stringify(bad));
});
