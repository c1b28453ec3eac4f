// Issue 8's missing must-show: kubectl-gatehouse against the whole stack (API server, Gatehouse's
// authorization webhook and admission webhooks, the operator in-process). Unlike cli.test.ts, the
// refusals here are Gatehouse's own: the write passes authorization (the user holds users:patch)
// and the admission webhook refuses it, and the CLI prints that denial and exits 3.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { closedPort, writeFleetKubeconfig } from '../support/fleet-kubeconfig.js';
import type { Stack } from '../support/stack.js';
import { startWithWorld, world } from '../support/world.js';
import { runCli, pluginDir, runKubectlPlugin } from '../support/cli.js';
import { canIBecomes, getJson, userIs } from '../support/e2e.js';

let stack: Stack;
let plugins: string;
const G = 'iam.gatehouse.dev';

// bob: Active, not a superuser, may read and patch Users cluster-wide (so `superuser grant` gets
// past authorization and meets admission). sue: a superuser. dave: Pending.
const WORLD = world()
  .role('user-admin', [`${G}/users:read`, `${G}/users:patch`, `${G}/users:update`])
  .users({
    alice: { state: 'Active' },
    bob: { state: 'Active' },
    sue: { state: 'Active', superuser: true },
    dave: { state: 'Pending' },
  })
  .binding('bob-user-admin', 'user-admin', 'User:bob', 'cluster');

/** kubectl-gatehouse with the admin's kubeconfig, impersonating `as` with the CLI's own --as. */
function cliAs(as: string, args: string[]) {
  return runCli([...args, '--as', as], { kubeconfig: stack.cp.kubeconfigPath });
}

before(async () => {
  stack = await startWithWorld(WORLD, { config: { seedAdmins: [{ username: 'root' }] } });
  await canIBecomes(stack, ['delete', 'nodes'], 'sue', 'yes');
  await stack.settle();
  plugins = await pluginDir();
});

after(async () => {
  await stack?.stop();
  if (plugins) await rm(plugins, { recursive: true, force: true });
});

test('superuser grant by a normal user is refused with the webhook\'s message (exit 3)', async () => {
  const res = await cliAs('bob', ['superuser', 'grant', 'alice']);
  assert.equal(res.code, 3, `exit ${res.code}\n${res.stdout}\n${res.stderr}`);
  assert.match(res.stderr, /^error: forbidden: /m);
  assert.match(res.stderr, /admission webhook "validate\.iam\.gatehouse\.dev" denied the request: Gatehouse denied: spec\.superuser: only superusers may set or change superuser \(rule: superuser-only\)/);
  assert.equal(res.stdout, '');
  assert.notEqual((await getJson(stack, 'ghuser/alice')).spec['superuser'], true);
  // bob's own flag is no different.
  const self = await cliAs('bob', ['superuser', 'grant', 'bob']);
  assert.equal(self.code, 3, self.stderr);
  assert.match(self.stderr, /\(rule: superuser-only\)/);
});

test('superuser grant and revoke by a superuser work', async () => {
  const res = await cliAs('sue', ['superuser', 'grant', 'alice']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /user alice is now a superuser/);
  assert.equal((await getJson(stack, 'ghuser/alice')).spec['superuser'], true);
  await canIBecomes(stack, ['delete', 'nodes'], 'alice', 'yes');

  const again = await cliAs('sue', ['superuser', 'grant', 'alice']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /already a superuser \(unchanged\)/);

  const revoke = await cliAs('sue', ['superuser', 'revoke', 'alice']);
  assert.equal(revoke.code, 0, revoke.stderr);
  assert.match(revoke.stdout, /user alice is no longer a superuser/);
  await canIBecomes(stack, ['delete', 'nodes'], 'alice', 'no');
});

test('user activate: refused for a holder of users:patch without users:approve, works for a superuser through kubectl gatehouse', async () => {
  const denied = await cliAs('bob', ['user', 'activate', 'dave']);
  assert.equal(denied.code, 3, denied.stderr);
  assert.match(denied.stderr, /Gatehouse denied: spec\.state: changing state \(approve, reject, suspend\) needs a superuser or iam\.gatehouse\.dev\/users:approve cluster-wide \(rule: approve-only\)/);
  assert.equal((await getJson(stack, 'ghuser/dave')).spec['state'], 'Pending');

  const res = await runKubectlPlugin(['user', 'activate', 'dave', '--as', 'sue'], { kubeconfig: stack.cp.kubeconfigPath, pluginDir: plugins });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /user dave activated: state Pending -> Active/);
  assert.equal((await getJson(stack, 'ghuser/dave')).spec['state'], 'Active');
  await userIs(stack, 'dave', 'Active');
});

test('can-i --all-contexts (issue 30): the live cluster under two names answers twice, a closed port is unreachable, exit 3', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-fleet-'));
  try {
    const kubeconfig = path.join(dir, 'fleet.kubeconfig');
    await writeFleetKubeconfig(stack.cp.kubeconfigPath, kubeconfig, [
      { name: 'one', server: stack.cp.url },
      { name: 'two', server: stack.cp.url },
      { name: 'nowhere', server: `https://127.0.0.1:${await closedPort()}` },
    ]);
    // bob holds users:patch cluster-wide: yes on both names of the live cluster.
    const yes = await runCli(['can-i', 'patch', 'ghuser/alice', '--as', 'bob', '--all-contexts', '--ask-apiserver', '-o', 'json'], { kubeconfig });
    assert.equal(yes.code, 3, `exit ${yes.code}\n${yes.stdout}\n${yes.stderr}`);
    const doc = JSON.parse(yes.stdout) as { exitCode: number; clusters: Array<{ context: string; status: string; answer?: string; error?: string; result?: { gatehouse: { verdict: string }; apiserver?: { allowed: boolean } } }> };
    assert.equal(doc.exitCode, 3);
    assert.deepEqual(doc.clusters.map((c) => [c.context, c.status, c.answer ?? null]), [['one', 'answered', 'yes'], ['two', 'answered', 'yes'], ['nowhere', 'unreachable', null]]);
    // Each answer agrees with the cluster's own (the API server's SubjectAccessReview, through Gatehouse's webhook).
    for (const c of doc.clusters.slice(0, 2)) {
      assert.equal(c.result?.gatehouse.verdict, 'allow');
      assert.equal(c.result?.apiserver?.allowed, true);
    }
    assert.match(doc.clusters[2]?.error ?? '', /cannot reach the API server at https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    // alice holds nothing: "no" on both, but the unreachable one keeps the exit code 3, never 1.
    const no = await runCli(['can-i', 'patch', 'ghuser/bob', '--as', 'alice', '--all-contexts'], { kubeconfig });
    assert.equal(no.code, 3, `exit ${no.code}\n${no.stdout}\n${no.stderr}`);
    assert.match(no.stdout, /^one\s+cluster-one\*\s+no\s+gatehouse: /m);
    assert.match(no.stdout, /^two\s+cluster-two\*\s+no\s+gatehouse: /m);
    assert.match(no.stdout, /^nowhere\s+cluster-nowhere\*\s+unreachable\s+cannot reach the API server/m);
    assert.match(no.stdout, /3 contexts: 2 answered \(2 no\), 1 unreachable/);
    // Without the dead context: every cluster answered yes, exit 0.
    const both = await runCli(['can-i', 'patch', 'ghuser/alice', '--as', 'bob', '--contexts', 'one,two'], { kubeconfig });
    assert.equal(both.code, 0, `exit ${both.code}\n${both.stdout}\n${both.stderr}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
