// Issues 19 and 32, end to end: what `*` reaches, subresources, and what reasons reveal. Each
// attack is tried through the real API server as the attacker (kubectl or a raw HTTPS call with
// the admin's token impersonating them). The stack runs authorization mode `both`: the webhook
// answers first and the operator also writes native RBAC objects, so an allow from either layer
// would let the attack through; both must refuse.
//
// Who is who (docs/security.md, "Rounds 2 and 3: what `*` reaches and what reasons say"):
//   sue      superuser.
//   grace    superuser (the one asked about).
//   olga     owns namespace olga-ns, so holds project-owner (`*:*` plus Secrets) there.
//   alice    owns namespace alice-ns.
//   ada      `*:*` cluster-wide (the role everything), not a superuser.
//   pat      the adaptive-admin preset cluster-wide: "every permission", named.
//   frank    admin of team vision (teams:update there); may patch namespaces and their subresources.
//   mallory  may patch namespaces and their subresources; no team, owns nothing.
//   ivy      may create LocalSubjectAccessReviews in olga-ns, named explicitly.
//   dave     Suspended.
//   carl     Active, suspended by a test (for the Event).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import type { Stack } from '../support/stack.js';
import { startWithWorld, world } from '../support/world.js';
import { eventually } from '../support/operator.js';
import { EXPLICIT_VERBS, isExplicitOnly, isExplicitVerb } from '../../src/authz/permission.js';
import { assertOk, canIBecomes, create, getJson, mergePatch, rawMergePatch } from '../support/e2e.js';

let stack: Stack;
const G = 'iam.gatehouse.dev';
const OWNER = `${G}/owner`;
const TEAM = `${G}/team`;
const API = `/apis/${G}/v1alpha1`;
const OPERATOR_NS = 'gatehouse-system';

const WORLD = world()
  .namespace('olga-ns', { [OWNER]: 'olga' })
  .namespace('alice-ns', { [OWNER]: 'alice' })
  .namespace('vision-ns', { [TEAM]: 'vision' })
  .role('project-owner', ['*:*', 'secrets:*', 'pods/exec:*', 'pods/attach:*', 'pods/portforward:*'])
  .role('everything', ['*:*'])
  .role('ns-editor', ['namespaces:get', 'namespaces:patch', 'namespaces:update', 'namespaces/status:get', 'namespaces/status:patch', 'namespaces/status:update', 'namespaces/finalize:update'])
  .role('team-admin', [`${G}/teams:update`, `${G}/teams:patch`])
  .role('reviewer', ['authorization.k8s.io/localsubjectaccessreviews:create'])
  .users({
    sue: { state: 'Active', superuser: true },
    grace: { state: 'Active', superuser: true },
    olga: { state: 'Active' },
    alice: { state: 'Active' },
    ada: { state: 'Active' },
    pat: { state: 'Active' },
    frank: { state: 'Active' },
    mallory: { state: 'Active' },
    ivy: { state: 'Active' },
    dave: { state: 'Suspended' },
    carl: { state: 'Active' },
  })
  .team('vision', { members: ['frank'] })
  .binding('ada-everything', 'everything', 'User:ada', 'cluster')
  .binding('pat-admin', 'adaptive-admin', 'User:pat', 'cluster')
  .binding('ns-editors', 'ns-editor', ['User:frank', 'User:mallory'], 'cluster')
  .binding('frank-team-admin', 'team-admin', 'User:frank', 'team:vision')
  .binding('ivy-reviews', 'reviewer', 'User:ivy', 'namespace:olga-ns');

const canI = async (args: string[], as: string): Promise<string> =>
  (await stack.kubectl(['auth', 'can-i', ...args], { as })).stdout.trim().split(/\s/)[0] ?? '';

/** A raw request as `as` (the admin's token impersonating them): what an attacker sends without kubectl's help. */
async function raw(method: string, apiPath: string, body: unknown, as: string, contentType = 'application/json'): Promise<{ status: number; body: string }> {
  const ca = await readFile(stack.cp.caFile);
  const url = new URL(apiPath, stack.cp.url);
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method,
      ca,
      headers: {
        authorization: `Bearer ${stack.cp.adminToken}`,
        'impersonate-user': as,
        'impersonate-group': 'system:authenticated',
        'content-type': contentType,
      },
    }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A SelfSubjectAccessReview as `as` with exact resource attributes (what kubectl cannot name). */
async function selfCan(as: string, resourceAttributes: Record<string, string>): Promise<boolean> {
  const res = await raw('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes } }, as);
  assert.equal(res.status, 201, res.body);
  return (JSON.parse(res.body) as { status: { allowed: boolean } }).status.allowed;
}

const labelsOf = async (ns: string): Promise<Record<string, string>> => ((await getJson(stack, `namespace/${ns}`)).metadata['labels'] ?? {}) as Record<string, string>;

before(async () => {
  stack = await startWithWorld(WORLD, {
    authorizationMode: 'both',
    config: {
      projects: { ownerRole: 'project-owner' },
      registration: { mode: 'approval' },
      presets: { adaptive: true },
    },
  });
  await canIBecomes(stack, ['create', 'pods', '-n', 'olga-ns'], 'olga', 'yes');
  await canIBecomes(stack, ['create', 'localsubjectaccessreviews', '-n', 'olga-ns'], 'ivy', 'yes');
  await canIBecomes(stack, ['impersonate', 'serviceaccounts', '-n', 'olga-ns'], 'pat', 'yes');
  await stack.settle();
  const rbac = stack.operator.controller.rbac!;
  await eventually('RBAC objects converged', async () => {
    await rbac.idle();
    return rbac.converged();
  }, 60_000, 100);
});

after(async () => {
  await stack?.stop();
});

test('19.4: `*:*` reaches neither impersonate, bind, escalate, approving or signing certificates, nor (local) subject access reviews; the admin preset names them', async () => {
  // olga holds `*:*` in her namespace (project-owner); ada holds it cluster-wide.
  for (const [args, who] of [
    [['impersonate', 'serviceaccounts', '-n', 'olga-ns'], 'olga'],
    [['bind', 'clusterroles.rbac.authorization.k8s.io', '-n', 'olga-ns'], 'olga'],
    [['escalate', 'roles.rbac.authorization.k8s.io', '-n', 'olga-ns'], 'olga'],
    [['create', 'serviceaccounts', '--subresource=token', '-n', 'olga-ns'], 'olga'],
    // (`users` would name Gatehouse's kind for kubectl; core `groups` is not served, so it stays core.)
    [['impersonate', 'groups'], 'ada'],
    [['impersonate', 'serviceaccounts', '-A'], 'ada'],
    [['bind', 'clusterroles.rbac.authorization.k8s.io'], 'ada'],
    [['escalate', 'clusterroles.rbac.authorization.k8s.io'], 'ada'],
    [['update', 'certificatesigningrequests.certificates.k8s.io', '--subresource=approval'], 'ada'],
    [['create', 'subjectaccessreviews.authorization.k8s.io'], 'ada'],
    [['create', 'localsubjectaccessreviews.authorization.k8s.io', '-n', 'olga-ns'], 'olga'],
  ] as const) {
    assert.equal(await canI([...args], who), 'no', `${who}: can-i ${args.join(' ')}`);
  }
  // Targets kubectl cannot name (not served): a SelfSubjectAccessReview with the exact attributes.
  for (const [verb, group, resource] of [['approve', 'certificates.k8s.io', 'signers'], ['sign', 'certificates.k8s.io', 'signers'],
    ['impersonate', 'authentication.k8s.io', 'uids'], ['impersonate', '', 'users']] as const) {
    assert.equal(await selfCan('ada', { verb, group, resource }), false, `ada: ${verb} ${group}/${resource}`);
    assert.equal(await selfCan('pat', { verb, group, resource }), true, `pat (adaptive-admin): ${verb} ${group}/${resource}`);
  }
  // What `*:*` did reach stays reached.
  assert.equal(await canI(['create', 'pods', '-n', 'olga-ns'], 'olga'), 'yes');
  assert.equal(await canI(['create', 'rolebindings.rbac.authorization.k8s.io', '-n', 'olga-ns'], 'olga'), 'yes');
  assert.equal(await canI(['list', 'serviceaccounts', '-A'], 'ada'), 'yes');
  // A real request: a native RoleBinding to cluster-admin needs bind on it; refused by RBAC's own check.
  const rb = await stack.kubectl(['create', 'rolebinding', 'olga-admin', '--clusterrole=cluster-admin', '--user=olga', '-n', 'olga-ns'], { as: 'olga' });
  assert.notEqual(rb.code, 0, rb.stdout);
  assert.match(rb.stderr, /forbidden/i);
  assert.equal((await stack.kubectl(['get', 'rolebinding', 'olga-admin', '-n', 'olga-ns'])).code, 1, 'no binding was stored');
  // The adaptive-admin preset holds "every permission": it names them.
  for (const args of [['impersonate', 'groups'], ['impersonate', 'serviceaccounts', '-A'], ['bind', 'clusterroles.rbac.authorization.k8s.io'], ['create', 'subjectaccessreviews.authorization.k8s.io']]) {
    assert.equal(await canI(args, 'pat'), 'yes', `pat: can-i ${args.join(' ')}`);
  }
  // In the RBAC objects too: the compiled `*:*` spells its verbs out without them.
  const cr = await getJson<{ rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] }>(stack, 'clusterrole/gatehouse:role:everything');
  for (const rule of cr.rules) {
    for (const g of rule.apiGroups) {
      for (const r of rule.resources) {
        const base = r.split('/')[0]!;
        const verbs = rule.verbs.includes('*') ? EXPLICIT_VERBS.map((e) => e.verb) : rule.verbs;
        for (const v of verbs) assert.ok(!isExplicitVerb(v, g === '*' ? null : g, base), `${JSON.stringify(rule)} grants ${v} on ${g}/${r}`);
        assert.ok(!isExplicitOnly(g === '*' ? null : g, base, r.split('/')[1] ?? null) || r === '*', `${JSON.stringify(rule)} reaches ${g}/${r}`);
      }
    }
  }
});

test('19.5: a namespace owner cannot write the status of Gatehouse objects, in webhook and RBAC alike', async () => {
  // olga is a delegated admin through `*:*` in olga-ns; status was writable because delegation ignored subresources.
  const before = await getJson(stack, 'ghuser/sue');
  const res = await rawMergePatch(stack, `${API}/users/sue/status`, { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'Forged', message: 'x', lastTransitionTime: '2026-01-01T00:00:00Z' }] } }, 'olga');
  assert.equal(res.status, 403, res.body);
  assert.match(res.body, /forbidden/);
  assert.deepEqual((await getJson(stack, 'ghuser/sue')).status, before.status);
  for (const kind of ['users', 'roles', 'teams', 'rolebindings']) {
    assert.equal(await canI(['update', `${kind}.${G}`, '--subresource=status'], 'olga'), 'no', `${kind}/status`);
  }
  // Delegation of the objects themselves still reaches admission (which checks the scope).
  assert.equal(await canI(['create', `rolebindings.${G}`], 'olga'), 'yes');
  // rbac mode: the project owners' delegate rule names the four kinds, no `*`, no subresource.
  const cr = await getJson<{ rules: { apiGroups: string[]; resources: string[] }[] }>(stack, 'clusterrole/gatehouse:delegate:project-owner');
  const resources = cr.rules.flatMap((r) => r.resources);
  assert.ok(resources.length > 0);
  for (const r of resources) assert.ok(['users', 'roles', 'teams', 'rolebindings'].includes(r), `delegate rule names ${r}`);
});

test('32.1: namespace labels cannot be changed through namespaces/status or namespaces/finalize', async () => {
  // frank, a team admin, makes the team's namespace his own through the status subresource.
  const viaStatus = await rawMergePatch(stack, '/api/v1/namespaces/vision-ns/status', { metadata: { labels: { [OWNER]: 'frank' } } }, 'frank');
  assert.equal(viaStatus.status, 403, viaStatus.body);
  assert.match(viaStatus.body, /Gatehouse denied: .*\(rule: namespace-labels\)/);
  // mallory, nobody there, takes alice's namespace the same way, or moves it out of ownership.
  const take = await rawMergePatch(stack, '/api/v1/namespaces/alice-ns/status', { metadata: { labels: { [OWNER]: 'mallory' } } }, 'mallory');
  assert.equal(take.status, 403, take.body);
  const team = await rawMergePatch(stack, '/api/v1/namespaces/alice-ns/status', { metadata: { labels: { [TEAM]: 'vision' } } }, 'mallory');
  assert.equal(team.status, 403, team.body);
  // A PUT to finalize carries labels too.
  const ns = await getJson<{ metadata: { labels: Record<string, string> } }>(stack, 'namespace/alice-ns');
  ns.metadata.labels[OWNER] = 'mallory';
  const viaFinalize = await raw('PUT', '/api/v1/namespaces/alice-ns/finalize', ns, 'mallory');
  assert.equal(viaFinalize.status, 403, viaFinalize.body);
  assert.match(viaFinalize.body, /\(rule: namespace-labels\)/);
  assert.equal((await labelsOf('vision-ns'))[OWNER], undefined);
  assert.equal((await labelsOf('alice-ns'))[OWNER], 'alice');
  assert.equal((await labelsOf('alice-ns'))[TEAM], undefined);
  await stack.settle();
  assert.equal(await canI(['get', 'secrets', '-n', 'alice-ns'], 'mallory'), 'no');
  assert.equal(await canI(['get', 'secrets', '-n', 'vision-ns'], 'frank'), 'no');
  // Status writes that leave the labels alone still pass (the namespace controller's, an owner's).
  const plain = await rawMergePatch(stack, '/api/v1/namespaces/alice-ns/status', { metadata: { annotations: { 'example.com/note': 'n' } } }, 'mallory');
  assert.equal(plain.status, 200, plain.body);
});

interface Review { status: { allowed: boolean; denied?: boolean; reason?: string } }

/** A LocalSubjectAccessReview in olga-ns about `user`, created as `as`. */
async function lsar(as: string, user: string, verb = 'get', resource = 'pods', group = ''): Promise<{ status: number; review?: Review; body: string }> {
  const body = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'LocalSubjectAccessReview',
    metadata: { namespace: 'olga-ns' },
    spec: { user, groups: ['system:authenticated'], resourceAttributes: { namespace: 'olga-ns', verb, group, resource } },
  };
  const res = await raw('POST', '/apis/authorization.k8s.io/v1/namespaces/olga-ns/localsubjectaccessreviews', body, as);
  return res.status === 201 ? { status: res.status, review: JSON.parse(res.body) as Review, body: res.body } : { status: res.status, body: res.body };
}

test('32.10: a namespace owner cannot ask about other users; an explicit reviewer reads verdicts, not facts about them', async () => {
  // `*:*` in olga-ns no longer reaches localsubjectaccessreviews.
  const owner = await lsar('olga', 'dave');
  assert.equal(owner.status, 403, owner.body);
  assert.doesNotMatch(owner.body, /Suspended/);
  // ivy holds localsubjectaccessreviews:create by name: she gets verdicts, no state, superuser, seed or binding names.
  const aboutDave = await lsar('ivy', 'dave');
  assert.equal(aboutDave.status, 201, aboutDave.body);
  assert.equal(aboutDave.review!.status.allowed, false);
  assert.doesNotMatch(aboutDave.body, /Suspended|is dave|user dave/);
  const aboutGrace = await lsar('ivy', 'grace');
  assert.equal(aboutGrace.review!.status.allowed, true);
  assert.doesNotMatch(aboutGrace.review!.status.reason ?? '', /superuser/);
  const aboutOlga = await lsar('ivy', 'olga');
  assert.equal(aboutOlga.review!.status.allowed, true);
  assert.doesNotMatch(aboutOlga.review!.status.reason ?? '', /project-owner|owner of namespace/);
  const aboutNobody = await lsar('ivy', 'nobody-here');
  assert.doesNotMatch(aboutNobody.review!.status.reason ?? '', /no User object/);
  // A creator cannot pose as the subject to get the details: admission writes the real asker.
  const forged = await raw('POST', '/apis/authorization.k8s.io/v1/namespaces/olga-ns/localsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1', kind: 'LocalSubjectAccessReview', metadata: { namespace: 'olga-ns' },
    spec: { user: 'dave', extra: { [`${G}/asked-by`]: ['dave'] }, resourceAttributes: { namespace: 'olga-ns', verb: 'get', resource: 'pods' } },
  }, 'ivy');
  assert.equal(forged.status, 201, forged.body);
  assert.doesNotMatch(forged.body, /Suspended/);
  // About herself, she reads why.
  const self = await lsar('ivy', 'ivy', 'create', 'localsubjectaccessreviews', 'authorization.k8s.io');
  assert.match(self.review?.status.reason ?? '', /role reviewer via binding ivy-reviews/);
  // The API server's own questions (a real request) keep their reasons for the person asking.
  assert.match((await stack.kubectl(['auth', 'can-i', 'get', 'pods', '-n', 'olga-ns'], { as: 'dave' })).stdout, /user dave is Suspended/);
});

test('32.10: a dry-run self-registration answers nothing about which names are taken', async () => {
  const taken = `apiVersion: ${G}/v1alpha1\nkind: User\nmetadata: {name: prober}\nspec: {state: Pending, username: prober}\n`;
  const res = await create(stack, taken, { as: 'prober', extra: ['--dry-run=server'] });
  assert.notEqual(res.code, 0, res.stdout);
  assert.match(res.stderr, /\(rule: registration\)/);
  // Probing another's username (grace) from an identity without a User: no uniqueness finding in the answer.
  const impostor = `apiVersion: ${G}/v1alpha1\nkind: User\nmetadata: {name: grace2}\nspec: {state: Pending, username: grace}\n`;
  const probe = await create(stack, impostor, { as: 'prober2', extra: ['--dry-run=server'] });
  assert.notEqual(probe.code, 0, probe.stdout);
  assert.doesNotMatch(probe.stderr, /username-unique|belongs to User/);
  // A real registration still works.
  assertOk(await create(stack, taken, { as: 'prober' }), 'prober registers');
});

test('32.10: state-change Events go to the operator\'s namespace, not default', async () => {
  assertOk(await mergePatch(stack, 'ghuser/carl', { spec: { state: 'Suspended' } }, { as: 'sue' }), 'sue suspends carl');
  const events = async (ns: string): Promise<{ reason: string }[]> =>
    JSON.parse(await stack.kubectlOk(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=carl', '-o', 'json'])).items;
  await eventually('UserSuspended event in the operator namespace', async () => (await events(OPERATOR_NS)).some((e) => e.reason === 'UserSuspended'), 30_000, 200);
  assert.deepEqual(await events('default'), []);
});
