import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCrds, schemaOf, type JsonSchema } from '../../../src/api/crds.js';
import { GROUP, KINDS, PLURALS, VERSION } from '../../../src/api/types.js';

const crds = loadCrds();

test('crds/ holds exactly the four kinds and AccessRequest, in our group and version, all cluster-scoped', () => {
  assert.deepEqual(crds.map((c) => c.spec.names.kind).sort(), [...KINDS, 'AccessRequest'].sort());
  for (const crd of crds) {
    assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
    assert.equal(crd.spec.group, GROUP);
    assert.equal(crd.spec.scope, 'Cluster');
    assert.equal(crd.metadata.name, `${crd.spec.names.plural}.${GROUP}`);
    assert.deepEqual(crd.spec.versions.map((v) => v.name), [VERSION]);
    assert.ok(crd.spec.names.categories?.includes('gatehouse'), `${crd.spec.names.kind} is in the gatehouse category`);
    assert.equal(crd.spec.names.shortNames?.length, 1);
    assert.ok(crd.spec.versions[0]?.subresources?.['status'], 'status subresource');
  }
});

test('plural names in types.ts match the CRDs', () => {
  for (const kind of KINDS) {
    const crd = crds.find((c) => c.spec.names.kind === kind);
    assert.equal(crd?.spec.names.plural, PLURALS[kind]);
  }
});

test('short names are the ones docs/design.md names', () => {
  const shorts = Object.fromEntries(crds.map((c) => [c.spec.names.kind, c.spec.names.shortNames?.[0]]));
  assert.deepEqual(shorts, { User: 'ghuser', Role: 'ghrole', Team: 'ghteam', RoleBinding: 'ghrb', AccessRequest: 'ghar' });
});

// Every field a person might read in `kubectl explain` has a description (issue 2).
function undescribed(schema: JsonSchema, at: string): string[] {
  const missing: string[] = [];
  if (at !== '.metadata' && !schema.description) missing.push(at || '.');
  for (const [name, child] of Object.entries(schema.properties ?? {})) missing.push(...undescribed(child, `${at}.${name}`));
  if (schema.items && schema.items.type === 'object') missing.push(...undescribed(schema.items, `${at}[]`));
  return missing;
}

test('every schema field has a description', () => {
  for (const kind of KINDS) assert.deepEqual(undescribed(schemaOf(kind, crds), ''), [], kind);
  const ar = crds.find((c) => c.spec.names.kind === 'AccessRequest')?.spec.versions[0]?.schema.openAPIV3Schema;
  assert.ok(ar);
  assert.deepEqual(undescribed(ar, ''), [], 'AccessRequest');
});

test('User state is an enum of the four states and RoleBinding requires role, subjects, scope', () => {
  assert.deepEqual(schemaOf('User', crds).properties?.['spec']?.properties?.['state']?.enum, ['Pending', 'Active', 'Rejected', 'Suspended']);
  assert.deepEqual(schemaOf('RoleBinding', crds).properties?.['spec']?.required, ['role', 'subjects', 'scope']);
});

test('no CEL rules, so Kubernetes 1.20 accepts the CRDs', () => {
  for (const crd of crds) assert.ok(!JSON.stringify(crd).includes('x-kubernetes-validations'), crd.metadata.name);
});
