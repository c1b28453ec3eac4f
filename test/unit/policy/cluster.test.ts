// Offline answers for one cluster of a fleet (issue 30): --cluster NAME --cluster-labels k=v over
// --from, the values' `cluster:`, and expectations that name a cluster (one index per cluster).
// The tests marked todo need wave3-fleet-core (PermissionIndex applying spec.clusters); the others
// check that the cluster reaches the configuration the index is built with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doc, join, runFiles } from '../../support/policy-files.js';
import { loadPolicySet, valuesConfig } from '../../../src/policy/sources.js';
import { indexCache, parseExpectations, runExpectations } from '../../../src/policy/expectations.js';
import { parseClusterIdentity, describeCluster, clusterKey } from '../../../src/fleet/identity.js';

/** alice holds researcher in vision-dev everywhere; bob only on clusters labelled region=eu. */
const EU_BINDING = `apiVersion: iam.gatehouse.dev/v1alpha1
kind: RoleBinding
metadata: {name: bob-eu}
spec:
  role: researcher
  subjects: [{kind: User, name: bob}]
  scope: {namespaces: [vision-dev]}
  clusters: {matchLabels: {region: eu}}
`;

const FILES = {
  'repo/policy/all.yaml': join(
    doc.role('researcher', ['batch/jobs:*']),
    doc.user('alice'),
    doc.user('bob'),
    doc.namespace('vision-dev'),
    doc.binding('alice-everywhere', 'researcher', [{ kind: 'User', name: 'alice' }], { namespaces: ['vision-dev'] }),
  ) + '---\n' + EU_BINDING,
  'repo/values-eu.yaml': 'cluster: {name: eu-1, labels: {region: eu, tier: prod}}\n',
  'repo/values-empty.yaml': 'cluster: {name: "", labels: {}}\n',
};

const BOB = ['can-i', 'create', 'jobs.batch', '-n', 'vision-dev', '--as', 'bob', '--from', 'repo/policy'];

test('--cluster NAME --cluster-labels k=v: the answer is built as that cluster (-o json and the source line say which)', async () => {
  const res = await runFiles([...BOB, '--cluster', 'eu-1', '--cluster-labels', 'region=eu,tier=prod', '-o', 'json'], FILES);
  assert.ok(res.code === 0 || res.code === 1, res.stderr);
  const j = JSON.parse(res.stdout) as { cluster?: unknown; source: string };
  assert.deepEqual(j.cluster, { name: 'eu-1', labels: { region: 'eu', tier: 'prod' } });
  assert.match(j.source, /; as cluster eu-1 \(region=eu, tier=prod\)\)$/);
  const none = await runFiles([...BOB, '-o', 'json'], FILES);
  assert.equal((JSON.parse(none.stdout) as { cluster?: unknown }).cluster, undefined);
  // who-can and explain take it too.
  const who = await runFiles(['who-can', 'create', 'jobs.batch', '-n', 'vision-dev', '--from', 'repo/policy', '--cluster', 'us-1', '-o', 'json'], FILES);
  assert.deepEqual((JSON.parse(who.stdout) as { cluster?: unknown }).cluster, { name: 'us-1', labels: {} });
  const ex = await runFiles(['explain', ...BOB.slice(1), '--cluster', 'us-1', '-o', 'json'], FILES);
  assert.deepEqual((JSON.parse(ex.stdout) as { cluster?: unknown }).cluster, { name: 'us-1', labels: {} });
});

test('a binding selecting region=eu allows on --cluster-labels region=eu and not on region=us', async () => {
  const eu = await runFiles([...BOB, '--cluster', 'x', '--cluster-labels', 'region=eu'], FILES);
  assert.equal(eu.code, 0, eu.stdout + eu.stderr);
  const us = await runFiles([...BOB, '--cluster', 'x', '--cluster-labels', 'region=us'], FILES);
  assert.equal(us.code, 1, us.stdout);
  // alice's binding selects no cluster: it holds on every one.
  const alice = await runFiles(['can-i', 'create', 'jobs.batch', '-n', 'vision-dev', '--as', 'alice', '--from', 'repo/policy', '--cluster', 'x', '--cluster-labels', 'region=us'], FILES);
  assert.equal(alice.code, 0, alice.stdout);
});

test('--cluster and --cluster-labels: bad input is a usage error with a clear message (exit 2)', async () => {
  const cases: Array<[string[], RegExp]> = [
    [[...BOB, '--cluster-labels', 'region=eu'], /--cluster-labels goes with --cluster NAME/],
    [[...BOB, '--cluster', ''], /--cluster "": the name is empty/],
    [[...BOB, '--cluster', 'a b'], /the name has a space or a comma/],
    [[...BOB, '--cluster', 'x', '--cluster-labels', 'region'], /--cluster-labels: cluster label "region" is not key=value/],
    [[...BOB, '--cluster', 'x', '--cluster-labels', 'a=1,a=2'], /given twice/],
    [['can-i', 'get', 'pods', '--as', 'bob', '--cluster', 'x'], /--cluster goes with --from/],
    [['can-i', 'get', 'pods', '--as', 'bob', '--cluster-labels', 'a=b'], /--cluster-labels goes with --cluster NAME/],
  ];
  for (const [argv, re] of cases) {
    const res = await runFiles(argv, FILES);
    assert.equal(res.code, 2, `${argv.join(' ')}: ${res.stdout}${res.stderr}`);
    assert.match(res.stderr, re, argv.join(' '));
  }
});

test('the values\' cluster: {name, labels} names the cluster; --cluster overrides it; an empty name is none', async () => {
  const c = valuesConfig([{ text: FILES['repo/values-eu.yaml'], source: 'v' }]);
  assert.deepEqual(c.cluster, { name: 'eu-1', labels: { region: 'eu', tier: 'prod' } });
  // An empty name is no name: the unnamed cluster (parseConfig's default), not a cluster called ''.
  assert.equal(valuesConfig([{ text: FILES['repo/values-empty.yaml'], source: 'v' }]).cluster?.name ?? '', '');
  assert.throws(() => valuesConfig([{ text: 'cluster: {name: eu, labels: {a: [1]}}\n', source: 'v.yaml' }]), /--values v.yaml: cluster.labels.a: must be a string/);
  assert.throws(() => valuesConfig([{ text: 'cluster: {name: eu, zone: x}\n', source: 'v.yaml' }]), /unknown key "zone"/);
  const fromValues = await runFiles([...BOB, '--values', 'repo/values-eu.yaml', '-o', 'json'], FILES);
  assert.deepEqual((JSON.parse(fromValues.stdout) as { cluster?: unknown }).cluster, { name: 'eu-1', labels: { region: 'eu', tier: 'prod' } });
  const over = await runFiles([...BOB, '--values', 'repo/values-eu.yaml', '--cluster', 'us-1', '--cluster-labels', 'region=us', '-o', 'json'], FILES);
  assert.deepEqual((JSON.parse(over.stdout) as { cluster?: unknown }).cluster, { name: 'us-1', labels: { region: 'us' } });
});

test('lint and diff take --cluster too', async () => {
  const lint = await runFiles(['lint', 'repo/policy', '--cluster', 'eu-1', '--cluster-labels', 'region=eu'], FILES);
  assert.ok(lint.code === 0 || lint.code === 1, lint.stderr);
  const diff = await runFiles(['diff', '--base', 'repo/policy', '--from', 'repo/policy', '--cluster', 'eu-1', '-o', 'json'], FILES);
  assert.equal(diff.code, 0, diff.stderr);
  assert.deepEqual(JSON.parse(diff.stdout), { users: [] });
});

test('expectations: cluster per file and per case; names say the cluster; one index per distinct cluster', () => {
  const ef = parseExpectations(`cluster: {name: eu-1, labels: {region: eu}}
tests:
  - {as: bob, can: create jobs.batch, namespace: vision-dev, expect: "yes"}
  - {as: bob, can: create jobs.batch, namespace: vision-dev, expect: "no", cluster: {name: us-1, labels: "region=us"}}
  - {as: alice, can: create jobs.batch, namespace: vision-dev, expect: "yes", cluster: us-2}
  - {lint: clean, cluster: {name: us-1, labels: {region: us}}}
`, 't.yaml');
  assert.deepEqual(ef.cluster, { name: 'eu-1', labels: { region: 'eu' } });
  assert.equal(ef.tests[0]!.cluster, undefined);
  assert.deepEqual(ef.tests[1]!.cluster, { name: 'us-1', labels: { region: 'us' } });
  assert.deepEqual(ef.tests[2]!.cluster, { name: 'us-2', labels: {} });
  assert.equal(ef.tests[1]!.name, 'bob can create jobs.batch in vision-dev on cluster us-1: no');
  assert.equal(ef.tests[3]!.name, 'lint clean on cluster us-1');
  assert.throws(() => parseExpectations('tests: [{as: a, can: get pods, expect: "yes", cluster: {labels: {a: b}}}]', 't.yaml'), /t.yaml: tests\[0\]: cluster.name: must be a string/);
  assert.throws(() => parseExpectations('cluster: [x]\ntests: []', 't.yaml'), /t.yaml: cluster: write a cluster name, or \{name: NAME, labels: \{KEY: VALUE\}\}/);

  const set = loadPolicySet(['repo/policy/all.yaml'], {}, { readFile: (f) => (FILES as Record<string, string>)[f] ?? '' });
  const indexFor = indexCache({ ...set, config: { ...set.config, cluster: { name: 'eu-1', labels: { region: 'eu' } } } }, 0);
  const a = indexFor({ name: 'us-1', labels: { region: 'us', tier: 'x' } });
  assert.equal(indexFor({ name: 'us-1', labels: { tier: 'x', region: 'us' } }), a, 'equal identities share one index (label order aside)');
  assert.notEqual(indexFor({ name: 'us-1', labels: { region: 'us' } }), a);
  // Plumbing: the configuration each index is built with carries its cluster; none given: the set's.
  assert.deepEqual(a.config.cluster, { name: 'us-1', labels: { region: 'us', tier: 'x' } });
  assert.deepEqual(indexFor(undefined).config.cluster, { name: 'eu-1', labels: { region: 'eu' } });
  assert.equal(indexFor(undefined), indexFor({ name: 'eu-1', labels: { region: 'eu' } }));
});

test('test: --cluster is the default for cases without one; results name the cluster', async () => {
  const files = {
    ...FILES,
    'repo/tests/t.yaml': `from: [../policy]
tests:
  - {as: alice, can: create jobs.batch, namespace: vision-dev, expect: "yes"}
  - {as: alice, can: create jobs.batch, namespace: vision-dev, expect: "yes", cluster: {name: us-1, labels: {region: us}}}
`,
  };
  const res = await runFiles(['test', 'repo/tests/t.yaml', '--cluster', 'eu-1', '--cluster-labels', 'region=eu', '-v'], files);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /PASS {2}alice can create jobs.batch in vision-dev: yes\n {8}expected yes, got yes: .* \[cluster eu-1 \(region=eu\)\]/);
  assert.match(res.stdout, /PASS {2}alice can create jobs.batch in vision-dev on cluster us-1: yes\n {8}expected yes, got yes: .* \[cluster us-1 \(region=us\)\]/);
});

test('expectations on two clusters answer differently for a binding meant for one', () => {
  const set = loadPolicySet(['repo/policy/all.yaml'], {}, { readFile: (f) => (FILES as Record<string, string>)[f] ?? '' });
  const ef = parseExpectations(`tests:
  - {as: bob, can: create jobs.batch, namespace: vision-dev, expect: "yes", cluster: {name: eu-1, labels: {region: eu}}}
  - {as: bob, can: create jobs.batch, namespace: vision-dev, expect: "no", cluster: {name: us-1, labels: {region: us}}}
  - {as: bob, can: create jobs.batch, namespace: vision-dev, expect: "no"}
`, 't.yaml');
  const results = runExpectations(ef.tests, set, 0);
  assert.deepEqual(results.map((r) => [r.name, r.passed, r.detail]).filter(([, p]) => !p), []);
});

test('cluster identities as data: a name, or {name, labels} with labels as a map or k=v text', () => {
  assert.deepEqual(parseClusterIdentity('eu-1', 'c'), { name: 'eu-1', labels: {} });
  assert.deepEqual(parseClusterIdentity({ name: 'eu-1', labels: { tier: 1, gpu: true } }, 'c'), { name: 'eu-1', labels: { tier: '1', gpu: 'true' } });
  assert.deepEqual(parseClusterIdentity({ name: 'eu-1', labels: 'a=b, c=d' }, 'c'), { name: 'eu-1', labels: { a: 'b', c: 'd' } });
  assert.throws(() => parseClusterIdentity({ name: 'eu-1', labels: 'a' }, 'c'), /c.labels: cluster label "a" is not key=value/);
  assert.throws(() => parseClusterIdentity(3, 'c'), /c: write a cluster name/);
  assert.equal(describeCluster({ name: 'x', labels: { b: '2', a: '1' } }), 'x (a=1, b=2)');
  assert.equal(clusterKey(undefined), '');
  assert.equal(clusterKey({ name: 'x', labels: { b: '2', a: '1' } }), clusterKey({ name: 'x', labels: { a: '1', b: '2' } }));
});
