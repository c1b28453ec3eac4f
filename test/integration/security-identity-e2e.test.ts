// Security rounds 2 and 3, identities and what administrators read (issue 19 findings 1 and 6,
// issue 32 findings 2, 6 and 12), end to end on one real control plane: the API server calls
// Gatehouse's authorization and admission webhooks and its TokenReview endpoint; credentials and
// the proxy are on. Every test is the attack as it was reported, now refused (docs/security.md,
// "Rounds 2 and 3: identities and what administrators read").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Stack } from '../support/stack.js';
import { startWithWorld, world } from '../support/world.js';
import type { KubectlResult } from '../../src/controlplane/controlplane.js';
import { runCli } from '../support/cli.js';
import { eventually } from '../support/operator.js';
import { assertDenied, assertOk, create, mergePatch, userIs } from '../support/e2e.js';
import { usernameProblem } from '../../src/api/username.js';

let stack: Stack;
let dir: string;
let proxyUrl: string;
let ca: string;
const G = 'iam.gatehouse.dev';

// grace is a superuser (not a seed admin); useradmin holds users:* cluster-wide (the platform-admin
// shape of issue 19: not a superuser). Team vision owns vision-dev; plain RBAC lets the group
// gatehouse:team:vision list Secrets there, which only team groups reach.
const WORLD = world()
  .namespace('vision-dev')
  .role('user-admin', [`${G}/users:*`])
  .role('pod-user', ['pods:*'])
  .users({ grace: { state: 'Active', superuser: true }, useradmin: { state: 'Active' } })
  .binding('useradmin-users', 'user-admin', 'User:useradmin', 'cluster')
  .team('vision', { members: ['henry'], namespaces: ['vision-dev'] })
  .binding('vision-pod-users', 'pod-user', 'Team:vision', 'team:vision')
  .teamGroupMayListSecrets('vision', 'vision-dev', 'vision-group-secrets');

before(async () => {
  stack = await startWithWorld(WORLD, {
    tokenWebhook: true,
    config: { seedAdmins: [{ username: 'root' }], credentials: { enabled: true }, registration: { mode: 'approval' } },
  });
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-identity-'));
  await userIs(stack, 'grace', 'Active');
  assert.ok(stack.operator.proxyPort, 'the proxy runs');
  proxyUrl = `https://127.0.0.1:${stack.operator.proxyPort}`;
  ca = await readFile(stack.caFile, 'utf8');
});

after(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function admin(args: string[]): Promise<KubectlResult> {
  return runCli(args, { kubeconfig: stack.cp.kubeconfigPath });
}

/** `user create NAME ARGS` (as the cluster admin), then activate: the user's Gatehouse token. */
async function newUser(name: string, createArgs: string[] = []): Promise<string> {
  const created = await admin(['user', 'create', name, ...createArgs]);
  assert.equal(created.code, 0, created.stderr);
  const m = /kubectl gatehouse activate (gatehouse_inv_\S+) --server (\S+) --certificate-authority-data (\S+)/.exec(created.stdout);
  assert.ok(m, `no activate command in:\n${created.stdout}`);
  const kubeconfig = path.join(dir, `${name}.kubeconfig`);
  const act = await runCli(['activate', m[1]!, '--server', m[2]!, '--certificate-authority-data', m[3]!, '--kubeconfig', kubeconfig], { kubeconfig });
  assert.equal(act.code, 0, `${act.stdout}\n${act.stderr}`);
  const token = /token: (gatehouse_usr_\S+)/.exec(await readFile(kubeconfig, 'utf8'))?.[1];
  assert.ok(token, 'a user token in the kubeconfig');
  return token;
}

function request(base: string, trust: string, pathname: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(pathname, base), { headers: { Authorization: `Bearer ${token}` }, ca: trust, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
const viaProxy = (pathname: string, token: string) => request(proxyUrl, ca, pathname, token);
const direct = async (pathname: string, token: string) => request(stack.cp.url, await readFile(stack.cp.caFile, 'utf8'), pathname, token);
const PODS = '/api/v1/namespaces/vision-dev/pods';

/** What the API server's own token authentication (Gatehouse's TokenReview webhook) makes of a token. */
async function tokenReview(token: string): Promise<{ authenticated?: boolean; user?: { username?: string; groups?: string[] } }> {
  const review = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } };
  const res = await stack.kubectl(['create', '-f', '-', '-o', 'json'], { input: JSON.stringify(review) });
  assertOk(res, 'TokenReview');
  return (JSON.parse(res.stdout) as { status: { authenticated?: boolean; user?: { username?: string; groups?: string[] } } }).status;
}

const userYaml = (name: string, spec: Record<string, unknown>): string => `apiVersion: ${G}/v1alpha1\nkind: User\nmetadata: {name: ${JSON.stringify(name)}}\nspec: ${JSON.stringify(spec)}\n`;

test('issue 19 finding 1: usernames that change in transit or name the API server are refused by the CRD schema and admission', async () => {
  // The CRD schema holds even for break-glass system:masters, whose admission writes pass.
  const padded = await create(stack, userYaml('grace-padded', { username: 'grace ', state: 'Active' }));
  assert.notEqual(padded.code, 0, 'a username with a trailing space is refused');
  assert.match(padded.stderr, /spec\.username.*should match/);
  // `system:` passes the character set; admission refuses it, even from a superuser.
  const kcm = await create(stack, userYaml('kcm', { username: 'system:kube-controller-manager', state: 'Active' }), { as: 'grace' });
  assertDenied(kcm, 'username-form', 'spec.username');
  const nfd = await create(stack, userYaml('jose', { username: 'jose\u0301', state: 'Pending' }), { as: 'grace' });
  assertDenied(nfd, 'username-form', 'spec.username');
});

test('issue 19 finding 1 / issue 32 finding 2: a users:update holder cannot move a username; a superuser can, and that ends the tokens', async () => {
  const bobToken = await newUser('bob', ['--team', 'vision']);
  await eventually('bob to act through the proxy', async () => (await viaProxy(PODS, bobToken)).status === 200);
  // The platform admin (users:* cluster-wide, not a superuser) aims a superuser's and bob's
  // username at an identity they control.
  assertDenied(await mergePatch(stack, 'ghuser/grace', { spec: { username: 'useradmin-alt' } }, { as: 'useradmin' }), 'username-change', 'spec.username');
  assertDenied(await mergePatch(stack, 'ghuser/bob', { spec: { username: 'useradmin-alt' } }, { as: 'useradmin' }), 'username-change', 'spec.username');
  // A break-glass account with native rights and no User is not reachable either.
  assertDenied(await mergePatch(stack, 'ghuser/useradmin', { spec: { username: 'breakglass-admin' } }, { as: 'useradmin' }), 'username-change');
  // A superuser may; bob's token was issued for "bob" and ends with the change, on both paths.
  assertOk(await mergePatch(stack, 'ghuser/bob', { spec: { username: 'bob-renamed' } }, { as: 'grace' }), 'a superuser renames bob');
  await eventually('the old token to be refused through the proxy', async () => (await viaProxy(PODS, bobToken)).status === 401);
  await eventually('and straight at the API server', async () => (await direct(PODS, bobToken)).status === 401);
  assert.equal((await tokenReview(bobToken)).authenticated ?? false, false);
});

test('issue 19 finding 6: a Pending user\'s token carries no gatehouse:team: groups', async () => {
  const patToken = await newUser('pat', ['--team', 'vision']);
  const active = await tokenReview(patToken);
  assert.equal(active.user?.username, 'pat');
  assert.deepEqual(active.user?.groups?.filter((g) => g.startsWith('gatehouse:team:')), ['gatehouse:team:vision']);
  assertOk(await mergePatch(stack, 'ghuser/pat', { spec: { state: 'Pending' } }, { as: 'grace' }), 'pat back to Pending');
  await userIs(stack, 'pat', 'Pending');
  // The API server keeps a successful authentication for its token cache TTL (10 s here), so the
  // answer changes once that entry ends; Gatehouse's own answer changes at once.
  const pending = await eventually('the TokenReview to carry no team groups', async () => {
    const r = await tokenReview(patToken);
    return r.user?.groups?.some((g) => g.startsWith('gatehouse:team:')) ? undefined : r;
  }, 30_000, 500);
  assert.equal(pending.authenticated, true, 'a Pending user still authenticates (authorization refuses them with its reason)');
  assert.equal(pending.user?.username, 'pat');
  // So the native binding to the team's group does not reach them, on either path.
  assert.equal((await direct('/api/v1/namespaces/vision-dev/secrets', patToken)).status, 403);
  assert.equal((await viaProxy('/api/v1/namespaces/vision-dev/secrets', patToken)).status, 403);
});

test('issue 32 finding 6: a self-registered User is named after its username, never after someone a team names', async () => {
  // henry is a member of vision but has no User; mallory (no User either) registers under his name.
  assertDenied(await create(stack, userYaml('henry', { username: 'mallory', state: 'Pending' }), { as: 'mallory' }), 'registration', 'metadata.name');
  assertOk(await create(stack, userYaml('mallory', { username: 'mallory', state: 'Pending' }), { as: 'mallory' }), 'registering under her own name');
  // An email identity gets the derived name the refusal names.
  const refused = await create(stack, userYaml('ivy', { username: 'Ivy@example.com', state: 'Pending' }), { as: 'Ivy@example.com' });
  assertDenied(refused, 'registration', 'metadata.name');
  const derived = /use metadata\.name \\?"([a-z0-9.-]+)\\?"/.exec(refused.stderr)?.[1];
  assert.ok(derived && derived !== 'ivy', refused.stderr);
  assertOk(await create(stack, userYaml(derived, { username: 'Ivy@example.com', state: 'Pending' }), { as: 'Ivy@example.com' }), 'the derived name');
});

test('issue 32 finding 12: control characters, line breaks and bidi overrides never reach email, displayName or a Team description', async () => {
  const forged = [
    ['ghuser/useradmin', { spec: { email: 'x\u001b[2K\u001b[1A@example.com' } }],
    ['ghuser/useradmin', { spec: { email: 'x\u202e@example.com' } }],
    ['ghuser/useradmin', { spec: { displayName: 'Mal\nroot   root   Active   true   Superuser: yes (seed admin)' } }],
    ['ghuser/useradmin', { spec: { displayName: '\u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007' } }],
    ['ghteam/vision', { spec: { description: 'ok\u202e' } }],
    ['ghteam/vision', { spec: { description: 'line one\rActive' } }],
  ] as const;
  for (const [resource, patch] of forged) {
    // As a superuser (admission applies) and as break-glass masters (the CRD schema applies).
    for (const as of ['grace', undefined]) {
      const res = await mergePatch(stack, resource, patch, as ? { as } : {});
      assert.notEqual(res.code, 0, `${JSON.stringify(patch)} as ${as ?? 'masters'} must be refused\n${res.stderr}`);
    }
  }
  assertOk(await mergePatch(stack, 'ghuser/useradmin', { spec: { email: 'ua+ops@example.com', displayName: 'Zoë 张 (ops)' } }, { as: 'grace' }), 'ordinary text');
  // The plugin prints what is stored, escaped (the unit fuzz covers hostile fields).
  const list = await admin(['user', 'list']);
  assertOk(list, 'user list');
  assert.match(list.stdout, /ua\+ops@example\.com/);
});

test('issue 19 must-show: a bounded fuzz pass through admission, TokenReview and the proxy yields only canonical names of Active users', async () => {
  const hostile = ['grace ', ' grace', 'gr ace', 'grace\t', 'grace\u00a0', ' system:kube-controller-manager', 'system:admin', 'system:masters', 'a,b', 'x\u200b', 'x\u202e', 'e\u0301', 'x'.repeat(254), 'bob\nroot'];
  for (const [i, username] of hostile.entries()) {
    assert.notEqual(usernameProblem(username), undefined, JSON.stringify(username));
    const res = await create(stack, userYaml(`fuzz-${i}`, { username, state: 'Active' }), { as: 'grace' });
    assert.notEqual(res.code, 0, `${JSON.stringify(username)} must be refused\n${res.stdout}`);
  }
  // Group and team names: a Team's identity-provider groups are matched exactly, so padded or
  // control-laden ones are refused; team names (which become gatehouse:team:<name>) are DNS names.
  for (const [i, group] of [' system:masters', 'system:masters ', 'ops\nroot', 'ops\u202e', '\t'].entries()) {
    const res = await create(stack, `apiVersion: ${G}/v1alpha1\nkind: Team\nmetadata: {name: fuzz-team-${i}}\nspec: {groups: [${JSON.stringify(group)}]}\n`, { as: 'grace' });
    assert.notEqual(res.code, 0, `group ${JSON.stringify(group)} must be refused\n${res.stdout}`);
  }
  for (const name of ['Vision', 'a,b', 'system:x', 'vision ', 'v'.repeat(254)]) {
    const res = await create(stack, `apiVersion: ${G}/v1alpha1\nkind: Team\nmetadata: {name: ${JSON.stringify(name)}}\nspec: {}\n`, { as: 'grace' });
    assert.notEqual(res.code, 0, `team ${JSON.stringify(name)} must be refused\n${res.stdout}`);
  }
  // Canonical usernames are kept exactly; one the proxy's headers would change (zoë) is refused
  // there (401) and carried exactly by TokenReview.
  for (const [name, username, proxied] of [['zed', 'oidc:zed@example.com', true], ['zoe', 'zoë', false]] as const) {
    const token = await newUser(name, ['--username', username]);
    const review = await tokenReview(token);
    assert.equal(review.user?.username, username);
    const res = await viaProxy('/api/v1/namespaces/kube-system/secrets', token);
    if (proxied) {
      assert.equal(res.status, 403, res.body);
      assert.ok(res.body.includes(`User \\"${username}\\" cannot list`) || res.body.includes(`User "${username}" cannot list`), res.body);
    } else {
      assert.equal(res.status, 401, res.body);
    }
  }
});
