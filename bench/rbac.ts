// npm run bench:rbac [-- --mode rbac|webhook] [--scale F] [--trials N]: Gatehouse's native RBAC
// mode against a real kube-apiserver that runs `--authorization-mode=RBAC` only, on bench/world.ts's
// world (issue size: 10,000 users, 1,000 teams, 200 roles, 10,000 bindings, 2,000 namespaces;
// --scale 0.1 divides every count by ten). The world is created first; then (mode rbac):
//   - the raw-write baseline: the same RBAC objects the operator will want (compiled here from the
//     same world), under other names, as plain creates RAW_PARALLEL at a time from this process to
//     the same API server; timed, then deleted again;
//   - webhook mode's heap: an operator in mode webhook starts on the same world, syncs, is weighed
//     (heap after GC, minus the heap before it started) and stopped (`--no-webhook-heap` skips it);
// then the operator starts (in this process) and the bench measures:
//   - apply -> converged: from the operator's start until every desired RBAC object is in the
//     cluster as wanted (mode webhook: until the index has synced), the objects written and the
//     writes per second; the convergence ratio is this time over the raw-write baseline's;
//   - an idle full resync: API writes (must be 0);
//   - a new Gatehouse RoleBinding, and a new namespace labelled with a team whose binding covers
//     it: from the POST to the first SubjectAccessReview the API server allows (polled back to
//     back), p50 and p99 over N trials each;
//   - the operator's heap (after GC, minus the heap before it started).
// `--heap-snapshot FILE` writes the heap as weighed (after convergence) to FILE.
// `--mode webhook` runs the same world and trials with the authorization webhook (caches off)
// instead, for the README's side-by-side. `--compile-only` starts nothing: it builds the same world
// in an index and times the RBAC compiler alone (a fresh compile; then, incrementally, N new
// bindings, an update with nothing changed and N approvals). Prints a table, then one JSON line.
import { loadavg, cpus } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { ControlPlane, freePort, makeServingCert } from '../src/controlplane/controlplane.js';
import { installCrds, kubeConfigFor } from '../test/support/operator.js';
import { parseConfig } from '../src/config.js';
import { startOperator } from '../src/operator.js';
import { silentLogger } from '../src/log.js';
import { createKubeClient, isConflict, METADATA_LIST, type KubeClient } from '../src/controller/kube.js';
import { generateWorld, type WorldSize } from './world.js';
import { PermissionIndex } from '../src/authz/index.js';
import { compileRbac, RbacCompiler } from '../src/rbac/compile.js';
import { RBAC_GROUP, type RbacObject } from '../src/rbac/objects.js';
import type { World } from '../src/authz/index.js';
import { contentHash } from '../src/controller/rbac-applier.js';
import { HASH_ANNOTATION } from '../src/rbac/objects.js';
import { indexSource } from '../src/rbac/source.js';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: { mode: { type: 'string', default: 'rbac' }, scale: { type: 'string', default: '1' }, trials: { type: 'string', default: '50' }, 'compile-only': { type: 'boolean', default: false }, 'no-webhook-heap': { type: 'boolean', default: false }, 'heap-snapshot': { type: 'string' }, 'raw-watch': { type: 'boolean', default: false } },
});
const MODE = args.mode === 'webhook' ? 'webhook' : 'rbac';
const SCALE = Number(args.scale);
const TRIALS = Number(args.trials);
const BASE: WorldSize = { users: 10_000, teams: 1_000, roles: 200, bindings: 10_000, namespaces: 2_000 };
const SIZE: WorldSize = Object.fromEntries(Object.entries(BASE).map(([k, v]) => [k, Math.max(5, Math.round(v * SCALE))])) as unknown as WorldSize;
const GH = '/apis/iam.gatehouse.dev/v1alpha1';
/** Creates in flight in the raw-write baseline (the issue's figure: ~1,000 RoleBindings/s at 64). */
const RAW_PARALLEL = 64;
/** The operator's write budget here: a ceiling far above what the API server takes, so the server sets the pace. */
const BUDGET = 10_000;
const RBAC_API = `/apis/${RBAC_GROUP}/v1`;
const POLICY = { defaults: { role: 'role-0', team: 'team-0' }, projects: { ownerRole: 'role-1', publicRole: 'role-2' } };

/** The RBAC objects the operator will want for this world, compiled here. */
function desiredObjects(world: Required<World>): RbacObject[] {
  const index = PermissionIndex.build(world, parseConfig({ ...POLICY, authorization: { mode: 'rbac' } }));
  return [...compileRbac(indexSource(index), { now: Date.now() }).objects.values()];
}

const rbacPath = (o: { kind: string; metadata: { namespace?: string } }): string => {
  const plural = o.kind === 'ClusterRole' ? 'clusterroles' : o.kind === 'ClusterRoleBinding' ? 'clusterrolebindings' : 'rolebindings';
  return o.kind === 'RoleBinding' ? `${RBAC_API}/namespaces/${o.metadata.namespace}/${plural}` : `${RBAC_API}/${plural}`;
};

/**
 * The baseline: the same objects (same namespaces, subjects, rules, annotations and size) under
 * `rawbench:` names and a `bench=raw` label, created RAW_PARALLEL at a time; then deleted.
 */
async function rawBaseline(api: KubeClient, objects: readonly RbacObject[]): Promise<{ seconds: number; writes: number }> {
  const raw = objects.map((o) => {
    const { kind, metadata, ...rest } = o;
    const hash = contentHash(kind, o);
    return {
      apiVersion: `${RBAC_GROUP}/v1`, kind, ...rest,
      metadata: { ...metadata, name: `rawbench:${metadata.name.slice('gatehouse:'.length)}`, labels: { ...metadata.labels, bench: 'raw', 'app.kubernetes.io/managed-by': 'bench' }, annotations: { ...metadata.annotations, [HASH_ANNOTATION]: hash } },
    };
  });
  const t = performance.now();
  await mapLimit(raw, RAW_PARALLEL, (o) => create(api, `${rbacPath(o)}?fieldManager=bench`, o));
  const seconds = (performance.now() - t) / 1000;
  const namespaces = [...new Set(raw.flatMap((o) => (o.metadata.namespace ? [o.metadata.namespace] : [])))];
  const del = (path: string): Promise<unknown> => api.request({ method: 'DELETE', path, query: { labelSelector: 'bench=raw' }, timeoutMs: 120_000 });
  await del(`${RBAC_API}/clusterroles`);
  await del(`${RBAC_API}/clusterrolebindings`);
  await mapLimit(namespaces, 16, async (ns) => void (await del(`${RBAC_API}/namespaces/${ns}/rolebindings`)));
  return { seconds, writes: raw.length };
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const heapMb = (): number => {
  gc();
  return process.memoryUsage().heapUsed / 1e6;
};
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

async function mapLimit<T>(items: readonly T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function create(api: KubeClient, path: string, body: unknown): Promise<void> {
  try {
    await api.request({ method: 'POST', path, body, timeoutMs: 60_000 });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

async function allowed(api: KubeClient, user: string, namespace: string): Promise<boolean> {
  const r = await api.request<{ status: { allowed: boolean } }>({
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user, groups: [], resourceAttributes: { namespace, verb: 'get', group: 'example.com', resource: 'probes' } } },
  });
  return r.status.allowed === true;
}

async function untilAllowed(api: KubeClient, user: string, namespace: string, t0: number, timeoutMs = 60_000): Promise<number> {
  while (!(await allowed(api, user, namespace))) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`${user} not allowed in ${namespace} after ${timeoutMs} ms`);
  }
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const load0 = loadavg();
  process.stderr.write(`bench:rbac: mode ${MODE}, world ${JSON.stringify(SIZE)}, ${TRIALS} trials; load ${load0.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores\n`);
  const world = generateWorld(SIZE, 42);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-rbac-'));
  const tls = await makeServingCert(path.join(dir, 'pki'), 'gatehouse');
  const port = await freePort();
  const cp = await ControlPlane.start({
    extraArgs: ['--max-requests-inflight=800', '--max-mutating-requests-inflight=400'],
    ...(MODE === 'webhook' ? { authorizationWebhook: { url: `https://127.0.0.1:${port}/authorize`, caFile: tls.caCert } } : {}),
  });
  let stopOperator = async (): Promise<void> => {};
  try {
    await installCrds(cp);
    const api = createKubeClient(await kubeConfigFor(cp));
    const t0 = performance.now();
    await mapLimit(world.namespaces, 16, (o) => create(api, '/api/v1/namespaces', { apiVersion: 'v1', ...o }));
    const ghPost = (plural: string) => (o: object) => create(api, `${GH}/${plural}`, { apiVersion: 'iam.gatehouse.dev/v1alpha1', ...o });
    await mapLimit(world.roles, 16, ghPost('roles'));
    await mapLimit(world.users, 16, ghPost('users'));
    await mapLimit(world.teams, 16, ghPost('teams'));
    await mapLimit(world.bindings, 16, ghPost('rolebindings'));
    // The probe: one role nobody else holds, granted per trial.
    await ghPost('roles')({ kind: 'Role', metadata: { name: 'bench-probe' }, spec: { permissions: ['example.com/probes:get'] } });
    const probeUsers = world.users.filter((u) => u.spec.state === 'Active' && !u.spec.superuser).slice(0, TRIALS + 1);
    const username = (u: (typeof probeUsers)[number]): string => u.spec.username ?? u.metadata.name;
    const teamUser = probeUsers[TRIALS]!;
    await ghPost('teams')({ kind: 'Team', metadata: { name: 'probe-team' }, spec: { members: [teamUser.metadata.name] } });
    await ghPost('rolebindings')({ kind: 'RoleBinding', metadata: { name: 'probe-team' }, spec: { role: 'bench-probe', subjects: [{ kind: 'Team', name: 'probe-team' }], scope: { teams: ['probe-team'] } } });
    const createSec = (performance.now() - t0) / 1000;
    process.stderr.write(`bench:rbac: world created in ${createSec.toFixed(1)} s\n`);

    const probeObjects = {
      roles: [{ kind: 'Role', metadata: { name: 'bench-probe' }, spec: { permissions: ['example.com/probes:get'] } }],
      teams: [{ kind: 'Team', metadata: { name: 'probe-team' }, spec: { members: [teamUser.metadata.name] } }],
      bindings: [{ kind: 'RoleBinding', metadata: { name: 'probe-team' }, spec: { role: 'bench-probe', subjects: [{ kind: 'Team', name: 'probe-team' }], scope: { teams: ['probe-team'] } } }],
    };
    let raw: { seconds: number; writes: number } | undefined;
    if (MODE === 'rbac') {
      const full = { ...world, roles: [...world.roles, ...probeObjects.roles], teams: [...world.teams, ...probeObjects.teams], bindings: [...world.bindings, ...probeObjects.bindings] } as unknown as Required<World>;
      const objects = desiredObjects(full);
      // --raw-watch: the baseline with the operator's three metadata watches open (what watching costs the API server).
      const watching = new AbortController();
      if (args['raw-watch']) {
        for (const plural of ['clusterroles', 'clusterrolebindings', 'rolebindings']) {
          void api.watch(`${RBAC_API}/${plural}`, { allowWatchBookmarks: true }, watching.signal, () => {}, undefined, METADATA_LIST).catch(() => {});
        }
      }
      raw = await rawBaseline(api, objects);
      watching.abort();
      process.stderr.write(`bench:rbac: raw-write baseline: ${raw.writes} creates in ${raw.seconds.toFixed(1)} s (${Math.round(raw.writes / raw.seconds)}/s at ${RAW_PARALLEL} in flight)\n`);
    }
    const configFor = (mode: string, serverPort: number) => parseConfig({
      ...POLICY,
      authorization: { mode, rbac: { writesPerSecond: BUDGET } },
      server: { host: '127.0.0.1', port: serverPort, certFile: tls.cert, keyFile: tls.key },
      operator: { namespace: 'gatehouse-system', identity: 'bench', kubeconfig: cp.kubeconfigPath, leaderElection: { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 } },
    });
    let webhookHeapMb: number | undefined;
    if (MODE === 'rbac' && !args['no-webhook-heap']) {
      const h0 = heapMb();
      const wop = await startOperator({ config: configFor('webhook', await freePort()), logger: silentLogger(), kubeConfig: await kubeConfigFor(cp) });
      await wop.controller.synced;
      webhookHeapMb = heapMb() - h0;
      await wop.stop();
      process.stderr.write(`bench:rbac: operator heap in mode webhook: ${webhookHeapMb.toFixed(1)} MB\n`);
    }

    const heap0 = heapMb();
    const config = configFor(MODE, port);
    const t1 = performance.now();
    const op = await startOperator({ config, logger: silentLogger(), kubeConfig: await kubeConfigFor(cp) });
    stopOperator = () => op.stop();
    await op.controller.synced;
    const syncedSec = (performance.now() - t1) / 1000;
    const rbac = op.controller.rbac;
    const phaseTimer = setInterval(() => {
      const m = rbac?.metrics();
      process.stderr.write(`bench:rbac: t=${((performance.now() - t1) / 1000).toFixed(1)} s written ${m?.written} pending ${m?.pending} window ${m?.writeWindow} statusWrites ${op.controller.metrics().statusWrites}\n`);
    }, 10_000);
    process.stderr.write(`bench:rbac: operator synced after ${syncedSec.toFixed(1)} s\n`);
    if (rbac) {
      for (;;) {
        await rbac.idle();
        if (rbac.converged()) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const convergeSec = (performance.now() - t1) / 1000;
    clearInterval(phaseTimer);
    const statusWritesAtConverged = op.controller.metrics().statusWrites;
    const m0 = rbac?.metrics();
    const heap1 = heapMb();
    // --heap-snapshot FILE: the heap as weighed, for finding where it goes (Chrome DevTools' Memory tab).
    if (args['heap-snapshot']) process.stderr.write(`bench:rbac: heap snapshot ${writeHeapSnapshot(args['heap-snapshot'])}\n`);
    const objectsWritten = m0 ? m0.creates + m0.applies + m0.deletes : 0;
    process.stderr.write(`bench:rbac: converged in ${convergeSec.toFixed(1)} s, ${objectsWritten} objects written (${Math.round(objectsWritten / convergeSec)}/s)${raw ? `, ${(convergeSec / raw.seconds).toFixed(2)}x the raw-write baseline` : ''}; heap ${(heap1 - heap0).toFixed(1)} MB\n`);

    // The statuses wait while the grants are written (access first, src/controller/rbac-applier.ts
    // statusTurn): the trials start once they are written too, so they measure a settled operator.
    await op.controller.idle();
    const statusesDoneSec = (performance.now() - t1) / 1000;
    const statusWrites = op.controller.metrics().statusWrites;
    process.stderr.write(`bench:rbac: ${statusWrites} statuses written ${statusesDoneSec.toFixed(1)} s after the operator started (${statusWritesAtConverged} of them before the grants converged)\n`);

    let idleWrites = 0;
    if (rbac) {
      const before = rbac.metrics().writes;
      rbac.resync();
      await new Promise((r) => setTimeout(r, 1000));
      await rbac.idle();
      idleWrites = rbac.metrics().writes - before;
    }

    const bindingMs: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const u = probeUsers[i]!;
      const ns = world.namespaces[i % world.namespaces.length]!.metadata.name;
      const t = performance.now();
      await ghPost('rolebindings')({ kind: 'RoleBinding', metadata: { name: `probe-${i}` }, spec: { role: 'bench-probe', subjects: [{ kind: 'User', name: u.metadata.name }], scope: { namespaces: [ns] } } });
      bindingMs.push(await untilAllowed(api, username(u), ns, t));
    }
    const nsMs: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const ns = `probe-ns-${i}`;
      const t = performance.now();
      await create(api, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'iam.gatehouse.dev/team': 'probe-team' } } });
      nsMs.push(await untilAllowed(api, username(teamUser), ns, t));
    }
    const m1 = rbac?.metrics();
    const load1 = loadavg();
    const f = (x: number) => x.toFixed(1);
    const row = {
      mode: MODE,
      world: SIZE,
      worldCreateSec: createSec,
      rbacObjects: m0?.managedObjects ?? 0,
      objectsWritten,
      convergeSec,
      syncedSec,
      statusesDoneSec,
      statusWrites,
      writesPerSec: objectsWritten / convergeSec,
      rawCreateSec: raw?.seconds ?? null,
      rawWrites: raw?.writes ?? null,
      rawWritesPerSec: raw ? raw.writes / raw.seconds : null,
      convergenceRatio: raw ? convergeSec / raw.seconds : null,
      writeBudgetPerSec: BUDGET,
      throttled: m0?.throttled ?? 0,
      failedWrites: m0?.failed ?? 0,
      lastCompileMs: m1?.lastCompileMs ?? 0,
      idleResyncWrites: idleWrites,
      newBindingMs: { p50: pct(bindingMs, 50), p99: pct(bindingMs, 99), n: bindingMs.length },
      newTeamNamespaceMs: { p50: pct(nsMs, 50), p99: pct(nsMs, 99), n: nsMs.length },
      operatorHeapMb: heap1 - heap0,
      heapMB: heap1 - heap0,
      webhookHeapMB: webhookHeapMb ?? null,
      load: { before: load0, after: load1 },
      node: process.version,
    };
    const r = (x: number | null | undefined, unit: string, digits = 1): string => (x === null || x === undefined ? '-' : `${x.toFixed(digits)}${unit}`);
    console.log(`| mode | RBAC objects | written | apply -> converged (writes/s) | raw creates (writes/s) | ratio | idle resync writes | new binding p50 / p99 | new team namespace p50 / p99 | operator heap (webhook mode) |`);
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    console.log(`| ${MODE} | ${row.rbacObjects} | ${row.objectsWritten} | ${f(convergeSec)} s (${Math.round(row.writesPerSec)}) | ${r(row.rawCreateSec, ' s')} (${r(row.rawWritesPerSec, '', 0)}) | ${r(row.convergenceRatio, '', 2)} | ${idleWrites} | ${f(row.newBindingMs.p50)} / ${f(row.newBindingMs.p99)} ms | ${f(row.newTeamNamespaceMs.p50)} / ${f(row.newTeamNamespaceMs.p99)} ms | ${f(row.operatorHeapMb)} MB (${r(row.webhookHeapMB, ' MB')}) |`);
    console.log(`World ${JSON.stringify(SIZE)} created in ${f(createSec)} s; one compile ${f(row.lastCompileMs)} ms; load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')} (${cpus().length} cores, Node ${process.version})`);
    console.log(JSON.stringify(row));
  } finally {
    await stopOperator();
    await cp.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The compiler alone, on the same world and configuration as the cluster run. */
function compileOnly(): void {
  const world = generateWorld(SIZE, 42);
  const config = parseConfig({ defaults: { role: 'role-0', team: 'team-0' }, projects: { ownerRole: 'role-1', publicRole: 'role-2' }, authorization: { mode: 'rbac' } });
  const index = PermissionIndex.build(world, config);
  const src = indexSource(index);
  const time = (fn: () => void): number => {
    const t = performance.now();
    fn();
    return performance.now() - t;
  };
  const fresh = [0, 1, 2].map(() => time(() => compileRbac(src, { now: Date.now() })));
  const compiler = new RbacCompiler();
  const first = time(() => compiler.update(src, { now: Date.now() }));
  const objects = compiler.objects.size;
  const binding: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    const u = world.users[i % world.users.length]!;
    index.apply({ op: 'upsert', kind: 'RoleBinding', object: { kind: 'RoleBinding', metadata: { name: `probe-${i}` }, spec: { role: 'role-5', subjects: [{ kind: 'User', name: u.metadata.name }], scope: { namespaces: [world.namespaces[i % world.namespaces.length]!.metadata.name] } } } });
    binding.push(time(() => compiler.update(src, { now: Date.now() })));
  }
  const unchanged = time(() => compiler.update(src, { now: Date.now() }));
  const approval: number[] = [];
  for (const u of world.users.filter((x) => x.spec.state === 'Pending').slice(0, TRIALS)) {
    index.apply({ op: 'upsert', kind: 'User', object: { ...u, spec: { ...u.spec, state: 'Active' } } });
    approval.push(time(() => compiler.update(src, { now: Date.now() })));
  }
  const f = (x: number) => x.toFixed(1);
  const row = {
    mode: 'compile-only', world: SIZE, objects, freshCompileMs: pct(fresh, 50), firstUpdateMs: first,
    newBindingMs: { p50: pct(binding, 50), p99: pct(binding, 99), n: binding.length }, unchangedMs: unchanged,
    approvalMs: { p50: pct(approval, 50), p99: pct(approval, 99), n: approval.length }, load: loadavg(), node: process.version,
  };
  console.log('| objects | fresh compile (median of 3) | new binding p50 / p99 | nothing changed | approval p50 / p99 |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  console.log(`| ${objects} | ${f(row.freshCompileMs)} ms | ${f(row.newBindingMs.p50)} / ${f(row.newBindingMs.p99)} ms | ${f(unchanged)} ms | ${f(row.approvalMs.p50)} / ${f(row.approvalMs.p99)} ms |`);
  console.log(`World ${JSON.stringify(SIZE)}; ${binding.length} bindings, ${approval.length} approvals; load average ${row.load.map((l) => l.toFixed(2)).join(' ')} (${cpus().length} cores, Node ${process.version})`);
  console.log(JSON.stringify(row));
}

if (args['compile-only']) compileOnly();
else main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
