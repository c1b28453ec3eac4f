// Fleet questions in-process (issue 30): the flags, the exit codes, and can-i / explain / who-can /
// user show over several kubeconfig contexts, each an in-memory client; one context that cannot be
// reached is a row that says so, never a "no".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, COMMANDS, type CliDeps } from '../../../src/cli/run.js';
import { resolve } from '../../../src/cli/args.js';
import { fleetExitCode, fleetOptionsOf, parseDurationMs, selectContexts, type FleetRow } from '../../../src/cli/fleet.js';
import { FakeClient } from '../../support/fake-client.js';
import { ClientError, translateError } from '../../../src/client/errors.js';
import type { GatehouseClient, KubeContextInfo } from '../../../src/client/kube.js';
import yaml from 'js-yaml';
import { CLUSTER_IDENTITY_CONFIGMAP, clusterIdentityData, parseClusterIdentity } from '../../../src/fleet/identity.js';

const NOW = Date.parse('2026-01-02T00:00:00Z');

/** alice may create jobs in vision-dev when `grant`; a RoleBinding meant for region=eu only. */
function cluster(opts: { grant: boolean; identity?: string; forbid?: (verb: string, kind: string) => string | undefined }): FakeClient {
  const c = new FakeClient({ namespaces: [{ metadata: { name: 'vision-dev' } }], ...(opts.forbid ? { forbid: opts.forbid } : {}) })
    .seed('User', { metadata: { name: 'alice' }, spec: { state: 'Active' } }, { metadata: { name: 'root' }, spec: { state: 'Active', superuser: true } })
    .seed('Role', { metadata: { name: 'researcher' }, spec: { permissions: ['batch/jobs:*'] } })
    .seed('RoleBinding', ...(opts.grant ? [{ metadata: { name: 'alice-researcher' }, spec: { role: 'researcher', subjects: [{ kind: 'User', name: 'alice' }], scope: { namespaces: ['vision-dev'] } } }] : []));
  // What the cluster's operator publishes (kube-public/gatehouse-cluster), from a values-like text.
  if (opts.identity) {
    const id = parseClusterIdentity((yaml.load(opts.identity) as { cluster: unknown }).cluster, 'cluster');
    c.configMaps.set(`${CLUSTER_IDENTITY_CONFIGMAP.namespace}/${CLUSTER_IDENTITY_CONFIGMAP.name}`, clusterIdentityData(id));
  }
  return c;
}

/** A cluster whose API server refuses connections, as translateError reports it. */
class Unreachable extends FakeClient {
  override async list(): Promise<never> {
    throw translateError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), { action: 'list users', server: this.server });
  }
  override async listNamespaces(): Promise<never> {
    return this.list();
  }
  override async get(): Promise<never> {
    return this.list();
  }
}

/** A cluster that never answers (a silent network path). */
class Silent extends FakeClient {
  override async list(): Promise<never> {
    return new Promise<never>(() => undefined);
  }
  override async listNamespaces(): Promise<never> {
    return new Promise<never>(() => undefined);
  }
}

type Clients = Record<string, GatehouseClient>;

async function runFleet(argv: string[], clients: Clients, kubeconfigCluster: (ctx: string) => string = (c) => `kc-${c}`): Promise<{ code: number; stdout: string; stderr: string; made: string[] }> {
  let stdout = '';
  let stderr = '';
  const made: string[] = [];
  const contexts: KubeContextInfo[] = Object.keys(clients).map((name) => ({ name, cluster: kubeconfigCluster(name), server: clients[name]!.server }));
  const deps: CliDeps = {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    now: () => NOW,
    readFile: () => {
      throw new Error('ENOENT');
    },
    makeClient: (opts) => {
      const name = opts.context ?? '<current>';
      made.push(name);
      const c = clients[name];
      if (!c) throw new Error(`no fake client for context ${name}`);
      return c;
    },
    listContexts: () => contexts,
  };
  const code = await run(argv, deps);
  return { code, stdout, stderr, made };
}

const CAN_I = ['can-i', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice'];

test('flags: --contexts (comma-separated, repeatable, deduplicated), --all-contexts, defaults', () => {
  assert.equal(fleetOptionsOf({}), undefined);
  assert.deepEqual(fleetOptionsOf({ contexts: ['a,b', 'c', 'a'] }), { contexts: ['a', 'b', 'c'], maxParallel: 8, timeoutMs: 10_000 });
  assert.deepEqual(fleetOptionsOf({ 'all-contexts': true, 'max-parallel': '1', 'cluster-timeout': '500ms' }), { contexts: 'all', maxParallel: 1, timeoutMs: 500 });
  assert.equal(fleetOptionsOf({ contexts: ['a'], 'cluster-timeout': '1m' })?.timeoutMs, 60_000);
  assert.equal(fleetOptionsOf({ contexts: ['a'], 'cluster-timeout': '2' })?.timeoutMs, 2000);
});

test('flags: every combination that cannot mean one thing is a usage error', () => {
  const usage = (values: Record<string, string | boolean | string[]>, re: RegExp): void => {
    assert.throws(() => fleetOptionsOf(values), (err: unknown) => err instanceof ClientError && err.code === 'GH_CLI_USAGE' && re.test(err.message));
  };
  usage({ contexts: ['a'], 'all-contexts': true }, /not both/);
  usage({ contexts: ['a'], context: 'b' }, /--context names one cluster/);
  usage({ 'all-contexts': true, context: 'b' }, /--context names one cluster/);
  usage({ 'max-parallel': '2' }, /go with --contexts or --all-contexts/);
  usage({ 'cluster-timeout': '2s' }, /go with --contexts or --all-contexts/);
  usage({ contexts: ['a'], 'max-parallel': '0' }, /--max-parallel "0": a whole number of at least 1/);
  usage({ contexts: ['a'], 'max-parallel': 'two' }, /--max-parallel/);
  usage({ contexts: ['a'], 'cluster-timeout': 'soon' }, /--cluster-timeout "soon": a duration/);
  usage({ contexts: ['a'], 'cluster-timeout': '0s' }, /--cluster-timeout/);
  usage({ contexts: ['a,,b'] }, /empty context name/);
  usage({ contexts: ['a'], from: ['policy/'] }, /--from answers from files/);
  usage({ 'all-contexts': true, cluster: 'eu-1' }, /--cluster and --cluster-labels go with --from/);
  assert.equal(parseDurationMs('1.5s'), 1500);
  assert.equal(parseDurationMs('-1s'), undefined);
});

test('selectContexts: the order asked for; an unknown name is a usage error naming the known ones', () => {
  const known: KubeContextInfo[] = ['x', 'y', 'z'].map((name) => ({ name, cluster: name, server: 'https://s' }));
  assert.deepEqual(selectContexts({ contexts: ['z', 'x'], maxParallel: 1, timeoutMs: 1 }, known).map((k) => k.name), ['z', 'x']);
  assert.deepEqual(selectContexts({ contexts: 'all', maxParallel: 1, timeoutMs: 1 }, known).map((k) => k.name), ['x', 'y', 'z']);
  assert.throws(() => selectContexts({ contexts: ['x', 'nope'], maxParallel: 1, timeoutMs: 1 }, known), /context "nope" not found in kubeconfig \(contexts: x, y, z\)/);
  assert.throws(() => selectContexts({ contexts: 'all', maxParallel: 1, timeoutMs: 1 }, []), /no contexts/);
});

test('exit codes: 0 all yes, 1 all answered and one no, 3 one not answered (even when the rest say no)', () => {
  const row = (status: FleetRow['status'], negative = false): FleetRow => ({ context: 'c', server: 's', cluster: { name: 'c', from: 'kubeconfig' }, status, negative, warnings: [], ms: 0 });
  assert.equal(fleetExitCode([row('answered'), row('answered')]), 0);
  assert.equal(fleetExitCode([row('answered'), row('answered', true)]), 1);
  assert.equal(fleetExitCode([row('answered'), row('unreachable')]), 3);
  assert.equal(fleetExitCode([row('answered', true), row('unreachable')]), 3);
  assert.equal(fleetExitCode([row('answered'), row('error')]), 3);
});

test('can-i --contexts: one row per cluster in the order given; unreachable is not a no (exit 3)', async () => {
  const res = await runFleet([...CAN_I, '--contexts', 'us,eu,dead'], { eu: cluster({ grant: true }), us: cluster({ grant: false }), dead: new Unreachable() });
  assert.equal(res.code, 3, res.stderr);
  const lines = res.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^CONTEXT\s+CLUSTER\s+ANSWER\s+REASON$/);
  assert.match(lines[1] ?? '', /^us\s+kc-us\*\s+no\s+gatehouse: no opinion - no Gatehouse role grants create batch\/jobs/);
  assert.match(lines[2] ?? '', /^eu\s+kc-eu\*\s+yes\s+gatehouse: yes - role researcher via binding alice-researcher/);
  assert.match(lines[3] ?? '', /^dead\s+kc-dead\*\s+unreachable\s+cannot reach the API server at https:\/\/fake:6443 \(ECONNREFUSED\)/);
  assert.match(res.stdout, /\* the kubeconfig's name for the cluster: the cluster did not say its own/);
  assert.match(res.stdout, /3 contexts: 2 answered \(1 no\), 1 unreachable/);
  assert.deepEqual(res.made.sort(), ['dead', 'eu', 'us'], 'one client per context, none for the current context');
});

test('can-i --all-contexts: exit 0 when every cluster says yes, 1 when one says no', async () => {
  const yes = await runFleet([...CAN_I, '--all-contexts'], { a: cluster({ grant: true }), b: cluster({ grant: true }) });
  assert.equal(yes.code, 0, yes.stdout + yes.stderr);
  const one = await runFleet([...CAN_I, '--all-contexts'], { a: cluster({ grant: true }), b: cluster({ grant: false }) });
  assert.equal(one.code, 1, one.stdout + one.stderr);
});

test('can-i -o json: one object per cluster with context, cluster, status, answer or error, and the single-cluster result', async () => {
  const res = await runFleet([...CAN_I, '--contexts', 'eu,dead', '-o', 'json'], { eu: cluster({ grant: true }), dead: new Unreachable() });
  assert.equal(res.code, 3);
  const doc = JSON.parse(res.stdout) as { command: string; exitCode: number; clusters: Array<Record<string, unknown>> };
  assert.equal(doc.command, 'can-i');
  assert.equal(doc.exitCode, 3);
  assert.equal(doc.clusters.length, 2);
  const [eu, dead] = doc.clusters as [Record<string, unknown>, Record<string, unknown>];
  assert.equal(eu['context'], 'eu');
  assert.deepEqual(eu['cluster'], { name: 'kc-eu', from: 'kubeconfig' });
  assert.equal(eu['status'], 'answered');
  assert.equal(eu['answer'], 'yes');
  assert.equal((eu['result'] as { allowed: boolean }).allowed, true);
  assert.equal((eu['result'] as { gatehouse: { code: string } }).gatehouse.code, 'binding');
  assert.equal(typeof eu['ms'], 'number');
  assert.equal(dead['status'], 'unreachable');
  assert.match(String(dead['error']), /ECONNREFUSED/);
  assert.equal(dead['answer'], undefined, 'an unreachable cluster has no answer');
  assert.equal(dead['result'], undefined);
});

test('a cluster that does not answer within --cluster-timeout is unreachable; the others are answered', async () => {
  const res = await runFleet([...CAN_I, '--contexts', 'silent,eu', '--cluster-timeout', '50ms', '--max-parallel', '1'], { silent: new Silent(), eu: cluster({ grant: true }) });
  assert.equal(res.code, 3);
  assert.match(res.stdout, /^silent\s+kc-silent\*\s+unreachable\s+no answer within 50ms \(--cluster-timeout\)$/m);
  assert.match(res.stdout, /^eu\s+kc-eu\*\s+yes\s+/m);
});

test('a kind the caller may not list makes that cluster unanswerable (exit 3), not a partial answer', async () => {
  const forbidding = cluster({ grant: true, forbid: (_verb, kind) => (kind === 'RoleBinding' ? 'rolebindings is forbidden' : undefined) });
  const res = await runFleet([...CAN_I, '--contexts', 'ok,narrow'], { ok: cluster({ grant: true }), narrow: forbidding });
  assert.equal(res.code, 3);
  assert.match(res.stdout, /^narrow\s+kc-narrow\*\s+unreachable\s+forbidden: you may not list rolebindings \(rolebindings is forbidden\); an answer without them could be wrong$/m);
});

test('without --as, each cluster is asked who you are; one that cannot say is an error row, not a no', async () => {
  const knows = new FakeClient({ whoAmI: { user: 'root', groups: [] } }).seed('User', { metadata: { name: 'root' }, spec: { state: 'Active', superuser: true } });
  const old = new FakeClient();
  const res = await runFleet(['can-i', 'delete', 'nodes', '--contexts', 'new,old'], { new: knows, old });
  assert.equal(res.code, 3);
  assert.match(res.stdout, /^new\s+kc-new\*\s+yes\s+gatehouse: yes - /m);
  assert.match(res.stdout, /^old\s+kc-old\*\s+error\s+say whom to ask about: --as USER/m);
  assert.match(res.stdout, /1 answered, 1 could not be asked/);
});

test('the cluster\'s own name, when it says one, replaces the kubeconfig\'s; and the answer is built as that cluster', async () => {
  const eu = cluster({ grant: true, identity: 'cluster:\n  name: eu-1\n  labels: {region: eu, tier: prod}\n' });
  const res = await runFleet([...CAN_I, '--contexts', 'eu,us', '-o', 'json'], { eu, us: cluster({ grant: true }) });
  const doc = JSON.parse(res.stdout) as { clusters: Array<{ cluster: unknown; result: { cluster?: unknown; source: string } }> };
  assert.deepEqual(doc.clusters[0]!.cluster, { name: 'eu-1', labels: { region: 'eu', tier: 'prod' }, from: 'gatehouse' });
  // Plumbing: the configuration the permission index was built with carries that cluster.
  assert.deepEqual(doc.clusters[0]!.result.cluster, { name: 'eu-1', labels: { region: 'eu', tier: 'prod' } });
  assert.match(doc.clusters[0]!.result.source, /as cluster eu-1 \(region=eu, tier=prod\)/);
  assert.deepEqual(doc.clusters[1]!.cluster, { name: 'kc-us', from: 'kubeconfig' });
  assert.equal(doc.clusters[1]!.result.cluster, undefined, 'no identity: none is made up');
  const table = await runFleet([...CAN_I, '--contexts', 'eu'], { eu });
  assert.match(table.stdout, /^eu\s+eu-1\s+yes\s+/m);
  assert.doesNotMatch(table.stdout, /kubeconfig's name/);
});

test('a RoleBinding that selects region=eu holds on the eu cluster and not on the us one', async () => {
  const withEuBinding = (identity: string): FakeClient => {
    const c = cluster({ grant: false, identity });
    c.seed('RoleBinding', { metadata: { name: 'alice-eu' }, spec: { role: 'researcher', subjects: [{ kind: 'User', name: 'alice' }], scope: { namespaces: ['vision-dev'] }, clusters: { matchLabels: { region: 'eu' } } } } as never);
    return c;
  };
  const res = await runFleet([...CAN_I, '--contexts', 'eu,us'], { eu: withEuBinding('cluster: {name: eu-1, labels: {region: eu}}'), us: withEuBinding('cluster: {name: us-1, labels: {region: us}}') });
  assert.match(res.stdout, /^eu\s+eu-1\s+yes\s+/m);
  assert.match(res.stdout, /^us\s+us-1\s+no\s+/m);
  assert.equal(res.code, 1);
});

test('explain and who-can --contexts: a row per cluster; -o yaml carries each cluster\'s whole answer', async () => {
  const clients = { eu: cluster({ grant: true }), us: cluster({ grant: false }) };
  const ex = await runFleet(['explain', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice', '--contexts', 'eu,us'], clients);
  assert.equal(ex.code, 1);
  assert.match(ex.stdout, /^CONTEXT\s+CLUSTER\s+ANSWER\s+DECISION$/m);
  assert.match(ex.stdout, /^eu\s+kc-eu\*\s+yes\s+yes \(binding\): role researcher/m);
  assert.match(ex.stdout, /^us\s+kc-us\*\s+no\s+no opinion \(noMatch\): /m);
  const exYaml = await runFleet(['explain', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice', '--contexts', 'eu', '-o', 'yaml'], clients);
  assert.match(exYaml.stdout, /^command: explain$/m);
  assert.match(exYaml.stdout, /rolesThatGrant:/);
  const wc = await runFleet(['who-can', 'create', 'jobs', '-n', 'vision-dev', '--all-contexts'], clients);
  assert.equal(wc.code, 0);
  assert.match(wc.stdout, /^CONTEXT\s+CLUSTER\s+ANSWER\s+SUBJECTS$/m);
  assert.match(wc.stdout, /^eu\s+kc-eu\*\s+2 subjects\s+User alice, User root$/m);
  assert.match(wc.stdout, /^us\s+kc-us\*\s+1 subject\s+User root$/m);
});

test('user show --contexts: the state per cluster; not found is an answer (exit 1), unreachable is not', async () => {
  const a = cluster({ grant: true });
  const b = new FakeClient().seed('User', { metadata: { name: 'bob' }, spec: { state: 'Active' } });
  const res = await runFleet(['user', 'show', 'alice', '--contexts', 'a,b'], { a, b });
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.match(res.stdout, /^CONTEXT\s+CLUSTER\s+ANSWER\s+DETAILS$/m);
  assert.match(res.stdout, /^a\s+kc-a\*\s+Active\s+superuser no; teams <none>; 1 role assignment$/m);
  assert.match(res.stdout, /^b\s+kc-b\*\s+not found\s+user "alice" not found/m);
  const down = await runFleet(['user', 'show', 'alice', '--contexts', 'a,dead'], { a, dead: new Unreachable() });
  assert.equal(down.code, 3);
  assert.match(down.stdout, /^dead\s+kc-dead\*\s+unreachable\s+/m);
});

test('usage errors come before any cluster is asked (exit 2)', async () => {
  const clients = { eu: cluster({ grant: true }) };
  const unknown = await runFleet([...CAN_I, '--contexts', 'eu,nowhere'], clients);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /context "nowhere" not found in kubeconfig \(contexts: eu\)/);
  assert.deepEqual(unknown.made, []);
  const both = await runFleet([...CAN_I, '--contexts', 'eu', '--context', 'eu'], clients);
  assert.equal(both.code, 2);
  const stray = await runFleet([...CAN_I, '--max-parallel', '3'], clients);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /--max-parallel and --cluster-timeout go with --contexts or --all-contexts/);
  assert.deepEqual(stray.made, []);
});

test('the help of the four commands lists the fleet flags and their exit codes', async () => {
  for (const argv of [['can-i', '--help'], ['explain', '--help'], ['who-can', '--help'], ['user', 'show', '--help']]) {
    const res = await runFleet(argv, {});
    assert.equal(res.code, 0);
    for (const f of ['--contexts A,B', '--all-contexts', '--max-parallel N', '--cluster-timeout DURATION']) assert.ok(res.stdout.includes(f), `${argv.join(' ')}: ${f}`);
    assert.match(res.stdout, /exit 0 when every cluster answered/);
  }
});

test('a flag that is a string in one command and a boolean in another: each command reads its own', () => {
  // request --cluster (a boolean: the whole cluster) must not swallow the role name.
  const req = resolve(['request', 'researcher', '--cluster', '--for', '1h'], COMMANDS);
  assert.equal(req.kind, 'command');
  if (req.kind === 'command') {
    assert.deepEqual(req.parsed.command.path, ['request']);
    assert.deepEqual(req.parsed.positionals, ['researcher']);
    assert.equal(req.parsed.values['cluster'], true);
  }
  // Before a command word it must not swallow that word either: `request --cluster list` names
  // `request list` (which has no --cluster), as it did before can-i had a string --cluster.
  assert.throws(() => resolve(['request', '--cluster', 'list'], COMMANDS), /--cluster.*request list --help/);
  const can = resolve(['can-i', '--cluster', 'eu-1', 'get', 'pods'], COMMANDS);
  assert.equal(can.kind, 'command');
  if (can.kind === 'command') {
    assert.deepEqual(can.parsed.positionals, ['get', 'pods']);
    assert.equal(can.parsed.values['cluster'], 'eu-1');
  }
});
