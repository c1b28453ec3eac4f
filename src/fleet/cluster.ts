// Which clusters an object holds on (issue 30). Every cluster runs its own Gatehouse and is told
// who it is (`cluster: {name, labels}` in the chart's values); a RoleBinding or User may carry
// `spec.clusters`, a Kubernetes LabelSelector plus a list of names. This module is the one rule
// every path uses (the index, the RBAC compiler, status, admission, the offline policy tools): pure,
// no I/O, no Kubernetes client.
import type { ClusterSelector, LabelSelectorRequirement } from '../api/types.js';

/** What a cluster knows about itself. `name` '' means "not named" (no object may select it by name). */
export interface ClusterIdentity {
  name: string;
  labels: Readonly<Record<string, string>>;
}

/** The identity of a cluster that was given none: it matches only objects that select no clusters. */
export const UNNAMED_CLUSTER: ClusterIdentity = Object.freeze({ name: '', labels: Object.freeze({}) });

/** Whether a selector says anything at all: an absent or empty `spec.clusters` means every cluster. */
export function selectsSome(sel: ClusterSelector | undefined): sel is ClusterSelector {
  if (sel === undefined || sel === null) return false;
  return (sel.names?.length ?? 0) > 0 || Object.keys(sel.matchLabels ?? {}).length > 0 || (sel.matchExpressions?.length ?? 0) > 0;
}

function requirementHolds(req: LabelSelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = has ? labels[req.key] : undefined;
  switch (req.operator) {
    case 'In':
      return has && (req.values ?? []).includes(value!);
    case 'NotIn':
      // As in Kubernetes: a missing label satisfies NotIn.
      return !has || !(req.values ?? []).includes(value!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      // An operator admission would have refused: select nothing rather than everything.
      return false;
  }
}

/**
 * Whether `sel` selects `cluster`. Unset or empty: every cluster. Otherwise the cluster is selected
 * when its name is in `names`, OR when the label part (matchLabels AND matchExpressions, as
 * Kubernetes reads a LabelSelector) is non-empty and matches. An unnamed cluster is never selected
 * by name, and a label part never matches a cluster that has no name either: a cluster must say who
 * it is before objects meant for some clusters hold there (fail closed).
 */
export function selectsCluster(sel: ClusterSelector | undefined, cluster: ClusterIdentity): boolean {
  if (!selectsSome(sel)) return true;
  if (cluster.name === '') return false;
  if ((sel.names ?? []).includes(cluster.name)) return true;
  const matchLabels = sel.matchLabels ?? {};
  const exprs = sel.matchExpressions ?? [];
  if (Object.keys(matchLabels).length === 0 && exprs.length === 0) return false;
  for (const [k, v] of Object.entries(matchLabels)) {
    if (cluster.labels[k] !== v) return false;
  }
  return exprs.every((e) => requirementHolds(e, cluster.labels));
}

/** One line for messages and printer columns: `names: a,b; region=eu, tier in (prod)`. */
export function describeSelector(sel: ClusterSelector | undefined): string {
  if (!selectsSome(sel)) return 'every cluster';
  const parts: string[] = [];
  if ((sel.names?.length ?? 0) > 0) parts.push(`names: ${sel.names!.join(',')}`);
  const labels = [
    ...Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(sel.matchExpressions ?? []).map((e) => {
      switch (e.operator) {
        case 'Exists':
          return e.key;
        case 'DoesNotExist':
          return `!${e.key}`;
        default:
          return `${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`;
      }
    }),
  ];
  if (labels.length > 0) parts.push(labels.join(', '));
  return parts.join('; ');
}

/** Error for `--cluster-labels` / values text that is not `k=v[,k=v...]`. */
export class ClusterLabelsError extends Error {
  readonly code = 'CLUSTER_LABELS_INVALID';
}

/** Parses `k=v,k2=v2` (the CLI's `--cluster-labels`). Empty text: no labels. */
export function parseClusterLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ClusterLabelsError(`cluster label "${part}" is not key=value`);
    const key = part.slice(0, eq).trim();
    if (Object.prototype.hasOwnProperty.call(out, key)) throw new ClusterLabelsError(`cluster label "${key}" given twice`);
    out[key] = part.slice(eq + 1).trim();
  }
  return out;
}
