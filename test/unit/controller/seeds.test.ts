// Seed admins and presets: names, desired objects, and the patch that restores them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredPresetRole, desiredSeedUser, keepPatch, seedObjectName } from '../../../src/controller/seeds.js';

test('a seed username that is a valid object name is used as is; others get a stable cleaned name', () => {
  assert.equal(seedObjectName('root'), 'root');
  assert.equal(seedObjectName('ops.admin'), 'ops.admin');
  const email = seedObjectName('Admin@Example.com');
  assert.match(email, /^admin-example\.com-[0-9a-f]{6}$/);
  assert.equal(seedObjectName('Admin@Example.com'), email, 'stable');
  assert.notEqual(seedObjectName('admin@example.com'), email, 'different usernames stay apart');
  assert.match(seedObjectName('@@@'), /^seed-[0-9a-f]{6}$/);
});

test('a seed admin is an Active superuser labelled as a seed', () => {
  const u = desiredSeedUser({ username: 'root', email: 'root@example.com' });
  assert.deepEqual(u.spec, { username: 'root', state: 'Active', superuser: true, email: 'root@example.com' });
  assert.equal(u.metadata.labels?.['iam.gatehouse.dev/seed'], 'true');
});

test('keepPatch restores changed fields, removes extra ones, adds missing labels, and is empty when all is well', () => {
  const desired = desiredSeedUser({ username: 'root' });
  assert.equal(keepPatch(structuredClone(desired), desired), undefined);
  const drifted = { metadata: { name: 'root', labels: { other: 'x' } }, spec: { username: 'root', state: 'Suspended', superuser: false, email: 'x@y' } };
  assert.deepEqual(keepPatch(drifted, desired), {
    metadata: { labels: { 'iam.gatehouse.dev/seed': 'true' } },
    spec: { state: 'Active', superuser: true, email: null },
  });
});

test('a preset role carries the preset label and the spec as given', () => {
  const r = desiredPresetRole({ preset: 'zenml', name: 'zenml-viewer', spec: { permissions: ['projects:read'] } });
  assert.equal(r.metadata.labels?.['iam.gatehouse.dev/preset'], 'zenml');
  assert.deepEqual(r.spec, { permissions: ['projects:read'] });
  assert.deepEqual(keepPatch({ metadata: { labels: { 'iam.gatehouse.dev/preset': 'zenml' } }, spec: { permissions: ['projects:read'], description: 'edited' } }, r), { spec: { description: null } });
});
