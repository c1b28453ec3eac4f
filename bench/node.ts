// npm run bench:node: the operator pod's memory on the single-node cluster (src/controlplane/
// node.ts; root on Linux), at the samples and at bench/world.ts's 10,000-user world (the size
// `npm run bench:rbac` uses: 10,000 users, 1,000 teams, 200 roles, 10,000 bindings, 2,000
// namespaces, seed 42), next to the same operator run as a host process against the same API
// server. The pod's figure is its cgroup's memory.usage_in_bytes (what the kubelet and the
// chart's memory limit see: RSS plus the page cache it touched) and the process's RSS; the host
// process's is its RSS. Mode webhook (the chart's default), every object written through the
// API server and so through the admission webhooks. Prints a table, then one JSON line.
import { spawn } from 'node:child_process';
import https from 'node:https';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, makeServingCert } from '../src/controlplane/controlplane.js';
import { buildImage, GatehouseRelease } from '../src/controlplane/deploy.js';
import { NodeCluster, nodeUnavailableReason } from '../src/controlplane/node.js';
import { generateWorld } from './world.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const USERS = Number(process.argv[2] ?? 10_000);
const SIZE = { users: USERS, teams: USERS / 10, roles: Math.max(5, USERS / 50), bindings: USERS, namespaces: USERS / 5 };
const MiB = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MiB`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (m: string): void => void process.stderr.write(`bench:node: ${m}\n`);

async function mapLimit<T>(items: readonly T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** The operator as a host process (dist/src/main.js), against the node's API server, until its index syncs. */
async function hostProcessRss(node: NodeCluster, dir: string): Promise<number> {
  const tls = await makeServingCert(path.join(dir, 'host-pki'), 'host-operator');
  const port = await freePort();
  const cfg = path.join(dir, 'host-config.yaml');
  await writeFile(cfg, JSON.stringify({
    logLevel: 'warn',
    authorization: { mode: 'webhook' },
    server: { host: '127.0.0.1', port, certFile: tls.cert, keyFile: tls.key },
    operator: { namespace: 'gatehouse-system', identity: 'bench-host', kubeconfig: node.kubeconfigPath,
      leaderElection: { enabled: true, leaseName: 'bench-host-process' } },
  }));
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'src', 'main.js'), '--config', cfg], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const ca = await readFile(tls.caCert);
    for (let i = 0; ; i++) {
      const status = await new Promise<number>((resolve) => {
        https.get({ host: '127.0.0.1', port, path: '/readyz', ca, agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); })
          .on('error', () => resolve(0));
      });
      if (status === 200) break;
      if (i > 1200 || child.exitCode !== null) throw new Error('the host-process operator did not become ready');
      await sleep(500);
    }
    await sleep(15_000); // settle, as the pods had
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN) * 1024;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function podFigures(rel: GatehouseRelease): Promise<Array<{ pod: string; cgroupBytes: number; rssBytes: number }>> {
  const out = [];
  for (const p of await rel.readyPods()) out.push({ pod: p.metadata.name, ...(await rel.memory(p)) });
  return out;
}

async function main(): Promise<void> {
  const why = nodeUnavailableReason();
  if (why) throw new Error(why);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-node-'));
  const image = await buildImage(ROOT);
  log(`image in ${image.seconds.toFixed(0)} s`);
  const node = await NodeCluster.start({ images: [image.archive] });
  const rows: Array<{ point: string; pods: Array<{ pod: string; cgroupBytes: number; rssBytes: number }>; hostRss: number }> = [];
  try {
    const rel = new GatehouseRelease(node, path.join(ROOT, 'helm', 'gatehouse'), image);
    log(`helm install --wait in ${(await rel.install('webhook')).toFixed(0)} s`);
    for (let i = 0; (await node.cp.kubectl(['apply', '-f', path.join(ROOT, 'samples')])).code !== 0; i++) {
      if (i > 60) throw new Error('samples not admitted');
      await sleep(1000);
    }
    await sleep(15_000);
    rows.push({ point: 'samples', pods: await podFigures(rel), hostRss: await hostProcessRss(node, dir) });
    log(`samples: ${JSON.stringify(rows[0])}`);

    const world = generateWorld(SIZE, 42);
    const ca = await readFile(node.cp.caFile);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 16 });
    const post = (p: string, body: unknown): Promise<void> => new Promise((resolve, reject) => {
      const req = https.request(new URL(p, node.cp.url), { method: 'POST', agent, ca, headers: { Authorization: `Bearer ${node.cp.adminToken}`, 'Content-Type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => (res.statusCode === 201 || res.statusCode === 409 ? resolve() : reject(new Error(`${p}: ${res.statusCode} ${text.slice(0, 300)}`))));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
    const t0 = Date.now();
    const GH = '/apis/iam.gatehouse.dev/v1alpha1';
    await mapLimit(world.namespaces, 16, (o) => post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', ...o }));
    for (const [plural, kind, items] of [['roles', 'Role', world.roles], ['users', 'User', world.users], ['teams', 'Team', world.teams], ['rolebindings', 'RoleBinding', world.bindings]] as const) {
      await mapLimit(items as readonly object[], 16, (o) => post(`${GH}/${plural}`, { apiVersion: 'iam.gatehouse.dev/v1alpha1', kind, ...o }));
    }
    agent.destroy();
    log(`world of ${USERS} users written in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    await sleep(30_000);
    rows.push({ point: `${USERS.toLocaleString('en')}-user world`, pods: await podFigures(rel), hostRss: await hostProcessRss(node, dir) });
  } finally {
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  }
  console.log('\n| world | pod cgroup memory.usage_in_bytes | pod process RSS | host process RSS |\n| --- | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(`| ${r.point} | ${r.pods.map((p) => MiB(p.cgroupBytes)).join(', ')} | ${r.pods.map((p) => MiB(p.rssBytes)).join(', ')} | ${MiB(r.hostRss)} |`);
  }
  console.log(JSON.stringify({ size: SIZE, rows, load: os.loadavg() }));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:node: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
