// `npm run bench:quota` (issue 22): team tree and budgets.
//  1. Pure core: 1,000 teams in a tree of depth 4 and 2,000 namespaces; how many ResourceQuota
//     objects the first plan writes and how long allocate()+plan() take; decide() p99 with the tree
//     against the same world flat (each department binding lists its whole subtree instead).
//  2. Real API server + kube-controller-manager (one run, a few trials): the time from a pod's
//     deletion to its GPU being usable in a sibling namespace (a pod there admitted).
// `--core-only` skips part 2.
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import type { Namespace, RoleBinding, Team, User } from '../src/api/types.js';
import { PermissionIndex } from '../src/authz/index.js';
import { decide } from '../src/authz/decide.js';
import { parseConfig } from '../src/config.js';
import { allocate, plan, quotaTeams } from '../src/quota/allocate.js';
import { startStack } from '../test/support/stack.js';
import { stats } from './stats.js';

const GPU = 'requests.nvidia.com/gpu';

function world(flat: boolean): { teams: Team[]; namespaces: Namespace[]; bindings: RoleBinding[]; users: User[] } {
  const teams: Team[] = [];
  const parentOf = new Map<string, string | undefined>();
  const add = (name: string, parent: string | undefined, gpus: number): void => {
    parentOf.set(name, parent);
    teams.push({ kind: 'Team', metadata: { name }, spec: { ...(parent && !flat ? { parent } : {}), quota: { hard: { [GPU]: gpus } } } });
  };
  // depth 4: 10 departments, 50 groups, 200 projects, 740 sub-projects = 1,000 teams
  const level: string[][] = [[], [], [], []];
  for (let d = 0; d < 10; d++) { add(`d${d}`, undefined, 4000); level[0]!.push(`d${d}`); }
  for (let g = 0; g < 50; g++) { const p = level[0]![g % 10]!; add(`${p}-g${g}`, p, 800); level[1]!.push(`${p}-g${g}`); }
  for (let j = 0; j < 200; j++) { const p = level[1]![j % 50]!; add(`${p}-p${j}`, p, 200); level[2]!.push(`${p}-p${j}`); }
  for (let s = 0; s < 740; s++) { const p = level[2]![s % 200]!; add(`${p}-s${s}`, p, 50); level[3]!.push(`${p}-s${s}`); }
  const namespaces: Namespace[] = [];
  for (let i = 0; i < 2000; i++) {
    const t = teams[i % teams.length]!.metadata.name;
    namespaces.push({ kind: 'Namespace', metadata: { name: `ns-${i}`, labels: { 'iam.gatehouse.dev/team': t } } });
  }
  const subtree = (root: string): string[] => teams.map((t) => t.metadata.name).filter((n) => {
    for (let x: string | undefined = n; x !== undefined; x = parentOf.get(x)) if (x === root) return true;
    return false;
  });
  const users: User[] = [];
  const bindings: RoleBinding[] = [];
  for (let d = 0; d < 10; d++) {
    users.push({ kind: 'User', metadata: { name: `u${d}` }, spec: { state: 'Active' } });
    bindings.push({ kind: 'RoleBinding', metadata: { name: `b${d}` }, spec: { role: 'reader', subjects: [{ kind: 'User', name: `u${d}` }], scope: { teams: flat ? subtree(`d${d}`) : [`d${d}`] } } });
  }
  return { teams, namespaces, bindings, users };
}

function decideP99(flat: boolean): { p50: number; p99: number } {
  const w = world(flat);
  const config = parseConfig({});
  const index = PermissionIndex.build({ ...w, roles: [{ kind: 'Role', metadata: { name: 'reader' }, spec: { permissions: ['pods:read'] } }] }, config);
  const times: number[] = [];
  let allowed = 0;
  for (let i = 0; i < 40_000; i++) {
    const req = { user: `u${i % 10}`, groups: [], resource: { verb: 'get', group: '', resource: 'pods', namespace: `ns-${(i * 7919) % 2000}` } };
    const t0 = process.hrtime.bigint();
    const d = decide(index, req);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (d.verdict === 'allow') allowed++;
  }
  const s = stats(times.slice(5000));
  console.log(`  decide() ${flat ? 'flat' : 'tree'}: p50 ${(s.p50 * 1000).toFixed(1)} µs, p99 ${(s.p99 * 1000).toFixed(1)} µs (${allowed} of 40000 allowed)`);
  return s;
}

function core(): void {
  console.log('1. pure core: 1,000 teams (depth 4), 2,000 namespaces');
  const w = world(false);
  const index = PermissionIndex.build({ teams: w.teams, namespaces: w.namespaces }, parseConfig({}));
  const t0 = performance.now();
  const namespaceTeam = new Map(w.namespaces.map((n) => [n.metadata.name, n.metadata.labels!['iam.gatehouse.dev/team']!]));
  const qw = { teams: quotaTeams(index.listTeams()), namespaceTeam, observed: new Map() };
  const desired = allocate(qw);
  const p = plan(qw, desired);
  const ms = performance.now() - t0;
  console.log(`  first plan: ${p.writes.length} ResourceQuota objects written (phase ${p.phase}); allocate()+plan() ${ms.toFixed(1)} ms`);
  const tree = decideP99(false);
  const flat = decideP99(true);
  console.log(`  decide() p99 tree/flat: ${(tree.p99 / flat.p99).toFixed(2)}x`);
}

async function latency(trials: number): Promise<void> {
  console.log('2. real API server + kube-controller-manager: pod deleted in one namespace -> a pod admitted in its sibling');
  const stack = await startStack({ config: {} });
  const ca = await readFile(stack.cp.caFile);
  const api = (method: string, path: string, body?: unknown): Promise<number> => new Promise((resolve, reject) => {
    const req = https.request(new URL(path, stack.cp.url), { method, ca, headers: { authorization: `Bearer ${stack.cp.adminToken}`, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
  let seq = 0;
  const pod = (ns: string): Promise<number> => api('POST', `/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${seq++}` },
    spec: { containers: [{ name: 'c', image: 'registry.invalid/pause:1', resources: { requests: { 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } } }] },
  });
  try {
    await stack.kubectlOk(['apply', '-f', '-'], { input: [
      `apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Team\nmetadata: {name: dept}\nspec: {quota: {hard: {${GPU}: 4}}}`,
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: n1, labels: {iam.gatehouse.dev/team: dept}}',
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: n2, labels: {iam.gatehouse.dev/team: dept}}',
    ].join('\n---\n') });
    const until = async (what: string, f: () => Promise<boolean>, ms = 120_000): Promise<void> => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (await f()) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`timed out: ${what}`);
    };
    for (const ns of ['n1', 'n2']) await until(`sa in ${ns}`, async () => (await api('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)) === 200);
    const out: number[] = [];
    for (let i = 0; i < trials; i++) {
      // The department is full: n1 holds 3 GPUs, n2 1 (the unit of headroom an idle namespace keeps).
      const names = new Map<string, string[]>([['n1', []], ['n2', []]]);
      await until('department full', async () => {
        for (const ns of ['n1', 'n2']) {
          const n = seq;
          if ((await pod(ns)) === 201) names.get(ns)!.push(`p${n}`);
        }
        return names.get('n1')!.length + names.get('n2')!.length === 4;
      });
      await new Promise((r) => setTimeout(r, 2500)); // rounds settle
      const t0 = performance.now();
      // Two of n1's pods go: one GPU returns to n1's headroom, one becomes n2's.
      for (const p of names.get('n1')!.splice(0, 2)) await api('DELETE', `/api/v1/namespaces/n1/pods/${p}?gracePeriodSeconds=0`);
      await until('a pod admitted in n2', async () => {
        const n = seq;
        if ((await pod('n2')) !== 201) return false;
        names.get('n2')!.push(`p${n}`);
        return true;
      });
      const ms = performance.now() - t0;
      out.push(ms);
      console.log(`  trial ${i + 1}: ${ms.toFixed(0)} ms`);
      for (const [ns, list] of names) for (const p of list) await api('DELETE', `/api/v1/namespaces/${ns}/pods/${p}?gracePeriodSeconds=0`);
      await new Promise((r) => setTimeout(r, 2500));
    }
    const s = stats(out);
    console.log(`  deletion -> usable in the sibling: p50 ${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms over ${s.n} trials (quotaIntervalMs 1000, resource-quota-sync-period 10s)`);
  } finally {
    await stack.stop();
  }
}

core();
if (!process.argv.includes('--core-only')) await latency(Number(process.env.QUOTA_TRIALS ?? 5));
