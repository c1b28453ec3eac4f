// npm run bench:fleet [-- ROUNDS CONTEXTS DELAY_MS]: the wall time of a fleet question (issue 30),
// `kubectl gatehouse can-i create jobs.batch -n team-a --as alice --all-contexts`, asked of
// CONTEXTS kubeconfig contexts one at a time (--max-parallel 1) and with the default bound
// (--max-parallel 8).
//
// What each context points at: one real control plane (etcd + kube-apiserver 1.20 with the whole of
// Gatehouse: test/support/stack.ts), each context through its own loopback TCP proxy
// (test/support/tcp-proxy.ts) that holds every server-to-client chunk DELAY_MS before passing it on,
// to stand for a cluster that far away (default 50 ms, about a round trip between regions; 0: no
// delay). So the contexts differ in name and port, not in their API server: the figures are the
// fan-out's, and the API server's own work is shared by all of them (a real fleet has one API
// server per cluster, so the parallel figure here is if anything pessimistic).
//
// Timed: the plugin's run() in this process (the same code main.ts calls; node's start-up is the
// same for both modes and left out), from argv to exit code, a new kubeconfig client per context
// each time (new TLS connections, as a new process would make). ROUNDS rounds (default 10), each
// timing both modes, their order alternating by round; every run must exit 0 with every context
// answered, or the bench stops. Prints a table (p50, p90, min, max per mode) and one JSON line.
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { loadavg, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { startWithWorld, world } from '../test/support/world.js';
import { TcpProxy } from '../test/support/tcp-proxy.js';
import { writeFleetKubeconfig } from '../test/support/fleet-kubeconfig.js';
import { run } from '../src/cli/run.js';
import { createKubeClient, listKubeContexts } from '../src/client/kube.js';
import { DEFAULT_MAX_PARALLEL } from '../src/cli/fleet.js';

const ROUNDS = Number(process.argv[2] ?? 10);
const CONTEXTS = Number(process.argv[3] ?? 20);
const DELAY_MS = Number(process.argv[4] ?? 50);
const NS = 'team-a';

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summary(ms: readonly number[]): { n: number; p50: number; p90: number; min: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), min: s[0] ?? Number.NaN, max: s[s.length - 1] ?? Number.NaN };
}

/** One `can-i --all-contexts` in-process; its wall time in ms. Throws unless every context answered yes. */
async function timeOnce(kubeconfig: string, maxParallel: number): Promise<number> {
  let stdout = '';
  let stderr = '';
  const argv = ['can-i', 'create', 'jobs.batch', '-n', NS, '--as', 'alice', '--all-contexts', '--kubeconfig', kubeconfig, '--max-parallel', String(maxParallel), '--cluster-timeout', '60s', '-o', 'json'];
  const t0 = performance.now();
  const code = await run(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    now: () => Date.now(),
    readFile: (f) => readFileSync(f, 'utf8'),
    makeClient: createKubeClient,
    listContexts: listKubeContexts,
  });
  const ms = performance.now() - t0;
  const doc = JSON.parse(stdout || '{}') as { clusters?: Array<{ status: string; answer?: string }> };
  const answered = (doc.clusters ?? []).filter((c) => c.status === 'answered' && c.answer === 'yes').length;
  if (code !== 0 || answered !== CONTEXTS) throw new Error(`--max-parallel ${maxParallel}: exit ${code}, ${answered}/${CONTEXTS} answered yes\n${stdout}\n${stderr}`);
  return ms;
}

async function main(): Promise<void> {
  const load0 = loadavg();
  process.stderr.write(`bench:fleet: ${ROUNDS} rounds, ${CONTEXTS} contexts, ${DELAY_MS} ms proxy delay; load ${load0.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores\n`);
  const WORLD = world()
    .namespace(NS)
    .user('alice', { state: 'Active' })
    .team('team-a', { members: ['alice'], namespaces: [NS] })
    .role('researcher', ['batch/jobs:*'])
    .binding('team-a-researchers', 'researcher', 'Team:team-a', 'team:team-a');
  const stack = await startWithWorld(WORLD, { config: { seedAdmins: [{ username: 'root' }] } });
  const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-bench-fleet-'));
  const proxies: TcpProxy[] = [];
  try {
    const port = Number(new URL(stack.cp.url).port);
    for (let i = 0; i < CONTEXTS; i++) {
      const p = await TcpProxy.start(port);
      if (DELAY_MS > 0) p.delay(DELAY_MS);
      proxies.push(p);
    }
    const kubeconfig = path.join(dir, 'fleet.kubeconfig');
    await writeFleetKubeconfig(stack.cp.kubeconfigPath, kubeconfig, proxies.map((p, i) => ({ name: `ctx-${String(i).padStart(2, '0')}`, server: p.url })));

    // One untimed run of each, so both modes start from loaded code.
    await timeOnce(kubeconfig, 1);
    await timeOnce(kubeconfig, DEFAULT_MAX_PARALLEL);
    const seq: number[] = [];
    const par: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order: Array<[number, number[]]> = r % 2 === 0 ? [[1, seq], [DEFAULT_MAX_PARALLEL, par]] : [[DEFAULT_MAX_PARALLEL, par], [1, seq]];
      for (const [bound, into] of order) into.push(await timeOnce(kubeconfig, bound));
      process.stderr.write(`round ${r + 1}/${ROUNDS}: sequential ${seq[seq.length - 1]!.toFixed(0)} ms, parallel ${par[par.length - 1]!.toFixed(0)} ms\n`);
    }
    const s = summary(seq);
    const p = summary(par);
    const load1 = loadavg();
    const f = (n: number): string => n.toFixed(0);
    console.log(`kubectl gatehouse can-i create jobs.batch -n ${NS} --as alice --all-contexts: ${CONTEXTS} contexts, each a loopback TCP proxy (server-to-client chunks held ${DELAY_MS} ms) to one kube-apiserver 1.20 with Gatehouse; ${ROUNDS} rounds per mode, alternating; in-process run(), node start-up not counted`);
    console.log('');
    console.log('| mode | --max-parallel | n | p50 ms | p90 ms | min ms | max ms |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    console.log(`| sequential | 1 | ${s.n} | ${f(s.p50)} | ${f(s.p90)} | ${f(s.min)} | ${f(s.max)} |`);
    console.log(`| parallel (default) | ${DEFAULT_MAX_PARALLEL} | ${p.n} | ${f(p.p50)} | ${f(p.p90)} | ${f(p.min)} | ${f(p.max)} |`);
    console.log('');
    console.log(`p50: parallel is ${(s.p50 / p.p50).toFixed(1)}x faster (${f(s.p50 / CONTEXTS)} ms per context one at a time). Load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')} (${cpus().length} cores, Node ${process.version})`);
    console.log(JSON.stringify({
      bench: 'fleet',
      contexts: CONTEXTS,
      rounds: ROUNDS,
      proxyDelayMs: DELAY_MS,
      target: 'one kube-apiserver 1.20 with Gatehouse, one loopback TCP proxy per context',
      sequential: { maxParallel: 1, ...round(s) },
      parallel: { maxParallel: DEFAULT_MAX_PARALLEL, ...round(p) },
      speedupP50: Number((s.p50 / p.p50).toFixed(2)),
      load: { before: load0, after: load1 },
    }));
  } finally {
    for (const p of proxies) await p.close();
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function round(x: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, Number(v.toFixed(1))]));
}

await main();
