// The web console in real headless Chromium against the whole stack (kube-apiserver + etcd, the
// operator in-process with its webhooks, the console inside it for the bearer-token mode), and
// `kubectl-gatehouse console` as a subprocess for the local mode. Every change the browser makes
// goes to the API server as that person; the assertions read the result back from the API server.
// GATEHOUSE_SCREENSHOTS=DIR also saves a screenshot of each page there (docs/console/*.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Page } from 'playwright-core';
import type { Stack } from '../support/stack.js';
import { startWithWorld, world } from '../support/world.js';
import { apply, assertOk, canIBecomes, getJson, exists, usersYaml } from '../support/e2e.js';
import { eventually } from '../support/operator.js';
import { launchBrowser, startCliConsole, type Browser } from '../support/browser.js';

const G = 'iam.gatehouse.dev';
const CAROL_TOKEN = `carol-${Math.random().toString(36).slice(2)}`;
const SHOTS = process.env['GATEHOUSE_SCREENSHOTS'];

// sue: superuser. dan: delegated admin of team vision (may assign researcher there, reads all
// Gatehouse objects). carol: a member of vision who may read roles, teams and role assignments,
// and her own User, but not list Users. pat, pia: Pending.
const WORLD = world()
  .role('researcher', { description: 'Submits training jobs', permissions: ['batch/jobs:*', 'pods:read', 'pods/log:get'] })
  .role('team-admin', { description: 'Assigns researcher inside the team', permissions: [`${G}/rolebindings:create`, `${G}/rolebindings:delete`], canAssign: ['researcher'] })
  .role('gatehouse-reader', [`${G}/users:read`, `${G}/roles:read`, `${G}/teams:read`, `${G}/rolebindings:read`])
  .role('directory', [`${G}/roles:read`, `${G}/teams:read`, `${G}/rolebindings:read`, 'me'])
  .users({
    sue: { state: 'Active', superuser: true, email: 'sue@example.com' },
    dan: { state: 'Active', email: 'dan@example.com' },
    carol: { state: 'Active', email: 'carol@example.com' },
    erin: { state: 'Active', email: 'erin@example.com' },
    pat: { state: 'Pending', email: 'pat@example.com' },
    pia: { state: 'Pending', email: 'pia@example.com' },
  })
  .team('vision', { description: 'Computer vision', members: ['carol', 'dan'], groups: ['oidc:vision'], namespaces: ['vision-dev'], quota: { hard: { 'requests.nvidia.com/gpu': '8' } } })
  // A project below vision, for the Teams page's tree and its budget bars.
  .team('vision-a', { description: 'Vision project A', members: [], parent: 'vision', quota: { hard: { 'requests.nvidia.com/gpu': '4' } } })
  .team('nlp', { description: 'Language models', members: [], namespaces: ['nlp-dev'] })
  .binding('dan-team-admin', 'team-admin', 'User:dan', 'team:vision')
  .binding('dan-reader', 'gatehouse-reader', 'User:dan', 'cluster')
  .binding('vision-researchers', 'researcher', 'Team:vision', 'team:vision', '2030-01-01T00:00:00Z')
  .binding('carol-directory', 'directory', 'User:carol', 'cluster');

let stack: Stack;
const consoles: ChildProcess[] = [];

interface CliConsole {
  url: string;
  port: number;
}

/** The console as `kubectl gatehouse console --as USER` starts it (test/support/browser.ts). */
async function cliConsole(as: string): Promise<CliConsole> {
  const url = await startCliConsole(stack.cp.kubeconfigPath, as, consoles);
  return { url, port: Number(new URL(url).port) };
}

function raw(port: number, pathAndQuery: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathAndQuery, method, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += String(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function withBrowser<T>(fn: (b: Browser) => Promise<T>, headers?: Record<string, string>): Promise<T> {
  const b = await launchBrowser({ width: 1200, height: 720, ...(headers ? { extraHTTPHeaders: headers } : {}) });
  try {
    return await fn(b);
  } finally {
    await b.close();
  }
}

before(async () => {
  stack = await startWithWorld(WORLD, {
    config: { seedAdmins: [{ username: 'root' }], presets: { runai: true }, console: { enabled: true, host: '127.0.0.1', port: 0 } },
    controlPlane: { users: [{ token: CAROL_TOKEN, user: 'carol', groups: ['oidc:vision'] }] },
  });
  await canIBecomes(stack, ['delete', 'nodes'], 'sue', 'yes');
  await canIBecomes(stack, ['list', 'roles.iam.gatehouse.dev'], 'carol', 'yes');
  await eventually('the Run:ai preset roles', () => exists(stack, 'ghrole/runai-viewer'));
  await stack.settle();
});

after(async () => {
  for (const c of consoles) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(consoles.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  await stack?.stop();
});

test('superuser: approve two Pending users at once, see them Active in the API server; a kubectl change shows without a reload', async () => {
  const c = await cliConsole('sue');
  await withBrowser(async (b) => {
    const page = await b.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(c.url);
    assert.equal(new URL(page.url()).pathname, '/approvals');
    assert.equal(new URL(page.url()).searchParams.get('token'), null, 'the token leaves the address bar');
    await page.locator('tr[data-user=pat]').waitFor();
    await eventually('the session line', async () => (await page.locator('#whoami').textContent()) === 'signed in as sue' || undefined, 30_000)
      .catch(async (err: Error) => assert.fail(`${err.message}: ${await page.locator('#whoami').textContent()}`));
    assert.deepEqual(await page.locator('#pending tbody tr[data-user]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-user'))), ['pat', 'pia']);
    await page.getByLabel('Select pat').check();
    await page.getByLabel('Select pia').check();
    await page.locator('#live', { hasText: 'live' }).waitFor();
    await shot(page, 'approvals');
    await page.getByRole('button', { name: 'Approve selected (2)' }).click();
    await page.locator('#result li[data-name=pia]').waitFor();
    assert.match((await page.locator('#result').textContent()) ?? '', /pat: Pending -> Active.*pia: Pending -> Active/s);
    for (const name of ['pat', 'pia']) assert.equal((await getJson(stack, `ghuser/${name}`)).spec['state'], 'Active', name);
    await page.locator('#pending', { hasText: 'Nobody is waiting.' }).waitFor();

    // Live: a Pending user created with kubectl appears without a reload.
    assertOk(await apply(stack, usersYaml({ quinn: { state: 'Pending', email: 'quinn@example.com' } })), 'kubectl apply quinn');
    // The page is not reloaded: the row comes by its live updates. How fast is
    // bench:console's business (README), the bound here is generous.
    await page.locator('tr[data-user=quinn]').waitFor({ timeout: 30_000 });

    // Users: one row per user, every role with its scope; superuser grant and revoke.
    await page.getByRole('link', { name: 'Users' }).click();
    await page.locator('#users tr[data-user=carol]').waitFor();
    assert.equal(new URL(page.url()).pathname, '/users');
    const carolRow = (await page.locator('#users tr[data-user=carol]').textContent()) ?? '';
    assert.match(carolRow, /directory in cluster/);
    assert.match(carolRow, /researcher in teams: vision \(via Team vision\), until 2030-01-01 00:00 UTC/);
    assert.match(carolRow, /vision/);
    await shot(page, 'users');
    await page.getByRole('button', { name: 'Grant superuser for erin' }).click();
    await eventually('erin to be a superuser', async () => (await getJson(stack, 'ghuser/erin')).spec['superuser'] === true);
    await page.getByRole('button', { name: 'Revoke superuser for erin' }).click();
    await eventually('erin to be no superuser', async () => (await getJson(stack, 'ghuser/erin')).spec['superuser'] === false);
    // A kubectl suspension shows on the open Users page.
    await page.locator('#q').fill('erin');
    await page.locator('#users tbody tr[data-user]').first().waitFor();
    await eventually('the search to narrow the list', async () => (await page.locator('#users tbody tr[data-user]').count()) === 1 || undefined, 30_000);
    assertOk(await stack.kubectl(['patch', 'ghuser/erin', '--type=merge', '-p', '{"spec":{"state":"Suspended"}}']), 'kubectl suspend erin');
    await page.locator('#users tr[data-user=erin] td.state-Suspended').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Activate erin' }).click();
    await eventually('erin Active again', async () => (await getJson(stack, 'ghuser/erin')).spec['state'] === 'Active');

    // Teams: add and remove a member through the form.
    await page.getByRole('link', { name: 'Teams' }).click();
    await page.locator('#teams tr[data-team=nlp]').waitFor();
    // The tree: roots by name, each followed by the teams below it, indented, with budget bars.
    assert.deepEqual(await page.locator('#teams tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-team'))), ['nlp', 'vision', 'vision-a']);
    const child = page.locator('#teams tr[data-team="vision-a"] th');
    assert.equal(await child.getAttribute('class'), 'team-name depth-1');
    assert.match((await child.textContent()) ?? '', /vision-a\s*in vision/);
    assert.match((await child.locator('meter').getAttribute('aria-label')) ?? '', /^requests\.nvidia\.com\/gpu used 0 of 4$/);
    assert.match((await page.locator('#teams tr[data-team=vision] th meter').getAttribute('aria-label')) ?? '', /^requests\.nvidia\.com\/gpu used \d+ of 8$/);
    await page.getByLabel('Add members to nlp').fill('erin');
    await page.locator('#teams tr[data-team=nlp]').getByRole('button', { name: 'Add' }).click();
    await eventually('erin in nlp', async () => ((await getJson(stack, 'ghteam/nlp')).spec['members'] as string[] | undefined)?.includes('erin'));
    await page.getByRole('button', { name: 'Remove erin from nlp' }).waitFor();
    await shot(page, 'teams');
    await page.getByRole('button', { name: 'Remove erin from nlp' }).click();
    await eventually('erin out of nlp', async () => !((await getJson(stack, 'ghteam/nlp')).spec['members'] as string[] | undefined)?.includes('erin'));
    assert.deepEqual(errors, []);
  });

  // Requests without the token, with a foreign Origin or a forged Host are refused.
  const own = { Host: `127.0.0.1:${c.port}` };
  assert.equal((await raw(c.port, '/api/users', own)).status, 401);
  assert.equal((await raw(c.port, '/users', own)).status, 401);
  const token = new URL(c.url).searchParams.get('token') ?? '';
  assert.equal((await raw(c.port, `/approvals?token=${token}`, own)).status, 401, 'the printed link was used by the browser');
  assert.equal((await raw(c.port, '/api/users', { Host: 'attacker.example' })).status, 421);
  const post = await raw(c.port, '/api/users/state', { ...own, Origin: 'http://attacker.example', 'Content-Type': 'application/json' }, 'POST', '{"state":"Active","names":["quinn"]}');
  assert.equal(post.status, 403);
  assert.equal((await getJson(stack, 'ghuser/quinn')).spec['state'], 'Pending');
});

test('delegated admin: a role assigned inside their team works; outside it the webhook\'s refusal is shown with its rule id', async () => {
  const c = await cliConsole('dan');
  await withBrowser(async (b) => {
    const page = await b.context.newPage();
    await page.goto(c.url.replace('/?', '/roles?'));
    assert.equal(new URL(page.url()).pathname, '/roles');
    await page.locator('#matrix tr[data-role=researcher]').waitFor();
    const row = page.locator('#matrix tr[data-role=researcher]');
    assert.equal(await row.getByLabel('researcher: batch/jobs *').count(), 1);
    assert.equal(await row.getByLabel('researcher: pods R').count(), 1);
    // The Run:ai preset's roles are marked, and its table reads back as written (Researcher: jobs CRUD).
    assert.equal(await page.locator('#matrix tr[data-role=runai-researcher] [data-preset=runai]').count(), 1);
    assert.equal(await page.locator('#matrix tr[data-role=runai-researcher]').getByLabel('runai-researcher: jobs CRUD').count(), 1);
    assert.equal(await page.locator('#matrix tr[data-role=researcher] [data-preset]').count(), 0);

    const assign = async (scope: string) => {
      await page.getByLabel('Role to assign').fill('researcher');
      await page.getByLabel('To a', { exact: true }).selectOption('user');
      await page.getByLabel('Subject name').fill('erin');
      await page.getByLabel('Scope (cluster, team:NAME or namespace:NAME)').fill(scope);
      await page.getByLabel('Expires (optional: 90m, 7d or an RFC 3339 time)').fill('7d');
      await page.getByRole('button', { name: 'Assign role' }).click();
    };
    await assign('team:vision');
    await page.locator('#assign-result .ok').waitFor();
    assert.match((await page.locator('#assign-result').textContent()) ?? '', /role researcher assigned to User erin in teams: vision until /);
    const made = JSON.parse(await stack.kubectlOk(['get', 'ghrb', '-o', 'json'])) as { items: Array<{ spec: { role: string; subjects: Array<{ name: string }>; scope: { teams?: string[] }; expiresAt?: string } }> };
    const b1 = made.items.find((x) => x.spec.role === 'researcher' && x.spec.subjects.some((s) => s.name === 'erin'));
    assert.deepEqual(b1?.spec.scope, { teams: ['vision'] });
    assert.ok(b1?.spec.expiresAt);

    await assign('team:nlp');
    const refusal = page.locator('#assign-result .error');
    await refusal.waitFor();
    const text = (await refusal.textContent()) ?? '';
    assert.match(text, /rule: delegated-scope/);
    assert.match(text, /admission webhook "validate\.iam\.gatehouse\.dev" denied the request: Gatehouse denied: spec\.scope: .*\(rule: delegated-scope\)/);
    assert.equal(await refusal.locator('[data-rule=delegated-scope]').count(), 1);
    await shot(page, 'roles');
    const after = JSON.parse(await stack.kubectlOk(['get', 'ghrb', '-o', 'json'])) as typeof made;
    assert.equal(after.items.filter((x) => x.spec.scope.teams?.includes('nlp')).length, 0, 'nothing outside the team was stored');
  });
});

test('normal user (operator mode, bearer token): sees only what they may list, and why a request is denied', async () => {
  const port = stack.operator.consolePort;
  assert.ok(port, 'the operator serves the console');
  // No token, no console: the operator's own identity is never used in its place.
  assert.equal((await raw(port, '/api/users', { Host: `127.0.0.1:${port}` })).status, 401);
  assert.equal((await raw(port, '/api/users', { Host: `127.0.0.1:${port}`, Authorization: 'Bearer not-a-token' })).status, 401);
  await withBrowser(async (b) => {
    const page = await b.context.newPage();
    const base = `http://127.0.0.1:${port}`;
    await page.goto(`${base}/users`);
    const notice = page.locator('[data-unreadable=users]');
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? '', /You may not list users.*users\.iam\.gatehouse\.dev is forbidden: User "carol" cannot list resource "users" in API group "iam\.gatehouse\.dev" at the cluster scope/s);
    assert.equal(await page.locator('#users tbody tr[data-user]').count(), 0);
    await page.goto(`${base}/approvals`);
    await page.locator('[data-unreadable=users]').waitFor();
    assert.equal(await page.locator('#pending tbody tr[data-user]').count(), 0);
    await page.goto(`${base}/teams`);
    await page.locator('#teams tr[data-team=vision]').waitFor();

    await page.goto(`${base}/access`);
    await page.getByLabel('Verb').fill('create');
    await page.getByLabel('Resource (pods, jobs.batch, ghuser/alice, /metrics)').fill('jobs.batch');
    await page.getByLabel('Namespace').fill('nlp-dev');
    // This test cluster (Kubernetes 1.20) has no SelfSubjectReview, so the page cannot prefill who she is.
    await page.getByLabel('User (name or username)').fill('carol');
    await page.getByRole('button', { name: 'Explain' }).click();
    const decision = page.locator('#explanation .decision');
    await decision.waitFor();
    assert.equal(await decision.getAttribute('data-code'), 'noMatch');
    const why = (await page.locator('#explanation').textContent()) ?? '';
    assert.match(why, /User carol: Active, not a superuser/);
    assert.match(why, /vision-researchers.*researcher.*Team vision.*teams: vision/s);
    assert.match(why, /role assignment vision-researchers \(role researcher\) grants it, but its scope \(teams: vision\) does not cover namespace nlp-dev/);
    assert.match(new URL(page.url()).search, /ask=explain/, 'the question is in the URL, so it can be linked');
    await shot(page, 'access');
    await page.getByRole('button', { name: 'Who can' }).click();
    await page.locator('#who-can').waitFor();
    // She may not list Users, so the superuser sue is unknown to her answer, and it says so; the
    // seed admin comes from the operator's configuration, which this mode uses.
    await page.locator('#who-can [data-unreadable=users]').waitFor();
    const who = (await page.locator('#who-can').textContent()) ?? '';
    assert.match(who, /Who may create batch\/jobs in namespace nlp-dev through Gatehouse/);
    assert.match(who, /User root\(superuser\)user root is a superuser/);
    assert.doesNotMatch(who, /sue|vision-researchers/);
  }, { Authorization: `Bearer ${CAROL_TOKEN}` });
});
