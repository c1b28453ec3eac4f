// npm run bench:proxy: the credential proxy against direct access to a real kube-apiserver
// (test/support/stack.ts: etcd + kube-apiserver 1.20 with Gatehouse's authorization webhook before
// RBAC, caches off, and the operator in-process with credentials on).
//
// alice is the same Active Gatehouse user on both paths: directly with a static token the API
// server knows, and through the proxy with her Gatehouse token (redeemed from an invitation the
// normal way). Both are authorized by Gatehouse as alice; through the proxy the API server also
// authorizes the operator's impersonation of alice and of her team group, so the difference is
// the proxy's own hop plus those checks: what a user of the proxy pays.
// Latency: sequential GETs (a one-item pod list) over one keep-alive TLS connection.
// Throughput: a closed loop of CONCURRENCY connections for SECONDS each. Then WATCHES watches
// through the proxy with alice's token, `user revoke` the way the CLI asks it (a request Secret),
// and how long after the request was in each watch took to end (issue 19, finding 3). Prints a
// table, then one JSON line.
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { loadavg, cpus } from 'node:os';
import { startWithWorld, world } from '../test/support/world.js';
import { issueToken } from '../src/credentials/token.js';
import { stats, type Stats } from './stats.js';

const REQUESTS = Number(process.argv[2] ?? 2000);
const SECONDS = Number(process.argv[3] ?? 10);
const CONCURRENCY = Number(process.argv[4] ?? 16);
const WARMUP = 200;
const NS = 'team-a';
const ALICE_STATIC = 'alice-static-token-0123456789';
const PATH = `/api/v1/namespaces/${NS}/pods?limit=1`;
const WATCHES = 8;

/** A watch through the proxy; resolves with the time it ended. */
function openWatch(base: string, ca: string, token: string): Promise<{ ended: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${base}/api/v1/namespaces/${NS}/pods?watch=1`, { headers: { Authorization: `Bearer ${token}` }, ca, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`watch: HTTP ${res.statusCode}`));
      res.resume();
      resolve({ ended: new Promise((r) => res.once('close', () => r(performance.now()))) });
    });
    req.on('error', reject);
    req.end();
  });
}


function client(base: string, ca: string, token: string, sockets: number): { get(): Promise<number>; post(path: string): Promise<{ status: number; body: string }>; close(): void } {
  const agent = new https.Agent({ keepAlive: true, maxSockets: sockets, ca });
  const call = (method: string, path: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = https.request(`${base}${path}`, { method, agent, headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.end();
    });
  return {
    async get() {
      const r = await call('GET', PATH);
      if (r.status !== 200) throw new Error(`GET ${base}${PATH}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
      return r.status;
    },
    post: (path) => call('POST', path),
    close: () => agent.destroy(),
  };
}

async function latency(get: () => Promise<number>): Promise<Stats> {
  for (let i = 0; i < WARMUP; i++) await get();
  const ms: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t = process.hrtime.bigint();
    await get();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return stats(ms);
}

async function throughput(get: () => Promise<number>): Promise<number> {
  const end = Date.now() + SECONDS * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < end) {
      await get();
      done++;
    }
  }));
  return done / SECONDS;
}

async function main(): Promise<void> {
  const load0 = loadavg();
  process.stderr.write(`bench:proxy: ${REQUESTS} sequential GETs per path (after ${WARMUP} warm-up), ${SECONDS} s closed loop at ${CONCURRENCY} connections; load ${load0.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores\n`);
  // alice, in team-a, which may read pods in its namespace.
  const WORLD = world()
    .namespace(NS)
    .user('alice', { state: 'Active' })
    .team('team-a', { members: ['alice'], namespaces: [NS] })
    .role('pod-reader', ['pods:read'])
    .binding('team-a-pods', 'pod-reader', 'Team:team-a', 'team:team-a');
  const stack = await startWithWorld(WORLD, {
    controlPlane: { users: [{ token: ALICE_STATIC, user: 'alice', groups: [] }] },
    config: { credentials: { enabled: true, rateLimits: { perSourcePerMinute: 100_000, perUserPerMinute: 100_000 } } },
  });
  try {
    // An invitation the way the CLI makes one (a request Secret with the hash), then redemption.
    const inv = issueToken('inv');
    await stack.kubectlOk(['create', 'secret', 'generic', 'bench-invite', '-n', 'gatehouse-system', '--from-literal=action=invite',
      '--from-literal=user=alice', `--from-literal=id=${inv.id}`, `--from-literal=hash=${inv.hash}`]);
    await stack.kubectlOk(['label', 'secret', 'bench-invite', '-n', 'gatehouse-system', 'iam.gatehouse.dev/credentials=request']);
    const proxyUrl = `https://127.0.0.1:${stack.operator.proxyPort}`;
    const proxyCa = await readFile(stack.caFile, 'utf8');
    let token = '';
    for (let i = 0; i < 100 && !token; i++) {
      const r = await client(proxyUrl, proxyCa, inv.token, 1).post('/gatehouse/v1/activate');
      if (r.status === 200) token = (JSON.parse(r.body) as { token: string }).token;
      else await new Promise((res) => setTimeout(res, 100));
    }
    if (!token) throw new Error('the invitation was not redeemed');
    const apiCa = await readFile(stack.cp.caFile, 'utf8');

    const direct1 = client(stack.cp.url, apiCa, ALICE_STATIC, 1);
    const proxy1 = client(proxyUrl, proxyCa, token, 1);
    process.stderr.write('latency: direct, then proxy\n');
    const directLat = await latency(() => direct1.get());
    const proxyLat = await latency(() => proxy1.get());
    direct1.close();
    proxy1.close();
    const directN = client(stack.cp.url, apiCa, ALICE_STATIC, CONCURRENCY);
    const proxyN = client(proxyUrl, proxyCa, token, CONCURRENCY);
    process.stderr.write('throughput: direct, then proxy\n');
    const directRps = await throughput(() => directN.get());
    const proxyRps = await throughput(() => proxyN.get());
    directN.close();
    proxyN.close();

    process.stderr.write(`revocation: ${WATCHES} open watches, then user revoke\n`);
    const watches = await Promise.all(Array.from({ length: WATCHES }, () => openWatch(proxyUrl, proxyCa, token)));
    await stack.kubectlOk(['create', 'secret', 'generic', 'bench-revoke', '-n', 'gatehouse-system', '--from-literal=action=revoke', '--from-literal=user=alice']);
    await stack.kubectlOk(['label', 'secret', 'bench-revoke', '-n', 'gatehouse-system', 'iam.gatehouse.dev/credentials=request']);
    const revokedAt = performance.now();
    const endedMs = (await Promise.all(watches.map((w) => w.ended))).map((t) => Math.max(0, t - revokedAt));
    const ended = stats(endedMs);

    const load1 = loadavg();
    const f = (n: number): string => n.toFixed(2);
    console.log('| path | n | p50 ms | p99 ms | mean ms | requests/s (closed loop) |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    console.log(`| direct (static token) | ${directLat.n} | ${f(directLat.p50)} | ${f(directLat.p99)} | ${f(directLat.mean)} | ${directRps.toFixed(0)} |`);
    console.log(`| through the proxy (Gatehouse token) | ${proxyLat.n} | ${f(proxyLat.p50)} | ${f(proxyLat.p99)} | ${f(proxyLat.mean)} | ${proxyRps.toFixed(0)} |`);
    console.log('');
    console.log(`The proxy adds ${f(proxyLat.p50 - directLat.p50)} ms at p50 and ${f(proxyLat.p99 - directLat.p99)} ms at p99; throughput ${((proxyRps / directRps) * 100).toFixed(0)}% of direct`);
    console.log(`${WATCHES} watches through the proxy ended ${f(ended.p50)} ms (p50), ${f(Math.max(...endedMs))} ms (last) after the revoke request was in (the operator fulfils it, the credential cache sees it, the proxy ends what is open)`);
    console.log(`Load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')} (${cpus().length} cores, Node ${process.version})`);
    console.log(JSON.stringify({
      bench: 'proxy',
      direct: { ...directLat, rps: directRps },
      proxy: { ...proxyLat, rps: proxyRps },
      addedP50Ms: Number((proxyLat.p50 - directLat.p50).toFixed(3)),
      addedP99Ms: Number((proxyLat.p99 - directLat.p99).toFixed(3)),
      watchesEndedAfterRevokeMs: { p50: Number(ended.p50.toFixed(1)), last: Number(Math.max(...endedMs).toFixed(1)), n: WATCHES },
      requests: REQUESTS,
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      load: { before: load0, after: load1 },
    }));
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
