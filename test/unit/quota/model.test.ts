// The budget invariant against a small model of the API server's quota admission and
// kube-controller-manager's quota controller: random trees with budgets that fit (as admission
// keeps them), namespaces spread over them, and random interleavings of pod creation and deletion,
// quota status syncs (in any order, any delay) and rebalancing rounds. Whatever the order, no
// admitted pod ever takes a team's subtree past its budget. After a reconfiguration (a namespace
// or team moved, a budget changed) and the rounds that settle it, the same holds again.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocate, budgetProblems, plan, quotaName, type ObservedQuota, type QuotaTeam, type QuotaWorld } from '../../../src/quota/allocate.js';
import { formatQuantity, parseQuantity } from '../../../src/quota/quantity.js';
import { propertySeed, replayable } from '../../support/replay.js';

const R = 'requests.nvidia.com/gpu';
const U = 1000n; // one GPU in milli-units

interface Rq { spec: Map<string, bigint>; status: Map<string, bigint> | undefined; used: Map<string, bigint> }
interface Model {
  teams: Map<string, QuotaTeam>;
  nsTeam: Map<string, string>;
  rqs: Map<string, Map<string, Rq>>;
  pods: Map<string, number>;
}

function worldOf(m: Model): QuotaWorld {
  const observed = new Map<string, ObservedQuota[]>();
  for (const [ns, list] of m.rqs) {
    observed.set(ns, [...list].map(([name, q]) => ({ namespace: ns, name, spec: new Map(q.spec), status: q.status && new Map(q.status), used: new Map(q.used) })));
  }
  return { teams: m.teams, namespaceTeam: m.nsTeam, observed };
}

/** One rebalancing round: the plan's writes, as the applier makes them. */
function round(m: Model): string {
  const p = plan(worldOf(m));
  for (const w of p.writes) {
    const list = m.rqs.get(w.namespace) ?? new Map<string, Rq>();
    m.rqs.set(w.namespace, list);
    if (w.op === 'delete') list.delete(w.name);
    else {
      const q = list.get(w.name);
      if (q) q.spec = new Map(w.hard);
      else list.set(w.name, { spec: new Map(w.hard), status: undefined, used: new Map() });
    }
  }
  return p.phase;
}

/** kube-controller-manager's sync of one quota: status.hard from spec, status.used recounted. */
function sync(m: Model, ns: string): void {
  for (const q of m.rqs.get(ns)?.values() ?? []) {
    q.status = new Map(q.spec);
    q.used = new Map([...q.spec.keys()].map((r) => [r, BigInt(m.pods.get(ns) ?? 0) * U]));
  }
}

/** The API server's quota admission: every quota in force must have room; it counts the pod at once. */
function createPod(m: Model, ns: string): boolean {
  const list = [...(m.rqs.get(ns)?.values() ?? [])];
  for (const q of list) {
    if (q.status === undefined) return false; // "status unknown for quota"
    const limit = q.status.get(R);
    if (limit !== undefined && (q.used.get(R) ?? 0n) + U > limit) return false;
  }
  for (const q of list) if (q.status?.has(R)) q.used.set(R, (q.used.get(R) ?? 0n) + U);
  m.pods.set(ns, (m.pods.get(ns) ?? 0) + 1);
  return true;
}

function usage(m: Model, team: string): bigint {
  let n = 0n;
  for (const [ns, t] of m.nsTeam) {
    const seen = new Set<string>();
    for (let x: string | undefined = t; x !== undefined && !seen.has(x); x = m.teams.get(x)?.parent) {
      seen.add(x);
      if (x === team) n += BigInt(m.pods.get(ns) ?? 0) * U;
    }
  }
  return n;
}

function settle(m: Model): void {
  for (let i = 0; i < 50; i++) {
    const phase = round(m);
    for (const ns of m.rqs.keys()) sync(m, ns);
    if (phase === 'idle') return;
  }
  assert.fail('the rounds did not settle');
}

/** A random tree whose budgets fit (children within their parent), depth at most 3. */
const modelArb = fc.record({
  parents: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
  budgets: fc.array(fc.option(fc.nat(10), { nil: undefined }), { minLength: 6, maxLength: 6 }),
  namespaces: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
}).map(({ parents, budgets, namespaces }): Model => {
  const teams = new Map<string, QuotaTeam>();
  const names = parents.map((_, i) => `t${i}`);
  for (const [i, p] of parents.entries()) {
    const parent = i === 0 || p % 3 === 0 ? undefined : names[p % i]!;
    const t: QuotaTeam = { name: names[i]!, parent, hard: new Map() };
    teams.set(t.name, t);
    const want = budgets[i];
    if (want !== undefined) {
      const candidate: QuotaTeam = { ...t, hard: new Map([[R, BigInt(want) * U]]) };
      // Shrink until it fits beside its siblings (admission's rule).
      let v = BigInt(want);
      while (v > 0n && budgetProblems(teams, { ...candidate, hard: new Map([[R, v * U]]) }).length > 0) v--;
      teams.set(t.name, { ...t, hard: new Map([[R, v * U]]) });
    }
  }
  const nsTeam = new Map(namespaces.map((t, i) => [`ns${i}`, names[t % names.length]!] as [string, string]));
  return { teams, nsTeam, rqs: new Map(), pods: new Map() };
});

type Op = { k: 'create'; ns: number } | { k: 'delete'; ns: number } | { k: 'sync'; ns: number } | { k: 'round' };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.nat().map((ns): Op => ({ k: 'create', ns })) },
  { weight: 2, arbitrary: fc.nat().map((ns): Op => ({ k: 'delete', ns })) },
  { weight: 3, arbitrary: fc.nat().map((ns): Op => ({ k: 'sync', ns })) },
  { weight: 3, arbitrary: fc.constant<Op>({ k: 'round' }) },
);

function run(m: Model, ops: readonly Op[], log: string[]): void {
  const nss = [...m.nsTeam.keys()];
  for (const op of ops) {
    if (op.k === 'round') {
      log.push(`round ${round(m)}`);
      continue;
    }
    const ns = nss[op.ns % nss.length]!;
    if (op.k === 'sync') {
      sync(m, ns);
      log.push(`sync ${ns}`);
    } else if (op.k === 'delete') {
      if ((m.pods.get(ns) ?? 0) > 0) m.pods.set(ns, m.pods.get(ns)! - 1);
      log.push(`delete ${ns}`);
    } else {
      const before = new Map([...m.teams.keys()].map((t) => [t, usage(m, t)]));
      const ok = createPod(m, ns);
      log.push(`create ${ns} ${ok ? 'admitted' : 'refused'}`);
      if (!ok) continue;
      for (const t of m.teams.values()) {
        const limit = t.hard.get(R);
        const u = usage(m, t.name);
        if (limit !== undefined && u > before.get(t.name)! && u > limit) {
          assert.fail(`team ${t.name} went to ${formatQuantity(u)} of ${formatQuantity(limit)} after: ${log.join('; ')}`);
        }
      }
    }
  }
}

describe('quota allocation: the budget invariant (model)', () => {
  it('no admitted pod takes a team past its budget, whatever the order of syncs, rounds and pods', () => {
    replayable(propertySeed(2207), (seed) => fc.assert(
      fc.property(modelArb, fc.array(opArb, { maxLength: 120 }), (m, ops) => {
        settle(m);
        run(m, ops, []);
      }),
      { seed, numRuns: 300 },
    ));
  });

  it('after a reconfiguration settles (a namespace or team moved, a budget changed) the invariant holds again', () => {
    replayable(propertySeed(2208), (seed) => fc.assert(
      fc.property(modelArb, fc.array(opArb, { maxLength: 60 }), fc.nat(), fc.nat(), fc.nat(10), fc.array(opArb, { maxLength: 60 }), (m, ops1, pick, to, budget, ops2) => {
        settle(m);
        run(m, ops1, []);
        const names = [...m.teams.keys()];
        const nss = [...m.nsTeam.keys()];
        if (pick % 3 === 0) m.nsTeam.set(nss[pick % nss.length]!, names[to % names.length]!);
        else if (pick % 3 === 1) {
          const t = m.teams.get(names[pick % names.length]!)!;
          const candidate: QuotaTeam = { ...t, hard: new Map([[R, BigInt(budget) * U]]) };
          if (budgetProblems(m.teams, candidate).length === 0) m.teams.set(t.name, candidate);
        } else {
          // Move a team under another (or to the root) when admission would allow it: no cycle, fits.
          const t = m.teams.get(names[pick % names.length]!)!;
          const parent = to % (names.length + 1) === names.length ? undefined : names[to % names.length]!;
          const cycle = parent !== undefined && ((): boolean => {
            for (let x: string | undefined = parent; x !== undefined; x = m.teams.get(x)?.parent) if (x === t.name) return true;
            return false;
          })();
          const candidate: QuotaTeam = { ...t, parent };
          if (!cycle && budgetProblems(m.teams, candidate).length === 0) m.teams.set(t.name, candidate);
        }
        settle(m);
        run(m, ops2, []);
      }),
      { seed, numRuns: 200 },
    ));
  });
});

describe('quota allocation: examples', () => {
  const team = (name: string, gpus?: number, parent?: string): QuotaTeam => ({ name, parent, hard: gpus === undefined ? new Map() : new Map([[R, BigInt(gpus) * U]]) });
  const teams = new Map([team('dept', 8), team('a', 4, 'dept'), team('b', 4, 'dept')].map((t) => [t.name, t]));

  it('shares each child budget among its namespaces, whole GPUs, summing to the budget', () => {
    const d = allocate({ teams, namespaceTeam: new Map([['a1', 'a'], ['a2', 'a'], ['b1', 'b']]), observed: new Map() });
    assert.equal(d.get('a1')!.hard.get(R)! + d.get('a2')!.hard.get(R)!, 4n * U);
    assert.equal(d.get('b1')!.hard.get(R), 4n * U);
    assert.equal(d.get('a1')!.name, quotaName('a'));
    assert.equal(d.get('a1')!.budget, 'team a: requests.nvidia.com/gpu=4; team dept: requests.nvidia.com/gpu=8');
  });

  it('a child that would not fit its parent is refused with the figures', () => {
    const problems = budgetProblems(teams, team('c', 1, 'dept'));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /Team c asks 1, but parent Team dept has 8 and its other children hold 8 \(0 left\)/);
    assert.match(budgetProblems(teams, team('dept', 6))[0]!, /children \(a, b\) hold 8/);
  });

  it('freed budget moves to the sibling namespace once the quota controller recounts', () => {
    const m: Model = { teams, nsTeam: new Map([['a1', 'a'], ['a2', 'a']]), rqs: new Map(), pods: new Map() };
    settle(m);
    // a1 starts with half of a's 4 GPUs; each round its use grows, it gets more of what is free,
    // except the one unit of headroom every namespace keeps while the budget lasts.
    let admitted = 0;
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 10; i++) if (createPod(m, 'a1')) admitted++;
      settle(m);
    }
    assert.equal(admitted, 3);
    assert.equal(createPod(m, 'a2'), true);
    settle(m);
    assert.equal(createPod(m, 'a2'), false);
    m.pods.set('a1', 1); // two of a1's pods deleted
    settle(m);
    let sibling = 0;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 5; j++) if (createPod(m, 'a2')) sibling++;
      settle(m);
    }
    assert.ok(sibling >= 1, 'a deleted pod\'s GPU is usable in the sibling');
    assert.ok((m.pods.get('a1') ?? 0) + (m.pods.get('a2') ?? 0) <= 4);
  });

  it('loosening waits until the tightening is in force (status.hard), or two namespaces could overshoot', () => {
    const m: Model = { teams, nsTeam: new Map([['a1', 'a'], ['a2', 'a']]), rqs: new Map(), pods: new Map() };
    settle(m); // 2 + 2
    assert.ok(createPod(m, 'a2') && createPod(m, 'a2'));
    sync(m, 'a2');
    assert.equal(round(m), 'tighten'); // a1 2 -> 1 in spec (a2 uses 2: 2 + 1 of headroom); a1's status still says 2
    assert.equal(round(m), 'wait'); // a2 may not grow to 3 yet
    for (let i = 0; i < 3; i++) createPod(m, 'a1'); // admitted against status.hard 2
    for (const ns of ['a1', 'a2']) sync(m, ns);
    settle(m);
    for (let i = 0; i < 3; i++) createPod(m, 'a2');
    assert.ok(usage(m, 'a') <= 4n * U, `a uses ${formatQuantity(usage(m, 'a'))}`);
  });

  it('parses and prints quantities exactly', () => {
    assert.equal(parseQuantity('8'), 8000n);
    assert.equal(parseQuantity(8), 8000n);
    assert.equal(parseQuantity('500m'), 500n);
    assert.equal(parseQuantity('1.5'), 1500n);
    assert.equal(parseQuantity('2Gi'), 2n * 1024n ** 3n * 1000n);
    assert.equal(parseQuantity('1e3'), 1_000_000n);
    assert.equal(parseQuantity('1k'), 1_000_000n);
    assert.equal(formatQuantity(1500n), '1500m');
    assert.equal(formatQuantity(4000n), '4');
    for (const bad of ['', 'x', '-1', '1.2.3', '1Ki2', '1e']) assert.throws(() => parseQuantity(bad), { name: 'QuantityError' });
  });
});
