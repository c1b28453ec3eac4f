// Which cluster of a fleet a client is talking to (issue 30): the identity the operator publishes
// in kube-public/gatehouse-cluster (src/controller/cluster-identity.ts). The CLI and the console
// set it as `config.cluster` before building an index from a live world, so spec.clusters is
// read as the operator reads it there.
import type { ClusterIdentity } from '../fleet/cluster.js';
import { parseClusterLabels } from '../fleet/cluster.js';
import { CLUSTER_IDENTITY_CONFIGMAP } from '../fleet/identity.js';
import { clusterIdentityProblems } from '../fleet/validate.js';
import { ClientError } from './errors.js';
import type { GatehouseClient } from './kube.js';

/**
 * The published identity, or undefined when there is none to read (no Gatehouse of a version that
 * publishes it, the ConfigMap not readable, or its data malformed): the caller then answers as for
 * an unnamed cluster and should say so.
 */
export async function readClusterIdentity(client: Pick<GatehouseClient, 'readConfigMap'>): Promise<ClusterIdentity | undefined> {
  let data: Record<string, string> | undefined;
  try {
    data = await client.readConfigMap(CLUSTER_IDENTITY_CONFIGMAP.namespace, CLUSTER_IDENTITY_CONFIGMAP.name);
  } catch (err) {
    if (err instanceof ClientError) return undefined;
    throw err;
  }
  if (data === undefined || typeof data['name'] !== 'string') return undefined;
  try {
    const identity = { name: data['name'], labels: parseClusterLabels(data['labels'] ?? '') };
    return clusterIdentityProblems(identity).length === 0 ? identity : undefined;
  } catch {
    return undefined;
  }
}

/** The cluster a fan-out row names: what the operator said it is, or else the kubeconfig's entry name. */
export interface SeenCluster {
  name: string;
  labels?: Record<string, string>;
  /** `gatehouse`: the cluster said so itself; `kubeconfig`: the kubeconfig's cluster entry, the cluster did not say. */
  from: 'gatehouse' | 'kubeconfig';
}

/** What a row shows: the cluster's own identity when it said one, else the kubeconfig's cluster entry name (the answer is then built as for an unnamed cluster). */
export function seenCluster(own: ClusterIdentity | undefined, kubeconfigCluster: string): SeenCluster {
  return own ? { name: own.name, labels: { ...own.labels }, from: 'gatehouse' } : { name: kubeconfigCluster, from: 'kubeconfig' };
}
