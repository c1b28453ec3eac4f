// Every admission rule, table-driven: each with at least one allowed and one denied case, checked
// against a real PermissionIndex built from a small world.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LABELS } from '../../../src/api/types.js';
import { OWNER_USERNAME_ANNOTATION } from '../../../src/api/owner.js';
import type { User } from '../../../src/api/types.js';
import { validateAdmission, toMessage } from '../../../src/admission/validate.js';
import type { AdmissionInput, RuleId } from '../../../src/admission/types.js';
import { binding, ns, role, team, user } from '../../support/authz.js';
import { userObjectName } from '../../../src/api/username.js';
import { MASTERS, OPERATOR, as, context, create, edit, remove, update } from '../../support/admission.js';
import type { World } from '../../../src/authz/index.js';

const GH = 'iam.gatehouse.dev';
const seedRoot: User = edit(user('root', { superuser: true }), (u) => (u.metadata.labels = { [LABELS.seed]: 'true' }));
const alice = user('alice', { email: 'alice@example.com', displayName: 'Alice' });
const bob = user('bob');
const pending = user('pat', { state: 'Pending' });

const WORLD: World = {
  users: [
    seedRoot, user('boss', { superuser: true }), alice, bob, pending, user('approver'), user('useradmin'), user('dept'),
    user('roleadmin'), user('teamadmin'), user('carl'),
    user('ab', { username: 'a@b.c' }), user('ab2', { username: 'a_at_b.c' }), user('svc', { username: 'svc-bot' }),
  ],
  roles: [
    role('researcher', ['jobs:*', 'pods:read']),
    role('viewer', ['pods:read']),
    role('jobs-reader', ['jobs:read']),
    role('admin', ['*:*']),
    role('self', ['me']),
    role('approver', [`${GH}/users:approve`]),
    role('user-admin', [`${GH}/users:create`, `${GH}/users:update`, `${GH}/users:delete`]),
    role('dept-admin', [`${GH}/rolebindings:*`, 'jobs:*', 'pods:read'], { canAssign: ['viewer', 'future'] }),
    role('role-admin', [`${GH}/roles:*`, 'jobs:*']),
    role('team-admin', [`${GH}/teams:update`]),
    role('gpu-user', ['nvidia.com/gpus:*', 'jobs:*']),
    role('loop-b', ['pods:get'], { includes: ['loop-a'] }),
  ],
  teams: [
    team('vision', { members: ['alice'], namespaces: ['vision-dev'] }),
    team('gpu', { members: ['carl'], namespaces: ['gpu-dev'] }),
  ],
  bindings: [
    binding('alice-self', 'self', ['alice'], { cluster: true }),
    binding('approvers', 'approver', ['approver'], { cluster: true }),
    binding('useradmins', 'user-admin', ['useradmin'], { cluster: true }),
    binding('dept-admins', 'dept-admin', ['dept'], { namespaces: ['a'] }),
    binding('role-admins', 'role-admin', ['roleadmin'], { cluster: true }),
    binding('vision-admins', 'team-admin', ['teamadmin'], { teams: ['vision', 'gpu'] }),
    binding('teamadmin-research', 'researcher', ['teamadmin'], { teams: ['vision'] }),
    binding('vision-research', 'researcher', ['team:vision'], { teams: ['vision'] }),
    binding('gpu-users', 'gpu-user', ['team:gpu'], { cluster: true }),
  ],
  namespaces: [ns('a'), ns('b'), ns('vision-dev', { [LABELS.team]: 'vision' }), ns('gpu-dev'),
    ns('ml-a', { [LABELS.owner]: 'alice' })],
};
const CONFIG = { seedAdmins: [{ username: 'root' }], registration: { mode: 'approval' } };
const ctx = context(WORLD, CONFIG);

type Expect = 'allow' | RuleId | { rule: RuleId; path: string };
interface Case {
  name: string;
  input: AdmissionInput;
  expect: Expect;
  warning?: RegExp;
  ctx?: ReturnType<typeof context>;
}

function check(c: Case): void {
  const res = validateAdmission(c.input, c.ctx ?? ctx);
  if (c.expect === 'allow') {
    assert.equal(res.allowed, true, `expected allowed, got: ${toMessage(res)}`);
    assert.deepEqual(res.errors, []);
  } else {
    const rule = typeof c.expect === 'string' ? c.expect : c.expect.rule;
    assert.equal(res.allowed, false, `expected denied by ${rule}`);
    assert.ok(res.errors.some((e) => e.rule === rule), `expected rule ${rule}, got ${toMessage(res)}`);
    if (typeof c.expect === 'object') {
      const path = c.expect.path;
      assert.ok(res.errors.some((e) => e.rule === rule && e.path === path), `expected path ${path}, got ${toMessage(res)}`);
    }
    assert.match(toMessage(res), new RegExp(`^Gatehouse denied: .*\\(rule: ${rule}\\)`));
  }
  if (c.warning) assert.ok(res.warnings.some((w) => c.warning!.test(w)), `expected a warning ${c.warning}, got ${JSON.stringify(res.warnings)}`);
}

function table(title: string, cases: Case[]): void {
  describe(title, () => {
    for (const c of cases) it(`${c.expect === 'allow' ? 'allows' : 'denies'}: ${c.name}`, () => check(c));
  });
}

const BOSS = as('boss');
const rb = (name: string, r: string, subjects: string[], scope: Parameters<typeof binding>[3], expiresAt?: string) => binding(name, r, subjects, scope, expiresAt);

table('semantic validation', [
  { name: 'a Role whose permissions parse', input: create(role('r1', ['pods:read', 'me', 'apps/deployments:get']), BOSS), expect: 'allow' },
  { name: 'a permission without an action', input: create(role('r1', ['pods:read', 'pods']), BOSS), expect: { rule: 'permission-syntax', path: 'spec.permissions[1]' } },
  { name: 'a rule without verbs', input: create(role('r1', [], { rules: [{ apiGroups: [''], resources: ['pods'], verbs: [] }] }), BOSS), expect: { rule: 'permission-syntax', path: 'spec.rules[0]' } },
  { name: 'a role including itself', input: create(role('r1', [], { includes: ['r1'] }), BOSS), expect: { rule: 'role-include-cycle', path: 'spec.includes[0]' } },
  { name: 'an include that leads back (loop-b includes loop-a)', input: create(role('loop-a', [], { includes: ['loop-b'] }), BOSS), expect: 'role-include-cycle' },
  { name: 'a binding with one scope kind', input: create(rb('x', 'viewer', ['alice'], { namespaces: ['a'] }), BOSS), expect: 'allow' },
  { name: 'a binding with two scope kinds', input: create(rb('x', 'viewer', ['alice'], { namespaces: ['a'], teams: ['vision'] }), BOSS), expect: { rule: 'one-scope', path: 'spec.scope' } },
  { name: 'a binding with cluster: false', input: create(rb('x', 'viewer', ['alice'], { cluster: false }), BOSS), expect: { rule: 'one-scope', path: 'spec.scope.cluster' } },
  { name: 'a binding with an empty scope', input: create(rb('x', 'viewer', ['alice'], {}), BOSS), expect: 'one-scope' },
  { name: 'an expiresAt in RFC 3339', input: create(rb('x', 'viewer', ['alice'], { cluster: true }, '2030-01-01T00:00:00Z'), BOSS), expect: 'allow' },
  { name: 'an expiresAt that does not parse', input: create(rb('x', 'viewer', ['alice'], { cluster: true }, 'next friday'), BOSS), expect: { rule: 'expires-at', path: 'spec.expiresAt' } },
  { name: 'an expiresAt already passed (warning)', input: create(rb('x', 'viewer', ['alice'], { cluster: true }, '2020-01-01T00:00:00Z'), BOSS), expect: 'allow', warning: /has passed/ },
  { name: 'a subject listed twice', input: create(rb('x', 'viewer', ['alice', 'team:vision', 'alice'], { cluster: true }), BOSS), expect: { rule: 'duplicate-subject', path: 'spec.subjects[2]' } },
  { name: 'the same name as a User and as a Group', input: create(rb('x', 'viewer', ['alice', 'group:alice'], { cluster: true }), BOSS), expect: 'allow' },
  { name: 'a namespace name that is not DNS-1123', input: create(rb('x', 'viewer', ['alice'], { namespaces: ['Bad_NS'] }), BOSS), expect: { rule: 'invalid-name', path: 'spec.scope.namespaces[0]' } },
  { name: 'a User subject that is not a valid name', input: create(rb('x', 'viewer', ['Alice Smith'], { cluster: true }), BOSS), expect: { rule: 'invalid-name', path: 'spec.subjects[0].name' } },
  { name: 'a Team namespace that is not DNS-1123', input: create(team('t', { namespaces: ['ok', 'no.dots'] }), BOSS), expect: { rule: 'invalid-name', path: 'spec.namespaces[1]' } },
  { name: 'a User with a bad email', input: create(user('dora', { email: 'dora' }), BOSS), expect: { rule: 'invalid-field', path: 'spec.email' } },
  { name: 'a User with an unknown state', input: create(user('dora', { state: 'Sleeping' as never }), BOSS), expect: { rule: 'invalid-field', path: 'spec.state' } },
  { name: 'a second User for the same identity', input: create(user('alice2', { username: 'alice' }), BOSS), expect: { rule: 'username-unique', path: 'spec.username' } },
  // Issue 16, item 3: names and usernames are one namespace of identities.
  { name: 'a username that is another User\'s name', input: create(user('impostor', { username: 'svc' }), BOSS), expect: { rule: 'username-unique', path: 'spec.username' } },
  { name: 'self-registration as a username that is another User\'s name', input: create(user('impostor', { username: 'svc', state: 'Pending' }), as('svc')), expect: { rule: 'username-unique', path: 'spec.username' } },
  { name: 'a User\'s name that is another User\'s username', input: create(user('svc-bot'), BOSS), expect: { rule: 'username-unique', path: 'metadata.name' } },
  { name: 'a User with a fresh identity', input: create(user('alice2', { username: 'alice@example.com' }), BOSS), expect: 'allow' },
  { name: 'a Team whose members list is not a list', input: create(edit(team('t'), (t) => ((t.spec as Record<string, unknown>)['members'] = 'alice')), BOSS), expect: { rule: 'malformed-object', path: 'spec.members' } },
  { name: 'an object with no metadata', input: { ...create(team('t'), BOSS), object: { spec: {} } }, expect: 'malformed-object' },
]);

table('dangling references are warnings (Git applies in any order)', [
  { name: 'a binding to a Role that does not exist yet', input: create(rb('x', 'later', ['alice'], { cluster: true }), BOSS), expect: 'allow', warning: /Role later does not exist yet/ },
  { name: 'a binding to an unknown User and Team', input: create(rb('x', 'viewer', ['zed', 'team:ghosts'], { teams: ['ghosts'] }), BOSS), expect: 'allow', warning: /Team ghosts does not exist yet/ },
  { name: 'a Team with a member that does not exist yet', input: create(team('t', { members: ['zed'] }), BOSS), expect: 'allow', warning: /User zed does not exist yet/ },
  { name: 'a Role including one that does not exist yet', input: create(role('r1', [], { includes: ['later'] }), BOSS), expect: 'allow', warning: /Role later does not exist yet/ },
  { name: 'a binding to a missing role by a non-superuser (cannot be checked)', input: create(rb('x', 'later', ['bob'], { namespaces: ['a'] }), as('dept')), expect: { rule: 'no-escalation', path: 'spec.role' } },
  { name: 'a binding to a missing role listed in canAssign', input: create(rb('x', 'future', ['bob'], { namespaces: ['a'] }), as('dept')), expect: 'allow', warning: /Role future does not exist yet/ },
]);

table('superuser-only', [
  { name: 'a superuser creates a superuser', input: create(user('dora', { superuser: true }), BOSS), expect: 'allow' },
  { name: 'a user admin creates a superuser', input: create(user('dora', { state: 'Pending', superuser: true }), as('useradmin')), expect: { rule: 'superuser-only', path: 'spec.superuser' } },
  { name: 'a user admin makes bob a superuser', input: update(bob, edit(bob, (u) => (u.spec.superuser = true)), as('useradmin')), expect: { rule: 'superuser-only', path: 'spec.superuser' } },
  { name: 'a superuser makes bob a superuser', input: update(bob, edit(bob, (u) => (u.spec.superuser = true)), BOSS), expect: 'allow' },
]);

table('approve-only', [
  { name: 'an approver activates a Pending user', input: update(pending, edit(pending, (u) => (u.spec.state = 'Active')), as('approver')), expect: 'allow' },
  { name: 'an approver rejects a Pending user', input: update(pending, edit(pending, (u) => (u.spec.state = 'Rejected')), as('approver')), expect: 'allow' },
  { name: 'a user admin activates a Pending user', input: update(pending, edit(pending, (u) => (u.spec.state = 'Active')), as('useradmin')), expect: { rule: 'approve-only', path: 'spec.state' } },
  { name: 'a user admin creates a Pending user', input: create(user('dora', { state: 'Pending' }), as('useradmin')), expect: 'allow' },
  { name: 'a user admin creates an Active user', input: create(user('dora'), as('useradmin')), expect: { rule: 'approve-only', path: 'spec.state' } },
  { name: 'an approver changes the email (needs users:update)', input: update(pending, edit(pending, (u) => (u.spec.email = 'p@x.io')), as('approver')), expect: 'delegated-scope' },
]);

const openCtx = context(WORLD, { ...CONFIG, registration: { mode: 'open' } });
const closedCtx = context(WORLD, { ...CONFIG, registration: { mode: 'closed' } });
table('registration (self-service create)', [
  { name: 'an unknown identity creates its own Pending User', input: create(user('carol', { state: 'Pending' }), as('carol')), expect: 'allow' },
  { name: 'with its username set to an email (the name derived from it)', input: create(user(userObjectName('dan@example.com'), { username: 'dan@example.com', state: 'Pending' }), as('dan@example.com')), expect: 'allow' },
  { name: 'with a name it chose (issue 32, finding 6)', input: create(user('dan', { username: 'dan@example.com', state: 'Pending' }), as('dan@example.com')), expect: { rule: 'registration', path: 'metadata.name' } },
  { name: 'named after someone a Team or binding names (henry), as mallory', input: create(user('henry', { username: 'mallory', state: 'Pending' }), as('mallory')), expect: { rule: 'registration', path: 'metadata.name' }, ctx: openCtx },
  { name: 'its own User asking for Active (registration approval)', input: create(user('carol'), as('carol')), expect: { rule: 'registration', path: 'spec.state' } },
  // Issue 32, finding 10: a dry run would tell which names and usernames are taken.
  { name: 'a dry-run self-registration', input: create(user('carol', { state: 'Pending' }), as('carol'), { dryRun: true }), expect: { rule: 'registration', path: 'metadata.name' } },
  { name: 'a dry-run self-registration as a username that is another User\'s name', input: create(user('impostor', { username: 'svc', state: 'Pending' }), as('svc'), { dryRun: true }), expect: { rule: 'registration', path: 'metadata.name' } },
  { name: 'its own User asking for Active (registration open)', input: create(user('carol'), as('carol')), expect: 'allow', ctx: openCtx },
  { name: 'its own User asking for Suspended (registration open)', input: create(user('carol', { state: 'Suspended' }), as('carol')), expect: 'registration', ctx: openCtx },
  { name: 'its own User with registration closed', input: create(user('carol', { state: 'Pending' }), as('carol')), expect: 'registration', ctx: closedCtx },
  { name: 'its own User as a superuser', input: create(user('carol', { state: 'Pending', superuser: true }), as('carol')), expect: { rule: 'superuser-only', path: 'spec.superuser' } },
  { name: 'a User for someone else', input: create(user('dave', { state: 'Pending' }), as('carol')), expect: 'delegated-scope' },
]);

table('self-service with me', [
  { name: 'alice edits her displayName', input: update(alice, edit(alice, (u) => (u.spec.displayName = 'Alice L.')), as('alice')), expect: 'allow' },
  { name: 'alice edits her email', input: update(alice, edit(alice, (u) => (u.spec.email = 'al@example.com')), as('alice')), expect: 'allow' },
  { name: 'bob (no me) edits his displayName', input: update(bob, edit(bob, (u) => (u.spec.displayName = 'Bob')), as('bob')), expect: { rule: 'self-service', path: 'spec.displayName' } },
  { name: 'alice suspends herself', input: update(alice, edit(alice, (u) => (u.spec.state = 'Suspended')), as('alice')), expect: 'approve-only' },
  { name: 'alice changes her username', input: update(alice, edit(alice, (u) => (u.spec.username = 'alice2')), as('alice')), expect: 'username-change' },
  { name: 'alice puts a line break in her displayName', input: update(alice, edit(alice, (u) => (u.spec.displayName = 'A\nSuperuser: yes')), as('alice')), expect: { rule: 'invalid-field', path: 'spec.displayName' } },
  { name: 'alice puts ESC in her email', input: update(alice, edit(alice, (u) => (u.spec.email = 'a\u001b[2K@example.com')), as('alice')), expect: { rule: 'invalid-field', path: 'spec.email' } },
  { name: "alice edits bob's displayName", input: update(bob, edit(bob, (u) => (u.spec.displayName = 'B')), as('alice')), expect: 'delegated-scope' },
  { name: 'a user admin edits bob', input: update(bob, edit(bob, (u) => (u.spec.displayName = 'B')), as('useradmin')), expect: 'allow' },
]);

table('usernames (issue 19 finding 1, issue 32 finding 2)', [
  { name: 'a user admin changes bob\'s username', input: update(bob, edit(bob, (u) => (u.spec.username = 'bob2')), as('useradmin')), expect: { rule: 'username-change', path: 'spec.username' } },
  { name: 'a user admin sets bob\'s username to his object name (no identity change)', input: update(bob, edit(bob, (u) => (u.spec.username = 'bob')), as('useradmin')), expect: 'allow' },
  { name: 'a superuser changes bob\'s username', input: update(bob, edit(bob, (u) => (u.spec.username = 'bob2')), as('root')), expect: 'allow' },
  { name: 'a username with a trailing space', input: create(user('g1', { username: 'grace ', state: 'Pending' }), as('root')), expect: { rule: 'username-form', path: 'spec.username' } },
  { name: 'a username with a leading space and system:', input: create(user('g2', { username: ' system:kube-controller-manager', state: 'Pending' }), as('root')), expect: 'username-form' },
  { name: 'a username beginning with system:', input: create(user('g3', { username: 'system:admin', state: 'Pending' }), as('root')), expect: 'username-form' },
  { name: 'a username not in NFC', input: create(user('g4', { username: 'jose\u0301', state: 'Pending' }), as('root')), expect: 'username-form' },
  { name: 'a username with a comma', input: create(user('g5', { username: 'a,b', state: 'Pending' }), as('root')), expect: 'username-form' },
]);

const loneBoss = user('boss', { superuser: true });
const loneCtx = context({ users: [loneBoss, bob], roles: [role('user-admin', [`${GH}/users:*`])], bindings: [binding('ua', 'user-admin', ['bob'], { cluster: true })] }, {});
const twoCtx = context({ users: [loneBoss, bob, user('boss2', { superuser: true })] }, {});
table('last-superuser', [
  { name: 'the last Active superuser demotes themselves', input: update(loneBoss, edit(loneBoss, (u) => (u.spec.superuser = false)), as('boss')), expect: { rule: 'last-superuser', path: 'spec.superuser' }, ctx: loneCtx },
  { name: 'the last Active superuser is suspended', input: update(loneBoss, edit(loneBoss, (u) => (u.spec.state = 'Suspended')), as('boss')), expect: { rule: 'last-superuser', path: 'spec.state' }, ctx: loneCtx },
  { name: 'the last Active superuser is rejected', input: update(loneBoss, edit(loneBoss, (u) => (u.spec.state = 'Rejected')), as('boss')), expect: 'last-superuser', ctx: loneCtx },
  { name: 'the last Active superuser is deleted', input: remove(loneBoss, as('bob')), expect: 'last-superuser', ctx: loneCtx },
  { name: 'the last Active superuser\'s username moves to another identity (counts identities)', input: update(loneBoss, edit(loneBoss, (u) => (u.spec.username = 'boss-elsewhere')), as('boss')), expect: { rule: 'last-superuser', path: 'spec.username' }, ctx: loneCtx },
  { name: 'a user admin moves the last superuser\'s username to themselves', input: update(loneBoss, edit(loneBoss, (u) => (u.spec.username = 'bob2')), as('bob')), expect: 'last-superuser', ctx: loneCtx },
  { name: 'a superuser\'s username moves while another superuser remains', input: update(loneBoss, edit(loneBoss, (u) => (u.spec.username = 'boss-elsewhere')), as('boss2')), expect: 'allow', ctx: twoCtx },
  { name: 'even by RBAC-trusted identities', input: remove(loneBoss, as('system:serviceaccount:argocd:argocd')), expect: 'last-superuser', ctx: loneCtx },
  { name: 'a superuser is demoted while another remains', input: update(loneBoss, edit(loneBoss, (u) => (u.spec.superuser = false)), as('boss')), expect: 'allow', ctx: twoCtx },
  { name: 'a superuser is deleted while a seed admin remains', input: remove(user('boss', { superuser: true }), BOSS), expect: 'allow' },
  { name: 'system:masters deletes the last one (break-glass)', input: remove(loneBoss, MASTERS), expect: 'allow', ctx: loneCtx, warning: /break-glass.*last-superuser/ },
]);

table('seed-protected', [
  { name: 'a superuser changes a seed admin', input: update(seedRoot, edit(seedRoot, (u) => (u.spec.email = 'r@x.io')), BOSS), expect: { rule: 'seed-protected', path: 'spec.email' } },
  { name: 'a superuser deletes a seed admin', input: remove(seedRoot, BOSS), expect: 'seed-protected' },
  { name: 'a superuser removes the seed label', input: update(seedRoot, edit(seedRoot, (u) => (u.metadata.labels = {})), BOSS), expect: 'seed-protected' },
  { name: 'a User for a configured seed admin is created by someone else', input: create(user('root2', { username: 'root', superuser: true }), MASTERS === MASTERS ? BOSS : BOSS), expect: 'seed-protected' },
  { name: 'a seed label put on a new User', input: create(edit(user('eve'), (u) => (u.metadata.labels = { [LABELS.seed]: 'true' })), BOSS), expect: 'seed-protected' },
  { name: 'a finalizer added to a seed admin (metadata only)', input: update(seedRoot, edit(seedRoot, (u) => (u.metadata.finalizers = ['x'])), BOSS), expect: 'allow' },
  { name: 'the operator changes a seed admin', input: update(seedRoot, edit(seedRoot, (u) => (u.spec.email = 'r@x.io')), OPERATOR), expect: 'allow' },
  { name: 'system:masters repairs a seed admin', input: update(seedRoot, edit(seedRoot, (u) => (u.spec.email = 'r@x.io')), MASTERS), expect: 'allow', warning: /seed-protected/ },
]);

table('no escalation through RoleBindings (dept admin in namespace a)', [
  { name: 'binding a role they hold, in their namespace', input: create(rb('x', 'researcher', ['bob'], { namespaces: ['a'] }), as('dept')), expect: 'allow' },
  { name: 'binding a role with more than they hold', input: create(rb('x', 'admin', ['bob'], { namespaces: ['a'] }), as('dept')), expect: { rule: 'no-escalation', path: 'spec.role' } },
  { name: 'binding anything in namespace b', input: create(rb('x', 'researcher', ['bob'], { namespaces: ['b'] }), as('dept')), expect: { rule: 'delegated-scope', path: 'spec.scope' } },
  { name: 'binding a role listed in canAssign, in their scope', input: create(rb('x', 'viewer', ['bob'], { namespaces: ['a'] }), as('dept')), expect: 'allow' },
  { name: 'binding a canAssign role cluster-wide', input: create(rb('x', 'viewer', ['bob'], { cluster: true }), as('dept')), expect: 'delegated-scope' },
  { name: 'binding themselves a stronger role', input: create(rb('x', 'gpu-user', ['dept'], { namespaces: ['a'] }), as('dept')), expect: 'no-escalation' },
  { name: 'a superuser binds admin cluster-wide', input: create(rb('x', 'admin', ['bob'], { cluster: true }), BOSS), expect: 'allow' },
  { name: 'an RBAC-trusted identity (Argo CD) binds admin', input: create(rb('x', 'admin', ['bob'], { cluster: true }), as('system:serviceaccount:argocd:argocd-application-controller')), expect: 'allow' },
  { name: 'a user with nothing binds a role', input: create(rb('x', 'viewer', ['bob'], { namespaces: ['a'] }), as('bob')), expect: 'delegated-scope' },
]);

const inA = rb('in-a', 'researcher', ['bob'], { namespaces: ['a'] });
const inB = rb('in-b', 'researcher', ['bob'], { namespaces: ['b'] });
table('delegated scope on update and delete', [
  { name: 'deleting a binding inside their scope', input: remove(inA, as('dept')), expect: 'allow' },
  { name: 'deleting a binding outside their scope', input: remove(inB, as('dept')), expect: { rule: 'delegated-scope', path: 'spec.scope' } },
  { name: 'changing subjects of a binding in their scope', input: update(inA, edit(inA, (b) => b.spec.subjects.push({ kind: 'User', name: 'carl' })), as('dept')), expect: 'allow' },
  { name: 'moving a binding from b into their scope', input: update(inB, edit(inB, (b) => (b.spec.scope = { namespaces: ['a'] })), as('dept')), expect: 'delegated-scope' },
  { name: 'a Role written by a namespace-scoped admin', input: create(role('r1', ['jobs:read']), as('dept')), expect: 'delegated-scope' },
  { name: 'a Team outside the teams they administer', input: update(team('other'), team('other', { description: 'x' }), as('teamadmin')), expect: 'delegated-scope' },
  { name: 'a Team they administer (description)', input: update(team('vision', { members: ['alice'], namespaces: ['vision-dev'] }), team('vision', { members: ['alice'], namespaces: ['vision-dev'], description: 'CV' }), as('teamadmin')), expect: 'allow' },
]);

table('no escalation through Roles (role admin holding jobs:* cluster-wide)', [
  { name: 'a Role with what they hold', input: create(role('r1', ['jobs:read']), as('roleadmin')), expect: 'allow' },
  { name: 'a Role with *:*', input: create(role('r1', ['*:*']), as('roleadmin')), expect: { rule: 'no-escalation', path: 'spec.permissions' } },
  { name: 'a Role including admin', input: create(role('r1', [], { includes: ['admin'] }), as('roleadmin')), expect: { rule: 'no-escalation', path: 'spec.includes[0]' } },
  { name: 'a Role including one they hold', input: create(role('r1', [], { includes: ['jobs-reader'] }), as('roleadmin')), expect: 'allow' },
  { name: 'a Role whose canAssign lists admin', input: create(role('r1', [], { canAssign: ['admin'] }), as('roleadmin')), expect: { rule: 'no-escalation', path: 'spec.canAssign[0]' } },
  { name: 'a Role whose canAssign lists jobs-reader', input: create(role('r1', [], { canAssign: ['jobs-reader'] }), as('roleadmin')), expect: 'allow' },
  { name: 'a Role with a PolicyRule they hold', input: create(role('r1', [], { rules: [{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['get'] }] }), as('roleadmin')), expect: 'allow' },
  { name: 'a Role with a PolicyRule for secrets', input: create(role('r1', [], { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] }), as('roleadmin')), expect: { rule: 'no-escalation', path: 'spec.rules' } },
  { name: 'a Role with a nonResourceURLs rule', input: create(role('r1', [], { rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }] }), as('roleadmin')), expect: 'no-escalation' },
  { name: 'widening an existing Role', input: update(role('jobs-reader', ['jobs:read']), role('jobs-reader', ['jobs:read', 'secrets:get']), as('roleadmin')), expect: 'no-escalation' },
  { name: 'deleting a Role', input: remove(role('jobs-reader', ['jobs:read']), as('roleadmin')), expect: 'allow' },
]);

const vision = team('vision', { members: ['alice'], namespaces: ['vision-dev'] });
const gpu = team('gpu', { members: ['carl'], namespaces: ['gpu-dev'] });
table('no escalation through Team membership (team admin of vision and gpu)', [
  { name: 'adding bob to vision (they hold researcher in vision)', input: update(vision, edit(vision, (t) => t.spec.members!.push('bob')), as('teamadmin')), expect: 'allow' },
  { name: 'adding themselves to the more powerful team gpu', input: update(gpu, edit(gpu, (t) => t.spec.members!.push('teamadmin')), as('teamadmin')), expect: { rule: 'no-escalation', path: 'spec.members[1]' } },
  { name: 'adding a group to gpu', input: update(gpu, edit(gpu, (t) => (t.spec.groups = ['oidc:all'])), as('teamadmin')), expect: { rule: 'no-escalation', path: 'spec.groups[0]' } },
  { name: 'removing carl from gpu', input: update(gpu, edit(gpu, (t) => (t.spec.members = [])), as('teamadmin')), expect: 'allow' },
  { name: 'adding namespace b to vision (extends researcher there)', input: update(vision, edit(vision, (t) => t.spec.namespaces!.push('b')), as('teamadmin')), expect: { rule: 'no-escalation', path: 'spec.namespaces[1]' } },
  { name: 'a superuser adds namespace b to vision', input: update(vision, edit(vision, (t) => t.spec.namespaces!.push('b')), BOSS), expect: 'allow' },
  { name: 'a user with nothing adds themselves to vision', input: update(vision, edit(vision, (t) => t.spec.members!.push('bob')), as('bob')), expect: 'delegated-scope' },
]);

const mlA = ns('ml-a', { [LABELS.owner]: 'alice' });
const abNs = edit(ns('ab-ns', { [LABELS.owner]: 'a_at_b.c' }), (n) => (n.metadata.annotations = { [OWNER_USERNAME_ANNOTATION]: 'a@b.c' }));
const teamNs = ns('vision-dev', { [LABELS.team]: 'vision' });
table('namespace labels', [
  { name: 'alice creates a namespace labelled as hers', input: create(ns('ml-b', { [LABELS.owner]: 'alice' }), as('alice')), expect: 'allow' },
  { name: 'alice creates a namespace labelled as bob\'s', input: create(ns('ml-b', { [LABELS.owner]: 'bob' }), as('alice')), expect: { rule: 'namespace-labels', path: `metadata.labels[${LABELS.owner}]` } },
  { name: 'alice makes her namespace public', input: update(mlA, edit(mlA, (n) => (n.metadata.labels![LABELS.visibility] = 'public')), as('alice')), expect: 'allow' },
  { name: 'bob makes alice\'s namespace public', input: update(mlA, edit(mlA, (n) => (n.metadata.labels![LABELS.visibility] = 'public')), as('bob')), expect: 'namespace-labels' },
  { name: 'bob takes over alice\'s namespace', input: update(mlA, edit(mlA, (n) => (n.metadata.labels![LABELS.owner] = 'bob')), as('bob')), expect: 'namespace-labels' },
  // Issue 32, finding 1: the API server keeps label changes made through status and finalize.
  { name: 'bob takes over alice\'s namespace through namespaces/status', input: update(mlA, edit(mlA, (n) => (n.metadata.labels![LABELS.owner] = 'bob')), as('bob'), { subResource: 'status' }), expect: 'namespace-labels' },
  { name: 'bob takes over alice\'s namespace through namespaces/finalize', input: update(mlA, edit(mlA, (n) => (n.metadata.labels![LABELS.owner] = 'bob')), as('bob'), { subResource: 'finalize' }), expect: 'namespace-labels' },
  { name: 'alice hands her namespace to bob', input: update(mlA, edit(mlA, (n) => (n.metadata.labels![LABELS.owner] = 'bob')), as('alice')), expect: 'allow' },
  { name: 'a visibility that is not public or private', input: update(mlA, edit(mlA, (n) => (n.metadata.labels![LABELS.visibility] = 'open')), as('alice')), expect: 'invalid-field' },
  { name: 'the team admin makes a team namespace public', input: update(teamNs, edit(teamNs, (n) => (n.metadata.labels![LABELS.visibility] = 'public')), as('teamadmin')), expect: 'allow' },
  { name: 'alice puts her namespace into team gpu', input: update(mlA, edit(mlA, (n) => (n.metadata.labels![LABELS.team] = 'gpu')), as('alice')), expect: { rule: 'namespace-labels', path: `metadata.labels[${LABELS.team}]` } },
  { name: 'a superuser relabels any namespace', input: update(mlA, edit(mlA, (n) => (n.metadata.labels![LABELS.owner] = 'bob')), BOSS), expect: 'allow' },
  { name: 'other labels are anyone\'s', input: update(mlA, edit(mlA, (n) => (n.metadata.labels!['tier'] = 'gold')), as('bob')), expect: 'allow' },
  { name: 'kube-system is left alone', input: update(ns('kube-system'), ns('kube-system', { [LABELS.owner]: 'bob' }), as('bob')), expect: 'allow' },
  // Issue 16, item 4: who a namespace belongs to is its owner's (or a superuser's) to change.
  { name: 'the team admin names themself owner of a team namespace', input: update(teamNs, edit(teamNs, (n) => (n.metadata.labels![LABELS.owner] = 'teamadmin')), as('teamadmin')), expect: { rule: 'namespace-labels', path: `metadata.labels[${LABELS.owner}]` } },
  { name: 'the team admin takes a namespace out of the team', input: update(teamNs, edit(teamNs, (n) => delete n.metadata.labels![LABELS.team]), as('teamadmin')), expect: { rule: 'namespace-labels', path: `metadata.labels[${LABELS.team}]` } },
  { name: 'the team admin creates a namespace owned by someone else', input: create(ns('ml-c', { [LABELS.owner]: 'alice', [LABELS.team]: 'vision' }), as('teamadmin')), expect: 'namespace-labels' },
  { name: 'the owner takes the namespace out of a team', input: update(edit(mlA, (n) => (n.metadata.labels![LABELS.team] = 'vision')), mlA, as('alice')), expect: 'allow' },
  { name: 'a superuser takes a namespace out of a team', input: update(teamNs, edit(teamNs, (n) => delete n.metadata.labels![LABELS.team]), BOSS), expect: 'allow' },
  { name: 'a_at_b.c is not the owner of a@b.c\'s namespace (same label)', input: update(abNs, edit(abNs, (n) => (n.metadata.annotations = { [OWNER_USERNAME_ANNOTATION]: 'a_at_b.c' })), as('a_at_b.c')), expect: { rule: 'namespace-labels', path: `metadata.annotations[${OWNER_USERNAME_ANNOTATION}]` } },
  { name: 'an owner annotation that does not match the label', input: create(edit(ns('ml-c', { [LABELS.owner]: 'alice' }), (n) => (n.metadata.annotations = { 'iam.gatehouse.dev/owner-username': 'bob@x.io' })), as('alice')), expect: 'namespace-labels' },
]);

describe('break-glass, trusted identities, sync', () => {
  it('system:masters and the operator pass everything', () => {
    for (const who of [MASTERS, OPERATOR]) {
      check({ name: 'superuser', input: create(user('eve', { superuser: true }), who), expect: 'allow' });
      check({ name: 'seed', input: remove(seedRoot, who), expect: 'allow' });
    }
  });
  it('semantic errors become warnings for break-glass', () => {
    const res = validateAdmission(create(role('r1', ['pods']), MASTERS), ctx);
    assert.equal(res.allowed, true);
    assert.ok(res.warnings.some((w) => /permission-syntax/.test(w)));
  });
  it('RBAC-trusted identities still meet the semantic rules', () => {
    check({ name: 'argo', input: create(role('r1', ['pods']), as('system:serviceaccount:argocd:argocd')), expect: 'permission-syntax' });
  });
  it('configured ignoreUsers are trusted like service accounts; with the trust off they hold nothing', () => {
    const c = context(WORLD, { ...CONFIG, authorization: { ignoreUsers: ['ci-bot'] } });
    check({ name: 'ci', input: create(rb('x', 'admin', ['bob'], { cluster: true }), as('ci-bot')), expect: 'allow', ctx: c });
    const strict = { ...c, trustUnmanagedIdentities: false };
    check({ name: 'ci strict', input: create(rb('x', 'admin', ['bob'], { cluster: true }), as('ci-bot')), expect: 'delegated-scope', ctx: strict });
  });
  it('before the index syncs everything but break-glass is denied', () => {
    const c = context(WORLD, CONFIG, { synced: false });
    check({ name: 'not synced', input: create(role('r1', ['pods:read']), BOSS), expect: 'not-synced', ctx: c });
    check({ name: 'masters', input: create(role('r1', ['pods:read']), MASTERS), expect: 'allow', ctx: c });
  });
});

describe('operations: delete, dry run, metadata-only updates, status', () => {
  const inB2 = rb('in-b', 'researcher', ['bob'], { namespaces: ['b'] });
  it('finalizers and ownerReferences: superusers, the operator and RBAC-trusted controllers only', () => {
    const pinned = edit(inB2, (b) => (b.metadata.finalizers = ['gatehouse']));
    check({ name: 'finalizer by bob', input: update(inB2, pinned, as('bob')), expect: { rule: 'metadata-protected', path: 'metadata.finalizers' } });
    check({ name: 'finalizer by dept', input: update(inB2, pinned, as('dept')), expect: { rule: 'metadata-protected', path: 'metadata.finalizers' } });
    for (const who of [BOSS, OPERATOR, as('system:serviceaccount:kube-system:generic-garbage-collector')]) {
      check({ name: `finalizer by ${who.user}`, input: update(inB2, pinned, who), expect: 'allow' });
    }
    const owned = edit(inB2, (b) => ((b.metadata as unknown as Record<string, unknown>)['ownerReferences'] = [{ apiVersion: 'v1', kind: 'Namespace', name: 'b', uid: 'u' }]));
    check({ name: 'ownerReferences by dept', input: update(inB2, owned, as('dept')), expect: { rule: 'metadata-protected', path: 'metadata.ownerReferences' } });
    check({ name: 'a finalizer on a new object', input: create(pinned, as('dept')), expect: 'metadata-protected' });
  });
  it('labels and annotations go through the delegated scope check like spec changes', () => {
    const noted = edit(inB2, (b) => (b.metadata.annotations = { 'example.com/n': 'x' }));
    check({ name: 'outside the scope', input: update(inB2, noted, as('bob')), expect: { rule: 'delegated-scope', path: 'metadata.annotations[example.com/n]' } });
    check({ name: 'by a superuser', input: update(inB2, noted, BOSS), expect: 'allow' });
  });
  it('an update that sets deletionTimestamp and removes finalizers passes for the identities allowed finalizers', () => {
    const dying = edit(inB2, (b) => { b.metadata.finalizers = ['gatehouse']; });
    const gone = edit(dying, (b) => { b.metadata.deletionTimestamp = '2026-06-01T00:00:00Z'; b.metadata.finalizers = []; });
    check({ name: 'deletion', input: update(dying, gone, OPERATOR), expect: 'allow' });
    check({ name: 'deletion by bob', input: update(dying, gone, as('bob')), expect: 'metadata-protected' });
  });
  it('a dry run gets the same answer as a real request', () => {
    for (const input of [create(rb('x', 'admin', ['bob'], { namespaces: ['a'] }), as('dept')), create(rb('x', 'researcher', ['bob'], { namespaces: ['a'] }), as('dept'))]) {
      const real = validateAdmission(input, ctx);
      const dry = validateAdmission({ ...input, dryRun: true }, ctx);
      assert.deepEqual(dry, real);
    }
  });
  it('status subresource writes are left to RBAC', () => {
    check({ name: 'status', input: update(inB2, edit(inB2, (b) => (b.status = { expired: true })), as('bob'), { subResource: 'status' }), expect: 'allow' });
  });
  it('DELETE reads oldObject (object is null)', () => {
    const input = remove(bob, as('useradmin'));
    assert.equal(input.object, null);
    check({ name: 'delete', input, expect: 'allow' });
    check({ name: 'delete denied', input: remove(bob, as('alice')), expect: 'delegated-scope' });
  });
});

describe('toMessage', () => {
  it('renders the field path and the rule id a person can act on', () => {
    const res = validateAdmission(create(user('dora', { state: 'Pending', superuser: true }), as('useradmin')), ctx);
    assert.equal(toMessage(res), 'Gatehouse denied: spec.superuser: only superusers may set superuser (rule: superuser-only)');
  });
  it('says where a delegated admin holds the permission, or that they hold it nowhere', () => {
    const inA = toMessage(validateAdmission(create(rb('x', 'researcher', ['bob'], { namespaces: ['b'] }), as('dept')), ctx));
    assert.match(inA, /requires iam\.gatehouse\.dev\/rolebindings:create in namespace b; dept holds it in namespace a \(rule: delegated-scope\)/);
    const none = toMessage(validateAdmission(create(user('dave', { state: 'Pending' }), as('carol')), ctx));
    assert.match(none, /creating User dave requires iam\.gatehouse\.dev\/users:create in the whole cluster; carol holds it nowhere \(rule: delegated-scope\)/);
  });
  it('is empty for an allowed result', () => {
    assert.equal(toMessage({ allowed: true, errors: [], warnings: [] }), '');
  });
});
