// Issue 25's timing: `kubectl gatehouse can-i --from` on bench/world.ts's 10,000-user world, cold
// start to answer (a new node process each run, as a CI job or a person runs it), and where the
// time goes in-process (reading the YAML, building the index, deciding).
//
//   npm run bench:policy [-- --runs 5]
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import yaml from 'js-yaml';
import { API_VERSION } from '../src/api/types.js';
import { PermissionIndex } from '../src/authz/index.js';
import { decide } from '../src/authz/decide.js';
import { loadPolicySet } from '../src/policy/sources.js';
import { generateWorld, type WorldSize } from './world.js';

const SIZE: WorldSize = { users: 10_000, teams: 1_000, roles: 200, bindings: 10_000, namespaces: 2_000 };
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);

/**
 * One cold run: wall time, and the CPU time (user + system) bash's `time` reports for the child,
 * which a loaded shared machine inflates far less than the wall time.
 */
function run(args: string[]): Promise<{ ms: number; cpuMs: number; code: number; stdout: string }> {
  const t0 = performance.now();
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve) => {
    execFile('bash', ['-c', `TIMEFORMAT='%U %S'; { time ${quoted} 2>/dev/null ; } 2>&1`], { env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig' }, maxBuffer: 1 << 26 }, (err, stdout) => {
      const lines = stdout.trimEnd().split('\n');
      const [u, sys] = (lines.pop() ?? '').split(' ').map(Number);
      resolve({ ms: performance.now() - t0, cpuMs: ((u ?? NaN) + (sys ?? NaN)) * 1000, code: err ? Number(err.code) : 0, stdout: lines.join('\n') });
    });
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-policy-'));
  try {
    const w = generateWorld(SIZE, 42);
    const docs = [
      ...w.namespaces.map((o) => ({ apiVersion: 'v1', ...o })),
      ...[...w.users, ...w.roles, ...w.teams, ...w.bindings].map((o) => ({ apiVersion: API_VERSION, ...o })),
    ];
    const file = path.join(dir, 'policy.yaml');
    await writeFile(file, docs.map((d) => yaml.dump(d, { noRefs: true })).join('---\n'));
    const bytes = (await stat(file)).size;
    const req = w.requests(1, 3)[0];
    const a = req?.resource;
    if (!req || !a) throw new Error('no request');
    const args = ['can-i', a.verb, `${a.resource}.${a.group === '' ? 'core' : a.group}`, '--as', req.user, ...(a.namespace ? ['-n', a.namespace] : ['-A']), '--from', file];

    // Where the time goes, in this process (warm code, cold data).
    const t0 = performance.now();
    const set = loadPolicySet([file], {}, { readFile: (f) => readFileSync(f, 'utf8') });
    const t1 = performance.now();
    const index = PermissionIndex.build(set.world, set.config);
    const t2 = performance.now();
    decide(index, req, { now: Date.now() });
    const t3 = performance.now();

    const cold: number[] = [];
    const cpu: number[] = [];
    let answer = '';
    for (let i = 0; i < RUNS; i++) {
      const r = await run(args);
      if (r.code !== 0 && r.code !== 1) throw new Error(`can-i exited ${r.code}`);
      answer = r.stdout.split('\n')[0] ?? '';
      cold.push(r.ms);
      cpu.push(r.cpuMs);
    }
    const help = await run(['--help']);
    console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs, node ${process.version}`);
    console.log(`can-i --from on a ${SIZE.users.toLocaleString('en')}-user world (${docs.length.toLocaleString('en')} objects, ${(bytes / 1e6).toFixed(1)} MB of YAML), ${RUNS} cold runs; answer: ${answer}`);
    console.log(`  ${args.slice(0, -1).join(' ')} <file>`);
    console.log('');
    console.log('| step                                         | ms          |');
    console.log('|----------------------------------------------|-------------|');
    console.log(`| cold start to answer (new process), median   | ${median(cold).toFixed(0).padStart(11)} |`);
    console.log(`| cold start to answer, min / max              | ${`${Math.min(...cold).toFixed(0)}/${Math.max(...cold).toFixed(0)}`.padStart(11)} |`);
    console.log(`| cold start to answer, CPU (user+sys), median | ${median(cpu).toFixed(0).padStart(11)} |`);
    console.log(`| node start + plugin load (--help)            | ${help.ms.toFixed(0).padStart(11)} |`);
    console.log(`| node start + plugin load, CPU                | ${help.cpuMs.toFixed(0).padStart(11)} |`);
    console.log(`| in-process: read + parse the YAML            | ${(t1 - t0).toFixed(0).padStart(11)} |`);
    console.log(`| in-process: build the permission index       | ${(t2 - t1).toFixed(0).padStart(11)} |`);
    console.log(`| in-process: decide()                         | ${(t3 - t2).toFixed(2).padStart(11)} |`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
