// The shared identity and liveness rules (src/authz/rules.ts): every reader calls these, so a
// change here changes decide(), admission and status together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveGroups, ignoreListsOf, isBreakGlass, isLive, leftAloneBecause, usernameOf } from '../../../src/authz/rules.js';
import { isUnmanaged } from '../../../src/admission/common.js';
import { user } from '../../support/authz.js';

const lists = ignoreListsOf({ ignoreUsers: ['argocd'], ignoreGroups: ['ci'] });

test('left alone: system users, service-account groups, the configured lists, and nobody else', () => {
  assert.equal(leftAloneBecause(lists, 'system:kube-scheduler', []), 'user system:kube-scheduler is a system identity');
  assert.equal(leftAloneBecause(lists, 'bot', ['system:serviceaccounts:ci']), 'group system:serviceaccounts:ci is a service-account group');
  assert.equal(leftAloneBecause(lists, 'bot', ['system:serviceaccounts']), 'group system:serviceaccounts is a service-account group');
  assert.equal(leftAloneBecause(lists, 'argocd', []), 'user argocd is in authorization.ignoreUsers');
  assert.equal(leftAloneBecause(lists, 'bob', ['ci']), 'group ci is in authorization.ignoreGroups');
  assert.equal(leftAloneBecause(lists, 'alice', ['system:authenticated', 'system:serviceaccountsx']), null);
});

test('admission trusts exactly the identities decide() leaves alone (the service-account group rule included)', () => {
  const ctx = { config: { authorization: { denyInactiveUsers: true, ignoreUsers: ['argocd'], ignoreGroups: ['ci'] } } } as never;
  assert.equal(isUnmanaged(ctx, { user: 'bot', groups: ['system:serviceaccounts:ci'] }), true);
  assert.equal(isUnmanaged(ctx, { user: 'argocd', groups: [] }), true);
  assert.equal(isUnmanaged(ctx, { user: 'alice', groups: ['system:authenticated'] }), false);
});

test('system:masters never counts for matching, and is break-glass', () => {
  assert.deepEqual(effectiveGroups(['system:masters', 'oidc:ml']), ['oidc:ml']);
  assert.equal(isBreakGlass('system:serviceaccount:gh:op', 'alice', ['system:masters']), true);
  assert.equal(isBreakGlass('system:serviceaccount:gh:op', 'system:serviceaccount:gh:op', []), true);
  assert.equal(isBreakGlass('system:serviceaccount:gh:op', 'alice', ['oidc:ml']), false);
});

test('a binding is live until its expiry, and not at it; an unparsable expiry is past', () => {
  assert.equal(isLive({ expiresAt: null }, 5), true);
  assert.equal(isLive({ expiresAt: 6 }, 5), true);
  assert.equal(isLive({ expiresAt: 5 }, 5), false);
  assert.equal(isLive({ expiresAt: Number.NaN }, 5), false);
});

test('a User is known by spec.username, else its name; an empty username counts as unset', () => {
  assert.equal(usernameOf(user('alice', { username: 'alice@example.com' })), 'alice@example.com');
  assert.equal(usernameOf(user('alice')), 'alice');
  assert.equal(usernameOf(user('alice', { username: '' })), 'alice');
});
