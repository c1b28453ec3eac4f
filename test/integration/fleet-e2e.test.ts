// Issue 30, a fleet: two control planes, each with its own Gatehouse told who it is
// (`gpu-eu-1 {region: eu}` and `gpu-us-1 {region: us}`), and the SAME objects applied to both, as
// one Git repository reaches every cluster through an ApplicationSet. Through each API server, as
// the users (`kubectl auth can-i --as`):
//  - a RoleBinding selecting `region: eu` holds on the eu cluster only;
//  - a User limited to gpu-eu-1 is denied on gpu-us-1, with a reason naming gpu-us-1;
//  - each object's status says, on each cluster, whether it is in force there (InEffect), Ready
//    staying True, and `kubectl get` shows it in the HERE column;
// in authorization mode `webhook` and in mode `rbac` (no webhook at all; the operator writes
// native RBAC), two control planes per mode, started together. The webhook pair also checks what
// shows the cluster: /readyz's body and the `cluster` label on the metrics.
//
// fleetKubeconfig() writes one kubeconfig holding both clusters' contexts plus a third that points
// at nothing (a closed loopback port), for the CLI's fan-out (`can-i --all-contexts`).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { startStack, type Stack } from '../support/stack.js';
import { manifest } from '../support/world.js';
import { eventually } from '../support/operator.js';
import { canI, metricsText } from '../support/authz-e2e.js';
import { freePort, runCommand } from '../../src/controlplane/controlplane.js';
import { controlPlaneEnv } from '../../src/config.js';
import { decide } from '../../src/authz/decide.js';
import { req } from '../support/authz.js';
import { runCli } from '../support/cli.js';

export interface FleetCluster {
  name: string;
  labels: Record<string, string>;
  stack: Stack;
}

export const EU = { name: 'gpu-eu-1', labels: { region: 'eu', tier: 'prod' } };
export const US = { name: 'gpu-us-1', labels: { region: 'us', tier: 'prod' } };
/** The context in fleetKubeconfig() that reaches no API server. */
export const UNREACHABLE_CONTEXT = 'gpu-nowhere';

/**
 * One kubeconfig with a context per cluster (named after the cluster, as the admin) and a context
 * UNREACHABLE_CONTEXT whose server is a loopback port nothing listens on. Returns the file.
 */
export async function fleetKubeconfig(clusters: readonly FleetCluster[], file: string): Promise<string> {
  const dead = await freePort();
  const entries = [
    ...clusters.map((c) => ({ name: c.name, server: c.stack.cp.url, ca: c.stack.cp.caFile, token: c.stack.cp.adminToken })),
    { name: UNREACHABLE_CONTEXT, server: `https://127.0.0.1:${dead}`, ca: clusters[0]!.stack.cp.caFile, token: 'nobody' },
  ];
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    ...entries.flatMap((e) => [`- name: ${e.name}`, '  cluster:', `    server: ${e.server}`, `    certificate-authority: ${e.ca}`]),
    'users:',
    ...entries.flatMap((e) => [`- name: ${e.name}`, '  user:', `    token: ${e.token}`]),
    'contexts:',
    ...entries.flatMap((e) => [`- name: ${e.name}`, `  context: {cluster: ${e.name}, user: ${e.name}}`]),
    `current-context: ${clusters[0]!.name}`,
    '',
  ].join('\n');
  await writeFile(file, text, { mode: 0o600 });
  return file;
}

const GH = 'iam.gatehouse.dev/v1alpha1';

/** The one repository: what every cluster gets, unchanged. */
const OBJECTS = manifest([
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ml' } },
  { apiVersion: GH, kind: 'Role', metadata: { name: 'cm-reader' }, spec: { permissions: ['configmaps:read'] } },
  { apiVersion: GH, kind: 'User', metadata: { name: 'alice' }, spec: { state: 'Active' } },
  { apiVersion: GH, kind: 'User', metadata: { name: 'erin' }, spec: { state: 'Active', clusters: { names: ['gpu-eu-1'] } } },
  // Holds where the label part matches: the eu cluster.
  { apiVersion: GH, kind: 'RoleBinding', metadata: { name: 'eu-readers' }, spec: { role: 'cm-reader', subjects: [{ kind: 'User', name: 'alice' }], scope: { namespaces: ['ml'] }, clusters: { matchLabels: { region: 'eu' } } } },
  // Holds everywhere; erin may act on gpu-eu-1 only.
  { apiVersion: GH, kind: 'RoleBinding', metadata: { name: 'everywhere' }, spec: { role: 'cm-reader', subjects: [{ kind: 'User', name: 'erin' }], scope: { namespaces: ['ml'] } } },
]);

async function startCluster(id: { name: string; labels: Record<string, string> }, mode: 'webhook' | 'rbac'): Promise<FleetCluster> {
  const stack = await startStack({ authorizationMode: mode, config: { seedAdmins: [{ username: 'root' }], cluster: id } });
  return { ...id, stack };
}

async function startFleet(mode: 'webhook' | 'rbac'): Promise<FleetCluster[]> {
  const started = await Promise.allSettled([startCluster(EU, mode), startCluster(US, mode)]);
  const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(ok.map((c) => c.stack.stop()));
    throw failed.reason;
  }
  for (const c of ok) {
    await c.stack.kubectlOk(['apply', '-f', '-'], { input: OBJECTS });
    await c.stack.settle();
  }
  return ok;
}

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

async function conditions(stack: Stack, kind: 'users' | 'rolebindings', name: string): Promise<Cond[]> {
  const out = await stack.kubectlOk(['get', `${kind}.iam.gatehouse.dev`, name, '-o', 'json']);
  return (JSON.parse(out) as { status?: { conditions?: Cond[] } }).status?.conditions ?? [];
}

/** Waits until the object's InEffect condition is `want` on the cluster, with Ready True; returns it. */
async function inEffect(c: FleetCluster, kind: 'users' | 'rolebindings', name: string, want: 'True' | 'False'): Promise<Cond> {
  return eventually(`${kind}/${name} InEffect=${want} on ${c.name}`, async () => {
    const conds = await conditions(c.stack, kind, name);
    const here = conds.find((x) => x.type === 'InEffect');
    const ready = conds.find((x) => x.type === 'Ready');
    return here?.status === want && ready?.status === 'True' ? here : undefined;
  }, 60_000, 200);
}

/** `kubectl auth can-i` as `user` through the cluster's API server, once it answers `want`. */
async function answers(c: FleetCluster, user: string, want: 'yes' | 'no'): Promise<string> {
  return eventually(`can-i list configmaps -n ml as ${user} on ${c.name} = ${want}`, async () => {
    const out = await canI(c.stack, 'list', 'configmaps', { namespace: 'ml', as: user });
    return out.split(' ')[0] === want ? out : undefined;
  }, 60_000, 250);
}

/** The checks both modes share. */
function fleetChecks(mode: 'webhook' | 'rbac', fleet: () => FleetCluster[]): void {
  const eu = (): FleetCluster => fleet()[0]!;
  const us = (): FleetCluster => fleet()[1]!;

  it(`${mode}: a binding selecting region=eu holds on the eu cluster only`, async () => {
    await answers(eu(), 'alice', 'yes');
    await answers(us(), 'alice', 'no');
  });

  it(`${mode}: a User limited to gpu-eu-1 acts there and is denied on gpu-us-1, the reason naming gpu-us-1`, async () => {
    await answers(eu(), 'erin', 'yes');
    const no = await answers(us(), 'erin', 'no');
    if (mode === 'webhook') {
      // The webhook's reason reaches kubectl: "no - user erin may not act on cluster gpu-us-1: ...".
      assert.match(no, /^no - user erin may not act on cluster gpu-us-1: spec\.clusters selects names: gpu-eu-1/);
    }
    // In every mode the operator's own answer (what `explain` and the webhook say) names the cluster.
    const d = decide(us().stack.operator.index, req('erin', 'list configmaps', 'ml', { groups: ['system:authenticated'] }));
    assert.equal(d.verdict, 'deny');
    assert.match(d.reason, /may not act on cluster gpu-us-1/);
  });

  it(`${mode}: each object's status says where it is in force, Ready staying True`, async () => {
    assert.equal((await inEffect(eu(), 'rolebindings', 'eu-readers', 'True')).reason, 'SelectedCluster');
    const off = await inEffect(us(), 'rolebindings', 'eu-readers', 'False');
    assert.equal(off.reason, 'OtherCluster');
    assert.match(off.message ?? '', /cluster gpu-us-1/);
    assert.equal((await inEffect(eu(), 'users', 'erin', 'True')).reason, 'SelectedCluster');
    const erinUs = await inEffect(us(), 'users', 'erin', 'False');
    assert.equal(erinUs.reason, 'OtherCluster');
    assert.match(erinUs.message ?? '', /gpu-us-1.*every request is denied/);
    for (const c of fleet()) {
      assert.equal((await inEffect(c, 'rolebindings', 'everywhere', 'True')).reason, 'AllClusters');
      assert.equal((await inEffect(c, 'users', 'alice', 'True')).reason, 'AllClusters');
    }
    // The HERE column of `kubectl get`.
    const table = await us().stack.kubectlOk(['get', 'rolebindings.iam.gatehouse.dev', 'eu-readers', 'everywhere']);
    const [header, ...rows] = table.trim().split('\n');
    assert.match(header!, /\bHERE\b/);
    // kubectl aligns its columns, so the HERE cell starts where the header's does.
    const at = header!.search(/\bHERE\b/);
    const column = Object.fromEntries(rows.map((r) => [r.split(/\s+/)[0], r.slice(at).split(/\s+/)[0]]));
    assert.deepEqual(column, { 'eu-readers': 'False', everywhere: 'True' });
  });
}

interface FanOutDoc {
  exitCode: number;
  clusters: Array<{ context: string; status: string; answer?: string; error?: string; cluster: { name: string; from: string } }>;
}

/**
 * `kubectl gatehouse can-i --all-contexts` against both live clusters and a context that points at
 * nothing (issue 30): each live row agrees with that cluster's own answer (`kubectl auth can-i`
 * through its API server), names the cluster as the cluster itself says (kube-public), and the dead
 * context is `unreachable`, never `no`, with the documented exit code 3 (docs/cli.md).
 */
async function fanOutAgrees(clusters: readonly FleetCluster[], mode: string): Promise<void> {
  const file = await fleetKubeconfig(clusters, `${clusters[0]!.stack.cp.kubeconfigPath}.fanout-${mode}`);
  for (const [user, verb] of [['alice', 'list'], ['erin', 'list'], ['alice', 'delete']] as const) {
    const own = new Map<string, string>();
    for (const c of clusters) {
      const res = await runCommand(controlPlaneEnv().kubectl, ['--kubeconfig', file, '--context', c.name, 'auth', 'can-i', verb, 'configmaps', '-n', 'ml', '--as', user]);
      own.set(c.name, res.stdout.trim().split(/\s/)[0]!);
    }
    // The published identity is what the CLI reads to answer as each cluster: wait until both have it.
    const doc = await eventually(`can-i --all-contexts for ${user} ${verb} (${mode})`, async () => {
      const res = await runCli(['can-i', verb, 'configmaps', '-n', 'ml', '--as', user, '--all-contexts', '--cluster-timeout', '5s', '-o', 'json'], { kubeconfig: file });
      const d = JSON.parse(res.stdout) as FanOutDoc;
      assert.equal(res.code, d.exitCode, res.stderr);
      return d.clusters.filter((r) => r.status === 'answered').every((r) => r.cluster.from === 'gatehouse') ? d : undefined;
    }, 60_000, 500);
    assert.deepEqual(doc.clusters.map((r) => r.context), [...clusters.map((c) => c.name), UNREACHABLE_CONTEXT], 'one row per context, in the kubeconfig order');
    for (const c of clusters) {
      const row = doc.clusters.find((r) => r.context === c.name)!;
      assert.equal(row.status, 'answered', `${c.name}: ${row.error ?? ''}`);
      assert.equal(row.cluster.name, c.name);
      assert.equal(row.answer, own.get(c.name), `${user} ${verb} configmaps on ${c.name}: the fan-out says ${row.answer}, the cluster itself ${own.get(c.name)}`);
    }
    const dead = doc.clusters.find((r) => r.context === UNREACHABLE_CONTEXT)!;
    assert.equal(dead.status, 'unreachable');
    assert.equal(dead.answer, undefined, 'an unreachable cluster has no answer, never "no"');
    assert.ok(dead.error && dead.error.length > 0);
    assert.equal(doc.exitCode, 3, 'a cluster that could not be asked: exit 3, whatever the others said');
  }
}

describe('fleet, authorization mode webhook', () => {
  let clusters: FleetCluster[] = [];
  before(async () => {
    clusters = await startFleet('webhook');
  });
  after(async () => {
    await Promise.all(clusters.map((c) => c.stack.stop()));
  });

  fleetChecks('webhook', () => clusters);

  it('webhook: /readyz, the metrics and kube-public/gatehouse-cluster name the cluster', async () => {
    for (const c of clusters) {
      // What a client holding only a kubeconfig reads (the CLI; the chart lets every user get it).
      const data = await eventually(`kube-public/gatehouse-cluster on ${c.name}`, async () => {
        const r = await c.stack.kubectl(['get', 'configmap', '-n', 'kube-public', 'gatehouse-cluster', '-o', 'json']);
        return r.code === 0 ? (JSON.parse(r.stdout) as { data?: Record<string, string> }).data : undefined;
      }, 60_000, 250);
      assert.deepEqual(data, { name: c.name, labels: `region=${c.labels['region']},tier=prod` });
      const r = await c.stack.operator.webhook.server.inject({ method: 'GET', url: '/readyz' });
      assert.equal(r.status, 200);
      assert.equal(r.body, `ok\ncluster: ${c.name}\ncluster-labels: region=${c.labels['region']},tier=prod\n`);
      const metrics = await metricsText(c.stack);
      assert.match(metrics, new RegExp(`gatehouse_authorization_decisions_total\\{[^}]*cluster="${c.name}"`));
    }
  });

  it('webhook: one kubeconfig reaches both clusters by context, and a third context reaches nothing', async () => {
    const file = await fleetKubeconfig(clusters, `${clusters[0]!.stack.cp.kubeconfigPath}.fleet`);
    const text = readFileSync(file, 'utf8');
    for (const name of [EU.name, US.name, UNREACHABLE_CONTEXT]) assert.match(text, new RegExp(`- name: ${name}\\n  context:`));
    // Each context answers as its own cluster (the CLI fan-out, `can-i --all-contexts`, builds on this).
    for (const c of clusters) {
      const res = await runCommand(controlPlaneEnv().kubectl, ['--kubeconfig', file, '--context', c.name, 'auth', 'can-i', 'list', 'configmaps', '-n', 'ml', '--as', 'alice']);
      assert.equal(res.stdout.trim().split(' ')[0], c.name === EU.name ? 'yes' : 'no');
    }
    const dead = await runCommand(controlPlaneEnv().kubectl, ['--kubeconfig', file, '--context', UNREACHABLE_CONTEXT, '--request-timeout=5s', 'get', '--raw', '/version'], { timeoutMs: 30_000 });
    assert.notEqual(dead.code, 0);
  });

  it('webhook: can-i --all-contexts agrees with each cluster, and the dead context is unreachable (exit 3)', async () => {
    await fanOutAgrees(clusters, 'webhook');
  });
});

/** Mode rbac: every native object the cluster's operator wants is written. */
function rbacConverged(c: FleetCluster): Promise<boolean> {
  return eventually(`RBAC converged on ${c.name}`, async () => {
    const rbac = c.stack.operator.controller.rbac!;
    await rbac.idle();
    return rbac.converged();
  }, 60_000, 100);
}

describe('fleet, authorization mode rbac', () => {
  let clusters: FleetCluster[] = [];
  before(async () => {
    clusters = await startFleet('rbac');
  });
  after(async () => {
    await Promise.all(clusters.map((c) => c.stack.stop()));
  });

  fleetChecks('rbac', () => clusters);

  it('rbac: no native grant is written for the binding or the user not in force here', async () => {
    const us = clusters[1]!.stack;
    await rbacConverged(clusters[1]!);
    const out = await us.kubectlOk(['get', 'rolebindings.rbac.authorization.k8s.io', '-n', 'ml', '-o', 'json']);
    const subjects = (JSON.parse(out) as { items: Array<{ subjects?: Array<{ name: string }> }> }).items.flatMap((b) => (b.subjects ?? []).map((s) => s.name));
    assert.ok(!subjects.includes('alice'), `alice in ${subjects.join(', ')}`);
    assert.ok(!subjects.includes('erin'), `erin in ${subjects.join(', ')}`);
  });

  it('rbac: can-i --all-contexts agrees with each cluster\'s native RBAC once it has converged', async () => {
    for (const c of clusters) {
      await rbacConverged(c);
    }
    await fanOutAgrees(clusters, 'rbac');
  });
});
