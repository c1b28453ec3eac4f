// The Run:ai preset through the real API server: with `presets: {runai: true}` the operator keeps
// the runai-* Roles; one Active user per role holds it cluster-wide, and `kubectl auth can-i` as
// each of them must answer every cell of the seed's "Roles and permissions" table
// (seeds/002_142bca3e10b5fa9b.txt, pasted below verbatim and parsed, as the core's unit test does).
//
// To keep the run short, each cell is checked for read (get) and the writes create, update and
// delete, not all nine verbs (test/unit/authz/presets.test.ts covers every verb against decide()).
// The entities are permissions without an API group ("jobs:read"), which match that resource in
// any group. The test installs Run:ai-like CRDs in the group run.ai so that kubectl resolves
// `jobs.run.ai` to group run.ai, resource jobs: for a resource the server does not serve, kubectl
// sends the whole `jobs.run.ai` as the resource name with an empty group (and rediscovers the API
// on every call), which neither Gatehouse nor RBAC would read as Run:ai's jobs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from '../support/stack.js';
import { eventually } from '../support/operator.js';
import { canI, mapLimit } from '../support/authz-e2e.js';
import { CELL_VERBS, ENTITY_RESOURCES, RUNAI_ROLES, RUNAI_VERBS, runaiCells as cells, runaiCrd } from '../support/runai-seed.js';

const ROLES = RUNAI_ROLES;
const VERBS = RUNAI_VERBS;
const NS = 'runai-p1';

let stack: Stack;

before(async () => {
  stack = await startStack({ config: { presets: { runai: true } } });
  await eventually('the seven runai-* Roles', async () => {
    const out = await stack.kubectlOk(['get', 'ghrole', '-l', 'iam.gatehouse.dev/preset=runai', '-o', 'name']);
    return out.trim().split('\n').filter(Boolean).length === ROLES.length;
  });
  const plurals = [...new Set(Object.values(ENTITY_RESOURCES).map((r) => r.split('/')[0]!))];
  await stack.kubectlOk(['apply', '-f', '-'], { input: plurals.map((p) => runaiCrd(p)).join('\n---\n') });
  await stack.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...plurals.map((p) => `crd/${p}.run.ai`)]);
  const docs = [`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}`];
  for (const role of ROLES) {
    docs.push(`apiVersion: iam.gatehouse.dev/v1alpha1\nkind: User\nmetadata: {name: u-${role}}\nspec: {state: Active}`);
    docs.push(`apiVersion: iam.gatehouse.dev/v1alpha1\nkind: RoleBinding\nmetadata: {name: b-${role}}\nspec: {role: ${role}, subjects: [{kind: User, name: u-${role}}], scope: {cluster: true}}`);
  }
  await stack.kubectlOk(['apply', '-f', '-'], { input: docs.join('\n---\n') });
  await stack.settle();
});
after(async () => {
  await stack?.stop();
});

test('the preset Roles are the seven Run:ai roles, labelled as the preset', async () => {
  const out = await stack.kubectlOk(['get', 'ghrole', '-l', 'iam.gatehouse.dev/preset=runai', '-o', 'jsonpath={.items[*].metadata.name}']);
  assert.deepEqual(out.split(' ').sort(), [...ROLES].sort());
});

test('kubectl auth can-i as one user per Run:ai role answers every cell of the seed table (get, create, update, delete)', async () => {
  const checks = cells().flatMap((c) => VERBS.map((verb) => ({ ...c, verb, want: CELL_VERBS[c.cell]!.includes(verb) })));
  assert.equal(checks.length, (17 + 2 + 1) * 7 * 4, 'every row, every role, four verbs');
  const wrong: string[] = [];
  await mapLimit(checks, 8, async (c) => {
    const user = `u-${c.role}`;
    const got = await canI(stack, c.verb, c.resource, {
      as: user,
      ...(c.clusterScoped ? { allNamespaces: true } : { namespace: NS }),
      ...(c.subresource ? { subresource: c.subresource } : {}),
    });
    const where = c.clusterScoped ? '(cluster-scoped)' : `in namespace ${NS}`;
    const want = c.want ? 'yes' : `no - no Gatehouse role grants ${c.verb} ${c.target} ${where} to user ${user}`;
    if (got !== want) wrong.push(`${c.row} / ${c.role} (${c.cell}) ${c.verb}: got "${got}", want "${want}"`);
  });
  assert.deepEqual(wrong.sort(), []);
});

test('a role\'s entities match in any API group: the Viewer reads core nodes, cluster-wide', async () => {
  assert.equal(await canI(stack, 'list', 'nodes', { as: 'u-runai-viewer', allNamespaces: true }), 'yes');
  const get = await stack.kubectl(['get', 'nodes'], { as: 'u-runai-viewer' });
  assert.equal(get.code, 0, get.stderr);
  assert.equal(await canI(stack, 'list', 'nodes', { as: 'u-runai-researcher', allNamespaces: true }),
    'no - no Gatehouse role grants list nodes (cluster-scoped) to user u-runai-researcher');
});
