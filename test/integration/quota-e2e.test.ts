// Departments and quotas (issue 22) through the real API server with kube-controller-manager
// running (its quota controller keeps ResourceQuota status, as on a real cluster): a department
// with 8 GPUs and two child teams of 4 and 4. Pods are counted when admitted (no node needed).
// Also delegation: a department admin (runai-department-admin in the department's scope) works
// inside the subtree, and each way out is refused, as that user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { startStack, type Stack } from '../support/stack.js';
import { eventually } from '../support/operator.js';
import { apply, assertDenied, assertOk, assertRawDenied, create, mergePatch, rawMergePatch } from '../support/e2e.js';

const GPU = 'requests.nvidia.com/gpu';
const NAMESPACES = { 'ml-a': ['q-a1', 'q-a2'], 'ml-b': ['q-b1'] } as const;
const ALL = [...NAMESPACES['ml-a'], ...NAMESPACES['ml-b']];

let stack: Stack;
let ca: Buffer;

interface Rq { metadata: { name: string; namespace: string; annotations?: Record<string, string> }; spec: { hard: Record<string, string> }; status?: { hard?: Record<string, string>; used?: Record<string, string> } }

function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  const url = new URL(path, stack.cp.url);
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca, headers: { authorization: `Bearer ${stack.cp.adminToken}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

let podSeq = 0;
function createPod(ns: string): Promise<{ status: number; body: string }> {
  const name = `gpu-${podSeq++}`;
  // No nodeName and no scheduler: the pod stays Pending, but quota admission counts it when admitted.
  return api('POST', `/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: { containers: [{ name: 'c', image: 'registry.invalid/pause:1', resources: { requests: { 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } } }] },
  });
}
async function pods(ns: string): Promise<string[]> {
  const res = await api('GET', `/api/v1/namespaces/${ns}/pods`);
  return (JSON.parse(res.body) as { items: Array<{ metadata: { name: string } }> }).items.map((p) => p.metadata.name);
}
async function deletePods(ns: string, count = Infinity): Promise<void> {
  for (const p of (await pods(ns)).slice(0, count)) await api('DELETE', `/api/v1/namespaces/${ns}/pods/${p}?gracePeriodSeconds=0`);
  // Without a kubelet, a pod with grace 0 goes at once.
}
async function quotas(): Promise<Rq[]> {
  const res = await api('GET', '/api/v1/resourcequotas?labelSelector=app.kubernetes.io/component%3Dteam-quota');
  return (JSON.parse(res.body) as { items: Rq[] }).items;
}
function gpus(v: string | undefined): number {
  return v === undefined ? 0 : Number(v);
}
/** The quotas are in force (status.hard = spec.hard) everywhere and nothing is left to write. */
async function quiet(): Promise<Rq[]> {
  return eventually('team quotas written and in force', async () => {
    const list = await quotas();
    const m = stack.operator.controller.quota.metrics();
    return list.length > 0 && m.lastPhase === 'idle' && list.every((q) => q.status?.hard && q.status.hard[GPU] === q.spec.hard[GPU]) ? list : undefined;
  }, 60_000, 200);
}

before(async () => {
  stack = await startStack({ config: { presets: { runai: true }, teams: { quotaIntervalMs: 300 } } });
  ca = await readFile(stack.cp.caFile);
  const docs = [
    'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: User\nmetadata: {name: dana}\nspec: {state: Active}',
    'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: User\nmetadata: {name: pia}\nspec: {state: Active}',
    `apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Team\nmetadata: {name: ml}\nspec: {quota: {hard: {${GPU}: 8}}}`,
    `apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Team\nmetadata: {name: ml-a}\nspec: {parent: ml, quota: {hard: {${GPU}: 4}}}`,
    `apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Team\nmetadata: {name: ml-b}\nspec: {parent: ml, quota: {hard: {${GPU}: 4}}}`,
    'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Team\nmetadata: {name: cv}\nspec: {}',
    'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: RoleBinding\nmetadata: {name: dana-dept}\nspec: {role: runai-department-admin, subjects: [{kind: User, name: dana}], scope: {teams: [ml]}}',
    ...Object.entries(NAMESPACES).flatMap(([team, list]) => list.map((ns) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}, labels: {iam.gatehouse.dev/team: ${team}}}`)),
  ];
  assertOk(await apply(stack, docs.join('\n---\n')), 'the department');
  await eventually('the runai preset roles', async () => (await stack.kubectlOk(['get', 'ghrole', 'runai-department-admin', '-o', 'name'])).includes('runai'), 60_000);
  // Pods need the namespace's default ServiceAccount, which kube-controller-manager creates.
  for (const ns of ALL) await eventually(`serviceaccount default in ${ns}`, async () => (await api('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200, 60_000);
  await stack.settle();
  await quiet();
});
after(async () => {
  await stack?.stop();
});

test('every namespace under the department gets a quota named for its team, carrying the budgets; the sums fit', async () => {
  const list = await quiet();
  const byNs = new Map(list.map((q) => [q.metadata.namespace, q]));
  assert.deepEqual([...byNs.keys()].sort(), [...ALL].sort());
  assert.equal(byNs.get('q-a1')!.metadata.name, 'gatehouse-team-ml-a');
  assert.equal(byNs.get('q-a1')!.metadata.annotations?.['iam.gatehouse.dev/quota-budget'], `team ml-a: ${GPU}=4; team ml: ${GPU}=8`);
  assert.equal(gpus(byNs.get('q-a1')!.spec.hard[GPU]) + gpus(byNs.get('q-a2')!.spec.hard[GPU]), 4);
  assert.equal(gpus(byNs.get('q-b1')!.spec.hard[GPU]), 4);
});

test('50 pods created in parallel across the department never hold more than its 8 GPUs; a refusal names the team', async () => {
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => createPod(ALL[i % ALL.length]!)));
  const admitted = results.filter((r) => r.status === 201).length;
  const refused = results.filter((r) => r.status === 403);
  assert.equal(admitted + refused.length, 50, results.filter((r) => r.status !== 201 && r.status !== 403).map((r) => r.body).join('\n'));
  assert.ok(admitted <= 8, `admitted ${admitted}`);
  assert.ok(admitted >= 1);
  const held = await Promise.all(ALL.map(async (ns) => (await pods(ns)).length));
  assert.ok(held[0]! + held[1]! <= 4 && held[2]! <= 4, `held ${held.join(',')}`);
  assert.match(refused[0]!.body, /exceeded quota: gatehouse-team-ml-[ab]/);
  // Pods keep coming (a Job's controller retries): headroom moves until the department is full, never past it.
  await eventually('the department full', async () => {
    await Promise.all(ALL.map((ns) => createPod(ns)));
    const n = (await Promise.all(ALL.map(async (ns) => (await pods(ns)).length))).reduce((a, b) => a + b, 0);
    assert.ok(n <= 8, `department holds ${n}`);
    return n === 8;
  }, 60_000, 300);
  const a = (await pods('q-a1')).length + (await pods('q-a2')).length;
  assert.equal(a, 4);
  const team = JSON.parse(await stack.kubectlOk(['get', 'ghteam', 'ml', '-o', 'json'])) as { status?: { gpu?: string } };
  await eventually('Team ml status shows 8/8 GPUs', async () => {
    const t = JSON.parse(await stack.kubectlOk(['get', 'ghteam', 'ml', '-o', 'json'])) as { status?: { gpu?: string; quota?: { used?: Record<string, string> } } };
    return t.status?.gpu === '8/8' && t.status.quota?.used?.[GPU] === '8';
  }, 30_000, 300);
  assert.ok(team);
  const table = await stack.kubectlOk(['get', 'ghteam']);
  assert.match(table, /PARENT\s+GPU/);
  assert.match(table, /ml-a\s+ml\s+4\/4/);
});

test('deleting pods frees budget for a sibling namespace', async () => {
  for (const ns of ALL) await deletePods(ns);
  await quiet();
  // Fill q-a1 alone: its share grows as it uses it, up to all but the one GPU of headroom its
  // idle sibling keeps (docs/quotas.md); the sibling takes that one, and then ml-a is full.
  await eventually('q-a1 holds 3 of ml-a\'s 4 GPUs', async () => {
    await createPod('q-a1');
    return (await pods('q-a1')).length === 3;
  }, 60_000, 300);
  await quiet();
  assert.equal((await createPod('q-a1')).status, 403);
  assert.equal((await createPod('q-a2')).status, 201);
  await quiet();
  assert.equal((await createPod('q-a2')).status, 403);
  await deletePods('q-a1', 2);
  await eventually('q-a2 may start a pod once the quota controller recounted q-a1', async () => (await createPod('q-a2')).status === 201, 60_000, 300);
  assert.ok((await pods('q-a1')).length + (await pods('q-a2')).length <= 4);
});

test('a child budget that would not fit its parent is refused, with the figures', async () => {
  // As the department admin: the cluster admin's system:masters would pass it (break-glass, a warning).
  const res = await create(stack, `apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Team\nmetadata: {name: ml-c}\nspec: {parent: ml, quota: {hard: {${GPU}: 1}}}`, { as: 'dana' });
  assertDenied(res, 'quota-budget');
  assert.match(res.stderr, /Team ml-c asks 1, but parent Team ml has 8 and its other children hold 8 \(0 left\)/);
});

test('moving a namespace or a team re-balances', async () => {
  for (const ns of ALL) await deletePods(ns);
  // q-a2 moves to ml-b: its quota is now named for ml-b, and ml-b's two namespaces share 4.
  assertOk(await stack.kubectl(['label', 'namespace', 'q-a2', 'iam.gatehouse.dev/team=ml-b', '--overwrite']), 'move q-a2');
  let list = await eventually('q-a2 draws on ml-b', async () => {
    const l = await quiet();
    return l.find((q) => q.metadata.namespace === 'q-a2')?.metadata.name === 'gatehouse-team-ml-b' && l.length === 3 ? l : undefined;
  }, 60_000, 300);
  const hard = (ns: string) => gpus(list.find((q) => q.metadata.namespace === ns)?.spec.hard[GPU]);
  assert.equal(hard('q-a1'), 4);
  assert.equal(hard('q-a2') + hard('q-b1'), 4);
  // ml-b moves under ml-a (it fits: 4 within 4): now all three namespaces share ml-a's 4.
  assertOk(await mergePatch(stack, 'ghteam/ml-b', { spec: { parent: 'ml-a' } }), 'move ml-b');
  list = await eventually('ml-b under ml-a', async () => {
    const l = await quiet();
    return l.every((q) => (q.metadata.annotations?.['iam.gatehouse.dev/quota-budget'] ?? '').includes('team ml-a')) ? l : undefined;
  }, 60_000, 300);
  assert.ok(hard('q-a1') + hard('q-a2') + hard('q-b1') <= 4, list.map((q) => `${q.metadata.namespace}=${q.spec.hard[GPU]}`).join(' '));
});

test('delegation: the department admin works inside the subtree, and every way out is refused, as that user', async () => {
  const dana = { as: 'dana' };
  assertOk(await create(stack, 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Team\nmetadata: {name: ml-proj}\nspec: {parent: ml}', dana), 'a project team');
  // Raw patches: kubectl patch reads the Team first, and a department admin holds teams:read only in
  // the department's scope, which a cluster-scoped read is not checked against (docs/quotas.md).
  const T = '/apis/iam.gatehouse.dev/v1alpha1/teams';
  const added = await rawMergePatch(stack, `${T}/ml-proj`, { spec: { members: ['pia'] } }, 'dana');
  assert.equal(added.status, 200, added.body);
  assertOk(await create(stack, 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: RoleBinding\nmetadata: {name: pia-research}\nspec: {role: runai-researcher, subjects: [{kind: User, name: pia}], scope: {teams: [ml-proj]}}', dana), 'binds runai-researcher');
  // Ways out: another department, re-parenting out or in, a role outside canAssign, the cluster.
  assertDenied(await create(stack, 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Team\nmetadata: {name: cv-proj}\nspec: {parent: cv}', dana), 'delegated-scope');
  assertRawDenied(await rawMergePatch(stack, `${T}/ml-proj`, { spec: { parent: 'cv' } }, 'dana'), 'delegated-scope');
  assertRawDenied(await rawMergePatch(stack, `${T}/cv`, { spec: { parent: 'ml' } }, 'dana'), 'delegated-scope');
  assertDenied(await create(stack, 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: RoleBinding\nmetadata: {name: pia-editor}\nspec: {role: runai-editor, subjects: [{kind: User, name: pia}], scope: {teams: [ml-proj]}}', dana), 'no-escalation');
  assertDenied(await create(stack, 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: RoleBinding\nmetadata: {name: pia-everywhere}\nspec: {role: runai-researcher, subjects: [{kind: User, name: pia}], scope: {cluster: true}}', dana), 'delegated-scope');
  assertRawDenied(await rawMergePatch(stack, `${T}/ml`, { spec: { quota: { hard: { [GPU]: 16 } } } }, 'dana'), 'delegated-scope');
  // What she made is in force: pia may submit jobs in the project's namespaces once it has one.
  assertOk(await apply(stack, 'apiVersion: v1\nkind: Namespace\nmetadata: {name: q-proj, labels: {iam.gatehouse.dev/team: ml-proj}}'), 'a namespace for the project');
  await eventually('pia can create jobs in q-proj (runai-researcher)', async () => (await stack.kubectl(['auth', 'can-i', 'create', 'jobs', '-n', 'q-proj', '--as', 'pia'])).stdout.trim() === 'yes', 30_000, 300);
});
