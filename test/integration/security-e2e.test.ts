// Issue 16, end to end: the attacks found on the local run, each tried through the real API server
// as the attacker (kubectl as an ordinary Active user, a Pending one, a team admin, a namespace
// owner, or a raw HTTPS call to the webhook port), each refused. One control plane for all of them;
// the API server presents a client certificate to the webhooks and the operator checks it.
//
// Who is who (docs/security.md, "Threat model"):
//   sue      superuser.
//   olga     owns namespace olga-ns, so holds project-owner (`*:*`) there: a namespace owner.
//   mia      an ordinary Active user with one binding (pod-reader in namespace work).
//   svc      the User named svc, username svc-bot; a binding names `User svc`.
//   tina     admin of team vision (teams:update in its scope) who may patch namespaces.
//   ab, ab2  usernames a@b.c and a_at_b.c: their owner labels encode alike.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import type { Stack } from '../support/stack.js';
import { startWithWorld, world } from '../support/world.js';
import { assertDenied, assertOk, assertRawDenied, canIBecomes, create, exists, getJson, mergePatch, rawMergePatch, userIs } from '../support/e2e.js';

let stack: Stack;
const G = 'iam.gatehouse.dev';
const OWNER = `${G}/owner`;
const OWNER_USERNAME = `${G}/owner-username`;
const TEAM = `${G}/team`;
const FINALIZER = 'example.com/keep';
const API = `/apis/${G}/v1alpha1`;

const WORLD = world()
  .namespace('work')
  .namespace('olga-ns', { [OWNER]: 'olga' })
  .namespace('public-ns', { [`${G}/visibility`]: 'public' })
  .namespace('everyone-ns', { [TEAM]: 'everyone' })
  .namespace('vision-ns', { [TEAM]: 'vision' })
  .namespace('vision-ns2', { [TEAM]: 'vision' })
  .object({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token', namespace: 'public-ns' }, stringData: { password: 'hunter2' } })
  .role('viewer', ['*:read', 'me'])
  .role('project-owner', ['*:*'])
  .role('pod-reader', ['pods:read'])
  .role('deployer', ['pods:*', 'deployments:*'])
  .role('ns-editor', ['namespaces:get', 'namespaces:patch', 'namespaces:create'])
  .role('team-admin', [`${G}/teams:update`, `${G}/teams:patch`])
  .users({
    sue: { state: 'Active', superuser: true },
    olga: { state: 'Active' },
    mia: { state: 'Active' },
    svc: { state: 'Active', username: 'svc-bot' },
    tina: { state: 'Active' },
    ab: { state: 'Active', username: 'a@b.c' },
    ab2: { state: 'Active', username: 'a_at_b.c' },
  })
  .team('everyone', {})
  .team('vision', { members: ['tina'] })
  .binding('mia-pods', 'pod-reader', 'User:mia', 'namespace:work')
  .binding('olga-pods', 'pod-reader', 'User:olga', 'namespace:work')
  .binding('svc-deployer', 'deployer', 'User:svc', 'namespace:work')
  .binding('ns-editors', 'ns-editor', ['User:tina', 'User:ab', 'User:ab2'], 'cluster')
  .binding('tina-team-admin', 'team-admin', 'User:tina', 'team:vision');

const canI = async (args: string[], as: string): Promise<string> =>
  (await stack.kubectl(['auth', 'can-i', ...args], { as })).stdout.trim().split(/\s/)[0] ?? '';

before(async () => {
  stack = await startWithWorld(WORLD, {
    clientCertificates: true,
    config: {
      defaults: { role: 'viewer', team: 'everyone' },
      projects: { ownerRole: 'project-owner', publicRole: 'viewer' },
      registration: { mode: 'approval' },
    },
  });
  await canIBecomes(stack, ['create', 'pods', '-n', 'work'], 'svc-bot', 'yes');
  await canIBecomes(stack, ['create', 'pods', '-n', 'olga-ns'], 'olga', 'yes');
  await stack.settle();
});

after(async () => {
  await stack?.stop();
});

test('1: a namespace owner cannot write metadata (annotations, labels, finalizers, ownerReferences) on Gatehouse objects outside their scope', async () => {
  // olga holds iam.gatehouse.dev/*:* only in olga-ns (project-owner), which no User, Role or Team
  // lies in. The authorizer lets a write to a Gatehouse kind through to admission for anyone
  // holding the permission somewhere; she patches directly (kubectl would read first, which she may not).
  const annotate = await rawMergePatch(stack, `${API}/users/sue`, { metadata: { annotations: { 'example.com/note': 'x' } } }, 'olga');
  assertRawDenied(annotate, 'delegated-scope', 'metadata.annotations[example.com/note]');
  const fin = await rawMergePatch(stack, `${API}/roles/viewer`, { metadata: { finalizers: [FINALIZER] } }, 'olga');
  assertRawDenied(fin, 'metadata-protected', 'metadata.finalizers');
  const owners = await rawMergePatch(stack, `${API}/teams/vision`, { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: 'olga-ns', uid: '00000000-0000-0000-0000-000000000001' }] } }, 'olga');
  assertRawDenied(owners, 'metadata-protected', 'metadata.ownerReferences');
  const label = await rawMergePatch(stack, `${API}/rolebindings/mia-pods`, { metadata: { labels: { 'example.com/x': 'y' } } }, 'olga');
  assertRawDenied(label, 'delegated-scope', 'metadata.labels[example.com/x]');
  const sue = await getJson<{ metadata: { annotations?: Record<string, string> } }>(stack, 'ghuser/sue');
  assert.equal(sue.metadata.annotations?.['example.com/note'], undefined);
  assert.equal((await getJson(stack, 'ghrole/viewer')).metadata['finalizers'], undefined);
  assert.equal((await getJson(stack, 'ghteam/vision')).metadata['ownerReferences'], undefined);
});

test('1: a grant does not survive revocation: a RoleBinding or User being deleted grants nothing, finalizer or not', async () => {
  // olga, a namespace owner (a delegated admin through project-owner), pins her own binding.
  assertRawDenied(await rawMergePatch(stack, `${API}/rolebindings/olga-pods`, { metadata: { finalizers: [FINALIZER] } }, 'olga'), 'metadata-protected', 'metadata.finalizers');
  // Even when a finalizer is there (set by the admin, or another controller), deletion revokes at once.
  assertOk(await mergePatch(stack, 'ghrb/olga-pods', { metadata: { finalizers: [FINALIZER] } }), 'the admin sets a finalizer');
  assert.equal(await canI(['list', 'pods', '-n', 'work'], 'olga'), 'yes');
  assertOk(await stack.kubectl(['delete', 'ghrb', 'olga-pods', '--wait=false']), 'the admin deletes the binding');
  assert.equal(await exists(stack, 'ghrb/olga-pods'), true, 'the finalizer holds the object');
  await canIBecomes(stack, ['list', 'pods', '-n', 'work'], 'olga', 'no');

  assertOk(await mergePatch(stack, 'ghuser/olga', { metadata: { finalizers: [FINALIZER] } }), 'the admin sets a finalizer on User olga');
  assertOk(await stack.kubectl(['delete', 'ghuser', 'olga', '--wait=false']), 'the admin deletes User olga');
  await canIBecomes(stack, ['create', 'pods', '-n', 'olga-ns'], 'olga', 'no');
  await userIs(stack, 'olga', 'Suspended');

  for (const o of ['ghrb/olga-pods', 'ghuser/olga']) assertOk(await mergePatch(stack, o, { metadata: { finalizers: null } }), `release ${o}`);
  await stack.settle();
});

test('2: `*:read` (the default and public role) reads neither Secrets nor exec, attach, port-forward or proxies', async () => {
  // mia is an ordinary Active user: viewer holds in everyone-ns (defaults) and public-ns (public).
  for (const ns of ['public-ns', 'everyone-ns']) {
    assert.equal(await canI(['list', 'pods', '-n', ns], 'mia'), 'yes', `viewer still reads pods in ${ns}`);
    assert.equal(await canI(['get', 'secrets', '-n', ns], 'mia'), 'no', `secrets in ${ns}`);
    assert.equal(await canI(['list', 'secrets', '-n', ns], 'mia'), 'no', `secrets in ${ns}`);
    for (const [res, sub] of [['pods', 'exec'], ['pods', 'attach'], ['pods', 'portforward'], ['pods', 'proxy'], ['services', 'proxy'], ['serviceaccounts', 'token']] as const) {
      assert.equal(await canI(['get', res, `--subresource=${sub}`, '-n', ns], 'mia'), 'no', `get ${res}/${sub} in ${ns}`);
    }
    assert.equal(await canI(['get', 'pods', '--subresource=log', '-n', ns], 'mia'), 'yes', `logs stay readable in ${ns}`);
  }
  const read = await stack.kubectl(['get', 'secret', 'token', '-n', 'public-ns', '-o', 'name'], { as: 'mia' });
  assert.notEqual(read.code, 0, read.stdout);
  assert.match(read.stderr, /forbidden/);
});

test('3: a new identity does not inherit what names another User: no username equal to another User\'s name, and subjects resolve one way', async () => {
  // The identity svc (not the User named svc, whose username is svc-bot) registers as username svc.
  const reg = await create(stack, `apiVersion: ${G}/v1alpha1\nkind: User\nmetadata: {name: svc-impostor}\nspec: {state: Pending, username: svc}\n`, { as: 'svc' });
  assertDenied(reg, 'username-unique', 'spec.username');
  assert.equal(await exists(stack, 'ghuser/svc-impostor'), false);
  // Had it got in (here: the admin's break-glass, with warnings), `User svc` still means the User named svc.
  const forced = await create(stack, `apiVersion: ${G}/v1alpha1\nkind: User\nmetadata: {name: svc-impostor}\nspec: {state: Active, username: svc}\n`);
  assertOk(forced, 'the admin forces it in');
  await userIs(stack, 'svc', 'Active');
  await stack.settle();
  assert.equal(await canI(['create', 'pods', '-n', 'work'], 'svc'), 'no');
  assert.equal(await canI(['create', 'pods', '-n', 'work'], 'svc-bot'), 'yes');
  assert.match(forced.stderr, /break-glass: would be denied for others: spec\.username: username "svc" is the name of User svc/);
  assertOk(await stack.kubectl(['delete', 'ghuser', 'svc-impostor']), 'cleanup');
});

test('4: a team admin cannot make a team\'s namespace their own: owner label, owner annotation and removing the team label need the owner or a superuser', async () => {
  const own = await mergePatch(stack, 'namespace/vision-ns', { metadata: { labels: { [OWNER]: 'tina' } } }, { as: 'tina' });
  assertDenied(own, 'namespace-labels', `metadata.labels[${OWNER}]`);
  const leave = await mergePatch(stack, 'namespace/vision-ns2', { metadata: { labels: { [TEAM]: null } } }, { as: 'tina' });
  assertDenied(leave, 'namespace-labels', `metadata.labels[${TEAM}]`);
  const ns = await getJson(stack, 'namespace/vision-ns');
  assert.equal((ns.metadata['labels'] as Record<string, string>)[OWNER], undefined);
  assert.equal(((await getJson(stack, 'namespace/vision-ns2')).metadata['labels'] as Record<string, string>)[TEAM], 'vision');
  assert.equal(await canI(['create', 'pods', '-n', 'vision-ns'], 'tina'), 'no');
  // The team admin may still do what was always theirs: the visibility label.
  assertOk(await mergePatch(stack, 'namespace/vision-ns', { metadata: { labels: { [`${G}/visibility`]: 'private' } } }, { as: 'tina' }), 'tina sets visibility');
});

test('4: owner-label collisions: a_at_b.c cannot take the namespace of a@b.c, whose label encodes alike', async () => {
  assertOk(await stack.kubectl(['create', 'namespace', 'ab-ns'], { as: 'a@b.c' }), 'a@b.c creates a namespace');
  const ns = await getJson(stack, 'namespace/ab-ns');
  assert.equal((ns.metadata['labels'] as Record<string, string>)[OWNER], 'a_at_b.c');
  assert.equal((ns.metadata['annotations'] as Record<string, string>)[OWNER_USERNAME], 'a@b.c');
  await canIBecomes(stack, ['create', 'pods', '-n', 'ab-ns'], 'a@b.c', 'yes');
  assert.equal(await canI(['create', 'pods', '-n', 'ab-ns'], 'a_at_b.c'), 'no');
  const take = await mergePatch(stack, 'namespace/ab-ns', { metadata: { annotations: { [OWNER_USERNAME]: 'a_at_b.c' } } }, { as: 'a_at_b.c' });
  assertDenied(take, 'namespace-labels', `metadata.annotations[${OWNER_USERNAME}]`);
  const drop = await mergePatch(stack, 'namespace/ab-ns', { metadata: { annotations: { [OWNER_USERNAME]: null } } }, { as: 'a_at_b.c' });
  assertDenied(drop, 'namespace-labels', `metadata.annotations[${OWNER_USERNAME}]`);
  await stack.settle();
  assert.equal(await canI(['create', 'pods', '-n', 'ab-ns'], 'a_at_b.c'), 'no');
});

/** POSTs a SubjectAccessReview to the webhook port directly, as anyone on the network could. */
async function askWebhookDirectly(): Promise<{ status: number; body: string }> {
  const ca = await readFile(stack.webhook.caFile);
  const review = JSON.stringify({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user: 'sue', groups: ['system:authenticated'], resourceAttributes: { verb: 'delete', resource: 'pods', namespace: 'work' } },
  });
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: stack.webhook.port, path: '/authorize', method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(review);
  });
}

test('5: the webhook port is no policy oracle: a caller without the API server\'s client certificate gets 401, the API server gets answers', async () => {
  const direct = await askWebhookDirectly();
  assert.equal(direct.status, 401, direct.body);
  assert.doesNotMatch(direct.body, /superuser|allowed/);
  // Through the API server (which presents its certificate) both webhooks still answer.
  assert.equal(await canI(['delete', 'pods', '-n', 'work'], 'sue'), 'yes');
  // The validating webhook answers the API server: tina may change Team vision only.
  assertRawDenied(await rawMergePatch(stack, `${API}/teams/everyone`, { spec: { description: 'x' } }, 'tina'), 'delegated-scope');
  // (The mutating webhook answered it too: test 4 saw a@b.c's new namespace labelled.)
});
