// Policy as code (issue 25), in-process: --from for can-i, explain, who-can and role assignment
// list; lint, test and diff - all over files in memory, with a client that throws if made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doc, join, runFiles } from '../../support/policy-files.js';
import { documents, readManifests, valuesConfig } from '../../../src/policy/sources.js';
import { junit, parseExpectations } from '../../../src/policy/expectations.js';
import { schemaErrors } from '../../../src/policy/schema.js';

const POLICY = {
  'repo/policy/roles.yaml': join(doc.role('researcher', ['batch/jobs:*', 'pods:read']), doc.role('viewer', ['*:read'])),
  'repo/policy/teams.yaml': join(doc.team('vision', ['alice'], ', namespaces: [vision-dev]')),
  'repo/policy/users/people.yaml': join(doc.user('alice'), doc.user('bob'), doc.user('root', '{state: Active, superuser: true}')),
  'repo/policy/bindings.yaml': join(doc.binding('vision-researchers', 'researcher', [{ kind: 'Team', name: 'vision' }], { teams: ['vision'] })),
  'repo/policy/ns.yaml': join(doc.namespace('vision-dev'), doc.namespace('pub', { 'iam.gatehouse.dev/visibility': 'public' })),
  'repo/policy/README.md': 'not a manifest',
  'repo/values.yaml': 'seedAdmins: [{username: admin@example.com}]\nprojects: {publicRole: viewer}\nlogLevel: debug\n',
};

test('readManifests: folders recursively (YAML and JSON only, in name order), files, stdin', () => {
  const io = {
    readFile: (f: string) => (POLICY as Record<string, string>)[f] ?? (() => { throw new Error('missing'); })(),
    listDir: (d: string) => (d === 'repo/policy' ? ['roles.yaml', 'users', 'README.md', 'ns.yaml', 'teams.yaml', 'bindings.yaml'] : d === 'repo/policy/users' ? ['people.yaml'] : undefined),
  };
  assert.deepEqual(readManifests(['repo/policy'], io).map((m) => m.name), ['repo/policy/bindings.yaml', 'repo/policy/ns.yaml', 'repo/policy/roles.yaml', 'repo/policy/teams.yaml', 'repo/policy/users/people.yaml']);
  assert.throws(() => readManifests(['nope.yaml'], io), /nope.yaml: cannot read/);
  const { docs, problems } = documents([{ name: 'a', text: 'kind: List\napiVersion: v1\nitems: [{apiVersion: v1, kind: Namespace, metadata: {name: x}}, 3]\n---\n[1]\n---\n' }]);
  assert.deepEqual(docs.map((d) => [d.kind, d.name, d.index, d.item]), [['Namespace', 'x', 0, 'items[0]']]);
  assert.deepEqual(problems.map((p) => p.message), ['items[1] is not an object', 'a document that is not an object']);
});

test('valuesConfig: the chart values\' policy keys through the operator\'s parseConfig, merged as helm -f does; bad values a usage error', () => {
  const c = valuesConfig([{ text: 'seedAdmins: [{username: a@example.com}]\ndefaults: {role: viewer, team: everyone}\nimage: {tag: x}\n', source: 'v.yaml' }]);
  assert.deepEqual(c.seedAdmins, [{ username: 'a@example.com' }]);
  assert.equal(c.defaults.role, 'viewer');
  // An override file over the chart's: maps merged key by key, lists replaced, null removes.
  const o = valuesConfig([
    { text: 'seedAdmins: [{username: admin}]\ndefaults: {role: viewer, team: everyone}\nauthorization: {mode: webhook, ignoreUsers: [a]}\n', source: 'chart' },
    { text: 'seedAdmins: [{username: root}]\ndefaults: {team: null}\nauthorization: {ignoreUsers: [b]}\n', source: 'mine' },
  ]);
  assert.deepEqual(o.seedAdmins, [{ username: 'root' }]);
  assert.deepEqual(o.defaults, { role: 'viewer' });
  assert.deepEqual(o.authorization.ignoreUsers, ['b']);
  assert.throws(() => valuesConfig([{ text: 'registration: {mode: sometimes}\n', source: 'v.yaml' }]), /--values: v.yaml: .*registration/);
  assert.throws(() => valuesConfig([{ text: '[1', source: 'v.yaml' }]), /v.yaml: not YAML/);
});

test('can-i --from: the answer from files and values; no cluster contacted; --as required', async () => {
  const yes = await runFiles(['can-i', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice', '--from', 'repo/policy', '--values', 'repo/values.yaml'], POLICY);
  assert.equal(yes.code, 0, yes.stderr);
  assert.match(yes.stdout, /^yes\ngatehouse: yes - role researcher via binding vision-researchers/);
  assert.match(yes.stdout, /source: decided from files, no cluster contacted \(5 files \(repo\/policy\): 4 users, 2 roles, 1 teams, 1 role assignments, 2 namespaces; policy from the chart values repo\/values.yaml\)/);
  const no = await runFiles(['can-i', 'delete', 'pods', '-n', 'vision-dev', '--as', 'alice', '--from', 'repo/policy'], POLICY);
  assert.equal(no.code, 1, no.stderr);
  // The values' publicRole and seed admin count only with --values.
  const pub = await runFiles(['can-i', 'get', 'pods', '-n', 'pub', '--as', 'bob', '--from', 'repo/policy', '--values', 'repo/values.yaml'], POLICY);
  assert.equal(pub.code, 0, pub.stdout);
  assert.equal((await runFiles(['can-i', 'get', 'pods', '-n', 'pub', '--as', 'bob', '--from', 'repo/policy'], POLICY)).code, 1);
  const seed = await runFiles(['can-i', 'delete', 'nodes', '--as', 'admin@example.com', '--from', 'repo/policy', '--values', 'repo/values.yaml'], POLICY);
  assert.equal(seed.code, 0, seed.stdout);
  const noAs = await runFiles(['can-i', 'get', 'pods', '--from', 'repo/policy'], POLICY);
  assert.equal(noAs.code, 2);
  assert.match(noAs.stderr, /with --from, say whom to ask about: --as USER/);
  const both = await runFiles(['can-i', 'get', 'pods', '--as', 'a', '--from', 'repo/policy', '--ask-apiserver'], POLICY);
  assert.equal(both.code, 2);
  // Stdin (kustomize build | ...), and a broken document is an error, never a partial answer.
  const stdin = await runFiles(['can-i', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice', '--from', '-'], {}, { stdin: Object.values(POLICY).slice(0, 5).join('---\n') });
  assert.equal(stdin.code, 0, stdin.stderr);
  const broken = await runFiles(['can-i', 'get', 'pods', '--as', 'root', '--from', '-'], {}, { stdin: `${doc.user('root', '{state: Active, superuser: true}')}\n---\nkey: [unclosed\n` });
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /<stdin>#?.*not YAML/);
});

test('explain, who-can and role assignment list --from', async () => {
  const ex = await runFiles(['explain', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice', '--from', 'repo/policy'], POLICY);
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stdout, /vision-researchers +researcher +Team vision/);
  const who = await runFiles(['who-can', 'create', 'jobs', '-n', 'vision-dev', '--from', 'repo/policy', '-o', 'json'], POLICY);
  assert.equal(who.code, 0, who.stderr);
  const subjects = (JSON.parse(who.stdout) as { subjects: Array<{ subject: { kind: string; name: string } }> }).subjects.map((s) => `${s.subject.kind} ${s.subject.name}`).sort();
  assert.deepEqual(subjects, ['Team vision', 'User root']);
  const list = await runFiles(['role', 'assignment', 'list', '--user', 'alice', '--from', 'repo/policy'], POLICY);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /vision-researchers +researcher +Team vision/);
});

test('lint: a clean set; each error with file, document, field path and admission rule id; dangling references warned', async () => {
  const clean = await runFiles(['lint', 'repo/policy'], POLICY);
  assert.equal(clean.code, 0, clean.stdout);
  assert.match(clean.stdout, /9 objects in 5 files \(repo\/policy\): 0 errors, 0 warnings/);
  const bad = {
    'p/a.yaml': join(
      doc.user('root', '{state: Active, superuser: true}'),
      doc.role('bad-syntax', ['pods:fly:now']),
      doc.binding('dangling', 'no-such-role', [{ kind: 'User', name: 'ghost' }], { namespaces: ['x'] }),
      doc.binding('two-scopes', 'viewer', [{ kind: 'User', name: 'root' }], { cluster: true, namespaces: ['x'] }),
      doc.role('viewer', ['*:read']),
    ),
    'p/b.yaml': join(doc.role('viewer', ['pods:read']), doc.role('loop-a', ['pods:read'], ', includes: [loop-b]'), doc.role('loop-b', ['pods:read'], ', includes: [loop-a]')),
  };
  const res = await runFiles(['lint', 'p', '-o', 'json'], bad);
  assert.equal(res.code, 1);
  const out = JSON.parse(res.stdout) as { messages: Array<{ severity: string; file: string; document: number; path: string; rule?: string; message: string }> };
  const errors = out.messages.filter((m) => m.severity === 'error').map((m) => `${m.file}#${m.document} ${m.path} ${m.rule}`);
  assert.ok(errors.includes('p/a.yaml#1 spec.permissions[0] permission-syntax'), errors.join('\n'));
  assert.ok(errors.includes('p/a.yaml#3 spec.scope schema'), errors.join('\n'));
  assert.ok(errors.includes('p/b.yaml#0 metadata.name duplicate-object'), errors.join('\n'));
  assert.ok(errors.some((e) => /^p\/b.yaml#[12] spec.includes.* role-include-cycle$/.test(e)), errors.join('\n'));
  const warnings = out.messages.filter((m) => m.severity === 'warning').map((m) => `${m.file}#${m.document} ${m.path}: ${m.message}`);
  assert.ok(warnings.some((w) => /^p\/a.yaml#2 spec.role: Role no-such-role does not exist/.test(w)), warnings.join('\n'));
  assert.ok(warnings.some((w) => /^p\/a.yaml#2 spec.subjects\[0\]: User ghost does not exist/.test(w)), warnings.join('\n'));
  // The text form names the same place.
  const text = await runFiles(['lint', 'p'], bad);
  assert.match(text.stdout, /^error: p\/a.yaml#1 \(Role bad-syntax\) spec.permissions\[0\]: .* \(rule: permission-syntax\)$/m);
});

test('lint: the no-lockout rule over the whole set; a seed admin from the values satisfies it; a file may not define a seed admin', async () => {
  const files = { 'p.yaml': join(doc.user('alice'), doc.role('viewer', ['*:read'])), 'v.yaml': 'seedAdmins: [{username: root}]\n' };
  const none = await runFiles(['lint', 'p.yaml'], files);
  assert.equal(none.code, 1);
  assert.match(none.stdout, /no Active superuser.*\(rule: last-superuser\)/);
  assert.equal((await runFiles(['lint', 'p.yaml', '--values', 'v.yaml'], files)).code, 0);
  const seedInFile = await runFiles(['lint', 'p.yaml', '--values', 'v.yaml'], { ...files, 'p.yaml': join(doc.user('root', '{state: Active, superuser: true}')) });
  assert.equal(seedInFile.code, 1);
  assert.match(seedInFile.stdout, /\(rule: seed-protected\)/);
});

test('lint --as --base: the change checked as its author makes it (escalation, delegation, superuser-only)', async () => {
  const base = join(
    doc.user('root', '{state: Active, superuser: true}'), doc.user('alice'),
    doc.role('viewer', ['pods:read']), doc.role('admin', ['*:*']),
    doc.role('team-lead', ['iam.gatehouse.dev/rolebindings:*', 'pods:read']),
    doc.namespace('a'),
    doc.binding('alice-lead', 'team-lead', [{ kind: 'User', name: 'alice' }], { namespaces: ['a'] }),
  );
  const files = {
    'base/p.yaml': base,
    'ok/p.yaml': join(base, doc.binding('bob-viewer', 'viewer', [{ kind: 'User', name: 'bob' }], { namespaces: ['a'] })),
    'esc/p.yaml': join(base, doc.binding('alice-admin', 'admin', [{ kind: 'User', name: 'alice' }], { namespaces: ['a'] })),
    'su/p.yaml': base.replace('{name: alice}\nspec: {state: Active}', '{name: alice}\nspec: {state: Active, superuser: true}'),
  };
  const ok = await runFiles(['lint', 'ok', '--as', 'alice', '--base', 'base'], files);
  assert.equal(ok.code, 0, ok.stdout);
  const esc = await runFiles(['lint', 'esc', '--as', 'alice', '--base', 'base'], files);
  assert.equal(esc.code, 1);
  assert.match(esc.stdout, /esc\/p.yaml#7 \(RoleBinding alice-admin\) \[CREATE\] spec.role: as alice: .*\(rule: no-escalation\)/);
  // Without --as the same files are fine: the GitOps controller's privilege is RBAC's to judge.
  assert.equal((await runFiles(['lint', 'esc'], files)).code, 0);
  const su = await runFiles(['lint', 'su', '--as', 'alice', '--base', 'base'], files);
  assert.equal(su.code, 1);
  assert.match(su.stdout, /\[UPDATE\] spec.superuser: .*\(rule: superuser-only\)/);
  assert.equal((await runFiles(['lint', 'su', '--base', 'base'], files)).code, 2, '--base without --as');
});

test('test: expectations pass (exit 0); a failing one exits 1 and is named; --junit writes XML that parses', async () => {
  const expectations = `from: [policy]\nvalues: values.yaml\ntests:\n` +
    '  - {as: alice, can: create jobs.batch, namespace: vision-dev, expect: "yes"}\n' +
    '  - {as: alice, can: delete pods, namespace: vision-dev, expect: "no"}\n' +
    '  - {who-can: create jobs.batch, namespace: vision-dev, expect: [Team vision, User root, User admin@example.com]}\n' +
    '  - {who-can: get pods, namespace: pub, expect: {includes: [AllActiveUsers], excludes: [Team nobody]}}\n' +
    '  - lint: clean\n';
  const files = { ...POLICY, 'repo/t.yaml': expectations };
  const pass = await runFiles(['test', 'repo/t.yaml', '--junit', 'out.xml'], files);
  assert.equal(pass.code, 0, pass.stdout + pass.stderr);
  assert.match(pass.stdout, /5 passed, 0 failed/);
  const failing = expectations + '  - {name: bob runs jobs, as: bob, can: create jobs.batch, namespace: vision-dev, expect: "yes"}\n';
  const fail = await runFiles(['test', 'repo/t.yaml', '--junit', 'out.xml'], { ...files, 'repo/t.yaml': failing });
  assert.equal(fail.code, 1);
  assert.match(fail.stdout, /FAIL {2}bob runs jobs\n {8}expected yes, got no/);
  assert.match(fail.stdout, /5 passed, 1 failed: bob runs jobs/);
  const xml = fail.written.get('out.xml') ?? '';
  const cases = [...xml.matchAll(/<testcase classname="([^"]*)" name="([^"]*)"(\/>|>\s*<failure message="([^"]*)">)/g)];
  assert.equal(cases.length, 6);
  assert.deepEqual(cases.filter((c) => c[3] !== '/>').map((c) => c[2]), ['bob runs jobs']);
  assert.match(xml, /<testsuites name="gatehouse policy" tests="6" failures="1">/);
  // A malformed expectations file is a usage error naming the entry.
  const badFile = await runFiles(['test', 'repo/t.yaml'], { ...files, 'repo/t.yaml': 'tests:\n  - {as: a, can: get pods, expect: maybe}\n' });
  assert.equal(badFile.code, 2);
  assert.match(badFile.stderr, /tests\[0\]: expect must be yes or no/);
});

test('junit: escapes names and details; parseExpectations accepts a bare list', () => {
  const xml = junit([{ file: 'a&b.yaml', results: [{ name: '<x> "y"', passed: false, detail: 'a\u0001b & c' }] }]);
  assert.match(xml, /classname="a&amp;b.yaml" name="&lt;x&gt; &quot;y&quot;"/);
  assert.match(xml, /message="ab &amp; c"/);
  assert.equal(parseExpectations('- {lint: clean}\n', 'f').tests.length, 1);
});

test('diff: a team member added gains exactly what the team holds, and nobody else changes', async () => {
  const after = POLICY['repo/policy/teams.yaml'].replace('members: ["alice"]', 'members: ["alice","bob"]');
  const files = { ...Object.fromEntries(Object.entries(POLICY).map(([k, v]) => [k.replace('repo/', 'base/'), v])), ...POLICY, 'repo/policy/teams.yaml': after };
  const res = await runFiles(['diff', '--base', 'base/policy', '--from', 'repo/policy', '-o', 'json'], files);
  assert.equal(res.code, 0, res.stderr);
  const out = JSON.parse(res.stdout) as { users: Array<{ user: string; gained: string[]; lost: string[] }> };
  assert.deepEqual(out.users, [{
    user: 'bob',
    gained: [
      'batch/jobs:* in namespace vision-dev [role researcher via vision-researchers]',
      'batch/jobs:* in team vision\'s scope [role researcher via vision-researchers]',
      'member of team vision',
      'pods:read in namespace vision-dev [role researcher via vision-researchers]',
      'pods:read in team vision\'s scope [role researcher via vision-researchers]',
    ],
    lost: [],
  }]);
  const md = await runFiles(['diff', '--base', 'base/policy', '--from', 'repo/policy', '--markdown', '--exit-code'], files);
  assert.equal(md.code, 1);
  assert.match(md.stdout, /### bob\n\+ batch\/jobs:\* in namespace vision-dev/);
  const same = await runFiles(['diff', '--base', 'repo/policy', '--from', 'repo/policy', '--exit-code'], files);
  assert.equal(same.code, 0);
  assert.match(same.stdout, /no user gains or loses access/);
});

test('schemaErrors: the CRD schema from crds/ (RE2 patterns read as JavaScript), enums named, the object name', () => {
  assert.deepEqual(schemaErrors('Role', { apiVersion: 'iam.gatehouse.dev/v1alpha1', kind: 'Role', metadata: { name: 'ok' }, spec: { permissions: ['pods:read'] } }), []);
  const user = schemaErrors('User', { metadata: { name: 'Bad_Name' }, spec: { username: ' x', state: 'Sleeping' } });
  assert.deepEqual(user.map((e) => e.path), ['metadata.name', 'spec.username', 'spec.state']);
  assert.match(user[2]?.message ?? '', /"Pending", "Active", "Rejected", "Suspended"/);
  // A bidirectional override in a description (the Trojan Source characters) is refused.
  assert.deepEqual(schemaErrors('Team', { metadata: { name: 't' }, spec: { description: 'a\u202eb' } }).map((e) => e.path), ['spec.description']);
  assert.deepEqual(schemaErrors('RoleBinding', { metadata: { name: 'r' }, spec: { role: 'x', subjects: [{ kind: 'Robot', name: 'a' }], scope: { cluster: true, teams: ['a'] }, expiresAt: 'soon' } }).map((e) => e.path),
    ['spec.subjects[0].kind', 'spec.scope', 'spec.expiresAt']);
});

test('--from refuses to answer over an object the API server would refuse; lint says why', async () => {
  const files = { 'p.yaml': join(doc.user('root', '{state: Active, superuser: true}'), doc.user('Bad_Name')) };
  const res = await runFiles(['can-i', 'get', 'pods', '--as', 'root', '--from', 'p.yaml'], files);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /p.yaml#1: User Bad_Name would be refused by the API server/);
  const lint = await runFiles(['lint', 'p.yaml'], files);
  assert.equal(lint.code, 1);
  assert.match(lint.stdout, /p.yaml#1 \(User Bad_Name\) metadata.name: .*\(rule: schema\)/);
});
