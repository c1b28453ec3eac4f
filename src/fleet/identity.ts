// A cluster identity written as data (issue 30): the `cluster:` of the chart's values, of an
// expectations file or one of its cases, and of the operator's rendered configuration. One reader,
// so every place accepts the same shapes and says the same things about a bad one. Pure.
import { ClusterLabelsError, parseClusterLabels, type ClusterIdentity } from './cluster.js';

/** A `cluster:` that is not a name or `{name, labels}`. */
export class ClusterIdentityError extends Error {
  readonly code = 'GH_CLUSTER_IDENTITY';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A cluster name as `--cluster` and `cluster.name` take it: non-empty, no spaces or commas. */
export function clusterNameProblem(name: string): string | undefined {
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
    const p = clusterNameProblem(raw);
    if (p) throw new ClusterIdentityError(`${where}: the cluster name ${p}`);
    return { name: raw, labels: {} };
  }
  if (!isRecord(raw)) throw new ClusterIdentityError(`${where}: write a cluster name, or {name: NAME, labels: {KEY: VALUE}}`);
  for (const k of Object.keys(raw)) if (k !== 'name' && k !== 'labels') throw new ClusterIdentityError(`${where}: unknown key ${JSON.stringify(k)} (use name, labels)`);
  const name = raw['name'];
  if (typeof name !== 'string') throw new ClusterIdentityError(`${where}.name: must be a string`);
  const p = clusterNameProblem(name);
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
  return { name, labels };
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
