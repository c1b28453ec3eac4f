// npm run bench:timings [-- --trials 20]: how fast the things the integration tests only check
// happen, through a real kube-apiserver (test/support/stack.ts: etcd + kube-apiserver 1.20, the
// operator in-process with credentials and the console on). The tests assert what happens with
// generous bounds; the speeds are here, as p50 / p99 over TRIALS trials each:
//   revocation   the POST of a revoke request Secret (what `user revoke` writes) -> the first
//                request through the credential proxy refused with 401, polling back to back;
//   expiry       a binding's expiresAt -> decide() (the operator's own index) stops allowing, and
//                -> the binding's status says Expired (lateness after expiresAt);
//   live page    a User created through the API server -> the console's server-sent `change`
//                event for it (GET /api/events, operator mode, the admin's bearer token);
//   failover     two replicas: the leader stopped -> the other leads; the leader cut off by a
//                frozen TCP proxy -> the other leads (lease 4 s, renew deadline 3 s, retry 1 s).
// Prints one table (which percentile of which trials, per row), then one JSON line.
import https from 'node:https';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { loadavg, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { startStack, type Stack } from '../test/support/stack.js';
import { newIndex, startControllerBed, startOperator, testConfig, verdict } from '../test/support/operator.js';
import { issueToken } from '../src/credentials/token.js';
import { stats, type Stats } from './stats.js';

const { values } = parseArgs({ options: { trials: { type: 'string', default: '20' }, only: { type: 'string', default: 'revocation,expiry,live,failover' } } });
const TRIALS = Number(values.trials);
const ONLY = new Set(String(values.only).split(','));
const NS = 'team-a';
const G = 'iam.gatehouse.dev';

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 0): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await pause(everyMs);
  }
}

function request(base: string, ca: string, token: string, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${base}${path}`, { method, ca, headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', (err: Error) => reject(new Error(`${method} ${base}${path}: ${err.message}`, { cause: err })));
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.end();
  });
}

/** A request Secret the way the CLI writes one (action and its fields, labelled), in one POST as the admin. */
async function credentialRequest(stack: Stack, name: string, fields: Record<string, string>): Promise<void> {
  const ca = await readFile(stack.cp.caFile);
  const body = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'gatehouse-system', labels: { [`${G}/credentials`]: 'request' } },
    stringData: fields,
  });
  await new Promise<void>((resolve, reject) => {
    const req = https.request(`${stack.cp.url}/api/v1/namespaces/gatehouse-system/secrets`, { method: 'POST', ca, headers: { Authorization: `Bearer ${stack.cp.adminToken}`, 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`create secret ${name}: HTTP ${res.statusCode} ${text.slice(0, 200)}`))));
    });
    req.on('error', (err: Error) => reject(new Error(`create secret ${name}: ${err.message}`, { cause: err })));
    req.end(body);
  });
}

const yaml = (docs: unknown[]): string => docs.map((d) => JSON.stringify(d)).join('\n');

/** The trials' times, and how many in-flight requests the proxy ended (seen as a reset) before the first 401. */
async function revocation(stack: Stack): Promise<{ stats: Stats; cutInFlight: number }> {
  const proxyUrl = `https://127.0.0.1:${stack.operator.proxyPort}`;
  const ca = await readFile(stack.caFile, 'utf8');
  const ms: number[] = [];
  let cutInFlight = 0;
  for (let i = 0; i < TRIALS; i++) {
    const user = `rev-${i}`;
    await stack.kubectlOk(['apply', '-f', '-'], { input: yaml([{ apiVersion: `${G}/v1alpha1`, kind: 'User', metadata: { name: user }, spec: { state: 'Active' } }]) });
    await stack.kubectlOk(['patch', 'ghteam', 'team-a', '--type=json', '-p', JSON.stringify([{ op: 'add', path: '/spec/members/-', value: user }])]);
    await stack.settle();
    const inv = issueToken('inv');
    await credentialRequest(stack, `bench-invite-${i}`, { action: 'invite', user, id: inv.id, hash: inv.hash });
    const token = await until(`${user}'s invitation redeemed`, async () => {
      const r = await request(proxyUrl, ca, inv.token, '/gatehouse/v1/activate', 'POST');
      return r.status === 200 ? (JSON.parse(r.body) as { token: string }).token : undefined;
    }, 60_000, 50);
    await until(`${user} allowed through the proxy`, async () => ((await request(proxyUrl, ca, token, `/api/v1/namespaces/${NS}/pods?limit=1`)).status === 200 ? true : undefined), 60_000, 20);
    const t0 = now();
    await credentialRequest(stack, `bench-revoke-${i}`, { action: 'revoke', user });
    await until(`${user}'s token refused`, async () => {
      // The poll is back to back, so a request is usually in flight when the revocation lands;
      // the proxy ends the revoked token's open requests (that is the point), which the client
      // sees as a reset. Count it and ask again: the row is the first 401.
      const r = await request(proxyUrl, ca, token, `/api/v1/namespaces/${NS}/pods?limit=1`).catch((err: Error) => {
        if ((err.cause as NodeJS.ErrnoException | undefined)?.code !== 'ECONNRESET') throw err;
        cutInFlight++;
        return undefined;
      });
      if (r === undefined) return undefined;
      if (r.status === 401) return true;
      if (r.status !== 200) throw new Error(`${user}: the proxy answered ${r.status}: ${r.body}`);
      return undefined;
    });
    ms.push(now() - t0);
  }
  return { stats: stats(ms), cutInFlight };
}

async function expiry(stack: Stack): Promise<{ decide: Stats; status: Stats }> {
  const decideMs: number[] = [];
  const statusMs: number[] = [];
  const index = stack.operator.index;
  for (let i = 0; i < TRIALS; i++) {
    const name = `exp-${i}`;
    const user = `exp-user-${i}`;
    await stack.kubectlOk(['apply', '-f', '-'], {
      input: yaml([
        { apiVersion: `${G}/v1alpha1`, kind: 'User', metadata: { name: user }, spec: { state: 'Active' } },
        { apiVersion: `${G}/v1alpha1`, kind: 'RoleBinding', metadata: { name }, spec: { role: 'pod-reader', subjects: [{ kind: 'User', name: user }], scope: { namespaces: [NS] } } },
      ]),
    });
    await stack.settle();
    if (verdict(index, user, 'list', 'pods', NS) !== 'allow') throw new Error(`${user} is not allowed before the expiry is set`);
    // Two seconds ahead, whole seconds (RFC 3339 without fractions, as people write it).
    const expiresAt = new Date(Math.ceil((Date.now() + 2000) / 1000) * 1000);
    const at = expiresAt.getTime();
    await stack.kubectlOk(['patch', 'ghrb', name, '--type=merge', '-p', JSON.stringify({ spec: { expiresAt: expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z') } })]);
    await stack.settle();
    await until('decide() to stop allowing', () => (verdict(index, user, 'list', 'pods', NS) !== 'allow' ? true : undefined), 60_000, 1);
    decideMs.push(Date.now() - at);
    await until('status Expired', async () => {
      const out = await stack.kubectl(['get', 'ghrb', name, '-o', 'jsonpath={.status.expired}']);
      return out.stdout.trim() === 'true' ? true : undefined;
    }, 60_000, 20);
    statusMs.push(Date.now() - at);
  }
  return { decide: stats(decideMs), status: stats(statusMs) };
}

/** Opens GET /api/events; resolves each `change` event's name to the time it arrived. */
function liveEvents(port: number, token: string): { arrivals: Map<string, number>; ready: Promise<void>; close(): void } {
  const arrivals = new Map<string, number>();
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  let buf = '';
  const req = http.get({ host: '127.0.0.1', port, path: '/api/events', headers: { Authorization: `Bearer ${token}`, Host: `127.0.0.1:${port}`, Accept: 'text/event-stream' } }, (res) => {
    if (res.statusCode !== 200) throw new Error(`GET /api/events: HTTP ${res.statusCode}`);
    readyResolve();
    res.on('data', (c: Buffer) => {
      const t = now();
      buf += c.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (/^event: change$/m.test(block) && data) {
          const ev = JSON.parse(data) as { kind: string; name: string };
          const key = `${ev.kind}/${ev.name}`;
          if (!arrivals.has(key)) arrivals.set(key, t);
        }
      }
    });
  });
  req.on('error', () => undefined);
  return { arrivals, ready, close: () => req.destroy() };
}

async function live(stack: Stack): Promise<Stats> {
  const port = stack.operator.consolePort;
  if (port === undefined) throw new Error('the console is not enabled');
  const stream = liveEvents(port, stack.cp.adminToken);
  await stream.ready;
  // The stream's watches start after the response headers: one User to see them working first.
  await stack.kubectlOk(['apply', '-f', '-'], { input: yaml([{ apiVersion: `${G}/v1alpha1`, kind: 'User', metadata: { name: 'live-probe' }, spec: { state: 'Pending' } }]) });
  await until('the first change event', () => (stream.arrivals.has('User/live-probe') ? true : undefined), 60_000, 20);
  const ca = await readFile(stack.cp.caFile);
  const ms: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    const name = `live-${i}`;
    const body = JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'User', metadata: { name }, spec: { state: 'Pending' } });
    const t0 = now();
    await new Promise<void>((resolve, reject) => {
      const req = https.request(`${stack.cp.url}/apis/${G}/v1alpha1/users`, { method: 'POST', ca, headers: { Authorization: `Bearer ${stack.cp.adminToken}`, 'Content-Type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`create ${name}: HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
    const arrived = await until(`the change event for ${name}`, () => stream.arrivals.get(`User/${name}`), 60_000, 1);
    ms.push(arrived - t0);
  }
  stream.close();
  return stats(ms);
}

async function failover(): Promise<{ stopped: Stats; frozen: Stats }> {
  const bed = await startControllerBed({ proxy: true });
  const stopped: number[] = [];
  const frozen: number[] = [];
  try {
    const proxy = bed.proxy!;
    for (let i = 0; i < TRIALS; i++) {
      // The replica that will lose the lease talks through the proxy; the other directly.
      const a = await startOperator({ cp: bed.cp, index: newIndex(testConfig()), serverUrl: proxy.url, config: testConfig({}, { identity: `a-${i}` }), name: `a-${i}` });
      await until('a leads', () => (a.isLeader() ? true : undefined), 60_000, 10);
      const b = await startOperator({ cp: bed.cp, index: newIndex(testConfig()), config: testConfig({}, { identity: `b-${i}` }), name: `b-${i}` });
      try {
        await b.synced;
        const freeze = i % 2 === 1;
        const t0 = now();
        if (freeze) proxy.freeze();
        else await a.stop();
        await until('b leads', () => (b.isLeader() ? true : undefined), 60_000, 5);
        (freeze ? frozen : stopped).push(now() - t0);
      } finally {
        proxy.forward();
        await a.stop();
        await b.stop();
      }
    }
  } finally {
    await bed.stop();
  }
  return { stopped: stats(stopped), frozen: stats(frozen) };
}

async function main(): Promise<void> {
  const load0 = loadavg();
  process.stderr.write(`bench:timings: ${TRIALS} trials each (${[...ONLY].join(', ')}); load ${load0.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores\n`);
  // Each row is also written to stderr as soon as it is measured, so a later failure (a control
  // plane that does not start on a loaded machine) does not lose the rows before it.
  let cutInFlight = 0;
  const rows = new (class extends Array<[string, Stats]> {
    override push(...items: Array<[string, Stats]>): number {
      for (const [what, s] of items) process.stderr.write(`row: ${what}: n ${s.n}, p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms\n`);
      return super.push(...items);
    }
  })();
  if (ONLY.has('revocation') || ONLY.has('expiry') || ONLY.has('live')) {
    const stack = await startStack({
      config: {
        credentials: { enabled: true, rateLimits: { perSourcePerMinute: 100_000, perUserPerMinute: 100_000 } },
        console: { enabled: true, host: '127.0.0.1', port: 0 },
      },
    });
    try {
      await stack.kubectlOk(['apply', '-f', '-'], {
        input: yaml([
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
          { apiVersion: `${G}/v1alpha1`, kind: 'Team', metadata: { name: 'team-a' }, spec: { members: [], namespaces: [NS] } },
          { apiVersion: `${G}/v1alpha1`, kind: 'Role', metadata: { name: 'pod-reader' }, spec: { permissions: ['pods:read'] } },
          { apiVersion: `${G}/v1alpha1`, kind: 'RoleBinding', metadata: { name: 'team-a-pods' }, spec: { role: 'pod-reader', subjects: [{ kind: 'Team', name: 'team-a' }], scope: { teams: ['team-a'] } } },
        ]),
      });
      await stack.settle();
      if (ONLY.has('revocation')) {
        process.stderr.write('revocation\n');
        const r = await revocation(stack);
        cutInFlight = r.cutInFlight;
        rows.push(['revocation (request Secret POSTed) -> first 401 through the proxy', r.stats]);
      }
      if (ONLY.has('expiry')) {
        process.stderr.write('expiry\n');
        const e = await expiry(stack);
        rows.push(['expiresAt -> decide() stops allowing (lateness)', e.decide]);
        rows.push(['expiresAt -> status Expired (lateness)', e.status]);
      }
      if (ONLY.has('live')) {
        process.stderr.write('live page\n');
        rows.push(['User created -> console `change` event (SSE)', await live(stack)]);
      }
    } finally {
      await stack.stop();
    }
  }
  if (ONLY.has('failover')) {
    process.stderr.write('failover\n');
    const f = await failover();
    rows.push(['leader stopped -> the other replica leads', f.stopped]);
    rows.push(['leader cut off (frozen proxy) -> the other replica leads', f.frozen]);
  }
  const load1 = loadavg();
  const f = (n: number): string => n.toFixed(1);
  console.log(`p50 and p99 of all trials of each row (n per row; failover alternates stop and freeze, so half the trials each).`);
  console.log('');
  console.log('| what | n | p50 ms | p99 ms | mean ms |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [what, s] of rows) console.log(`| ${what} | ${s.n} | ${f(s.p50)} | ${f(s.p99)} | ${f(s.mean)} |`);
  if (ONLY.has('revocation')) console.log(`Revocation: ${cutInFlight} in-flight requests were ended by the proxy (a reset at the client) before the first 401, over ${TRIALS} trials.`);
  console.log(`Load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')} (${cpus().length} cores, Node ${process.version})`);
  console.log(JSON.stringify({ bench: 'timings', trials: TRIALS, rows: Object.fromEntries(rows.map(([w, s]) => [w, { n: s.n, p50: Number(s.p50.toFixed(1)), p99: Number(s.p99.toFixed(1)) }])), revocationCutInFlight: cutInFlight, load: { before: load0, after: load1 } }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
