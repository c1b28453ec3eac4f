// The client core's world sources (src/client/world.ts): the live one through the caller's client
// (a refusal narrows the world and is reported, anything else throws), the file one over YAML
// manifests, and the same index and explain answer from both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, filesWorld, liveWorld } from '../../../src/client/world.js';
import { explainChain } from '../../../src/client/access.js';
import { ClientError } from '../../../src/client/errors.js';
import { parseConfig } from '../../../src/config.js';
import { FakeClient } from '../../support/fake-client.js';
import { world } from '../../support/world.js';

const config = parseConfig({});
const now = () => Date.parse('2026-06-01T00:00:00Z');
// alice in team vision, which holds pod-reader in its namespace vision-dev.
const W = world()
  .namespace('vision-dev')
  .user('alice', { state: 'Active' })
  .role('pod-reader', ['pods:read'])
  .team('vision', { members: ['alice'], namespaces: ['vision-dev'] })
  .binding('vision-pods', 'pod-reader', 'Team:vision', 'team:vision');

function fake(forbid?: (verb: string, kind: string) => string | undefined): FakeClient {
  const c = new FakeClient({ ...(forbid ? { forbid } : {}), namespaces: [{ metadata: { name: 'vision-dev' } }] });
  c.seed('User', { metadata: { name: 'alice' }, spec: { state: 'Active' } });
  c.seed('Role', { metadata: { name: 'pod-reader' }, spec: { permissions: ['pods:read'] } });
  c.seed('Team', { metadata: { name: 'vision' }, spec: { members: ['alice'], namespaces: ['vision-dev'] } });
  c.seed('RoleBinding', { metadata: { name: 'vision-pods' }, spec: { role: 'pod-reader', subjects: [{ kind: 'Team', name: 'vision' }], scope: { teams: ['vision'] } } });
  return c;
}

const ask = { user: 'alice', groups: ['system:authenticated'], resource: { verb: 'get', group: '', resource: 'pods', namespace: 'vision-dev' } };

test('the live source lists through the client; a refusal is reported, not thrown', async () => {
  const { world: w, unreadable } = await liveWorld(fake((verb, kind) => (verb === 'list' && kind === 'User' ? 'users is forbidden' : undefined))).load();
  assert.deepEqual(w.users, []);
  assert.deepEqual(w.roles.map((r) => r.metadata.name), ['pod-reader']);
  assert.deepEqual(unreadable, [{ what: 'users', why: 'users is forbidden' }]);
});

test('the live source narrows to `only`', async () => {
  const client = fake();
  const { world: w } = await liveWorld(client).load(['teams']);
  assert.deepEqual(w.teams.map((t) => t.metadata.name), ['vision']);
  assert.deepEqual([w.users, w.roles, w.bindings, w.namespaces], [[], [], [], []]);
  assert.deepEqual(client.calls, ['list Team']);
});

test('the file source reads the same kinds from manifests; both give the same explain answer', async () => {
  const fromFiles = await collect(filesWorld([{ name: 'world.yaml', text: W.yaml() }, { name: 'other.yaml', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' }]), config, 'test', now);
  const live = await collect(fake(), config, 'test', now);
  assert.deepEqual(fromFiles.counts, { users: 1, roles: 1, teams: 1, rolebindings: 1, namespaces: 1 });
  assert.deepEqual(fromFiles.unreadable, []);
  const a = explainChain(fromFiles.index, ask, now());
  const b = explainChain(live.index, ask, now());
  assert.equal(a.decision.verdict, 'allow');
  assert.deepEqual(a, b);
});

test('the file source opens a List and refuses what is not YAML or has no name, naming the file', async () => {
  const list = `apiVersion: v1\nkind: List\nitems:\n- {apiVersion: iam.gatehouse.dev/v1alpha1, kind: Role, metadata: {name: r}, spec: {permissions: [read]}}\n`;
  assert.deepEqual((await filesWorld([{ name: 'l.yaml', text: list }]).load()).world.roles.map((r) => r.metadata.name), ['r']);
  await assert.rejects(filesWorld([{ name: 'bad.yaml', text: 'a: [' }]).load(), (err: unknown) => err instanceof ClientError && err.code === 'GH_CLI_USAGE' && /^bad\.yaml: not YAML/.test(err.message));
  await assert.rejects(filesWorld([{ name: 'n.yaml', text: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Team\nmetadata: {}\n' }]).load(), /n\.yaml: a Team without metadata\.name/);
});
