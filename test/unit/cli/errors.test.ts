import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateError, usageError } from '../../../src/client/errors.js';
import { EXIT, exitCodeOf } from '../../../src/cli/errors.js';

const apiErr = (code: number, body: unknown) => Object.assign(new Error('x'), { code, body: typeof body === 'string' ? body : JSON.stringify(body) });

test('403 prints the API server (or webhook) sentence after "forbidden:"', () => {
  const e = translateError(apiErr(403, { kind: 'Status', reason: 'Forbidden', message: 'users.iam.gatehouse.dev "a" is forbidden: User "bob" cannot patch resource' }), { action: 'patch', kind: 'User', name: 'a' });
  assert.equal(e.message, 'forbidden: users.iam.gatehouse.dev "a" is forbidden: User "bob" cannot patch resource');
  assert.equal(exitCodeOf(e), EXIT.api);
});

test('404 without a Status naming the object means the CRDs are not installed', () => {
  const e = translateError(apiErr(404, '404 page not found'), { action: 'list users', kind: 'User' });
  assert.match(e.message, /CRDs .* are not installed/);
  assert.equal(e.details['crdsMissing'], true);
});

test('404 naming the object is a plain not-found', () => {
  const e = translateError(apiErr(404, { reason: 'NotFound', message: 'users.iam.gatehouse.dev "x" not found', details: { name: 'x' } }), { action: 'get', kind: 'User', name: 'x' });
  assert.equal(e.message, 'User "x" not found');
  assert.equal(e.details['notFound'], true);
});

test('409 AlreadyExists and Conflict are told apart; 422 keeps the field causes', () => {
  assert.equal(translateError(apiErr(409, { reason: 'AlreadyExists', message: 'exists' }), { action: 'c' }).details['alreadyExists'], true);
  assert.equal(translateError(apiErr(409, { reason: 'Conflict', message: 'modified' }), { action: 'c' }).details['conflict'], true);
  const invalid = translateError(apiErr(422, { reason: 'Invalid', message: 'Role "r" is invalid', details: { causes: [{ field: 'spec.permissions[0]', message: 'bad' }] } }), { action: 'c' });
  assert.equal(invalid.message, 'rejected: Role "r" is invalid\n  spec.permissions[0]: bad');
});

test('an unreachable API server names the address and what to check', () => {
  const e = translateError(Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), { action: 'list users', server: 'https://127.0.0.1:1' });
  assert.match(e.message, /cannot reach the API server at https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\).*kubeconfig/);
});

test('a ClientError passes through unchanged', () => {
  const original = usageError('x');
  assert.equal(translateError(original, { action: 'y' }), original);
});
