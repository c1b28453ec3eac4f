// Issue 32 finding 12 ("Must show"): a fuzz pass of the plugin's human outputs. Objects stored
// with hostile strings in every field a printer reads (as an older version, or a break-glass
// write, could have stored them) never put a control character, a bidi override or a forged line
// on the terminal: every output goes through format.ts escapeControls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { run } from '../../../src/cli/run.js';
import { FakeClient, runFake } from '../../support/fake-client.js';
import { escapeControls, table, details } from '../../../src/cli/format.js';

// What must never reach the terminal from a field: every control character but the printer's own
// line breaks, and the bidi and line-separator characters.
const UNSAFE = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u;
const MARK = 'FORGED';

const hostile = fc.oneof(
  fc.array(fc.constantFrom('\n', '\r', '\u001b[2K', '\u001b]8;;http://x\u0007', '\u0007', '\u0008', '\u007f', '\u009b', '\u202e', '\u2066', '\u2028', '\t', 'a', ' ', 'é', '张', `\n${MARK}`, `\r${MARK}`), { maxLength: 8 }).map((a) => a.join('')),
  fc.string({ unit: 'binary', maxLength: 16 }),
).map((s) => `x${s}\n${MARK} Active superuser`);

function assertClean(out: string, where: string): void {
  for (const line of out.split('\n')) {
    assert.ok(!UNSAFE.test(line), `${where}: control character reached the terminal in ${JSON.stringify(line)}`);
    assert.ok(!line.startsWith(MARK), `${where}: a field started a line: ${JSON.stringify(line)}`);
  }
}

test('escapeControls: every unsafe character becomes \\uXXXX, line breaks only when asked', () => {
  assert.equal(escapeControls('a\u001b[2Kb'), 'a\\u001b[2Kb');
  assert.equal(escapeControls('a\nb'), 'a\\u000ab');
  assert.equal(escapeControls('a\nb', true), 'a\nb');
  assert.equal(escapeControls('\u202eevil'), '\\u202eevil');
  // JSON output stays JSON that decodes to the same string.
  const json = JSON.stringify({ v: 'a\u202e\u007fb' });
  assert.deepEqual(JSON.parse(escapeControls(json, true)), { v: 'a\u202e\u007fb' });
  assertClean(table(['A'], [['x\nFORGED']]), 'table');
  assertClean(details([['k', 'x\nFORGED'], ['l', ['y\nFORGED']]]), 'details');
});

test('fuzz: user list/show, team list/show, role list/show and role assignment list print no control character from any field', async () => {
  await fc.assert(fc.asyncProperty(fc.array(hostile, { minLength: 12, maxLength: 12 }), async (s) => {
    const client = new FakeClient();
    const cond = [{ type: 'Ready', status: 'False', reason: s[10], message: s[11] }];
    client.seed('User', { metadata: { name: 'mallory', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { username: s[0], email: s[1], displayName: s[2], state: 'Pending' }, status: { teams: [s[3]], roles: [s[4]], conditions: cond } } as never);
    client.seed('Team', { metadata: { name: 'vision', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { description: s[5], members: ['mallory', s[6]], groups: [s[7]], namespaces: [s[8]] }, status: { conditions: cond } } as never);
    client.seed('Role', { metadata: { name: 'r', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { description: s[9], permissions: [s[9]], canAssign: [s[3]] }, status: { conditions: cond } } as never);
    client.seed('RoleBinding', { metadata: { name: 'b', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { role: 'r', subjects: [{ kind: 'User', name: 'mallory' }, { kind: 'Group', name: s[7] }], scope: { teams: ['vision', s[8]] }, expiresAt: s[4] }, status: { conditions: cond } } as never);
    for (const argv of [['user', 'list'], ['user', 'list', '-o', 'wide'], ['user', 'show', 'mallory'], ['team', 'list'], ['team', 'show', 'vision'], ['role', 'list'], ['role', 'show', 'r'], ['role', 'assignment', 'list'], ['user', 'list', '-o', 'json'], ['team', 'show', 'nope']]) {
      const res = await runFake(run, argv, client);
      assertClean(res.stdout, argv.join(' '));
      assertClean(res.stderr, argv.join(' ') + ' (stderr)');
    }
  }), { numRuns: 200 });
});
