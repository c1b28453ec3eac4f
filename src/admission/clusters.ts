// spec.clusters on User and RoleBinding (issue 30): the selector's syntax, with a field path for
// each problem. The syntax is src/fleet/validate.ts's, the one the configuration's own cluster
// identity is held to; what a selector means is src/fleet/cluster.ts.
import { clusterSelectorProblems } from '../fleet/validate.js';
import type { Findings } from './common.js';

/** Denies (rule cluster-selector) every problem of a `spec.clusters` value as it arrived. */
export function checkClusters(f: Findings, value: unknown): void {
  for (const p of clusterSelectorProblems(value)) f.deny(`spec.clusters${p.path}`, 'cluster-selector', p.message);
}
