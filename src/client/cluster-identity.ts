// Which cluster answered a fleet question (issue 30). The cluster's own identity is what its
// operator publishes in kube-public/gatehouse-cluster (readClusterIdentity in ./cluster.ts, the one
// reader); when it cannot be read (no Gatehouse that publishes it, or the caller may not read it),
// the kubeconfig's name for the cluster is shown instead, marked as such, and the answer is built
// without an identity (objects that select clusters are left out: fail closed).
import type { ClusterIdentity } from '../fleet/cluster.js';
import { readClusterIdentity as readPublished } from './cluster.js';
import type { GatehouseClient } from './kube.js';

/** The cluster a row names: what the operator said it is, or else the kubeconfig's entry name. */
export interface SeenCluster {
  name: string;
  labels?: Record<string, string>;
  /** `gatehouse`: the cluster said so itself; `kubeconfig`: the kubeconfig's cluster entry, the cluster did not say. */
  from: 'gatehouse' | 'kubeconfig';
}

/** The cluster's own identity, or undefined when it cannot be read; never throws (a fan-out row must not fail on it). */
export async function readClusterIdentity(client: GatehouseClient): Promise<ClusterIdentity | undefined> {
  try {
    return await readPublished(client);
  } catch {
    return undefined;
  }
}

/** What a row shows: the cluster's own identity when it said one, else the kubeconfig's cluster entry name. */
export function seenCluster(own: ClusterIdentity | undefined, kubeconfigCluster: string): SeenCluster {
  return own ? { name: own.name, labels: { ...own.labels }, from: 'gatehouse' } : { name: kubeconfigCluster, from: 'kubeconfig' };
}
