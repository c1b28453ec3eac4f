// Issue 30: the syntax of cluster names, labels and spec.clusters, where it is enforced: the
// configuration (this cluster's identity) and admission (every User and RoleBinding, with field
// paths), plus who may change which clusters a User acts on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clusterSelectorProblems, clusterNameProblem, labelKeyProblem, labelValueProblem } from '../../../src/fleet/validate.js';
import { formatClusterLabels, readyzBody, clusterTitle } from '../../../src/fleet/identity.js';
import { parseConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { validateAdmission, toMessage } from '../../../src/admission/validate.js';
import type { ClusterSelector, RoleBinding, User } from '../../../src/api/types.js';
import { binding, role, user } from '../../support/authz.js';
import { as, context, create, update } from '../../support/admission.js';

const paths = (sel: unknown): string[] => clusterSelectorProblems(sel).map((p) => p.path);

describe('fleet: selector syntax', () => {
  it('accepts unset, empty and well-formed selectors', () => {
    for (const ok of [undefined, null, {}, { names: [] }, { names: ['gpu-eu-1', 'a'] }, { matchLabels: { region: 'eu', 'example.com/tier': 'prod', empty: '' } },
      { matchExpressions: [{ key: 'gpu', operator: 'In', values: ['h100', 'a100'] }, { key: 'spot', operator: 'DoesNotExist' }, { key: 'x', operator: 'Exists', values: [] }] }]) {
      assert.deepEqual(clusterSelectorProblems(ok), [], JSON.stringify(ok));
    }
  });

  it('refuses each kind of mistake with a path', () => {
    assert.deepEqual(paths('eu'), ['']);
    assert.deepEqual(paths({ name: ['a'] }), ['.name']);
    assert.deepEqual(paths({ names: 'a' }), ['.names']);
    assert.deepEqual(paths({ names: ['ok', 'Not_OK', 7] }), ['.names[1]', '.names[2]']);
    assert.deepEqual(paths({ names: ['a', 'b', 'a'] }), ['.names[2]']);
    assert.deepEqual(paths({ matchLabels: { 'bad key!': 'v', ok: 'bad value!', n: 3 } }), ['.matchLabels[bad key!]', '.matchLabels[ok]', '.matchLabels[n]']);
    assert.deepEqual(paths({ matchExpressions: [{ key: 'a', operator: 'Has' }] }), ['.matchExpressions[0].operator']);
    assert.deepEqual(paths({ matchExpressions: [{ key: 'a', operator: 'In' }] }), ['.matchExpressions[0].values']);
    assert.deepEqual(paths({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] }), ['.matchExpressions[0].values']);
    assert.deepEqual(paths({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }), ['.matchExpressions[0].values']);
    assert.deepEqual(paths({ matchExpressions: [{ operator: 'Exists' }] }), ['.matchExpressions[0].key']);
    assert.deepEqual(paths({ matchExpressions: [{ key: 'a', operator: 'In', values: ['ok', 'not ok'] }] }), ['.matchExpressions[0].values[1]']);
    assert.deepEqual(paths({ matchExpressions: ['x'] }), ['.matchExpressions[0]']);
    assert.deepEqual(paths({ names: Array.from({ length: 65 }, (_, i) => `c${i}`) }), ['.names']);
    assert.ok(clusterSelectorProblems({ matchExpressions: [{ key: 'a', operator: 'In', values: ['x'], extra: 1 }] }).some((p) => p.path === '.matchExpressions[0].extra'));
  });

  it('names, keys and values follow Kubernetes', () => {
    assert.equal(clusterNameProblem('gpu-eu-1'), undefined);
    assert.ok(clusterNameProblem('GPU'));
    assert.ok(clusterNameProblem('a'.repeat(64)));
    assert.equal(labelKeyProblem('topology.kubernetes.io/region'), undefined);
    assert.ok(labelKeyProblem('/x'));
    assert.ok(labelKeyProblem('Bad.Prefix/x'));
    assert.ok(labelKeyProblem('a'.repeat(64)));
    assert.equal(labelValueProblem(''), undefined);
    assert.ok(labelValueProblem('-x'));
  });

  it('text helpers', () => {
    assert.equal(formatClusterLabels({ tier: 'prod', region: 'eu' }), 'region=eu,tier=prod');
    assert.equal(readyzBody({ name: 'gpu-eu-1', labels: { region: 'eu' } }), 'ok\ncluster: gpu-eu-1\ncluster-labels: region=eu\n');
    assert.equal(readyzBody({ name: '', labels: {} }), 'ok\ncluster: (unnamed)\ncluster-labels: \n');
    assert.equal(clusterTitle({ name: 'gpu-eu-1', labels: { region: 'eu' } }), 'gpu-eu-1 (region=eu)');
  });
});

describe('fleet: the configuration names the cluster', () => {
  it('defaults to an unnamed cluster without labels', () => {
    assert.deepEqual(parseConfig({}).cluster, { name: '', labels: {} });
  });
  it('takes a valid name and labels', () => {
    assert.deepEqual(parseConfig({ cluster: { name: 'gpu-eu-1', labels: { region: 'eu', 'example.com/gpu': 'h100' } } }).cluster, { name: 'gpu-eu-1', labels: { region: 'eu', 'example.com/gpu': 'h100' } });
  });
  it('refuses a bad name, label key or value, or an unknown key, with a ConfigError', () => {
    for (const bad of [{ name: 'GPU_EU' }, { labels: { 'bad key': 'x' } }, { labels: { region: 'not ok' } }, { labels: { region: 3 } }, { nmae: 'x' }]) {
      assert.throws(() => parseConfig({ cluster: bad }), (e: unknown) => e instanceof ConfigError && /cluster/.test((e as Error).message), JSON.stringify(bad));
    }
  });
});

describe('fleet: admission checks spec.clusters', () => {
  const WORLD = {
    users: [user('boss', { superuser: true }), user('approver'), user('useradmin'), user('alice'), user('root2', { superuser: true })],
    roles: [role('viewer', ['pods:read']), role('approver', ['iam.gatehouse.dev/users:approve', 'iam.gatehouse.dev/users:update']), role('user-admin', ['iam.gatehouse.dev/users:update'])],
    bindings: [binding('approvers', 'approver', ['approver'], { cluster: true }), binding('useradmins', 'user-admin', ['useradmin'], { cluster: true })],
  };
  const ctx = context(WORLD, { cluster: { name: 'gpu-eu-1', labels: { region: 'eu' } } });
  const withClusters = <T extends User | RoleBinding>(o: T, clusters: unknown): T => ({ ...o, spec: { ...o.spec, clusters: clusters as ClusterSelector } }) as T;
  const denied = (res: ReturnType<typeof validateAdmission>, path: string, rule = 'cluster-selector') => {
    assert.equal(res.allowed, false, 'expected a denial');
    assert.ok(res.errors.some((e) => e.rule === rule && e.path === path), `expected ${rule} at ${path}, got ${toMessage(res)}`);
  };

  it('allows well-formed selectors on both kinds', () => {
    const rb = withClusters(binding('x', 'viewer', ['alice'], { cluster: true }), { names: ['gpu-us-1'], matchLabels: { region: 'eu' } });
    assert.equal(validateAdmission(create(rb, as('boss')), ctx).allowed, true);
    const u = withClusters(user('carol', { state: 'Pending' }), { matchExpressions: [{ key: 'region', operator: 'In', values: ['eu'] }] });
    assert.equal(validateAdmission(create(u, as('boss')), ctx).allowed, true);
  });

  it('denies malformed selectors with field paths', () => {
    denied(validateAdmission(create(withClusters(binding('x', 'viewer', ['alice'], { cluster: true }), { names: ['a', 'a'] }), as('boss')), ctx), 'spec.clusters.names[1]');
    denied(validateAdmission(create(withClusters(binding('x', 'viewer', ['alice'], { cluster: true }), { matchExpressions: [{ key: 'region', operator: 'In' }] }), as('boss')), ctx), 'spec.clusters.matchExpressions[0].values');
    denied(validateAdmission(create(withClusters(user('carol'), { matchLabels: { region: 'eu west' } }), as('boss')), ctx), 'spec.clusters.matchLabels[region]');
    denied(validateAdmission(create(withClusters(user('carol'), 'everywhere'), as('boss')), ctx), 'spec.clusters', 'malformed-object');
  });

  it('changing which clusters a User acts on needs the approve right, like its state', () => {
    const alice = WORLD.users[3]!;
    const limited = withClusters(alice, { names: ['gpu-us-1'] });
    denied(validateAdmission(update(alice, limited, as('useradmin')), ctx), 'spec.clusters', 'approve-only');
    assert.equal(validateAdmission(update(alice, limited, as('approver')), ctx).allowed, true);
  });

  it('the last superuser who may act here cannot be limited to other clusters', () => {
    const one = context({ users: [user('boss', { superuser: true }), user('root-us', { superuser: true, clusters: { names: ['gpu-us-1'] } })] }, { cluster: { name: 'gpu-eu-1', labels: {} } });
    const boss = user('boss', { superuser: true });
    denied(validateAdmission(update(boss, withClusters(boss, { names: ['gpu-us-1'] }), as('boss')), one), 'spec.clusters', 'last-superuser');
    // Where another superuser acts here, it may.
    assert.equal(validateAdmission(update(boss, withClusters(boss, { names: ['gpu-us-1'] }), as('boss')), ctx).allowed, true);
  });
});
