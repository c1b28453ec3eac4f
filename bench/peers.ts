// npm run bench:peers: Gatehouse's decide() against Casbin (RBAC with domains) and Cedar
// (cedar-wasm) on the same worlds, at 1k, 10k and 100k users (bench:index's proportions).
//
// Each (system, size) runs in its own child process (`--child`), so build time and memory are
// measured on a clean heap, and one peer's garbage or wasm memory never lands on another's bill.
// Every child generates the same world (bench/world.ts, restricted to the plain-RBAC subset, see
// bench/peers/subset.ts) and the same request sample, answers the sample in the same seeded
// order, and reports its answers; the parent compares them and prints one table, the ratios, and
// one JSON line.
//
// The peers evaluate every policy line (Casbin) or every policy (Cedar) on every request, so at
// the larger sizes one decision can take from milliseconds to seconds. A peer answers the sample
// until it is done or its time budget (--budget-s, per system and size) runs out; the order is a
// seeded shuffle, so any prefix is a uniform subsample, and the output says how many requests each
// system answered and how many all three compared. --full lifts the budget. A peer that has not
// finished building within --build-limit-s is stopped and reported as such. --cedar-encoding
// picks Cedar's encoding (bench/peers/cedar.ts): `role` (default) or `binding`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildCasbin } from './peers/casbin.js';
import type { CedarEncoding } from './peers/cedar.js';
import { buildCedar, CEDAR_ENCODINGS } from './peers/cedar.js';
import { buildGatehouse } from './peers/gatehouse.js';
import { forEachCandidateBinding } from '../src/authz/decide.js';
import type { SampledRequest } from './peers/requests.js';
import { sampleRequests } from './peers/requests.js';
import type { PeerWorld } from './peers/subset.js';
import { rbacModel, restrictToRbac } from './peers/subset.js';
import type { WorldSize } from './world.js';
import { generateWorld, prng } from './world.js';
import { isExplicitOnlyTarget } from '../test/support/oracle.js';

const SYSTEMS = ['gatehouse', 'casbin', 'cedar'] as const;
type System = (typeof SYSTEMS)[number];
const PEERS: readonly System[] = ['casbin', 'cedar'];

/** bench:index's proportions: 100k users : 10k teams : 1k roles : 100k bindings : 20k namespaces. */
export function sizeFor(users: number): WorldSize {
  return { users, teams: users / 10, roles: Math.max(1, users / 100), bindings: users, namespaces: users / 5 };
}

const WORLD_SEED = 42;
const SAMPLE_SEED = 7;
const ORDER_SEED = 11;

interface Options {
  sizes: number[];
  sample: number;
  budgetS: number;
  buildLimitS: number;
  full: boolean;
  /** Only these systems (the others are reported as not run); for quick looks, e.g. `--systems gatehouse`. */
  systems: readonly System[];
  /** `role` (default): one Cedar policy per Role, bindings as entity data; `binding`: one per RoleBinding. */
  cedarEncoding: CedarEncoding;
  /** Measured passes for every system (default passesFor(users)). */
  passes?: number;
}

interface ChildResult {
  system: System;
  users: number;
  buildMs: number;
  /** heapUsed + external after gc, built minus before (MB). */
  memMB: number;
  rssMB: number;
  /** One char per sample request, in sample order: 1 allow, 0 not allow, - not answered (budget). */
  answers: string;
  answered: number;
  calls: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  perSec: number;
  warmupCalls: number;
  /** Complete measured passes over the sample (the same target for every system at a size). */
  passes: number;
  budgetHit: boolean;
  /** Set when the child was stopped before it had built. */
  didNotFinish?: string;
  detail: Record<string, number>;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { sizes: [1_000, 10_000, 100_000], sample: 10_000, budgetS: 600, buildLimitS: 300, full: false, systems: SYSTEMS, cedarEncoding: 'role' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (a === '--sizes' && v) (o.sizes = v.split(',').map(Number)), i++;
    else if (a === '--sample' && v) (o.sample = Number(v)), i++;
    else if (a === '--budget-s' && v) (o.budgetS = Number(v)), i++;
    else if (a === '--build-limit-s' && v) (o.buildLimitS = Number(v)), i++;
    else if (a === '--full') o.full = true;
    else if (a === '--passes' && v) (o.passes = Number(v)), i++;
    else if (a.startsWith('--cedar-encoding=')) o.cedarEncoding = cedarEncoding(a.slice('--cedar-encoding='.length));
    else if (a === '--cedar-encoding' && v) (o.cedarEncoding = cedarEncoding(v)), i++;
    else if (a === '--systems' && v) (o.systems = v.split(',').filter((x): x is System => (SYSTEMS as readonly string[]).includes(x))), i++;
  }
  return o;
}

function cedarEncoding(v: string): CedarEncoding {
  if (!(CEDAR_ENCODINGS as readonly string[]).includes(v)) throw new Error(`--cedar-encoding: ${v} is not one of ${CEDAR_ENCODINGS.join(', ')}`);
  return v as CedarEncoding;
}

function world(users: number): { world: PeerWorld; removed: Record<string, number> } {
  const g = generateWorld(sizeFor(users), WORLD_SEED);
  const r = restrictToRbac({ users: g.users, roles: g.roles, teams: g.teams, bindings: g.bindings, namespaces: g.namespaces });
  return r;
}

/** A seeded permutation of 0..n-1: any prefix is a uniform subsample. */
function order(n: number): number[] {
  const rnd = prng(ORDER_SEED);
  const o = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [o[i], o[j]] = [o[j]!, o[i]!];
  }
  return o;
}

type Allows = (req: SampledRequest['req']) => boolean;

/** `detail` runs after the build is timed. */
async function build(system: System, w: PeerWorld, sample: readonly SampledRequest[], encoding: CedarEncoding): Promise<{ allows: Allows; detail: () => Record<string, number> }> {
  if (system === 'gatehouse') {
    const g = buildGatehouse(w);
    // What decide() visits per request: the requester's own and their teams' bindings. Constant
    // across sizes means its work does not depend on how many bindings exist in all.
    const detail = (): Record<string, number> => {
      let visited = 0;
      for (const { req } of sample) {
        const u = g.index.userRecord(req.user);
        if (u) forEachCandidateBinding(g.index, u, req.groups, () => void visited++);
      }
      return { bindingsVisitedPerRequest: Math.round((visited / sample.length) * 100) / 100 };
    };
    return { allows: g.allows, detail };
  }
  if (system === 'casbin') {
    const c = await buildCasbin(w);
    return { allows: c.allows, detail: () => ({ policyLines: c.rules.p, groupingLines: c.rules.g }) };
  }
  const c = buildCedar(w, encoding);
  return { allows: c.allows, detail: (): Record<string, number> => (c.encoding === 'role' ? { policies: c.policies, grantPairs: c.grantPairs } : { policies: c.policies }) };
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with node --expose-gc (npm run bench:peers does)');
  for (let i = 0; i < 3; i++) g();
}

function mem(): { heapExt: number; rss: number } {
  const m = process.memoryUsage();
  return { heapExt: m.heapUsed + m.external, rss: m.rss };
}

const percentile = (sorted: Float64Array, p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** Measured passes over the sample at a size, the same for every system: 5 at 1k users, 3 at 10k, 1 beyond. */
export function passesFor(users: number): number {
  return users <= 1_000 ? 5 : users <= 10_000 ? 3 : 1;
}
/** Warm-up calls on the built instance, the same for every system at a size. */
export function warmupFor(sampleSize: number): number {
  return Math.min(1_000, sampleSize);
}

async function child(system: System, users: number, sampleSize: number, budgetS: number, full: boolean, encoding: CedarEncoding, passes: number, warmup: number): Promise<ChildResult> {
  const log = (msg: string): void => void process.stderr.write(`  [${system} ${users}] ${msg}\n`);
  // Warm the code paths (JIT; for Cedar, wasm tier-up) on a tiny world first, so the measured
  // instance is not charged for compilation, and before the memory baseline.
  {
    const tiny = world(100);
    const s = sampleRequests(rbacModel(tiny.world), 500, SAMPLE_SEED);
    const t = await build(system, tiny.world, s, encoding);
    for (let k = 0; k < 6; k++) for (const r of s) t.allows(r.req);
  }
  const { world: w } = world(users);
  const sample = sampleRequests(rbacModel(w), sampleSize, SAMPLE_SEED);
  const ord = order(sample.length);
  gc();
  const before = mem();
  const t0 = performance.now();
  const { allows, detail } = await build(system, w, sample, encoding);
  const buildMs = performance.now() - t0;
  gc();
  const after = mem();
  log(`built in ${buildMs.toFixed(0)} ms`);
  process.stdout.write('built\n');

  // Warm-up on the measured instance: the same number of calls for every system at a size (the
  // last requests of the shuffled order), however long they take.
  let warmupCalls = 0;
  while (warmupCalls < warmup) {
    allows(sample[ord[sample.length - 1 - (warmupCalls % sample.length)]!]!.req);
    warmupCalls++;
  }

  // The measured passes: every call timed; answers recorded on the first pass. Every system makes
  // the same number of passes at a size (passesFor), unless its time budget ends the first pass;
  // the table prints the passes and calls each had.
  const budgetMs = full ? Infinity : budgetS * 1000;
  const answers = new Array<string>(sample.length).fill('-');
  const lat: number[] = [];
  let answered = 0;
  let budgetHit = false;
  let passesDone = 0;
  const m0 = performance.now();
  for (let pass = 0; pass < passes; pass++) {
    for (const i of ord) {
      const req = sample[i]!.req;
      const s = process.hrtime.bigint();
      const a = allows(req);
      const e = process.hrtime.bigint();
      lat.push(Number(e - s));
      if (pass === 0) {
        answers[i] = a ? '1' : '0';
        answered++;
        if (answered % 1000 === 0) log(`${answered} answered`);
      }
      if (performance.now() - m0 > budgetMs) {
        budgetHit = true;
        break;
      }
    }
    if (budgetHit) break;
    passesDone++;
  }
  const sorted = Float64Array.from(lat).sort();
  const meanNs = lat.reduce((x, y) => x + y, 0) / lat.length;

  // Throughput: back-to-back calls without per-call timing, for 2 s (at least 3 calls).
  let tc = 0;
  const th0 = performance.now();
  while (tc < 3 || performance.now() - th0 < 2000) {
    for (let k = 0; k < 16; k++) allows(sample[ord[(tc + k) % ord.length]!]!.req);
    tc += 16;
    if (performance.now() - th0 > 2000 && tc >= 3) break;
  }
  const perSec = tc / ((performance.now() - th0) / 1000);

  return {
    system,
    users,
    buildMs,
    memMB: (after.heapExt - before.heapExt) / 2 ** 20,
    rssMB: (after.rss - before.rss) / 2 ** 20,
    answers: answers.join(''),
    answered,
    calls: lat.length,
    p50Us: percentile(sorted, 50) / 1000,
    p99Us: percentile(sorted, 99) / 1000,
    meanUs: meanNs / 1000,
    perSec,
    warmupCalls,
    passes: passesDone,
    budgetHit,
    detail: detail(),
  };
}

function runChild(system: System, users: number, o: Options): Promise<ChildResult> {
  const self = fileURLToPath(import.meta.url);
  const args = ['--expose-gc', '--max-old-space-size=8192', self, '--child', system, String(users), String(o.sample), String(o.budgetS), o.full ? 'full' : 'bounded', o.cedarEncoding, String(o.passes ?? passesFor(users)), String(warmupFor(o.sample))];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let stopped = false;
    // World generation and the warm-up come before the build: 60 s on top of the limit.
    const timer = o.full
      ? undefined
      : setTimeout(() => {
          stopped = true;
          p.kill('SIGKILL');
        }, (o.buildLimitS + 60) * 1000);
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (timer && out.includes('built\n')) clearTimeout(timer);
    });
    p.on('error', reject);
    p.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      if (stopped) {
        process.stderr.write(`  [${system} ${users}] stopped: not built within ${o.buildLimitS} s\n`);
        return resolve(notBuilt(system, users, o));
      }
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${system} at ${users} users exited with ${code}`));
      try {
        resolve(JSON.parse(last) as ChildResult);
      } catch (err) {
        reject(new Error(`${system} at ${users} users printed no result: ${String(err)}`));
      }
    });
  });
}

function notBuilt(system: System, users: number, o: Options): ChildResult {
  return {
    system,
    users,
    buildMs: NaN,
    memMB: NaN,
    rssMB: NaN,
    answers: '-'.repeat(o.sample),
    answered: 0,
    calls: 0,
    p50Us: NaN,
    p99Us: NaN,
    meanUs: NaN,
    perSec: NaN,
    warmupCalls: 0,
    passes: 0,
    budgetHit: false,
    didNotFinish: `not built within ${o.buildLimitS} s`,
    detail: {},
  };
}

const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '-');

async function parent(o: Options): Promise<void> {
  const { loadavg, cpus } = await import('node:os');
  const load0 = loadavg();
  process.stderr.write(`bench:peers: sizes ${o.sizes.join(', ')} users, sample ${o.sample}, peer budget ${o.full ? 'none' : `${o.budgetS} s`} per size, build limit ${o.full ? 'none' : `${o.buildLimitS} s`}, cedar encoding ${o.cedarEncoding}; load ${load0.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores\n`);
  const results = new Map<string, ChildResult>();
  const agreement: {
    users: number;
    compared: number;
    byAllThree: number;
    disagreements: number;
    examples: string[];
    missing: string[];
    /** Requests for an explicit-only target (Secrets, pods/exec, ...; test/support/oracle.ts's table). */
    explicit: { asked: number; compared: number; byAllThree: number; allowed: number; disagreements: number };
  }[] = [];
  const removedBySize = new Map<number, Record<string, number>>();
  for (const users of o.sizes) {
    for (const system of SYSTEMS) {
      if (!o.systems.includes(system)) {
        results.set(`${system}/${users}`, { ...notBuilt(system, users, o), didNotFinish: 'not run (--systems)' });
        continue;
      }
      process.stderr.write(`${system} at ${users} users\n`);
      results.set(`${system}/${users}`, await runChild(system, users, o));
    }
    const [g, c, d] = SYSTEMS.map((s) => results.get(`${s}/${users}`)!) as [ChildResult, ChildResult, ChildResult];
    // A request counts as compared when Gatehouse and at least one peer answered it.
    let compared = 0;
    let byAllThree = 0;
    const bad: number[] = [];
    for (let i = 0; i < g.answers.length; i++) {
      const given = [g.answers[i]!, c.answers[i]!, d.answers[i]!].filter((x) => x !== '-');
      if (g.answers[i] === '-' || given.length < 2) continue;
      compared++;
      if (given.length === 3) byAllThree++;
      if (given.some((x) => x !== given[0])) bad.push(i);
    }
    const missing = [c, d].filter((r) => r.didNotFinish !== undefined).map((r) => `${r.system} ${r.didNotFinish}`);
    const examples: string[] = [];
    // The sample again (same world, same seed), to count the explicit-only requests compared.
    const sample = sampleRequests(rbacModel(world(users).world), o.sample, SAMPLE_SEED);
    for (const i of bad.slice(0, 5)) examples.push(`${sample[i]!.kind} ${JSON.stringify(sample[i]!.req)}: gatehouse ${g.answers[i]} casbin ${c.answers[i]} cedar ${d.answers[i]}`);
    const explicit = { asked: 0, compared: 0, byAllThree: 0, allowed: 0, disagreements: 0 };
    const badSet = new Set(bad);
    for (let i = 0; i < sample.length; i++) {
      if (!isExplicitOnlyTarget(sample[i]!.req.resource!)) continue;
      explicit.asked++;
      const given = [g.answers[i]!, c.answers[i]!, d.answers[i]!].filter((x) => x !== '-');
      if (g.answers[i] === '-' || given.length < 2) continue;
      explicit.compared++;
      if (given.length === 3) explicit.byAllThree++;
      if (g.answers[i] === '1') explicit.allowed++;
      if (badSet.has(i)) explicit.disagreements++;
    }
    if (!removedBySize.has(users)) removedBySize.set(users, world(Math.min(users, 1000)).removed);
    agreement.push({ users, compared, byAllThree, disagreements: bad.length, examples, missing, explicit });
  }
  const load1 = loadavg();

  // The table.
  const rows: string[][] = [['system', 'users', 'build ms', 'p50 us', 'p99 us', 'mean us', 'decisions/s', 'memory MB', 'RSS MB', 'answered', 'warm-up / passes / timed calls', 'detail']];
  for (const users of o.sizes) {
    for (const s of SYSTEMS) {
      const r = results.get(`${s}/${users}`)!;
      rows.push([
        s,
        fmt(users),
        r.didNotFinish === undefined ? fmt(r.buildMs) : r.didNotFinish.startsWith('not run') ? 'not run' : `> ${fmt(o.buildLimitS * 1000)} (stopped)`,
        fmt(r.p50Us, 1),
        fmt(r.p99Us, 1),
        fmt(r.meanUs, 1),
        fmt(r.perSec),
        fmt(r.memMB, 1),
        fmt(r.rssMB, 1),
        `${fmt(r.answered)}/${fmt(o.sample)}${r.budgetHit ? ' (budget)' : ''}`,
        `${fmt(r.warmupCalls)} / ${r.passes}${r.budgetHit ? '+' : ''} of ${o.passes ?? passesFor(users)} / ${fmt(r.calls)}`,
        Object.entries(r.detail)
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join(', '),
      ]);
    }
  }
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  const line = (r: string[]): string => `| ${r.map((c, j) => (j < 2 || j === 9 || j === 11 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join(' | ')} |`;
  console.log(line(rows[0]!));
  console.log(`|${widths.map((w, j) => (j < 2 || j === 9 || j === 11 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));

  console.log('');
  console.log('Ratios peer / Gatehouse (higher = Gatehouse faster or smaller):');
  const ratioRows: string[][] = [['peer', 'users', 'p50', 'p99', 'decisions/s (Gatehouse / peer)', 'build ms', 'memory']];
  for (const users of o.sizes) {
    const g = results.get(`gatehouse/${users}`)!;
    for (const s of PEERS) {
      const r = results.get(`${s}/${users}`)!;
      const x = (v: number, d = 0): string => (Number.isFinite(v) ? `${fmt(v, d)}x` : '-');
      ratioRows.push([s, fmt(users), x(r.p50Us / g.p50Us), x(r.p99Us / g.p99Us), x(g.perSec / r.perSec), x(r.buildMs / g.buildMs, 1), x(r.memMB / g.memMB, 1)]);
    }
  }
  const rw = ratioRows[0]!.map((_, j) => Math.max(...ratioRows.map((r) => r[j]!.length)));
  for (const [k, r] of ratioRows.entries()) {
    console.log(`| ${r.map((c, j) => (j < 2 ? c.padEnd(rw[j]!) : c.padStart(rw[j]!))).join(' | ')} |`);
    if (k === 0) console.log(`|${rw.map((w, j) => (j < 2 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`);
  }

  console.log('');
  console.log('Agreement (requests Gatehouse and at least one peer answered; every disagreement is a bug in one encoding):');
  for (const a of agreement) {
    const bounded = a.byAllThree < o.sample ? ` (peers bounded by the ${o.budgetS} s budget per size; --full answers all ${fmt(o.sample)})` : '';
    console.log(`  ${fmt(a.users)} users: ${fmt(a.compared)} compared (${fmt(a.byAllThree)} by all three), ${a.disagreements} disagreements${bounded}`);
    const e = a.explicit;
    console.log(`    of which explicit-only targets (Secrets, exec, attach, portforward, proxies, token): ${fmt(e.asked)} asked, ${fmt(e.compared)} compared (${fmt(e.byAllThree)} by all three), ${fmt(e.allowed)} allowed (named grants), ${e.disagreements} disagreements`);
    for (const m of a.missing) console.log(`    ${m}: compared between the other two only`);
    for (const e of a.examples) console.log(`    ${e}`);
  }
  const removed = removedBySize.get(o.sizes[0]!) ?? {};
  console.log(`  Worlds restricted to plain RBAC; at ${fmt(Math.min(o.sizes[0]!, 1000))} users that changed: ${Object.entries(removed).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ')}`);

  const largest = Math.max(...o.sizes);
  const sorted = [...o.sizes].sort((a, b) => a - b);
  const second = sorted.length > 1 ? sorted[sorted.length - 2]! : largest;
  const gL = results.get(`gatehouse/${largest}`)!;
  const gS = results.get(`gatehouse/${second}`)!;
  console.log('');
  console.log(
    `Gatehouse with ${fmt(largest)} bindings vs ${fmt(second)}: p50 ${fmt(gS.p50Us, 1)} -> ${fmt(gL.p50Us, 1)} us (${fmt(gL.p50Us / gS.p50Us, 2)}x), p99 ${fmt(gS.p99Us, 1)} -> ${fmt(gL.p99Us, 1)} us (${fmt(gL.p99Us / gS.p99Us, 2)}x) for ${fmt(largest / second, 0)}x the bindings`,
  );
  console.log(
    `Timing: every system at a size gets ${fmt(warmupFor(o.sample))} warm-up calls and ${o.passes !== undefined ? `${o.passes} measured passes` : `the same measured passes (${o.sizes.map((u) => `${passesFor(u)} at ${fmt(u)}`).join(', ')})`} over the ${fmt(o.sample)}-request sample unless its budget ends the first; p50/p99/mean are over every timed call of those passes (warm-up excluded); decisions/s is a separate 2 s loop.`,
  );
  console.log(`Cedar encoding: ${o.cedarEncoding} (${o.cedarEncoding === 'role' ? 'one policy per Role, bindings as User entity data' : 'one policy per RoleBinding'})`);
  console.log(`Load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')} (${cpus().length} cores, Node ${process.version})`);

  const peerP99 = PEERS.map((s) => results.get(`${s}/${largest}`)!.p99Us).filter((x) => Number.isFinite(x));
  const ratioP99 = Math.min(...peerP99) / gL.p99Us;
  const agree = agreement.every((a) => a.disagreements === 0 && a.compared > 0);
  const json = {
    bench: 'peers',
    agree,
    minRatioP99: Number(ratioP99.toFixed(1)),
    atUsers: largest,
    cedarEncoding: o.cedarEncoding,
    compared: Object.fromEntries(agreement.map((a) => [a.users, { withGatehouse: a.compared, byAllThree: a.byAllThree, disagreements: a.disagreements, explicitOnly: a.explicit }])),
    fullSample: agreement.every((a) => a.byAllThree === o.sample),
    notBuilt: agreement.flatMap((a) => a.missing.map((m) => `${m} at ${a.users} users`)),
    gatehouseP99GrowthWithBindings: Number((gL.p99Us / gS.p99Us).toFixed(2)),
    results: [...results.values()].map((r) => ({
      system: r.system,
      users: r.users,
      buildMs: Number.isFinite(r.buildMs) ? Math.round(r.buildMs) : null,
      p50Us: Number.isFinite(r.p50Us) ? Number(r.p50Us.toFixed(2)) : null,
      p99Us: Number.isFinite(r.p99Us) ? Number(r.p99Us.toFixed(2)) : null,
      perSec: Number.isFinite(r.perSec) ? Math.round(r.perSec) : null,
      memMB: Number.isFinite(r.memMB) ? Number(r.memMB.toFixed(1)) : null,
      answered: r.answered,
      warmupCalls: r.warmupCalls,
      passes: r.passes,
      calls: r.calls,
    })),
    load: { before: load0, after: load1 },
  };
  console.log(JSON.stringify(json));
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--child') {
    const [, system, users, sample, budget, mode, encoding, passes, warmup] = argv;
    if (!SYSTEMS.includes(system as System)) throw new Error(`unknown system ${system}`);
    const r = await child(system as System, Number(users), Number(sample), Number(budget), mode === 'full', cedarEncoding(encoding ?? 'role'), Number(passes), Number(warmup));
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  await parent(parseArgs(argv));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
