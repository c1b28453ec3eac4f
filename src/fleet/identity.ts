// How this cluster and "not in force here" read in answers, status and probes (issue 30). Pure text
// over src/fleet/cluster.ts: decide()'s reason for a user limited to other clusters, the InEffect
// condition of a RoleBinding or User, /readyz and the console's header all word it the same way.
// Also the one reader of a cluster identity written as data (the `cluster:` of the chart's values, of
// an expectations file or one of its cases): every place accepts the same shapes.
import type { ClusterSelector } from '../api/types.js';
import { ClusterLabelsError, describeSelector, parseClusterLabels, UNNAMED_CLUSTER, type ClusterIdentity } from './cluster.js';
import { clusterIdentityProblems } from './validate.js';

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

/** A `cluster:` that is not a name or `{name, labels}`. */
export class ClusterIdentityError extends Error {
  readonly code = 'GH_CLUSTER_IDENTITY';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The first look at a cluster name written by hand (`--cluster`, a test case): the mistakes a
 * person makes most (an empty name, a list), worded for them. checkedIdentity then applies the
 * operator's own rules (src/fleet/validate.ts).
 */
export function clusterNameShapeProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (/[\s,]/.test(name)) return 'has a space or a comma';
  return undefined;
}

/**
 * `eu-1` (a name, no labels) or `{name: eu-1, labels: {region: eu}}`; labels may also be written
 * `region=eu,tier=prod`. Label values that YAML read as numbers or booleans are taken as written
 * (`tier: 1` is `"1"`), as Helm renders them. `where` starts every message.
 */
export function parseClusterIdentity(raw: unknown, where: string): ClusterIdentity {
  if (typeof raw === 'string') {
    const p = clusterNameShapeProblem(raw);
    if (p) throw new ClusterIdentityError(`${where}: the cluster name ${p}`);
    return checkedIdentity({ name: raw, labels: {} }, where);
  }
  if (!isRecord(raw)) throw new ClusterIdentityError(`${where}: write a cluster name, or {name: NAME, labels: {KEY: VALUE}}`);
  for (const k of Object.keys(raw)) if (k !== 'name' && k !== 'labels') throw new ClusterIdentityError(`${where}: unknown key ${JSON.stringify(k)} (use name, labels)`);
  const name = raw['name'];
  if (typeof name !== 'string') throw new ClusterIdentityError(`${where}.name: must be a string`);
  const p = clusterNameShapeProblem(name);
  if (p) throw new ClusterIdentityError(`${where}.name: ${p}`);
  const rawLabels = raw['labels'];
  let labels: Record<string, string> = {};
  if (typeof rawLabels === 'string') {
    try {
      labels = parseClusterLabels(rawLabels);
    } catch (err) {
      if (err instanceof ClusterLabelsError) throw new ClusterIdentityError(`${where}.labels: ${err.message}`);
      throw err;
    }
  } else if (isRecord(rawLabels)) {
    for (const [k, v] of Object.entries(rawLabels)) {
      if (k === '') throw new ClusterIdentityError(`${where}.labels: an empty key`);
      if (typeof v === 'string') labels[k] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') labels[k] = String(v);
      else throw new ClusterIdentityError(`${where}.labels.${k}: must be a string`);
    }
  } else if (rawLabels !== undefined && rawLabels !== null) {
    throw new ClusterIdentityError(`${where}.labels: a mapping (region: eu) or k=v,k2=v2`);
  }
  return checkedIdentity({ name, labels }, where);
}

/** `identity` when the operator would start with it (src/fleet/validate.ts), else a ClusterIdentityError saying why. */
export function checkedIdentity(identity: ClusterIdentity, where: string): ClusterIdentity {
  const problems = clusterIdentityProblems(identity);
  if (problems.length > 0) throw new ClusterIdentityError(`${where}: ${problems.join('; ')}`);
  return identity;
}

/** `eu-1 (region=eu, tier=prod)`, `eu-1`: for source lines and test names. */
export function describeCluster(c: ClusterIdentity): string {
  const labels = Object.entries(c.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`);
  return `${c.name || '<unnamed>'}${labels.length ? ` (${labels.join(', ')})` : ''}`;
}

/** A key that is equal for equal identities (label order aside): one index per distinct cluster. */
export function clusterKey(c: ClusterIdentity | undefined): string {
  if (!c) return '';
  return JSON.stringify([c.name, Object.entries(c.labels).sort(([a], [b]) => a.localeCompare(b))]);
}
