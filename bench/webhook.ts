// `npm run bench:webhook`: the authorization webhook under load. One operator-like server process
// (bench/webhook-server.ts), and this process as the load generator over keep-alive TLS, sending
// realistic ~1 KB SubjectAccessReviews the way kube-apiserver does (one request in flight per
// connection). Two measurements:
//   closed loop: C connections each send the next review as soon as the answer arrives -> reviews/s
//   open loop:   a fixed 1,000 reviews/s schedule; latency counts from the scheduled send time (or the
//                actual send, if that was earlier), so a slow answer delays the ones queued behind it
//                in the figures too (no coordinated omission)
// Runs all of it four times in one run, before (usage-off) and with last use recorded (usage-on,
// issue 24) in the order off, on, on, off (BENCH_USAGE=off|on runs one), prints a table each and
// the comparison of the two modes' means, then one JSON line. The ABBA order is there because a
// machine's speed drifts over a run (four one-mode runs in a row, on, off, on, off, gave 7,280,
// 10,384, 11,191 and 12,606 reviews/s here):
// one run of each, one after the other, measured the drift rather than the change.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { makeServingCert } from '../src/controlplane/controlplane.js';
import { sarBodies } from './webhook-fixture.js';
import { UsageRecorder } from '../src/review/usage.js';
import type { Decision } from '../src/authz/types.js';

/** What record() costs by itself, in this process: ns per call over 2,000,000 calls on 500 names. */
function recordCostNs(): number {
  const r = new UsageRecorder();
  const decisions: Decision[] = Array.from({ length: 500 }, (_, i) => ({ verdict: 'allow', code: 'binding', reason: '', grant: { role: 'r', source: 'binding', binding: `binding-${i}`, scope: { kind: 'cluster' } } }));
  const users = Array.from({ length: 500 }, (_, i) => `user-${i}`);
  const t = Date.now();
  for (let i = 0; i < 500_000; i++) r.record(decisions[i % 500]!, users[i % 500]!, t + i); // warm-up
  const start = performance.now();
  for (let i = 0; i < 2_000_000; i++) r.record(decisions[i % 500]!, users[i % 500]!, t + i);
  return ((performance.now() - start) * 1e6) / 2_000_000;
}

const DURATION_MS = Number(process.env['BENCH_DURATION_MS'] ?? 5000);
const CONCURRENCY = [32, 64];
const OPEN_RATE = 1000;
const OPEN_CONNECTIONS = 16;
const LOOKAHEAD_MS = 1;
/** `real`: the core's decide() over a platform-sized index; `fake`: a map lookup (isolates the HTTP layer). */
const DECIDE = process.argv[2] === 'fake' ? 'fake' : 'real';

interface Conn {
  socket: tls.TLSSocket;
  buf: Buffer;
  pending: ((ok: boolean) => void) | undefined;
}

function requestBytes(body: string): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([Buffer.from(
    'POST /authorize?timeout=30s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: kube-apiserver/v1.20.2 (linux/amd64) kubernetes/faecb19\r\n'
    + `Accept: application/json, */*\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n`), b]);
}

/** Reads one HTTP/1.1 response (Content-Length framed) off the connection's buffer. */
function takeResponse(conn: Conn): boolean | undefined {
  const end = conn.buf.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const head = conn.buf.subarray(0, end).toString('latin1');
  const m = /content-length:\s*(\d+)/i.exec(head);
  const len = m ? Number(m[1]) : 0;
  if (conn.buf.length < end + 4 + len) return undefined;
  const ok = head.startsWith('HTTP/1.1 200');
  conn.buf = conn.buf.subarray(end + 4 + len);
  return ok;
}

async function connect(port: number, ca: string): Promise<Conn> {
  const { readFile } = await import('node:fs/promises');
  const caPem = await readFile(ca);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: caPem, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => resolve(conn));
    socket.setNoDelay(true);
    const conn: Conn = { socket, buf: Buffer.alloc(0), pending: undefined };
    socket.on('data', (d: Buffer) => {
      conn.buf = conn.buf.length === 0 ? d : Buffer.concat([conn.buf, d]);
      const r = takeResponse(conn);
      if (r !== undefined && conn.pending) {
        const p = conn.pending;
        conn.pending = undefined;
        p(r);
      }
    });
    socket.on('error', reject);
  });
}

function send(conn: Conn, bytes: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    conn.pending = resolve;
    conn.socket.write(bytes);
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function closedLoop(conns: Conn[], requests: Buffer[], durationMs: number): Promise<{ rps: number; errors: number; p50: number; p99: number }> {
  let count = 0;
  let errors = 0;
  const lat: number[] = [];
  const deadline = performance.now() + durationMs;
  const start = performance.now();
  await Promise.all(conns.map(async (c, ci) => {
    let i = ci;
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const ok = await send(c, requests[i++ % requests.length]!);
      lat.push(performance.now() - t0);
      if (ok) count++;
      else errors++;
    }
  }));
  const elapsed = performance.now() - start;
  const sorted = Float64Array.from(lat).sort();
  return { rps: (count / elapsed) * 1000, errors, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

async function openLoop(conns: Conn[], requests: Buffer[], rate: number, durationMs: number): Promise<{ sent: number; errors: number; p50: number; p99: number; p999: number; max: number; serviceP50: number; serviceP99: number }> {
  const idle = [...conns];
  const queue: number[] = [];
  const lat: number[] = [];
  const service: number[] = [];
  let errors = 0;
  let scheduled = 0;
  let inFlight = 0;
  const total = Math.floor((rate * durationMs) / 1000);
  const start = performance.now();
  const interval = 1000 / rate;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => { done = r; });

  const pump = (): void => {
    while (idle.length > 0 && queue.length > 0) {
      const due = queue.shift()!;
      const c = idle.pop()!;
      inFlight++;
      const sentAt = performance.now();
      void send(c, requests[due % requests.length]!).then((ok) => {
        const t = performance.now();
        // Sent early (the look-ahead below): count from the send; sent late: from the schedule.
        lat.push(t - Math.min(start + due * interval, sentAt));
        service.push(t - sentAt);
        if (!ok) errors++;
        inFlight--;
        idle.push(c);
        pump();
        if (scheduled >= total && queue.length === 0 && inFlight === 0) done();
      });
    }
  };
  const tick = (): void => {
    const now = performance.now();
    // Timers fire on a 1 ms grid: release what falls due before the next tick now, so the
    // generator's own lateness does not show up as server latency.
    const dueCount = Math.min(total, Math.floor((now - start + LOOKAHEAD_MS) / interval) + 1);
    while (scheduled < dueCount) queue.push(scheduled++);
    pump();
    if (scheduled < total) setTimeout(tick, 0);
  };
  tick();
  await finished;
  const sorted = Float64Array.from(lat).sort();
  const svc = Float64Array.from(service).sort();
  return {
    sent: lat.length, errors, p50: percentile(sorted, 50), p99: percentile(sorted, 99), p999: percentile(sorted, 99.9), max: sorted[sorted.length - 1] ?? NaN,
    serviceP50: percentile(svc, 50), serviceP99: percentile(svc, 99),
  };
}

/** The server's CPU seconds and GC totals, read from its own /metrics. */
async function serverCpu(port: number, ca: string): Promise<{ cpu: number; gcCount: number; gcSeconds: number; lagMax: number }> {
  const { readFile } = await import('node:fs/promises');
  const https = await import('node:https');
  const caPem = await readFile(ca);
  const text = await new Promise<string>((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/metrics', ca: caPem, servername: 'localhost', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  const sum = (re: RegExp): number => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  return {
    cpu: sum(/^gatehouse_process_cpu_seconds_total (\S+)$/gm),
    gcCount: sum(/^gatehouse_nodejs_gc_duration_seconds_count\{[^}]*\} (\S+)$/gm),
    gcSeconds: sum(/^gatehouse_nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm),
    lagMax: sum(/^gatehouse_nodejs_eventloop_lag_max_seconds (\S+)$/gm),
  };
}

interface UsageFigures {
  flushMs: number;
  objects: number;
  statusWrites: number;
  maxPerObjectPerInterval: number;
  recorded: number;
  names: { bindings: number; users: number };
}

function startServer(cert: string, key: string, usage: UsageMode): Promise<{ child: ChildProcess; port: number; decide: string; usage: Promise<UsageFigures | undefined> }> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'webhook-server.js');
  const child = spawn(process.execPath, [...(process.env['BENCH_SERVER_NODE_OPTIONS'] ?? '').split(' ').filter(Boolean), script, cert, key, DECIDE, usage], { stdio: ['ignore', 'pipe', 'inherit'] });
  let resolveUsage: (u: UsageFigures | undefined) => void = () => undefined;
  const usageFigures = new Promise<UsageFigures | undefined>((r) => { resolveUsage = r; });
  child.on('exit', () => resolveUsage(undefined));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) !== -1) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        // Anything else the server prints (--trace-gc, say) goes to stderr.
        if (line.startsWith('{"port"')) {
          const info = JSON.parse(line) as { port: number; decide: string };
          resolve({ child, port: info.port, decide: info.decide, usage: usageFigures });
        } else if (line.startsWith('{"usage"')) {
          resolveUsage((JSON.parse(line) as { usage: UsageFigures }).usage);
        } else {
          process.stderr.write(`${line}\n`);
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`webhook server exited with ${code}`)));
  });
}

/**
 * usage-off: the webhook as before issue 24; usage-on: every allow recorded and the leader's sync
 * flushing to a counting API stand-in. One run measures both, one after the other, the same way.
 */
type UsageMode = 'usage-off' | 'usage-on';
const USAGE_MODES: UsageMode[] = process.env['BENCH_USAGE'] === 'off' ? ['usage-off'] : process.env['BENCH_USAGE'] === 'on' ? ['usage-on'] : ['usage-off', 'usage-on', 'usage-on', 'usage-off'];

interface Measured {
  mode: UsageMode;
  decide: string;
  avgBody: number;
  rows: Array<[string, string, string, string, string]>;
  closed: Array<{ c: number; rps: number; errors: number; p50: number; p99: number }>;
  open: Awaited<ReturnType<typeof openLoop>>;
  cpuPerReviewUs: number;
  cpuAfter: Awaited<ReturnType<typeof serverCpu>>;
  loopP99: number;
  loopMax: number;
  usage: UsageFigures | undefined;
}

async function measure(tlsFiles: { cert: string; key: string; caCert: string }, mode: UsageMode): Promise<Measured> {
  const server = await startServer(tlsFiles.cert, tlsFiles.key, mode);
  try {
    const bodies = sarBodies(500);
    const avgBody = Math.round(bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / bodies.length);
    const requests = bodies.map(requestBytes);
    const maxConns = Math.max(...CONCURRENCY);
    const conns = await Promise.all(Array.from({ length: maxConns }, () => connect(server.port, tlsFiles.caCert)));

    await closedLoop(conns.slice(0, 16), requests, 1500); // warm-up: JIT, TLS sessions, caches
    const rows: Array<[string, string, string, string, string]> = [];
    const closed: Array<{ c: number; rps: number; errors: number; p50: number; p99: number }> = [];
    for (const c of CONCURRENCY) {
      const r = await closedLoop(conns.slice(0, c), requests, DURATION_MS);
      closed.push({ c, ...r });
      rows.push([`closed loop, ${c} connections`, r.rps.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2), String(r.errors)]);
    }
    const cpuBefore = await serverCpu(server.port, tlsFiles.caCert);
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const open = await openLoop(conns.slice(0, OPEN_CONNECTIONS), requests, OPEN_RATE, DURATION_MS * 2);
    const openRps = (open.sent / ((DURATION_MS * 2) / 1000)).toFixed(0);
    rows.push([`open loop, ${OPEN_RATE}/s, ${OPEN_CONNECTIONS} conns (from schedule)`, openRps, open.p50.toFixed(2), open.p99.toFixed(2), String(open.errors)]);
    rows.push([`open loop, ${OPEN_RATE}/s, ${OPEN_CONNECTIONS} conns (from send)`, openRps, open.serviceP50.toFixed(2), open.serviceP99.toFixed(2), '']);
    loopDelay.disable();
    const cpuAfter = await serverCpu(server.port, tlsFiles.caCert);
    // CPU the server used per review in the open loop: the cost of one answer, whatever the load.
    const cpuPerReviewUs = ((cpuAfter.cpu - cpuBefore.cpu) / open.sent) * 1e6;
    for (const c of conns) c.socket.destroy();
    server.child.kill('SIGTERM');
    const usage = await server.usage;
    return { mode, decide: server.decide, avgBody, rows, closed, open, cpuPerReviewUs, cpuAfter, loopP99: loopDelay.percentile(99) / 1e6, loopMax: loopDelay.max / 1e6, usage };
  } finally {
    server.child.kill('SIGTERM');
  }
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-'));
  const tlsFiles = await makeServingCert(dir, 'webhook');
  try {
    const results: Measured[] = [];
    for (const mode of USAGE_MODES) results.push(await measure(tlsFiles, mode));
    for (const m of results) {
      console.log(`Gatehouse authorization webhook (${m.mode === 'usage-on' ? 'last use recorded, issue 24' : 'before: last use not recorded'}), ${os.cpus().length} CPUs, node ${process.version}, decide: ${m.decide}, SAR body ~${m.avgBody} bytes, keep-alive TLS`);
      printTable(['scenario', 'reviews/s', 'p50 ms', 'p99 ms', 'errors'], m.rows);
      console.log(`server CPU per review (open loop): ${m.cpuPerReviewUs.toFixed(0)} µs; server GC pauses: ${m.cpuAfter.gcCount} totalling ${(m.cpuAfter.gcSeconds * 1000).toFixed(0)} ms; `
        + `server event-loop delay max ${(m.cpuAfter.lagMax * 1000).toFixed(1)} ms; load generator event-loop delay p99 ${m.loopP99.toFixed(1)} ms, max ${m.loopMax.toFixed(1)} ms; `
        + `machine load average (1 min): ${os.loadavg()[0]!.toFixed(2)} on ${os.cpus().length} CPUs`);
      console.log('');
    }
    const bestOf = (m: Measured) => m.closed.reduce((a, b) => (b.rps > a.rps ? b : a));
    const offRuns = results.filter((r) => r.mode === 'usage-off');
    const onRuns = results.filter((r) => r.mode === 'usage-on');
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Each mode's runs averaged: with the ABBA order a steady drift cancels out.
    const summary = (runs: Measured[]) => runs.length === 0 ? undefined : {
      rps: mean(runs.map((m) => bestOf(m).rps)), p99: mean(runs.map((m) => m.open.p99)), cpu: mean(runs.map((m) => m.cpuPerReviewUs)),
    };
    const before = summary(offRuns);
    const after = summary(onRuns);
    let comparison: Record<string, unknown> | undefined;
    if (before && after) {
      const pct = (a: number, b: number) => ((b - a) / a) * 100;
      const rpsDelta = pct(before.rps, after.rps);
      const p99Delta = pct(before.p99, after.p99);
      const u = onRuns[onRuns.length - 1]!.usage;
      const recordNs = recordCostNs();
      const cpuDelta = pct(before.cpu, after.cpu);
      const signed = (d: number): string => `${d >= 0 ? '+' : ''}${d.toFixed(1)}%`;
      console.log(`Last use recorded (issue 24) against before, same run (mean of ${offRuns.length} and ${onRuns.length} runs, order ${results.map((r) => r.mode.slice(6)).join(', ')}):`);
      printTable(['figure', 'before', 'with last use', 'change'], [
        ['best closed-loop reviews/s', before.rps.toFixed(0), after.rps.toFixed(0), signed(rpsDelta)],
        [`open loop ${OPEN_RATE}/s p99 ms`, before.p99.toFixed(2), after.p99.toFixed(2), signed(p99Delta)],
        ['server CPU per review µs', before.cpu.toFixed(0), after.cpu.toFixed(0), signed(cpuDelta)],
        ['status writes (objects written)', '-', u ? `${u.statusWrites} (${u.objects})` : '?', ''],
        [`max writes per object per ${u?.flushMs ?? '?'} ms interval`, '-', u ? String(u.maxPerObjectPerInterval) : '?', ''],
        ['allows recorded (bindings, users seen)', '-', u ? `${u.recorded} (${u.names.bindings}, ${u.names.users})` : '?', ''],
        ['record() alone, ns per call', '-', recordNs.toFixed(0), ''],
      ]);
      comparison = {
        rpsBefore: Math.round(before.rps), rpsAfter: Math.round(after.rps), rpsDeltaPct: Number(rpsDelta.toFixed(1)),
        p99BeforeMs: Number(before.p99.toFixed(3)), p99AfterMs: Number(after.p99.toFixed(3)), p99DeltaPct: Number(p99Delta.toFixed(1)),
        cpuPerReviewBeforeUs: Math.round(before.cpu), cpuPerReviewAfterUs: Math.round(after.cpu), runs: results.map((r) => r.mode),
        statusWrites: u?.statusWrites, objectsWritten: u?.objects, maxPerObjectPerInterval: u?.maxPerObjectPerInterval, flushMs: u?.flushMs,
        recordNsPerCall: Number(recordNs.toFixed(1)),
        withinFivePercent: rpsDelta >= -5 && p99Delta <= 5, atMostOnePerInterval: (u?.maxPerObjectPerInterval ?? 99) <= 1,
      };
    }
    const main = onRuns[onRuns.length - 1] ?? offRuns[offRuns.length - 1]!;
    const best = bestOf(main);
    const open = main.open;
    console.log(JSON.stringify({
      bench: 'webhook', rps: Math.round(best.rps), rpsConnections: best.c, p50Ms: Number(open.p50.toFixed(3)), p99Ms: Number(open.p99.toFixed(3)),
      p999Ms: Number(open.p999.toFixed(3)), maxMs: Number(open.max.toFixed(3)),
      serviceP50Ms: Number(open.serviceP50.toFixed(3)), serviceP99Ms: Number(open.serviceP99.toFixed(3)), loadAverage1m: Number(os.loadavg()[0]!.toFixed(2)), serverCpuPerReviewUs: Math.round(main.cpuPerReviewUs), openLoopRate: OPEN_RATE, bodyBytes: main.avgBody, decide: main.decide,
      errors: main.closed.reduce((n, r) => n + r.errors, open.errors),
      targets: { rps: 5000, p99Ms: 5 }, met: best.rps >= 5000 && open.p99 < 5,
      ...(comparison ? { lastUse: comparison } : {}),
    }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
