// npm run bench:soak — issue 32, item 7: can an owner grow the operator's memory by creating and
// deleting bindings? A small world (1,000 users, 100 teams, 100 namespaces) is built; each cycle
// creates RoleBindings with 1,000 long Group subjects (200+ characters, new names every cycle, as an
// owner can write in their own namespace), lets the index and the incremental RBAC compiler take
// them, then deletes them and compiles again. Heap and RSS are printed after a GC at the start
// (after --warmup cycles, 20 by default: V8 sizes its young generation to the allocation rate in the
// first cycles, which RSS shows once and keeps) and after the cycles; the target is the end within
// 10% of the start. Options: --cycles=N (1000), --warmup=N (20), --bindings=N per cycle (1),
// --subjects=N per binding (1000). Needs --expose-gc (the npm script passes it).
import { PermissionIndex } from '../src/authz/index.js';
import { decide } from '../src/authz/decide.js';
import { parseConfig } from '../src/config.js';
import { RbacCompiler } from '../src/rbac/compile.js';
import { indexSource } from '../src/rbac/source.js';
import type { RoleBinding } from '../src/api/types.js';
import { generateWorld } from './world.js';

const arg = (name: string, dflt: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt);
const CYCLES = arg('cycles', 1000);
const BINDINGS = arg('bindings', 1);
const SUBJECTS = arg('subjects', 1000);
const WARMUP = arg('warmup', 20);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:soak does)');
const MB = (n: number): number => Math.round((n / 1024 / 1024) * 10) / 10;
function memory(): { heapMB: number; rssMB: number } {
  for (let i = 0; i < 3; i++) gc!();
  const m = process.memoryUsage();
  return { heapMB: MB(m.heapUsed), rssMB: MB(m.rss) };
}

const world = generateWorld({ users: 1000, teams: 100, roles: 50, bindings: 1000, namespaces: 100 }, 7);
const config = parseConfig({ projects: { ownerRole: 'role-1', publicRole: 'role-2' }, defaults: { role: 'role-3', team: 'team-0' }, authorization: { mode: 'rbac' } });
const index = PermissionIndex.build(world, config);
const src = indexSource(index);
const compiler = new RbacCompiler();
compiler.update(src, { now: Date.now() });
const owner = world.users[0]!.metadata.name;
const namespace = world.namespaces[0]!.metadata.name;

function big(cycle: number, b: number): RoleBinding {
  const subjects = Array.from({ length: SUBJECTS }, (_, i) => ({ kind: 'Group' as const, name: `oidc:${'platform-team-'.repeat(14)}${cycle}-${b}-${i}` }));
  return { kind: 'RoleBinding', metadata: { name: `soak-${b}` }, spec: { role: 'role-4', subjects, scope: { namespaces: [namespace] } } };
}

function cycle(n: number): void {
  for (let b = 0; b < BINDINGS; b++) index.apply({ op: 'upsert', kind: 'RoleBinding', object: big(n, b) });
  compiler.update(src, { now: Date.now() });
  // A request through the bindings, so decide()'s paths see the subjects too.
  decide(index, { user: owner, groups: [`oidc:${'platform-team-'.repeat(14)}${n}-0-1`], resource: { verb: 'get', group: '', resource: 'pods', namespace } });
  for (let b = 0; b < BINDINGS; b++) index.apply({ op: 'delete', kind: 'RoleBinding', name: `soak-${b}` });
  compiler.update(src, { now: Date.now() });
}

const before = memory();
for (let n = 0; n < WARMUP; n++) cycle(-1 - n);
const start = memory();
const idsStart = index.subjectCounts();
const t0 = performance.now();
const marks: Array<{ cycle: number; heapMB: number; rssMB: number }> = [];
for (let n = 0; n < CYCLES; n++) {
  cycle(n);
  if ((n + 1) % Math.max(1, Math.floor(CYCLES / 4)) === 0) marks.push({ cycle: n + 1, ...memory() });
}
const seconds = (performance.now() - t0) / 1000;
const end = memory();
const idsEnd = index.subjectCounts();
const within = (a: number, b: number): string => `${(((b - a) / a) * 100).toFixed(1)}%`;
console.log(`soak: ${CYCLES} cycles of ${BINDINGS} RoleBinding(s) x ${SUBJECTS} Group subjects (~${big(0, 0).spec.subjects![0]!.name.length} chars each), index + incremental RBAC compiler, ${seconds.toFixed(1)} s`);
console.log('| when | heap used (MB) | RSS (MB) | live subject ids | allocated ids |');
console.log('| --- | ---: | ---: | ---: | ---: |');
console.log(`| before warm-up (after GC) | ${before.heapMB} | ${before.rssMB} | | |`);
console.log(`| start: after ${WARMUP} warm-up cycles (after GC) | ${start.heapMB} | ${start.rssMB} | ${idsStart.liveIds} | ${idsStart.allocatedIds} |`);
for (const m of marks.slice(0, -1)) console.log(`| after ${m.cycle} cycles | ${m.heapMB} | ${m.rssMB} | | |`);
console.log(`| after ${CYCLES} cycles (after GC) | ${end.heapMB} | ${end.rssMB} | ${idsEnd.liveIds} | ${idsEnd.allocatedIds} |`);
console.log(`| change | ${within(start.heapMB, end.heapMB)} | ${within(start.rssMB, end.rssMB)} | | |`);
const ok = end.heapMB <= start.heapMB * 1.1;
console.log(JSON.stringify({ cycles: CYCLES, warmup: WARMUP, before, bindings: BINDINGS, subjects: SUBJECTS, start, end, ids: { start: idsStart, end: idsEnd }, seconds, heapWithin10pct: ok, rssWithin10pct: end.rssMB <= start.rssMB * 1.1, node: process.version }));
if (!ok) process.exitCode = 1;
