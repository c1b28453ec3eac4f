// npm run bench:e2e [-- REQUESTS TRIALS ROUNDS]: Gatehouse through a real kube-apiserver
// (test/support: etcd + kube-apiserver 1.20, static-token users), against native RBAC alone.
//
// Two control planes, both running for the whole run, measured in interleaved rounds:
//   A. native RBAC only (no authorization webhook); bob may list pods in team-a through a
//      Kubernetes RoleBinding.
//   B. the whole of Gatehouse (test/support/stack.ts: authorization webhook before RBAC with the
//      API server's webhook caches off, the operator in-process, admission webhooks registered);
//      alice may list pods in team-a through a Gatehouse RoleBinding, bob still through native RBAC
//      (Gatehouse has no User for him, so it has no opinion and RBAC answers).
// Each round measures REQUESTS/ROUNDS requests of every kind on A and on B, the order of A and B
// alternating by round, so load that comes and goes on a shared machine falls on both alike. The
// webhook's addition is computed per round (B's p50 minus A's p50 in that round) and reported as
// the median over rounds with its spread (the rounds' 10th to 90th percentile, and min to max).
// Each user's own token is used, so every request is authorized once as that user (no
// impersonation check in between). Measured per request, sequentially over one keep-alive TLS
// connection: GET pods, and a SelfSubjectAccessReview (authorized twice: the create, then the
// review itself). Then the time from applying a RoleBinding (the POST is sent) to the first
// allowed request by its subject, polling back to back; trials alternate between A and B; the
// binding is deleted and the denial awaited between trials. Prints tables, then one JSON line.
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { loadavg, cpus } from 'node:os';
import { ControlPlane, type StaticUser } from '../src/controlplane/controlplane.js';
import { startStack } from '../test/support/stack.js';
import { stats, type Stats } from './stats.js';

const REQUESTS = Number(process.argv[2] ?? 1000);
const TRIALS = Number(process.argv[3] ?? 100);
const ROUNDS = Number(process.argv[4] ?? 10);
const PER_ROUND = Math.max(1, Math.round(REQUESTS / ROUNDS));
const WARMUP = 100;
const NS = 'team-a';

const USERS: StaticUser[] = [
  { token: 'alice-token-0123456789', user: 'alice', groups: ['ml'] },
  { token: 'bob-token-0123456789', user: 'bob', groups: ['ml'] },
  { token: 'carol-token-0123456789', user: 'carol', groups: ['ml'] },
];
const tokenOf = (user: string): string => USERS.find((u) => u.user === user)!.token;

interface Api {
  call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: string }>;
  close(): void;
}

function api(url: string, ca: Buffer): Api {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 4, ca });
  return {
    call(method, path, token, body) {
      const data = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = https.request(
          `${url}${path}`,
          {
            method,
            agent,
            headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', ...(data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}) },
            timeout: 10_000,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          },
        );
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
        req.end(data);
      });
    },
    close: () => agent.destroy(),
  };
}

const listPods = (a: Api, user: string) => a.call('GET', `/api/v1/namespaces/${NS}/pods?limit=1`, tokenOf(user));
async function ssarAllowed(a: Api, user: string): Promise<boolean> {
  const r = await a.call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', tokenOf(user), {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { namespace: NS, verb: 'list', resource: 'pods' } },
  });
  if (r.status !== 201) throw new Error(`SelfSubjectAccessReview as ${user}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  return (JSON.parse(r.body) as { status?: { allowed?: boolean } }).status?.allowed === true;
}


/** Runs `f` `warmup` times untimed, then `n` times timed; the milliseconds of each timed run. */
async function timed(n: number, f: () => Promise<void>, warmup = 0): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await f();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await f();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return ms;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Latency samples of GET pods and of a SelfSubjectAccessReview, each expected to be allowed. */
async function latencies(a: Api, user: string, n: number, warmup: number): Promise<{ get: number[]; ssar: number[] }> {
  const get = await timed(n, async () => {
    const r = await listPods(a, user);
    if (r.status !== 200) throw new Error(`GET pods as ${user}: HTTP ${r.status}`);
  }, warmup);
  const ssar = await timed(n, async () => {
    if (!(await ssarAllowed(a, user))) throw new Error(`SelfSubjectAccessReview as ${user} not allowed`);
  }, warmup);
  return { get, ssar };
}

/** One configuration under test: how to reach it, and how to make and remove a binding for carol. */
interface Target {
  name: string;
  a: Api;
  adminToken: string;
  createPath: string;
  body: (name: string) => unknown;
  deletePath: (name: string) => string;
  stop(): Promise<void>;
}

/**
 * One trial: from sending the POST of a binding for carol to carol's first allowed GET, polling
 * back to back; then the binding is deleted and the denial awaited.
 */
async function effectTrial(t: Target, i: number): Promise<number> {
  const name = `carol-trial-${i}`;
  const t0 = process.hrtime.bigint();
  const created = await t.a.call('POST', t.createPath, t.adminToken, t.body(name));
  if (created.status !== 201) throw new Error(`${t.name}: create ${name}: HTTP ${created.status} ${created.body.slice(0, 300)}`);
  for (;;) {
    const r = await listPods(t.a, 'carol');
    if (r.status === 200) break;
    if (r.status !== 403) throw new Error(`${t.name}: GET pods as carol: HTTP ${r.status}`);
    if (Number(process.hrtime.bigint() - t0) > 30e9) throw new Error(`${t.name}: ${name} did not take effect within 30 s`);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const del = await t.a.call('DELETE', t.deletePath(name), t.adminToken);
  if (del.status !== 200) throw new Error(`${t.name}: delete ${name}: HTTP ${del.status}`);
  await waitFor(`${name} to stop applying`, async () => (await listPods(t.a, 'carol')).status === 403);
  return ms;
}

const k8sRole = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: { name: 'pod-reader', namespace: NS },
  rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
};
const k8sBinding = (name: string, user: string) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name, namespace: NS },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
});
const ghBinding = (name: string, user: string) => ({
  apiVersion: 'iam.gatehouse.dev/v1alpha1',
  kind: 'RoleBinding',
  metadata: { name },
  spec: { role: 'pod-reader', subjects: [{ kind: 'User', name: user }], scope: { namespaces: [NS] } },
});
const docs = (...objs: unknown[]): string => objs.map((o) => JSON.stringify(o)).join('\n');

async function nativeOnly(): Promise<Target> {
  const cp = await ControlPlane.start({ users: USERS });
  try {
    const a = api(cp.url, await readFile(cp.caFile));
    await cp.kubectlOk(['create', 'namespace', NS]);
    await cp.kubectlOk(['apply', '-f', '-'], { input: docs(k8sRole, k8sBinding('bob-reads-pods', 'bob')) });
    await waitFor('bob to be allowed', async () => (await listPods(a, 'bob')).status === 200);
    await waitFor('carol to start denied', async () => (await listPods(a, 'carol')).status === 403);
    return {
      name: 'native RBAC only',
      a,
      adminToken: cp.adminToken,
      createPath: `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`,
      body: (n) => k8sBinding(n, 'carol'),
      deletePath: (n) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings/${n}`,
      async stop() {
        a.close();
        await cp.stop();
      },
    };
  } catch (err) {
    await cp.stop();
    throw err;
  }
}

async function withGatehouse(): Promise<Target> {
  const stack = await startStack({ config: { seedAdmins: [{ username: 'root' }] }, controlPlane: { users: USERS } });
  try {
    const cp = stack.cp;
    const a = api(cp.url, await readFile(cp.caFile));
    await cp.kubectlOk(['create', 'namespace', NS]);
    const user = (name: string) => ({ apiVersion: 'iam.gatehouse.dev/v1alpha1', kind: 'User', metadata: { name }, spec: { state: 'Active' } });
    const role = { apiVersion: 'iam.gatehouse.dev/v1alpha1', kind: 'Role', metadata: { name: 'pod-reader' }, spec: { permissions: ['pods:read'] } };
    await cp.kubectlOk(['apply', '-f', '-'], { input: docs(k8sRole, k8sBinding('bob-reads-pods', 'bob'), user('alice'), user('carol'), role, ghBinding('alice-reads-pods', 'alice')) });
    await waitFor('alice to be allowed', async () => (await listPods(a, 'alice')).status === 200);
    await waitFor('bob to be allowed', async () => (await listPods(a, 'bob')).status === 200);
    await waitFor('carol to start denied', async () => (await listPods(a, 'carol')).status === 403);
    return {
      name: 'RBAC + Gatehouse webhook',
      a,
      adminToken: cp.adminToken,
      createPath: '/apis/iam.gatehouse.dev/v1alpha1/rolebindings',
      body: (n) => ghBinding(n, 'carol'),
      deletePath: (n) => `/apis/iam.gatehouse.dev/v1alpha1/rolebindings/${n}`,
      async stop() {
        a.close();
        await stack.stop();
      },
    };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** The rounds' per-round differences of p50: their median and spread. */
interface Difference {
  median: number;
  p10: number;
  p90: number;
  min: number;
  max: number;
  rounds: number;
}
function difference(perRound: number[]): Difference {
  return { median: pct(perRound, 50), p10: pct(perRound, 10), p90: pct(perRound, 90), min: Math.min(...perRound), max: Math.max(...perRound), rounds: perRound.length };
}

type Series = 'A.bob.get' | 'A.bob.ssar' | 'B.alice.get' | 'B.alice.ssar' | 'B.bob.get' | 'B.bob.ssar';

async function main(): Promise<void> {
  const load0 = loadavg();
  process.stderr.write(`bench:e2e: ${ROUNDS} interleaved rounds of ${PER_ROUND} requests per kind and configuration (after ${WARMUP} warm-up each), ${TRIALS} binding trials per configuration, alternating; load ${load0.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores\n`);
  const A = await nativeOnly();
  let B: Target | undefined;
  try {
    B = await withGatehouse();
    const samples: Record<Series, number[][]> = { 'A.bob.get': [], 'A.bob.ssar': [], 'B.alice.get': [], 'B.alice.ssar': [], 'B.bob.get': [], 'B.bob.ssar': [] };
    const runA = async (warmup: number): Promise<void> => {
      const bob = await latencies(A.a, 'bob', PER_ROUND, warmup);
      samples['A.bob.get'].push(bob.get);
      samples['A.bob.ssar'].push(bob.ssar);
    };
    const runB = async (warmup: number): Promise<void> => {
      const alice = await latencies(B!.a, 'alice', PER_ROUND, warmup);
      const bob = await latencies(B!.a, 'bob', PER_ROUND, warmup);
      samples['B.alice.get'].push(alice.get);
      samples['B.alice.ssar'].push(alice.ssar);
      samples['B.bob.get'].push(bob.get);
      samples['B.bob.ssar'].push(bob.ssar);
    };
    for (let r = 0; r < ROUNDS; r++) {
      process.stderr.write(`round ${r + 1}/${ROUNDS}\n`);
      const warmup = r === 0 ? WARMUP : 0;
      if (r % 2 === 0) {
        await runA(warmup);
        await runB(warmup);
      } else {
        await runB(warmup);
        await runA(warmup);
      }
    }
    process.stderr.write('time to effect (trials alternate between the two)\n');
    const effectA: number[] = [];
    const effectB: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      if (i % 2 === 0) {
        effectA.push(await effectTrial(A, i));
        effectB.push(await effectTrial(B, i));
      } else {
        effectB.push(await effectTrial(B, i));
        effectA.push(await effectTrial(A, i));
      }
    }
    const load1 = loadavg();
    const f = (n: number): string => n.toFixed(2);
    const all = (k: Series): Stats => stats(samples[k].flat());
    const rows: [string, string, Stats][] = [
      [A.name, 'bob (RBAC grant): GET pods', all('A.bob.get')],
      [A.name, 'bob (RBAC grant): SelfSubjectAccessReview', all('A.bob.ssar')],
      [B.name, 'alice (Gatehouse grant): GET pods', all('B.alice.get')],
      [B.name, 'alice (Gatehouse grant): SelfSubjectAccessReview', all('B.alice.ssar')],
      [B.name, 'bob (RBAC grant, webhook no opinion): GET pods', all('B.bob.get')],
      [B.name, 'bob (RBAC grant, webhook no opinion): SelfSubjectAccessReview', all('B.bob.ssar')],
      [A.name, 'Kubernetes RoleBinding POST -> first allowed GET', stats(effectA)],
      [B.name, 'Gatehouse RoleBinding POST -> first allowed GET', stats(effectB)],
    ];
    console.log(`Requests: p50, p99 and mean of all ${ROUNDS} x ${PER_ROUND} requests per row (every round, pooled; warm-up excluded); bindings: of all ${TRIALS} trials per row.`);
    console.log('');
    console.log('| control plane | request | n | p50 ms | p99 ms | mean ms |');
    console.log('| --- | --- | ---: | ---: | ---: | ---: |');
    for (const [cp, what, st] of rows) console.log(`| ${cp} | ${what} | ${st.n} | ${f(st.p50)} | ${f(st.p99)} | ${f(st.mean)} |`);
    const perRound = (b: Series, a: Series): Difference => difference(samples[b].map((xs, i) => pct(xs, 50) - pct(samples[a][i]!, 50)));
    const diffs: [string, Difference][] = [
      ['GET pods, Gatehouse grant (alice on B - bob on A)', perRound('B.alice.get', 'A.bob.get')],
      ['GET pods, no opinion, RBAC grants (bob on B - bob on A)', perRound('B.bob.get', 'A.bob.get')],
      ['SelfSubjectAccessReview, Gatehouse grant (alice on B - bob on A)', perRound('B.alice.ssar', 'A.bob.ssar')],
    ];
    console.log('');
    console.log(`The webhook's addition: in each of the ${ROUNDS} rounds, B's p50 minus A's p50 over that round's ${PER_ROUND} requests; the median of those ${ROUNDS} differences, the 10th to 90th percentile of them, and min to max.`);
    console.log('');
    console.log('| request | median of per-round p50 differences, ms | p10 .. p90 over rounds, ms | min .. max, ms |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const [what, d] of diffs) console.log(`| ${what} | ${f(d.median)} | ${f(d.p10)} .. ${f(d.p90)} | ${f(d.min)} .. ${f(d.max)} |`);
    const eA = stats(effectA);
    const eB = stats(effectB);
    console.log('');
    console.log(`A new Gatehouse RoleBinding takes effect in ${f(eB.p50)} ms at p50, ${f(eB.p99)} ms at p99 of ${eB.n} trials (native RBAC, trials alternating with these: ${f(eA.p50)} / ${f(eA.p99)} ms)`);
    console.log(`Load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')} (${cpus().length} cores, Node ${process.version})`);
    const j = (d: Difference) => ({ median: Number(d.median.toFixed(3)), p10: Number(d.p10.toFixed(3)), p90: Number(d.p90.toFixed(3)), min: Number(d.min.toFixed(3)), max: Number(d.max.toFixed(3)) });
    console.log(
      JSON.stringify({
        bench: 'e2e',
        interleaved: true,
        rounds: ROUNDS,
        requestsPerRound: PER_ROUND,
        webhookAddsP50Ms: j(diffs[0]![1]),
        webhookAddsP50MsNoOpinion: j(diffs[1]![1]),
        webhookAddsP50MsSsar: j(diffs[2]![1]),
        bindingEffectP50Ms: Number(eB.p50.toFixed(1)),
        bindingEffectP99Ms: Number(eB.p99.toFixed(1)),
        nativeBindingEffectP50Ms: Number(eA.p50.toFixed(1)),
        nativeBindingEffectP99Ms: Number(eA.p99.toFixed(1)),
        trials: TRIALS,
        load: { before: load0, after: load1 },
      }),
    );
  } finally {
    await B?.stop();
    await A.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
