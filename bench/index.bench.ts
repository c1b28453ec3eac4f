// npm run bench:index — builds the issue's world (100k users, 10k teams, 1k roles, 100k bindings,
// 20k namespaces), then measures decide() latency, single-object update latency and heap.
// Prints a table, then one JSON line. Run with --expose-gc for a heap figure after GC.
//
// Updates come in two kinds, timed apart: non-structural ones (a binding's role, a user's state, a
// team member, a role's permissions, a namespace label, a binding deleted), and structural ones,
// a Role whose `includes` change, after which the index recomputes the closure of every role that
// includes it. A role change also empties the role bitsets' request-shape cache, which decide()
// refills; so decide() is also timed in the first second after each role update, apart from the
// steady-state rounds. Every row of the table says which percentile of which calls it is.
import { PermissionIndex } from '../src/authz/index.js';
import type { Change } from '../src/authz/index.js';
import { decide } from '../src/authz/decide.js';
import { parseConfig } from '../src/config.js';
import { loadavg } from 'node:os';
import { ISSUE_SIZE, generateWorld, prng } from './world.js';
import { measureRequestHints } from './requests-hint.js';
import { measureClusterFilter } from './cluster-filter.js';
import type { World } from '../src/authz/index.js';
import type { WorldSize } from './world.js';

const gc = (globalThis as { gc?: () => void }).gc;
const heapMB = () => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

function parseSize(argv: string[]): WorldSize {
  const scale = Number(argv.find((a) => a.startsWith('--scale='))?.slice(8) ?? '1');
  const s = { ...ISSUE_SIZE };
  for (const k of Object.keys(s) as (keyof WorldSize)[]) s[k] = Math.max(1, Math.round(s[k] * scale));
  return s;
}

const size = parseSize(process.argv.slice(2));
const heapBefore = heapMB();
const world = generateWorld(size, 42);
const config = parseConfig({ projects: { ownerRole: 'role-1', publicRole: 'role-2' }, defaults: { role: 'role-3', team: 'team-0' }, seedAdmins: [{ username: 'root' }] });
const NOW = Date.parse('2026-06-01T00:00:00Z');
const heapWorld = heapMB();

let t0 = performance.now();
const index = PermissionIndex.build(world, config, () => NOW);
const buildMs = performance.now() - t0;
const heapIndex = heapMB();

// decide(): warm up, then time each call, in rounds. The machine is shared (other processes
// compete for two cores and the cache), so each round's percentiles are kept and the reported
// figure is the median round; every round is printed too.
const ROUNDS = 5;
const PER_ROUND = 40_000;
const requests = world.requests(ROUNDS * PER_ROUND, 7);
const verdicts = { allow: 0, deny: 0, noOpinion: 0 };
for (const r of world.requests(20_000, 8)) decide(index, r);
const loadBefore = loadavg()[0]!;
const times: number[] = [];
const rounds: { p50: number; p99: number }[] = [];
for (let round = 0; round < ROUNDS; round++) {
  gc?.();
  const rt: number[] = new Array(PER_ROUND);
  for (let i = 0; i < PER_ROUND; i++) {
    const q = requests[round * PER_ROUND + i]!;
    const s = performance.now();
    const d = decide(index, q);
    rt[i] = (performance.now() - s) * 1000;
    verdicts[d.verdict]++;
  }
  rt.sort((a, b) => a - b);
  rounds.push({ p50: pct(rt, 50), p99: pct(rt, 99) });
  times.push(...rt);
}
times.sort((a, b) => a - b);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Single-object updates, non-structural: each a real change to one object of a random kind.
const rand = prng(99);
const int = (n: number) => Math.floor(rand() * n);
const changes: Change[] = [];
for (let i = 0; i < 2000; i++) {
  const k = i % 6;
  if (k === 0) {
    const b = world.bindings[int(world.bindings.length)]!;
    changes.push({ op: 'upsert', kind: 'RoleBinding', object: { ...b, spec: { ...b.spec, role: `role-${int(size.roles)}` } } });
  } else if (k === 1) {
    const u = world.users[int(world.users.length)]!;
    changes.push({ op: 'upsert', kind: 'User', object: { ...u, spec: { ...u.spec, state: u.spec.state === 'Active' ? 'Suspended' : 'Active' } } });
  } else if (k === 2) {
    const t = world.teams[int(world.teams.length)]!;
    changes.push({ op: 'upsert', kind: 'Team', object: { ...t, spec: { ...t.spec, members: [...(t.spec.members ?? []), `user-${int(size.users)}`] } } });
  } else if (k === 3) {
    // A role's permissions only: its includes stay, so no closure is recomputed (see structural below).
    const r = world.roles[int(Math.min(50, world.roles.length))]!;
    changes.push({ op: 'upsert', kind: 'Role', object: { ...r, spec: { ...r.spec, permissions: [...(r.spec.permissions ?? []), `extra-${i}:get`] } } });
  } else if (k === 4) {
    const n = world.namespaces[int(world.namespaces.length)]!;
    changes.push({ op: 'upsert', kind: 'Namespace', object: { ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, 'iam.gatehouse.dev/team': `team-${int(size.teams)}` } } } });
  } else {
    changes.push({ op: 'delete', kind: 'RoleBinding', name: `rb-${int(size.bindings)}` });
  }
}
const updTimes: number[] = [];
const byKind = new Map<string, number[]>();
for (const c of changes) {
  const s = performance.now();
  index.apply(c);
  const ms = performance.now() - s;
  updTimes.push(ms);
  const key = `${c.op} ${c.kind}`;
  if (!byKind.has(key)) byKind.set(key, []);
  byKind.get(key)!.push(ms);
}
updTimes.sort((a, b) => a - b);

// Structural updates: a base role (one of the first 20, which the most roles include, directly or
// through mid roles) gains or loses an include, so the closure of every role that reaches it is
// recomputed. Toggled, so the world stays the same size.
const BASE = Math.min(20, world.roles.length);
const structural: Change[] = [];
const current = new Map(world.roles.map((r) => [r.metadata.name, r]));
for (let i = 0; i < 400; i++) {
  const r = current.get(`role-${i % BASE}`)!;
  const extra = `role-${(i + 1 + int(BASE - 1)) % BASE}`;
  const had = (r.spec.includes ?? []).length > 0;
  const next = { ...r, spec: { ...r.spec, includes: had ? [] : [extra] } };
  current.set(r.metadata.name, next);
  structural.push({ op: 'upsert', kind: 'Role', object: next });
}
const structTimes: number[] = [];
for (const c of structural) {
  const s = performance.now();
  index.apply(c);
  structTimes.push(performance.now() - s);
}
structTimes.sort((a, b) => a - b);

// decide() in the first second after a role update (which empties the request-shape cache): 10
// non-structural and 10 structural role updates, each followed by 1 s of timed decide() calls on
// fresh requests; all calls of those seconds pooled per kind.
const afterRequests = world.requests(200_000, 13);
let ar = 0;
const firstSecond = (mk: (i: number) => Change): { p50: number; p99: number; calls: number } => {
  const t: number[] = [];
  for (let i = 0; i < 10; i++) {
    index.apply(mk(i));
    const end = performance.now() + 1000;
    while (performance.now() < end) {
      const q = afterRequests[ar++ % afterRequests.length]!;
      const s = performance.now();
      decide(index, q);
      t.push((performance.now() - s) * 1000);
    }
  }
  t.sort((a, b) => a - b);
  return { p50: pct(t, 50), p99: pct(t, 99), calls: t.length };
};
const afterPlain = firstSecond((i) => {
  const r = current.get(`role-${i}`)!;
  const next = { ...r, spec: { ...r.spec, permissions: [...(r.spec.permissions ?? []), `after-${i}:get`] } };
  current.set(r.metadata.name, next);
  return { op: 'upsert', kind: 'Role', object: next };
});
const afterStructural = firstSecond((i) => structural[i % structural.length]!);

t0 = performance.now();
const next = index.nextExpiry(NOW);
const nextExpiryMs = performance.now() - t0;
const heapEnd = heapMB();

const result = {
  world: size,
  buildMs: Math.round(buildMs),
  decideP50Us: +median(rounds.map((r) => r.p50)).toFixed(2),
  decideP99Us: +median(rounds.map((r) => r.p99)).toFixed(2),
  decideP99UsRounds: rounds.map((r) => +r.p99.toFixed(2)),
  decideP99UsPooled: +pct(times, 99).toFixed(2),
  decideMaxUs: +times[times.length - 1]!.toFixed(1),
  decides: requests.length,
  verdicts,
  updateP50Ms: +pct(updTimes, 50).toFixed(3),
  updateP99Ms: +pct(updTimes, 99).toFixed(3),
  updates: updTimes.length,
  structuralUpdateP50Ms: +pct(structTimes, 50).toFixed(3),
  structuralUpdateP99Ms: +pct(structTimes, 99).toFixed(3),
  structuralUpdates: structTimes.length,
  decideAfterRoleUpdateP99Us: +afterPlain.p99.toFixed(2),
  decideAfterRoleUpdateP50Us: +afterPlain.p50.toFixed(2),
  decideAfterRoleUpdateCalls: afterPlain.calls,
  decideAfterStructuralUpdateP99Us: +afterStructural.p99.toFixed(2),
  decideAfterStructuralUpdateP50Us: +afterStructural.p50.toFixed(2),
  decideAfterStructuralUpdateCalls: afterStructural.calls,
  nextExpiryMs: +nextExpiryMs.toFixed(2),
  nextExpiry: next === null ? null : new Date(next).toISOString(),
  heapMB: Math.round(heapIndex - heapBefore),
  heapWorldMB: Math.round(heapWorld - heapBefore),
  heapIndexOnlyMB: Math.round(heapIndex - heapWorld),
  heapTotalMB: Math.round(heapEnd),
  gc: gc !== undefined,
  loadAvg1m: [+loadBefore.toFixed(2), +loadavg()[0]!.toFixed(2)],
  node: process.version,
};

const rows: [string, string, string][] = [
  ['world', `${size.users} users, ${size.teams} teams, ${size.roles} roles, ${size.bindings} bindings, ${size.namespaces} namespaces`, ''],
  ['build', `${result.buildMs} ms`, '<= 5000 ms'],
  ['decide p50 (median of the 5 rounds\' p50)', `${result.decideP50Us} us`, ''],
  ['decide p99 (median of the 5 rounds\' p99)', `${result.decideP99Us} us`, '<= 20 us'],
  [`decide p99 per round (${PER_ROUND} calls each)`, result.decideP99UsRounds.map((x) => `${x}`).join(' / ') + ' us', ''],
  ['decide p99 (all rounds pooled)', `${result.decideP99UsPooled} us`, ''],
  ['decide verdicts', `${verdicts.allow} allow / ${verdicts.deny} deny / ${verdicts.noOpinion} no opinion`, ''],
  [`update p50, non-structural (all ${updTimes.length} pooled)`, `${result.updateP50Ms} ms`, ''],
  [`update p99, non-structural (all ${updTimes.length} pooled)`, `${result.updateP99Ms} ms`, '<= 5 ms'],
  ...[...byKind.entries()].map(([k, v]): [string, string, string] => {
    v.sort((a, b) => a - b);
    return [`  ${k} p99 (${v.length} pooled)`, `${pct(v, 99).toFixed(3)} ms`, ''];
  }),
  [`update p50 / p99, structural: a base role's includes (all ${structTimes.length} pooled)`, `${result.structuralUpdateP50Ms} / ${result.structuralUpdateP99Ms} ms`, '<= 5 ms'],
  [`decide p50 / p99 in the 1 s after a role permission change (10 changes, ${afterPlain.calls} calls pooled)`, `${result.decideAfterRoleUpdateP50Us} / ${result.decideAfterRoleUpdateP99Us} us`, ''],
  [`decide p50 / p99 in the 1 s after a structural change (10 changes, ${afterStructural.calls} calls pooled)`, `${result.decideAfterStructuralUpdateP50Us} / ${result.decideAfterStructuralUpdateP99Us} us`, ''],
  ['nextExpiry()', `${result.nextExpiryMs} ms`, ''],
  ['load average (1 min) before / after', result.loadAvg1m.join(' / '), ''],
  ['heap (world + index)', `${result.heapMB} MB${gc ? '' : ' (no --expose-gc: approximate)'}`, '<= 1024 MB'],
  ['  of which index', `${result.heapIndexOnlyMB} MB`, ''],
];
const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
console.log(`${'metric'.padEnd(w0)}  ${'value'.padEnd(w1)}  target`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
console.log(JSON.stringify(result));

// Issue 30: the cluster filter (bench/cluster-filter.ts), two more indexes of the same world built
// here; before the request hints, which change this index's roles.
const fleetFigures = measureClusterFilter(world as Required<World>, config, NOW, requests.slice(0, PER_ROUND));
console.log(`decide p50 / p99, the same ${fleetFigures.callsPerRound} requests, no object selecting clusters / ${fleetFigures.bindingsNotInForce} bindings not in force here and ${fleetFigures.usersLimitedElsewhere} users limited elsewhere (median of ${fleetFigures.rounds} alternated rounds each): ${fleetFigures.beforeP50Us} / ${fleetFigures.beforeP99Us} us before, ${fleetFigures.afterP50Us} / ${fleetFigures.afterP99Us} us after; index build ${fleetFigures.buildBeforeMs} / ${fleetFigures.buildAfterMs} ms; ${fleetFigures.verdictsChanged} answers changed`);
console.log(JSON.stringify({ clusterFilter: fleetFigures }));

// Issue 23: access-request hints on refusals (bench/requests-hint.ts). Last: it changes roles.
const hints = measureRequestHints(index, [...current.values()], requests.slice(0, PER_ROUND));
console.log(`decide p99, allowed requests, before / after ${hints.requestableRoles} roles became requestable (${hints.allowedCalls} calls, median of 3): ${hints.allowedBeforeP99Us} / ${hints.allowedAfterP99Us} us`);
console.log(`decide p99, refusals: before (no hint) ${hints.refusedBeforeP99Us} us; with a requestable role (hint computed, ${hints.refusedWithHintCalls} calls) ${hints.refusedWithHintP99Us} us`);
console.log(JSON.stringify({ requestHints: hints }));
