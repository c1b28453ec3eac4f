import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeSelector, parseClusterLabels, selectsCluster, UNNAMED_CLUSTER, ClusterLabelsError } from '../../../src/fleet/cluster.js';

const eu = { name: 'gpu-eu-1', labels: { region: 'eu', tier: 'prod', gpu: 'h100' } };
const us = { name: 'gpu-us-1', labels: { region: 'us', tier: 'dev' } };

test('unset and empty selectors select every cluster, the unnamed one included', () => {
  for (const c of [eu, us, UNNAMED_CLUSTER]) {
    assert.equal(selectsCluster(undefined, c), true);
    assert.equal(selectsCluster({}, c), true);
    assert.equal(selectsCluster({ names: [], matchLabels: {}, matchExpressions: [] }, c), true);
  }
});

test('names or labels select; labels are ANDed', () => {
  assert.equal(selectsCluster({ names: ['gpu-us-1'] }, us), true);
  assert.equal(selectsCluster({ names: ['gpu-us-1'] }, eu), false);
  assert.equal(selectsCluster({ matchLabels: { region: 'eu' } }, eu), true);
  assert.equal(selectsCluster({ matchLabels: { region: 'eu' } }, us), false);
  assert.equal(selectsCluster({ matchLabels: { region: 'eu', tier: 'dev' } }, eu), false);
  assert.equal(selectsCluster({ names: ['gpu-us-1'], matchLabels: { region: 'eu' } }, us), true, 'a name selects even when the labels do not');
  assert.equal(selectsCluster({ names: ['gpu-us-1'], matchLabels: { region: 'eu' } }, eu), true);
});

test('matchExpressions follow Kubernetes: NotIn holds where the label is missing', () => {
  assert.equal(selectsCluster({ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, eu), true);
  assert.equal(selectsCluster({ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, us), false);
  assert.equal(selectsCluster({ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }, us), true);
  assert.equal(selectsCluster({ matchExpressions: [{ key: 'gpu', operator: 'NotIn', values: ['h100'] }] }, us), true);
  assert.equal(selectsCluster({ matchExpressions: [{ key: 'gpu', operator: 'NotIn', values: ['h100'] }] }, eu), false);
  assert.equal(selectsCluster({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['prod', 'staging'] }] }, eu), true);
  assert.equal(selectsCluster({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['prod', 'staging'] }] }, us), false);
  assert.equal(selectsCluster({ matchExpressions: [{ key: 'tier', operator: 'Bogus' as 'In', values: [] }] }, eu), false, 'an unknown operator selects nothing');
});

test('a cluster with no name holds no object that selects clusters (fail closed)', () => {
  const unnamedButLabelled = { name: '', labels: { region: 'eu' } };
  assert.equal(selectsCluster({ matchLabels: { region: 'eu' } }, unnamedButLabelled), false);
  assert.equal(selectsCluster({ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }, UNNAMED_CLUSTER), false);
});

test('parseClusterLabels and describeSelector', () => {
  assert.deepEqual(parseClusterLabels('region=eu, tier=prod'), { region: 'eu', tier: 'prod' });
  assert.deepEqual(parseClusterLabels(''), {});
  assert.throws(() => parseClusterLabels('region'), ClusterLabelsError);
  assert.throws(() => parseClusterLabels('a=1,a=2'), /given twice/);
  assert.equal(describeSelector(undefined), 'every cluster');
  assert.equal(describeSelector({ names: ['a', 'b'], matchLabels: { region: 'eu' }, matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }), 'names: a,b; region=eu, gpu');
});
