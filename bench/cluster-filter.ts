// Issue 30's figures for bench:index: decide() p50/p99 on the same requests over two indexes of the
// same world, built in the same run: "before", where no object selects clusters, and "after", where
// a third of the bindings hold on other clusters only (region=eu, this cluster is region=us), a third
// name this cluster, and one user in twenty may act on another cluster only. The cluster filter is
// applied when an object enters the index, never per request, so decide() should not move beyond
// the machine's noise. The two are timed alternately (A B B A ...), each round's p50/p99 kept, and
// the medians reported.
import type { World } from '../src/authz/index.js';
import { PermissionIndex } from '../src/authz/index.js';
import type { ClusterSelector, RoleBinding, User } from '../src/api/types.js';
import type { AccessRequest } from '../src/authz/types.js';
import type { PolicyConfig } from '../src/config.js';
import { decide } from '../src/authz/decide.js';
import { decideTimesUs, pctOf } from './stats.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export const THIS_CLUSTER = { name: 'gpu-us-1', labels: { region: 'us', tier: 'prod' } };
const ELSEWHERE: ClusterSelector = { matchLabels: { region: 'eu' } };
const HERE: ClusterSelector = { names: [THIS_CLUSTER.name] };

/** The same world, with spec.clusters on a third, a third and a twentieth as described above. */
export function fleetVariant(world: Required<World>): Required<World> {
  return {
    ...world,
    bindings: world.bindings.map((b, i): RoleBinding => (i % 3 === 0 ? { ...b, spec: { ...b.spec, clusters: ELSEWHERE } } : i % 3 === 1 ? { ...b, spec: { ...b.spec, clusters: HERE } } : b)),
    users: world.users.map((u, i): User => (i % 20 === 0 ? { ...u, spec: { ...u.spec, clusters: { names: ['gpu-eu-1'] } } } : u)),
  };
}

function round(index: PermissionIndex, reqs: readonly AccessRequest[]): { p50: number; p99: number } {
  const t = decideTimesUs(index, reqs);
  return { p50: pctOf(t, 50), p99: pctOf(t, 99) };
}

export interface ClusterFilterFigures {
  bindingsNotInForce: number;
  usersLimitedElsewhere: number;
  buildBeforeMs: number;
  buildAfterMs: number;
  rounds: number;
  callsPerRound: number;
  beforeP50Us: number;
  beforeP99Us: number;
  afterP50Us: number;
  afterP99Us: number;
  verdictsChanged: number;
}

export function measureClusterFilter(world: Required<World>, config: PolicyConfig, now: number, requests: readonly AccessRequest[], pairs = 3): ClusterFilterFigures {
  const cfg = { ...config, cluster: THIS_CLUSTER };
  let t = performance.now();
  const before = PermissionIndex.build(world, cfg, () => now);
  const buildBeforeMs = performance.now() - t;
  const fleet = fleetVariant(world);
  t = performance.now();
  const after = PermissionIndex.build(fleet, cfg, () => now);
  const buildAfterMs = performance.now() - t;
  // Warm both (request-shape caches), and count how many answers the filter changed.
  let verdictsChanged = 0;
  for (const r of requests) if (decide(before, r).verdict !== decide(after, r).verdict) verdictsChanged++;
  const a: Array<{ p50: number; p99: number }> = [];
  const b: Array<{ p50: number; p99: number }> = [];
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) {
      a.push(round(before, requests));
      b.push(round(after, requests));
    } else {
      b.push(round(after, requests));
      a.push(round(before, requests));
    }
  }
  return {
    bindingsNotInForce: fleet.bindings.filter((_, i) => i % 3 === 0).length,
    usersLimitedElsewhere: fleet.users.filter((_, i) => i % 20 === 0).length,
    buildBeforeMs: +buildBeforeMs.toFixed(0),
    buildAfterMs: +buildAfterMs.toFixed(0),
    rounds: pairs,
    callsPerRound: requests.length,
    beforeP50Us: +median(a.map((x) => x.p50)).toFixed(2),
    beforeP99Us: +median(a.map((x) => x.p99)).toFixed(2),
    afterP50Us: +median(b.map((x) => x.p50)).toFixed(2),
    afterP99Us: +median(b.map((x) => x.p99)).toFixed(2),
    verdictsChanged,
  };
}
