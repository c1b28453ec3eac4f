// Issue 32, items 3, 4, 5, 8 and 9, end to end: delegation that delegates more than the delegate
// holds, through the real API server as the attacker (kubectl --as), each refused by admission's one
// no-escalation rule (src/admission/grants.ts). One control plane for all of them.
//
// Who is who:
//   sue     superuser.
//   junior  rolebindings:* and pods:read in namespace proj-a, canAssign [viewer].
//   roler   roles:* and pods:read cluster-wide (may write Roles).
//   tom     rolebindings:* and pods:* in proj-a, but only for the next hour (expiresAt).
//   dave    an ordinary Active user.
//   teamer  teams:* cluster-wide, no rights in any namespace.
//   tina    admin of team vision (teams:update there) who may patch namespaces.
//   olga    owns namespace olga-ns (project-owner, `*:*`, there).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../support/stack.js';
import { startWithWorld, world } from '../support/world.js';
import { apply, assertDenied, assertOk, assertRawDenied, canIBecomes, create, getJson, mergePatch, rawMergePatch } from '../support/e2e.js';

let stack: Stack;
const G = 'iam.gatehouse.dev';
const TEAM = `${G}/team`;
const OWNER = `${G}/owner`;
const VISIBILITY = `${G}/visibility`;
const API = `/apis/${G}/v1alpha1`;
const HOUR = 3600_000;
const at = (ms: number): string => new Date(Date.now() + ms).toISOString();
// The time-bound grant tom holds: an hour from the start of the run.
const TOM_UNTIL = at(HOUR);

const roleYaml = (name: string, spec: Record<string, unknown>): string =>
  `apiVersion: ${G}/v1alpha1\nkind: Role\nmetadata: {name: ${name}}\nspec: ${JSON.stringify(spec)}\n`;
const bindingYaml = (name: string, role: string, subjects: Array<[string, string]>, scope: Record<string, unknown>, expiresAt?: string): string =>
  `apiVersion: ${G}/v1alpha1\nkind: RoleBinding\nmetadata: {name: ${name}}\nspec: ${JSON.stringify({
    role, subjects: subjects.map(([kind, name]) => ({ kind, name })), scope, ...(expiresAt ? { expiresAt } : {}),
  })}\n`;

const WORLD = world()
  .namespace('proj-a').namespace('hr-private').namespace('everyone-ns').namespace('vision-ns', { [TEAM]: 'vision' }).namespace('olga-ns', { [OWNER]: 'olga' })
  .object({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token', namespace: 'proj-a' }, stringData: { password: 'hunter2' } })
  .object({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'salaries', namespace: 'hr-private' }, data: { alice: '1' } })
  .role('viewer', ['*:read', 'me'])
  .role('project-owner', ['*:*'])
  // A role that grants little itself but lets its holders assign project-owner.
  .role('assign-owner', { permissions: ['pods:read'], canAssign: ['project-owner'] })
  // ... and one that inherits that canAssign through includes.
  .role('wraps-owner', { includes: ['assign-owner'] })
  .role('junior-admin', { permissions: [`${G}/rolebindings:*`, 'pods:read'], canAssign: ['viewer'] })
  .role('role-writer', [`${G}/roles:*`, 'pods:read'])
  .role('binder', [`${G}/rolebindings:*`, 'pods:*'])
  .role('pod-admin', ['pods:*'])
  .role('teams-all', [`${G}/teams:*`])
  .role('team-admin', [`${G}/teams:update`, `${G}/teams:patch`])
  .role('ns-editor', ['namespaces:get', 'namespaces:patch'])
  .users({
    sue: { state: 'Active', superuser: true }, junior: { state: 'Active' }, roler: { state: 'Active' }, tom: { state: 'Active' },
    dave: { state: 'Active' }, teamer: { state: 'Active' }, tina: { state: 'Active' }, olga: { state: 'Active' },
  })
  .team('everyone', { namespaces: ['everyone-ns'] })
  .team('vision', { members: ['tina'] })
  .team('ml', {})
  .binding('junior-admin', 'junior-admin', 'User:junior', 'namespace:proj-a')
  .binding('roler', 'role-writer', 'User:roler', 'cluster')
  .binding('tom-binder', 'binder', 'User:tom', 'namespace:proj-a', TOM_UNTIL)
  .binding('dave-expired', 'project-owner', 'User:dave', 'namespace:proj-a', '2020-01-01T00:00:00Z')
  .binding('teamer', 'teams-all', 'User:teamer', 'cluster')
  .binding('tina-team-admin', 'team-admin', 'User:tina', 'team:vision')
  .binding('tina-ns', 'ns-editor', 'User:tina', 'cluster')
  // A cluster-wide binding of a Role nobody has created yet (git applies in any order).
  .binding('ml-future', 'future-admin', 'Team:ml', 'cluster');

const canI = async (args: string[], as: string): Promise<string> =>
  (await stack.kubectl(['auth', 'can-i', ...args], { as })).stdout.trim().split(/\s/)[0] ?? '';

before(async () => {
  stack = await startWithWorld(WORLD, {
    config: {
      defaults: { role: 'viewer', team: 'everyone' },
      projects: { ownerRole: 'project-owner', publicRole: 'viewer' },
      registration: { mode: 'closed' },
    },
  });
  await canIBecomes(stack, ['create', 'pods', '-n', 'proj-a'], 'tom', 'yes');
  await canIBecomes(stack, ['create', 'pods', '-n', 'olga-ns'], 'olga', 'yes');
  await stack.settle();
});

after(async () => {
  await stack?.stop();
});

test('3: canAssign is not passed on unchecked: binding or writing a role that lets its holders assign more is refused, through chains and includes', async () => {
  // junior holds assign-owner's permissions (pods:read in proj-a), but its holders may assign
  // project-owner, which junior may not: binding it would hand on what he cannot grant.
  assertDenied(await create(stack, bindingYaml('j-assign', 'assign-owner', [['User', 'junior']], { namespaces: ['proj-a'] }), { as: 'junior' }), 'no-escalation', 'spec.role');
  assertDenied(await create(stack, bindingYaml('j-wraps', 'wraps-owner', [['User', 'junior']], { namespaces: ['proj-a'] }), { as: 'junior' }), 'no-escalation', 'spec.role');
  // What held: project-owner directly is refused; what his canAssign lists is not.
  assertDenied(await create(stack, bindingYaml('j-owner', 'project-owner', [['User', 'junior']], { namespaces: ['proj-a'] }), { as: 'junior' }), 'no-escalation', 'spec.role');
  assertOk(await create(stack, bindingYaml('j-viewer', 'viewer', [['User', 'dave']], { namespaces: ['proj-a'] }), { as: 'junior' }), 'junior binds viewer (his canAssign)');
  assert.equal(await canI(['get', 'secrets', '-n', 'proj-a'], 'junior'), 'no');
  // Writing a Role: roler holds pods:read cluster-wide, so assign-owner's own permissions, but not
  // what its canAssign hands on, neither listed in canAssign nor inherited through includes.
  assertDenied(await create(stack, roleYaml('my-assigner', { canAssign: ['assign-owner'] }), { as: 'roler' }), 'no-escalation', 'spec.canAssign[0]');
  assertDenied(await create(stack, roleYaml('my-wrapper', { includes: ['assign-owner'] }), { as: 'roler' }), 'no-escalation', 'spec.includes[0]');
  // What held: a Role including a stronger or a missing role.
  assertDenied(await create(stack, roleYaml('my-owner', { includes: ['project-owner'] }), { as: 'roler' }), 'no-escalation', 'spec.includes[0]');
  assertDenied(await create(stack, roleYaml('my-ghost', { includes: ['ghost'] }), { as: 'roler' }), 'no-escalation', 'spec.includes[0]');
  assertOk(await create(stack, roleYaml('my-reader', { permissions: ['pods:read'] }), { as: 'roler' }), 'roler writes a Role within what he holds');
});

test('4: a time-bound grant does not make a permanent one: a binding may not outlive what lets its writer write it', async () => {
  // tom holds binder (rolebindings:*, pods:*) in proj-a for an hour.
  const forGood = await create(stack, bindingYaml('t-forever', 'pod-admin', [['User', 'dave']], { namespaces: ['proj-a'] }), { as: 'tom' });
  assertDenied(forGood, 'no-escalation', 'spec.role');
  assert.match(forGood.stderr, /for good/);
  const selfForGood = await create(stack, bindingYaml('t-self', 'binder', [['User', 'tom']], { namespaces: ['proj-a'] }), { as: 'tom' });
  assertDenied(selfForGood, 'no-escalation', 'spec.role');
  const longer = await create(stack, bindingYaml('t-long', 'pod-admin', [['User', 'dave']], { namespaces: ['proj-a'] }, at(2 * HOUR)), { as: 'tom' });
  assertDenied(longer, 'no-escalation', 'spec.expiresAt');
  // The message names the latest expiresAt that would pass: his own grant's.
  assert.match(longer.stderr, new RegExp(`no later than ${TOM_UNTIL.replace(/[.]/g, '\\.')}`));
  assertOk(await create(stack, bindingYaml('t-short', 'pod-admin', [['User', 'dave']], { namespaces: ['proj-a'] }, at(HOUR / 2)), { as: 'tom' }), 'a binding within his own grant');
  assertOk(await create(stack, bindingYaml('t-same', 'pod-admin', [['User', 'dave']], { namespaces: ['proj-a'] }, TOM_UNTIL), { as: 'tom' }), 'a binding ending with his own grant');
  // Nor by moving the end of one he wrote.
  // (Sent raw: tom may write bindings but not read cluster-scoped ones, which kubectl patch does first.)
  assertRawDenied(await rawMergePatch(stack, `${API}/rolebindings/t-short`, { spec: { expiresAt: null } }, 'tom'), 'no-escalation', 'spec.role');
  assert.equal((await getJson(stack, 'ghrb/t-short')).spec['expiresAt'] !== undefined, true);
  // What held: extending an expired binding by someone who does not hold its role.
  assertRawDenied(await rawMergePatch(stack, `${API}/rolebindings/dave-expired`, { spec: { expiresAt: at(HOUR) } }, 'junior'), 'no-escalation', 'spec.role');
  assert.equal(await canI(['get', 'secrets', '-n', 'proj-a'], 'dave'), 'no');
});

test('5: a Team\'s namespaces are not widened past the growth check: the default team\'s default role counts', async () => {
  // teamer holds teams:* and nothing in hr-private; every Active user holds viewer in the default team.
  assert.equal(await canI(['get', 'configmaps', '-n', 'hr-private'], 'dave'), 'no');
  const res = await mergePatch(stack, 'ghteam/everyone', { spec: { namespaces: ['everyone-ns', 'hr-private'] } }, { as: 'teamer' });
  assertDenied(res, 'no-escalation', 'spec.namespaces[1]');
  assert.match(res.stderr, /default role/);
  assert.deepEqual((await getJson(stack, 'ghteam/everyone')).spec['namespaces'], ['everyone-ns']);
  assert.equal(await canI(['get', 'configmaps', '-n', 'hr-private'], 'dave'), 'no');
});

test('8: making a namespace public needs holding projects.publicRole there', async () => {
  // tina may update team vision and patch namespaces, but holds nothing in vision-ns.
  const res = await mergePatch(stack, 'namespace/vision-ns', { metadata: { labels: { [VISIBILITY]: 'public' } } }, { as: 'tina' });
  assertDenied(res, 'no-escalation', `metadata.labels[${VISIBILITY}]`);
  const labels = (await getJson<{ metadata: { labels?: Record<string, string> } }>(stack, 'namespace/vision-ns')).metadata.labels ?? {};
  assert.equal(labels[VISIBILITY], undefined);
  // What held: the team admin may still make it private; the owner (project-owner covers viewer) may make hers public.
  assertOk(await mergePatch(stack, 'namespace/vision-ns', { metadata: { labels: { [VISIBILITY]: 'private' } } }, { as: 'tina' }), 'tina sets private');
  assertOk(await mergePatch(stack, 'namespace/olga-ns', { metadata: { labels: { [VISIBILITY]: 'public' } } }, { as: 'olga' }), 'olga makes her namespace public');
});

test('9: a binding whose Role is missing counts as granting everything for the growth check', async () => {
  // ml-future binds future-admin (not created yet) cluster-wide to team ml.
  const res = await mergePatch(stack, 'ghteam/ml', { spec: { members: ['teamer'] } }, { as: 'teamer' });
  assertDenied(res, 'no-escalation', 'spec.members[0]');
  assert.match(res.stderr, /future-admin/);
  // The Role arrives later (another commit in git): teamer holds nothing of it.
  assertOk(await apply(stack, roleYaml('future-admin', { permissions: ['*:*'] })), 'the admin creates the role');
  await stack.settle();
  assert.equal(await canI(['get', 'secrets', '-n', 'proj-a'], 'teamer'), 'no');
  // And the same for a Role being recreated: deleted, the binding again counts as everything.
  assertOk(await stack.kubectl(['delete', 'ghrole', 'future-admin']), 'the admin deletes the role');
  await stack.settle();
  assertDenied(await mergePatch(stack, 'ghteam/ml', { spec: { groups: ['contractors'] } }, { as: 'teamer' }), 'no-escalation', 'spec.groups[0]');
});
