// Seed admins and presets: names, desired objects, and the patch that restores them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredSeedUser, keepPatch, seedObjectName } from '../../../src/controller/seeds.js';
import { presetRoles } from '../../../src/authz/presets.js';

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

test('a preset role edited by hand is restored by keepPatch; the label is added back', () => {
  const r = presetRoles({ zenml: true, runai: false, adaptive: false })[0]!;
  assert.equal(r.metadata.labels?.['iam.gatehouse.dev/preset'], 'zenml');
  const edited = { metadata: { labels: {} }, spec: { ...structuredClone(r.spec), permissions: ['*:*'], extra: 1 } };
  assert.deepEqual(keepPatch(edited, r), {
    metadata: { labels: { 'iam.gatehouse.dev/preset': 'zenml' } },
    spec: { permissions: r.spec.permissions ?? null, extra: null },
  });
});
