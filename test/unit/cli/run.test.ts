// The CLI in-process against an in-memory client: parsing, help, exit codes, output shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { run, COMMANDS } from '../../../src/cli/run.js';
import { FakeClient, runFake } from '../../support/fake-client.js';
import { CLI_PATH } from '../../support/cli.js';

const alice = { metadata: { name: 'alice', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { username: 'alice@example.com', state: 'Pending' as const } };

test('the built entry starts with a shebang, so the bin runs without `node` in front', () => {
  assert.match(readFileSync(CLI_PATH, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

test('every command has --help with a usage line and at least one example that uses it', async () => {
  for (const cmd of COMMANDS) {
    const res = await runFake(run, [...cmd.path, '--help'], new FakeClient());
    assert.equal(res.code, 0, cmd.path.join(' '));
    assert.match(res.stdout, new RegExp(`Usage:\\n  kubectl gatehouse ${cmd.path.join(' ').replace(/[-]/g, '\\-')}`), cmd.path.join(' '));
    assert.ok(cmd.examples.length > 0 && cmd.examples.every((e) => e.startsWith(`kubectl gatehouse ${cmd.path.join(' ')}`)), `examples of ${cmd.path.join(' ')}`);
    assert.match(res.stdout, /Examples:\n  kubectl gatehouse /);
  }
});

test('bare group words and `help` print the command list with exit codes', async () => {
  for (const argv of [[], ['--help'], ['role'], ['help'], ['help', 'role', 'assign']]) {
    const res = await runFake(run, argv, new FakeClient());
    assert.equal(res.code, 0, argv.join(' '));
  }
  const role = await runFake(run, ['role'], new FakeClient());
  assert.match(role.stdout, /role assignment list/);
  assert.doesNotMatch(role.stdout, /user create/);
  const top = await runFake(run, [], new FakeClient());
  assert.match(top.stdout, /Exit codes:\n  0 .*\n  1 .*\n  2 .*\n  3 /);
});

test('help and usage errors never touch the cluster', async () => {
  const client = new FakeClient();
  await runFake(run, ['user', 'list', '--help'], client);
  await runFake(run, ['user', 'create'], client);
  assert.deepEqual(client.calls, []);
});

test('usage errors exit 2 with a pointer to --help', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['user', 'create'], /user create needs NAME/],
    [['user', 'show', 'a', 'b'], /unexpected argument "b"/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['user', 'list', '-o', 'xml'], /-o xml: use yaml or json/],
    [['user', 'list', '--state', 'Sleeping'], /--state must be one of Pending, Active, Rejected, Suspended/],
    [['role', 'assign', 'r', '--scope', 'cluster'], /say to whom: --user NAME, --team NAME or --group NAME/],
    [['role', 'assign', 'r', '--user', 'a', '--scope', 'cluster', '--scope', 'team:x'], /exactly one kind of scope/],
    [['role', 'assign', 'r', '--user', 'a', '--scope', 'galaxy'], /--scope "galaxy": expected cluster, team:NAME or namespace:NAME/],
    [['role', 'create', 'r'], /give at least one -p PERMISSION/],
    [['role', 'create', 'r', '-p', 'jobs'], /invalid permission "jobs": missing ":action"/],
    [['team', 'add', 'vision'], /name at least one USER, --group GROUP or --namespace NAMESPACE/],
  ];
  for (const [argv, message] of cases) {
    const res = await runFake(run, argv, new FakeClient());
    assert.equal(res.code, 2, `${argv.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, message, argv.join(' '));
  }
});

test('flags may come before the command words, and -o before or after', async () => {
  const client = new FakeClient().seed('User', alice);
  const res = await runFake(run, ['-o', 'json', 'user', 'list'], client);
  assert.equal(res.code, 0, res.stderr);
  assert.equal((JSON.parse(res.stdout) as { items: unknown[] }).items.length, 1);
});

test('user activate with a stale resourceVersion retries instead of failing', async () => {
  const client = new FakeClient().seed('User', alice);
  let bumped = false;
  const original = client.mergePatch.bind(client);
  client.mergePatch = async (kind, name, patch) => {
    if (!bumped) {
      bumped = true;
      await original(kind, name, { spec: {} }); // someone else writes first
    }
    return original(kind, name, patch);
  };
  const res = await runFake(run, ['user', 'activate', 'alice'], client);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, 'user alice activated: state Pending -> Active\n');
  assert.equal(client.calls.filter((c) => c === 'patch User alice').length, 3, 'one foreign write, one conflict, one success');
});

test('a forbidden write exits 3 and prints the API server message unchanged', async () => {
  const msg = 'admission webhook "users.gatehouse.dev" denied the request: only superusers may set spec.superuser';
  const client = new FakeClient({ forbid: (verb) => (verb === 'patch' ? msg : undefined) }).seed('User', alice);
  const res = await runFake(run, ['superuser', 'grant', 'alice'], client);
  assert.equal(res.code, 3);
  assert.equal(res.stderr, `error: forbidden: ${msg}\n`);
});
