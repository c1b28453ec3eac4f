// npm run bench:e2e: Gatehouse through a real kube-apiserver (test/support: etcd + kube-apiserver
// 1.20, static-token users), against native RBAC alone.
//
// Two control planes, one after the other:
//   A. native RBAC only (no authorization webhook); bob may list pods in team-a through a
//      Kubernetes RoleBinding.
//   B. the whole of Gatehouse (test/support/stack.ts: authorization webhook before RBAC with the
//      API server's webhook caches off, the operator in-process, admission webhooks registered);
//      alice may list pods in team-a through a Gatehouse RoleBinding, bob still through native RBAC
//      (Gatehouse has no User for him, so it has no opinion and RBAC answers).
// Each user's own token is used, so every request is authorized once as that user (no
// impersonation check in between). Measured per request, sequentially over one keep-alive TLS
// connection: GET pods, and a SelfSubjectAccessReview (authorized twice: the create, then the
// review itself). Then the time from applying a RoleBinding (the POST is sent) to the first
// allowed request by its subject, polling back to back, over N trials; the binding is deleted and
// the denial awaited between trials. Prints a table, then one JSON line.
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { loadavg, cpus } from 'node:os';
import { ControlPlane, type StaticUser } from '../src/controlplane/controlplane.js';
import { startStack } from '../test/support/stack.js';
import { stats, type Stats } from './stats.js';

const REQUESTS = Number(process.argv[2] ?? 1000);
const TRIALS = Number(process.argv[3] ?? 100);
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


async function timed(n: number, f: () => Promise<void>): Promise<Stats> {
  for (let i = 0; i < WARMUP; i++) await f();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await f();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return stats(ms);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Latency of GET pods and of a SelfSubjectAccessReview, each expected to be allowed. */
async function latencies(a: Api, user: string): Promise<{ get: Stats; ssar: Stats }> {
  const get = await timed(REQUESTS, async () => {
    const r = await listPods(a, user);
    if (r.status !== 200) throw new Error(`GET pods as ${user}: HTTP ${r.status}`);
  });
  const ssar = await timed(REQUESTS, async () => {
    if (!(await ssarAllowed(a, user))) throw new Error(`SelfSubjectAccessReview as ${user} not allowed`);
  });
  return { get, ssar };
}

/**
 * From sending the POST of a binding for carol to carol's first allowed GET, polling back to back.
 * `create`/`remove` talk to the API as the admin.
 */
async function timeToEffect(a: Api, adminToken: string, createPath: string, body: (name: string) => unknown, deletePath: (name: string) => string): Promise<Stats> {
  const ms: number[] = [];
  await waitFor('carol to start denied', async () => (await listPods(a, 'carol')).status === 403);
  for (let i = 0; i < TRIALS; i++) {
    const name = `carol-trial-${i}`;
    const t0 = process.hrtime.bigint();
    const created = await a.call('POST', createPath, adminToken, body(name));
    if (created.status !== 201) throw new Error(`create ${name}: HTTP ${created.status} ${created.body.slice(0, 300)}`);
    for (;;) {
      const r = await listPods(a, 'carol');
      if (r.status === 200) break;
      if (r.status !== 403) throw new Error(`GET pods as carol: HTTP ${r.status}`);
      if (Number(process.hrtime.bigint() - t0) > 30e9) throw new Error(`${name} did not take effect within 30 s`);
    }
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const del = await a.call('DELETE', deletePath(name), adminToken);
    if (del.status !== 200) throw new Error(`delete ${name}: HTTP ${del.status}`);
    await waitFor(`${name} to stop applying`, async () => (await listPods(a, 'carol')).status === 403);
  }
  return stats(ms);
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

async function nativeOnly(): Promise<{ bob: { get: Stats; ssar: Stats }; effect: Stats }> {
  const cp = await ControlPlane.start({ users: USERS });
  try {
    const a = api(cp.url, await readFile(cp.caFile));
    await cp.kubectlOk(['create', 'namespace', NS]);
    await cp.kubectlOk(['apply', '-f', '-'], { input: docs(k8sRole, k8sBinding('bob-reads-pods', 'bob')) });
    await waitFor('bob to be allowed', async () => (await listPods(a, 'bob')).status === 200);
    process.stderr.write('native RBAC: latencies\n');
    const bob = await latencies(a, 'bob');
    process.stderr.write('native RBAC: time to effect\n');
    const effect = await timeToEffect(a, cp.adminToken, `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, (n) => k8sBinding(n, 'carol'), (n) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings/${n}`);
    a.close();
    return { bob, effect };
  } finally {
    await cp.stop();
  }
}

async function withGatehouse(): Promise<{ alice: { get: Stats; ssar: Stats }; bob: { get: Stats; ssar: Stats }; effect: Stats }> {
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
    process.stderr.write('RBAC + Gatehouse: latencies\n');
    const alice = await latencies(a, 'alice');
    const bob = await latencies(a, 'bob');
    process.stderr.write('RBAC + Gatehouse: time to effect\n');
    const effect = await timeToEffect(a, cp.adminToken, '/apis/iam.gatehouse.dev/v1alpha1/rolebindings', (n) => ghBinding(n, 'carol'), (n) => `/apis/iam.gatehouse.dev/v1alpha1/rolebindings/${n}`);
    a.close();
    return { alice, bob, effect };
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const load0 = loadavg();
  process.stderr.write(`bench:e2e: ${REQUESTS} requests per kind (after ${WARMUP} warm-up), ${TRIALS} binding trials; load ${load0.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores\n`);
  const A = await nativeOnly();
  const B = await withGatehouse();
  const load1 = loadavg();
  const f = (n: number): string => n.toFixed(2);
  const rows: [string, string, Stats][] = [
    ['native RBAC only', 'bob (RBAC grant): GET pods', A.bob.get],
    ['native RBAC only', 'bob (RBAC grant): SelfSubjectAccessReview', A.bob.ssar],
    ['RBAC + Gatehouse webhook', 'alice (Gatehouse grant): GET pods', B.alice.get],
    ['RBAC + Gatehouse webhook', 'alice (Gatehouse grant): SelfSubjectAccessReview', B.alice.ssar],
    ['RBAC + Gatehouse webhook', 'bob (RBAC grant, webhook no opinion): GET pods', B.bob.get],
    ['RBAC + Gatehouse webhook', 'bob (RBAC grant, webhook no opinion): SelfSubjectAccessReview', B.bob.ssar],
    ['native RBAC only', 'Kubernetes RoleBinding POST -> first allowed GET', A.effect],
    ['RBAC + Gatehouse webhook', 'Gatehouse RoleBinding POST -> first allowed GET', B.effect],
  ];
  console.log('| control plane | request | n | p50 ms | p99 ms | mean ms |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const [cp, what, s] of rows) console.log(`| ${cp} | ${what} | ${s.n} | ${f(s.p50)} | ${f(s.p99)} | ${f(s.mean)} |`);
  const addGet = B.alice.get.p50 - A.bob.get.p50;
  const addSsar = B.alice.ssar.p50 - A.bob.ssar.p50;
  const addNoOpinion = B.bob.get.p50 - A.bob.get.p50;
  console.log('');
  console.log(`Webhook's addition at p50: GET pods ${f(addGet)} ms (Gatehouse grant), ${f(addNoOpinion)} ms (no opinion, RBAC grants); SelfSubjectAccessReview ${f(addSsar)} ms`);
  console.log(`A new Gatehouse RoleBinding takes effect in ${f(B.effect.p50)} ms at p50, ${f(B.effect.p99)} ms at p99 (native RBAC: ${f(A.effect.p50)} / ${f(A.effect.p99)} ms)`);
  console.log(`Load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')} (${cpus().length} cores, Node ${process.version})`);
  console.log(
    JSON.stringify({
      bench: 'e2e',
      webhookAddsP50Ms: Number(addGet.toFixed(3)),
      webhookAddsP50MsSsar: Number(addSsar.toFixed(3)),
      webhookAddsP50MsNoOpinion: Number(addNoOpinion.toFixed(3)),
      bindingEffectP50Ms: Number(B.effect.p50.toFixed(1)),
      bindingEffectP99Ms: Number(B.effect.p99.toFixed(1)),
      nativeBindingEffectP50Ms: Number(A.effect.p50.toFixed(1)),
      nativeBindingEffectP99Ms: Number(A.effect.p99.toFixed(1)),
      requests: REQUESTS,
      trials: TRIALS,
      load: { before: load0, after: load1 },
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
