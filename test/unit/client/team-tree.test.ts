// The teams tree as the CLI draws it: every team listed exactly once, whatever the links say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { treeRows, treePrefix, quotaRows } from '../../../src/client/team-tree.js';
import { run } from '../../../src/cli/run.js';
import { FakeClient, runFake } from '../../support/fake-client.js';
import type { Team } from '../../../src/api/types.js';

const t = (name: string, parent?: string, hard?: Record<string, string>, status?: Team['status']): Team => ({
  metadata: { name },
  spec: { ...(parent ? { parent } : {}), ...(hard ? { quota: { hard } } : {}) },
  ...(status ? { status } : {}),
});

const drawn = (rows: ReturnType<typeof treeRows>): string[] => (rows ?? []).map((r) => treePrefix(r) + r.team.metadata.name + (r.note ? ` (${r.note})` : ''));

test('treeRows: roots by name, children below their parent, the drawing continues past a child with more siblings', () => {
  const teams = [t('zeta'), t('research'), t('nlp', 'research'), t('vision', 'research'), t('vision-a', 'vision'), t('nlp-a', 'nlp'), t('nlp-b', 'nlp')];
  assert.deepEqual(drawn(treeRows(teams)), [
    'research',
    '├─ nlp',
    '│  ├─ nlp-a',
    '│  └─ nlp-b',
    '└─ vision',
    '   └─ vision-a',
    'zeta',
  ]);
  assert.deepEqual(drawn(treeRows(teams, 'vision')), ['vision', '└─ vision-a']);
  assert.equal(treeRows(teams, 'nope'), undefined);
});

test('treeRows: a missing parent, a team its own parent and a cycle each show once, with why', () => {
  const teams = [t('orphan', 'gone'), t('self', 'self'), t('a', 'b'), t('b', 'a'), t('below-a', 'a')];
  const rows = treeRows(teams)!;
  assert.equal(rows.length, teams.length, 'every team exactly once');
  assert.deepEqual(new Set(rows.map((r) => r.team.metadata.name)).size, teams.length);
  assert.deepEqual(drawn(rows), [
    'orphan (parent gone not found)',
    'self (its own parent)',
    'a (in a parent cycle (parent b))',
    '├─ b',
    '└─ below-a',
  ]);
});

test('quotaRows: the budget, the subtree figures and what the children take, per resource', () => {
  const dept = t('research', undefined, { 'requests.nvidia.com/gpu': '8' }, { quota: { hard: { 'requests.nvidia.com/gpu': '8' }, used: { 'requests.nvidia.com/gpu': '3' } } });
  const rows = quotaRows(dept, [dept, t('vision', 'research', { 'requests.nvidia.com/gpu': '4', pods: '20' }), t('nlp', 'research', { 'requests.nvidia.com/gpu': '4' }), t('other')]);
  assert.deepEqual(rows, [
    { resource: 'pods', budget: undefined, hard: undefined, used: undefined, children: [['vision', '20']] },
    { resource: 'requests.nvidia.com/gpu', budget: '8', hard: '8', used: '3', children: [['nlp', '4'], ['vision', '4']] },
  ]);
});

test('team tree and team quota through the CLI; team create --parent --quota writes both, a bad --quota is a usage error', async () => {
  const client = new FakeClient().seed('Team',
    t('research', undefined, { 'requests.nvidia.com/gpu': '8' }, { gpu: '3/8', quota: { hard: { 'requests.nvidia.com/gpu': '8' }, used: { 'requests.nvidia.com/gpu': '3' } } }),
    t('vision', 'research', { 'requests.nvidia.com/gpu': '4' }));
  const tree = await runFake(run, ['team', 'tree'], client);
  assert.equal(tree.code, 0, tree.stderr);
  assert.match(tree.stdout, /^NAME\s+MEMBERS\s+NAMESPACES\s+BUDGET\s+GPU\s+NOTE\n/);
  assert.match(tree.stdout, /\nresearch\s+0\s+<none>\s+requests\.nvidia\.com\/gpu=8\s+3\/8/);
  assert.match(tree.stdout, /\n└─ vision\s+0\s+<none>\s+requests\.nvidia\.com\/gpu=4/);
  const json = await runFake(run, ['team', 'tree', '-o', 'json'], client);
  assert.deepEqual(JSON.parse(json.stdout), [{ name: 'research', parent: null, depth: 0 }, { name: 'vision', parent: 'research', depth: 1 }]);
  const quota = await runFake(run, ['team', 'quota', 'research'], client);
  assert.equal(quota.code, 0, quota.stderr);
  assert.match(quota.stdout, /requests\.nvidia\.com\/gpu\s+8\s+8\s+3\s+vision=4/);
  const missing = await runFake(run, ['team', 'tree', 'nope'], client);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /team "nope" not found/);
  const created = await runFake(run, ['team', 'create', 'nlp', '--parent', 'research', '--quota', 'requests.nvidia.com/gpu=2', '--quota', 'pods=10'], client);
  assert.equal(created.code, 0, created.stderr);
  const nlp = (await client.list('Team')).find((x) => x.metadata.name === 'nlp')!;
  assert.deepEqual(nlp.spec, { parent: 'research', quota: { hard: { 'requests.nvidia.com/gpu': '2', pods: '10' } } });
  const bad = await runFake(run, ['team', 'create', 'x', '--quota', 'gpu'], client);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--quota "gpu": expected RESOURCE=QUANTITY/);
});
