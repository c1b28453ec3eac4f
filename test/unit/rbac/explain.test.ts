// Which RBAC object carries an allow (kubectl gatehouse explain's "In force" line): the names must
// be the ones the compiler writes, so each case compiles the world and looks the object up.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionIndex } from '../../../src/authz/index.js';
import { decide } from '../../../src/authz/decide.js';
import { compileRbac } from '../../../src/rbac/compile.js';
import { indexSource } from '../../../src/rbac/source.js';
import { inForce, rbacCarrier } from '../../../src/rbac/explain.js';
import { binding, ns, policy, req, role, team, user } from '../../support/authz.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const index = PermissionIndex.build({
  users: [user('alice'), user('root', { superuser: true })],
  roles: [role('viewer', ['pods:read', 'me']), role('owner', ['configmaps:*']), role('admin', ['iam.gatehouse.dev/teams:create'])],
  teams: [team('vision', { members: ['alice'], namespaces: ['vision-dev'] })],
  bindings: [binding('vr', 'viewer', ['team:vision'], { teams: ['vision'] }), binding('cl', 'viewer', ['alice'], { namespaces: ['other'] }), binding('adm', 'admin', ['alice'], { teams: ['vision'] })],
  namespaces: [ns('vision-dev'), ns('other'), ns('mine', { 'iam.gatehouse.dev/owner': 'alice' })],
}, policy({ projects: { ownerRole: 'owner' } }), () => NOW);
index.markSynced();
const objects = compileRbac(indexSource(index), { now: NOW }).objects;
const carrier = (r: ReturnType<typeof req>) => rbacCarrier(decide(index, r, { now: NOW }), r.resource?.namespace);

describe('rbacCarrier', () => {
  const cases: Array<[string, ReturnType<typeof req>, string]> = [
    ['a team-scoped binding', req('alice', 'list pods', 'vision-dev'), 'RoleBinding/vision-dev/gatehouse:binding:vr'],
    ['a project owner', req('alice', 'delete configmaps', 'mine'), 'RoleBinding/mine/gatehouse:project-owner'],
    ['delegated administration', req('alice', 'create iam.gatehouse.dev/teams'), 'ClusterRoleBinding//gatehouse:delegate:adm'],
    ['a superuser', req('root', 'delete nodes'), 'ClusterRoleBinding//gatehouse:superusers'],
  ];
  for (const [what, r, key] of cases) {
    it(`${what}: names an object the compiler writes`, () => {
      const text = carrier(r);
      const [kind, nsName, name] = key.split('/') as [string, string, string];
      assert.ok(objects.has(`${kind}/${nsName}/${name}`), key);
      assert.ok(text.includes(kind) && text.includes(name), text);
    });
  }
  it('me: RBAC cannot express it', () => {
    assert.match(carrier(req('alice', 'get iam.gatehouse.dev/users', undefined, { name: 'alice' })), /RBAC cannot express it/);
  });
  it('a refusal has no carrier', () => assert.match(carrier(req('alice', 'delete pods', 'vision-dev')), /^none/));
  it('inForce names the mode', () => {
    const d = decide(index, req('alice', 'list pods', 'vision-dev'), { now: NOW });
    assert.match(inForce('webhook', d, 'vision-dev'), /authorization webhook/);
    assert.match(inForce('rbac', d, 'vision-dev'), /native RBAC only, through RoleBinding vision-dev\/gatehouse:binding:vr/);
    assert.match(inForce('both', d, 'vision-dev'), /webhook, and native RBAC/);
  });
});
