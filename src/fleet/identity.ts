// How this cluster and "not in force here" read in answers, status and probes (issue 30). Pure text
// over src/fleet/cluster.ts: decide()'s reason for a user limited to other clusters, the InEffect
// condition of a RoleBinding or User, /readyz and the console's header all word it the same way.
import type { ClusterSelector } from '../api/types.js';
import { describeSelector, UNNAMED_CLUSTER, type ClusterIdentity } from './cluster.js';

/** The cluster a configuration describes; no `cluster` (or an old caller): UNNAMED_CLUSTER. */
export function clusterOf(config: { readonly cluster?: ClusterIdentity | undefined }): ClusterIdentity {
  return config.cluster ?? UNNAMED_CLUSTER;
}

/** `region=eu,tier=prod` (keys sorted; the form `--cluster-labels` reads), '' for none. */
export function formatClusterLabels(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
}

/** `cluster gpu-eu-1`, or `this cluster (unnamed)`: how messages name the cluster. */
export function clusterPhrase(cluster: ClusterIdentity): string {
  return cluster.name === '' ? 'this cluster (unnamed)' : `cluster ${cluster.name}`;
}

/** `gpu-eu-1 (region=eu,tier=prod)`, `gpu-eu-1`, or `(unnamed)`: the console header and `user show`. */
export function clusterTitle(cluster: ClusterIdentity): string {
  const labels = formatClusterLabels(cluster.labels);
  const name = cluster.name === '' ? '(unnamed)' : cluster.name;
  return labels === '' ? name : `${name} (${labels})`;
}

/**
 * Why an object whose `spec.clusters` is `sel` is not in force on `cluster` (the caller knows it
 * is not: selectsCluster said so). Names the cluster, its labels and the selector.
 */
export function whyNotHere(sel: ClusterSelector | undefined, cluster: ClusterIdentity): string {
  const wanted = `spec.clusters selects ${describeSelector(sel)}`;
  if (cluster.name === '') {
    return `${wanted}, and this cluster has no name (set the Helm value cluster.name): objects that select clusters hold nowhere until the cluster is named`;
  }
  const labels = formatClusterLabels(cluster.labels);
  return `${wanted}, and cluster ${cluster.name} (${labels === '' ? 'no labels' : `labels ${labels}`}) is not one of them`;
}

/** decide()'s reason for a user whose spec.clusters does not select this cluster. */
export function userNotHereReason(username: string, sel: ClusterSelector | undefined, cluster: ClusterIdentity): string {
  return `user ${username} may not act on ${clusterPhrase(cluster)}: ${whyNotHere(sel, cluster)}`;
}

/** The three lines /readyz answers with once ready (docs/helm.md, "Fleet"). */
export function readyzBody(cluster: ClusterIdentity): string {
  return `ok\ncluster: ${cluster.name === '' ? '(unnamed)' : cluster.name}\ncluster-labels: ${formatClusterLabels(cluster.labels)}\n`;
}

/**
 * Where every Gatehouse publishes who it is, for clients that hold only a kubeconfig (the CLI's
 * live answers and its fan-out over contexts, issue 30): a ConfigMap in `kube-public`, the
 * namespace Kubernetes keeps for what every user may read; the chart lets system:authenticated
 * get this one name. Data: `name` ('' when unnamed) and `labels` (`k=v,...`, formatClusterLabels).
 */
export const CLUSTER_IDENTITY_CONFIGMAP = Object.freeze({ namespace: 'kube-public', name: 'gatehouse-cluster' });

/** The ConfigMap's data for `cluster`. */
export function clusterIdentityData(cluster: ClusterIdentity): { name: string; labels: string } {
  return { name: cluster.name, labels: formatClusterLabels(cluster.labels) };
}
