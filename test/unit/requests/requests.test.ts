// Access requests' pure parts: admission's rules (each refusal with an allowed neighbour), the
// mutation's stamping, the lifecycle plan, durations, the denial hint and the notification signature.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Role } from '../../../src/api/types.js';
import { validateAdmission } from '../../../src/admission/validate.js';
import { mutateAdmission } from '../../../src/admission/mutate.js';
import type { AdmissionInput } from '../../../src/admission/types.js';
import { as, context, NOW } from '../../support/admission.js';
import { role, team, user, ns, policy } from '../../support/authz.js';
import type { World } from '../../../src/authz/index.js';
import { PermissionIndex } from '../../../src/authz/index.js';
import { decide, prepareTarget, roleGrants } from '../../../src/authz/decide.js';
import { candidateRoles } from '../../../src/requests/hint.js';
import { planRequest } from '../../../src/requests/lifecycle.js';
import { parseDuration, formatDuration, type AccessRequestObject } from '../../../src/requests/types.js';
import { sign } from '../../../src/requests/notify.js';
import { createHmac } from 'node:crypto';

const researcher: Role = role('researcher', ['pods:read'], { requestable: { maxDuration: '1h', approvers: [{ kind: 'Team', name: 'approvers' }] } });
const twoPerson: Role = role('two', ['configmaps:read'], { requestable: { maxDuration: '1h', approvals: 2 } });
const WORLD: World = {
  users: [user('alice'), user('bob'), user('carl'), user('dan', { state: 'Suspended' }), user('sue', { superuser: true })],
  roles: [researcher, twoPerson, role('locked', ['secrets:read'])],
  teams: [team('approvers', { members: ['bob'] }), team('vision', {})],
  namespaces: [ns('vision-ns', { 'iam.gatehouse.dev/team': 'vision' })],
};
const ctx = context(WORLD);

function req(spec: Partial<AccessRequestObject['spec']> = {}, status?: AccessRequestObject['status']): AccessRequestObject {
  return {
    kind: 'AccessRequest',
    metadata: { name: 'r1', uid: 'u1', creationTimestamp: new Date(NOW - 1000).toISOString() },
    spec: { role: 'researcher', scope: { teams: ['vision'] }, duration: '30m', reason: 'debug', requester: 'alice', ...spec },
    ...(status ? { status } : {}),
  };
}
function input(operation: AdmissionInput['operation'], object: unknown, oldObject: unknown, who: string): AdmissionInput {
  return { operation, kind: 'AccessRequest', name: 'r1', object, oldObject, requester: as(who, ['system:authenticated']), dryRun: false };
}
function rules(i: AdmissionInput): string[] {
  return validateAdmission(i, ctx).errors.map((e) => e.rule);
}
const withDecision = (r: AccessRequestObject, action: 'Approve' | 'Deny' | 'Revoke', by: string): AccessRequestObject => ({
  ...r, spec: { ...r.spec, decisions: [...(r.spec.decisions ?? []), { action, by, at: new Date(NOW).toISOString() }] },
});

describe('AccessRequest admission', () => {
  it('an Active user asks for themselves', () => assert.deepEqual(rules(input('CREATE', req(), null, 'alice')), []));
  it('refuses a forged requester', () => assert.deepEqual(rules(input('CREATE', req({ requester: 'bob' }), null, 'alice')), ['request-requester']));
  it('refuses a user who is not Active', () => assert.ok(rules(input('CREATE', req({ requester: 'dan' }), null, 'dan')).includes('request-requester')));
  it('refuses a role that is not requestable', () => assert.deepEqual(rules(input('CREATE', req({ role: 'locked' }), null, 'alice')), ['request-not-requestable']));
  it('refuses a duration over maxDuration', () => {
    assert.deepEqual(rules(input('CREATE', req({ duration: '2h' }), null, 'alice')), ['request-duration']);
    assert.deepEqual(rules(input('CREATE', req({ duration: '1h' }), null, 'alice')), []);
  });
  it('an approver approves', () => assert.deepEqual(rules(input('UPDATE', withDecision(req(), 'Approve', 'bob'), req(), 'bob')), []));
  it('refuses self-approval', () => assert.deepEqual(rules(input('UPDATE', withDecision(req(), 'Approve', 'alice'), req(), 'alice')), ['request-self-approval']));
  it('refuses self-approval by an approver of the role', () => {
    const own = req({ requester: 'bob' });
    assert.deepEqual(rules(input('UPDATE', withDecision(own, 'Approve', 'bob'), own, 'bob')), ['request-self-approval']);
    assert.deepEqual(rules(input('UPDATE', withDecision(own, 'Approve', 'sue'), own, 'sue')), []);
  });
  it('refuses an approver outside the role\'s approvers', () => assert.deepEqual(rules(input('UPDATE', withDecision(req(), 'Approve', 'carl'), req(), 'carl')), ['request-approver']));
  it('a superuser may approve', () => assert.deepEqual(rules(input('UPDATE', withDecision(req(), 'Approve', 'sue'), req(), 'sue')), []));
  it('refuses approving for a suspended requester', () => {
    const r = req({ requester: 'dan' });
    assert.deepEqual(rules(input('UPDATE', withDecision(r, 'Approve', 'bob'), r, 'bob')), ['request-inactive']);
  });
  it('refuses a decision stamped with someone else', () => assert.deepEqual(rules(input('UPDATE', withDecision(req(), 'Approve', 'sue'), req(), 'bob')), ['request-decision']));
  it('refuses changing what was asked', () => assert.deepEqual(rules(input('UPDATE', req({ duration: '1h' }), req(), 'alice')), ['request-immutable']));
  it('the requester may revoke; another user may not', () => {
    const approved = req({}, { phase: 'Approved' });
    assert.deepEqual(rules(input('UPDATE', withDecision(approved, 'Revoke', 'alice'), approved, 'alice')), []);
    assert.deepEqual(rules(input('UPDATE', withDecision(approved, 'Revoke', 'carl'), approved, 'carl')), ['request-approver']);
  });
  it('without approvers, whoever could bind the role approves (here: superusers only)', () => {
    const r = req({ role: 'two' });
    assert.deepEqual(rules(input('UPDATE', withDecision(r, 'Approve', 'bob'), r, 'bob')), ['request-approver']);
    assert.deepEqual(rules(input('UPDATE', withDecision(r, 'Approve', 'sue'), r, 'sue')), []);
  });
  it('the mutation stamps the requester and the decider from userInfo', () => {
    const created = mutateAdmission(input('CREATE', { metadata: { name: 'r1' }, spec: { role: 'researcher' } }, null, 'alice'), ctx);
    assert.deepEqual(created.patch, [{ op: 'add', path: '/spec/requester', value: 'alice' }]);
    const decided = mutateAdmission(input('UPDATE', withDecision(req(), 'Approve', 'mallory'), req(), 'bob'), ctx);
    assert.deepEqual(decided.patch.map((p) => [p.path, p.value]), [['/spec/decisions/0/by', 'bob'], ['/spec/decisions/0/at', new Date(NOW).toISOString()]]);
  });
});

describe('AccessRequest lifecycle', () => {
  const active = user('alice');
  const base = { role: researcher, requester: active, bindingExists: false, now: NOW, pendingTTLms: 86_400_000 };
  it('Pending until enough approvals; approval grants min(duration, maxDuration)', () => {
    const p = planRequest({ ...base, request: withDecision(req({ duration: '30m' }, { phase: 'Pending' }), 'Approve', 'bob') });
    assert.equal(p.status.phase, 'Approved');
    assert.equal(p.createBinding, true);
    assert.equal(p.status.expiresAt, new Date(NOW + 30 * 60_000).toISOString());
    assert.equal(p.actor, 'bob');
  });
  it('two-person approval waits for a second, different approver', () => {
    const one = withDecision(req({ role: 'two' }, { phase: 'Pending' }), 'Approve', 'sue');
    assert.equal(planRequest({ ...base, role: twoPerson, request: one }).status.phase, 'Pending');
    assert.equal(planRequest({ ...base, role: twoPerson, request: withDecision(one, 'Approve', 'sue') }).status.phase, 'Pending');
    assert.equal(planRequest({ ...base, role: twoPerson, request: withDecision(one, 'Approve', 'boss') }).status.phase, 'Approved');
  });
  it('ends at expiry, on revoke and when the requester is suspended, deleting the grant', () => {
    const approved = req({}, { phase: 'Approved', expiresAt: new Date(NOW + 1000).toISOString(), roleBinding: 'request-r1' });
    assert.equal(planRequest({ ...base, bindingExists: true, request: approved }).status.phase, 'Approved');
    const ended = planRequest({ ...base, bindingExists: true, now: NOW + 1000, request: approved });
    assert.deepEqual([ended.status.phase, ended.deleteBinding], ['Ended', true]);
    const revoked = planRequest({ ...base, bindingExists: true, request: withDecision(approved, 'Revoke', 'alice') });
    assert.deepEqual([revoked.status.phase, revoked.deleteBinding, revoked.actor], ['Revoked', true, 'alice']);
    const suspended = planRequest({ ...base, bindingExists: true, requester: user('alice', { state: 'Suspended' }), request: approved });
    assert.deepEqual([suspended.status.phase, suspended.deleteBinding], ['Ended', true]);
    // A Pending one of a suspended requester is not granted, even with an approval.
    const pending = planRequest({ ...base, requester: user('alice', { state: 'Suspended' }), request: withDecision(req({}, { phase: 'Pending' }), 'Approve', 'bob') });
    assert.deepEqual([pending.status.phase, pending.createBinding], ['Pending', false]);
  });
  it('Expired when nobody decided in time; Denied on a denial', () => {
    assert.equal(planRequest({ ...base, pendingTTLms: 500, request: req({}, { phase: 'Pending' }) }).status.phase, 'Expired');
    assert.equal(planRequest({ ...base, request: withDecision(req({}, { phase: 'Pending' }), 'Deny', 'bob') }).status.phase, 'Denied');
  });
});

describe('durations, hints, signatures', () => {
  it('parses and prints durations', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('2d'), 172_800_000);
    for (const bad of ['', '0s', '1x', '-1h', 'h', 5]) assert.equal(parseDuration(bad), undefined, String(bad));
    assert.equal(formatDuration(5_400_000), '1h30m');
  });
  it('a refusal names the requestable role and the command; an allow is unchanged', () => {
    const index = PermissionIndex.build(WORLD, policy(), () => NOW);
    index.markSynced();
    const d = decide(index, { user: 'alice', groups: [], resource: { verb: 'list', group: '', resource: 'pods', namespace: 'vision-ns' } });
    assert.equal(d.verdict, 'noOpinion');
    assert.match(d.reason, /; to ask for access: kubectl gatehouse request researcher --team vision --for 1h --reason "\.\.\."$/);
    const none = decide(index, { user: 'alice', groups: [], resource: { verb: 'delete', group: '', resource: 'nodes' } });
    assert.doesNotMatch(none.reason, /to ask for access/);
    const own = decide(index, { user: 'alice', groups: [], resource: { verb: 'create', group: 'iam.gatehouse.dev', resource: 'accessrequests' } });
    assert.equal(own.verdict, 'allow');
    const status = decide(index, { user: 'alice', groups: [], resource: { verb: 'patch', group: 'iam.gatehouse.dev', resource: 'accessrequests', subresource: 'status', name: 'r1' } });
    assert.notEqual(status.verdict, 'allow');
  });
  it('the hint\'s bitset lookup agrees with the roles\' matchers', () => {
    const roles = [
      role('r-pods', ['pods:read'], { requestable: {} }),
      role('r-named', ['configmaps:get:settings'], { requestable: {} }),
      role('r-incl', [], { includes: ['r-pods'], requestable: {} }),
      role('r-url', ['/metrics:get'], { requestable: {} }),
      role('r-all', ['*:*'], { requestable: {} }),
    ];
    const index = PermissionIndex.build({ ...WORLD, roles: [...(WORLD.roles ?? []), ...roles] }, policy(), () => NOW);
    index.markSynced();
    const targets = [
      { resource: { verb: 'get', group: '', resource: 'pods', namespace: 'vision-ns' } },
      { resource: { verb: 'delete', group: '', resource: 'pods', namespace: 'vision-ns' } },
      { resource: { verb: 'get', group: '', resource: 'configmaps', name: 'settings', namespace: 'x' } },
      { resource: { verb: 'get', group: '', resource: 'configmaps', name: 'other', namespace: 'x' } },
      { resource: { verb: 'get', group: '', resource: 'secrets', namespace: 'x' } },
      { nonResource: { verb: 'get', path: '/metrics' } },
    ];
    for (const req of targets) {
      const t = prepareTarget(req)!;
      const byMatcher = index.listRoles().filter((r) => r.spec.requestable && roleGrants(index.compiledRole(r.metadata.name), t)).map((r) => r.metadata.name).sort();
      assert.deepEqual(candidateRoles(index, t).map((r) => r.metadata.name).sort(), byMatcher, JSON.stringify(req));
    }
  });
  it('signs the exact body with HMAC-SHA256', () => {
    assert.equal(sign('k', '{"a":1}'), `sha256=${createHmac('sha256', 'k').update('{"a":1}').digest('hex')}`);
  });
});
