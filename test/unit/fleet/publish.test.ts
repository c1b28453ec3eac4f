// Issue 30: the leader publishes the cluster's identity in kube-public/gatehouse-cluster, creating
// it when missing, patching it when it differs, writing nothing when it is as configured, and a
// follower writes nothing at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, type KubeRequest } from '../../../src/controller/kube.js';
import { createClusterIdentityPublisher } from '../../../src/controller/cluster-identity.js';
import { FakeKube } from '../../support/fake-kube.js';
import { testLogger } from '../../support/operator.js';

const cluster = { name: 'gpu-eu-1', labels: { tier: 'prod', region: 'eu' } };
const PATH = '/api/v1/namespaces/kube-public/configmaps';

test('the leader creates, then patches only when the data differs; a follower writes nothing', async () => {
  const kube = new FakeKube();
  let stored: { data: Record<string, string> } | undefined;
  kube.handler = (req: KubeRequest) => {
    if (req.method === 'GET') {
      if (!stored) throw new KubeApiError('not found', 404, 'NotFound');
      return stored;
    }
    if (req.method === 'POST') {
      assert.equal(req.path, PATH);
      stored = { data: (req.body as { data: Record<string, string> }).data };
      return stored;
    }
    if (req.method === 'PATCH') {
      assert.equal(req.path, `${PATH}/gatehouse-cluster`);
      stored = { data: { ...stored!.data, ...(req.body as { data: Record<string, string> }).data } };
      return stored;
    }
    throw new Error(`unexpected ${req.method}`);
  };
  let leader = false;
  const p = createClusterIdentityPublisher({ kube, cluster, isLeader: () => leader, logger: testLogger('publish') });
  assert.equal(await p.publish(), false);
  assert.equal(kube.requests.length, 0, 'a follower asks nothing');
  leader = true;
  assert.equal(await p.publish(), true);
  assert.deepEqual(stored, { data: { name: 'gpu-eu-1', labels: 'region=eu,tier=prod' } });
  const writes = () => kube.requests.filter((r) => r.method !== 'GET').length;
  assert.equal(writes(), 1);
  assert.equal(await p.publish(), true);
  assert.equal(writes(), 1, 'as configured: no write');
  stored = { data: { name: 'edited', labels: '' } };
  assert.equal(await p.publish(), true);
  assert.deepEqual(stored, { data: { name: 'gpu-eu-1', labels: 'region=eu,tier=prod' } });
  assert.equal(writes(), 2);
});

test('a refusal is reported as false and retried, never thrown', async () => {
  const kube = new FakeKube();
  kube.handler = () => {
    throw new KubeApiError('forbidden', 403, 'Forbidden');
  };
  const p = createClusterIdentityPublisher({ kube, cluster, isLeader: () => true, logger: testLogger('publish') });
  assert.equal(await p.publish(), false);
  assert.equal(await p.publish(), false);
});

test('readClusterIdentity reads what was published; nothing readable or malformed is undefined', async () => {
  const { readClusterIdentity } = await import('../../../src/client/cluster.js');
  const { ClientError } = await import('../../../src/client/errors.js');
  const from = (data: Record<string, string> | undefined | Error) => ({
    readConfigMap: async (namespace: string, name: string) => {
      assert.equal(`${namespace}/${name}`, 'kube-public/gatehouse-cluster');
      if (data instanceof Error) throw data;
      return data;
    },
  });
  assert.deepEqual(await readClusterIdentity(from({ name: 'gpu-eu-1', labels: 'region=eu,tier=prod' })), { name: 'gpu-eu-1', labels: { region: 'eu', tier: 'prod' } });
  assert.deepEqual(await readClusterIdentity(from({ name: '', labels: '' })), { name: '', labels: {} });
  assert.equal(await readClusterIdentity(from(undefined)), undefined);
  assert.equal(await readClusterIdentity(from({ name: 'Bad Name', labels: '' })), undefined);
  assert.equal(await readClusterIdentity(from({ name: 'a', labels: 'novalue' })), undefined);
  assert.equal(await readClusterIdentity(from(new ClientError('GH_KUBE_API', 'forbidden', { status: 403 }))), undefined);
});
