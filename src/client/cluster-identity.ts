// Which cluster answered a fleet question (issue 30), best effort. The one place the plugin reads
// a cluster's own identity: point `readClusterIdentity` at another source and every output follows.
//
// ASSUMPTION (until the operator publishes its identity somewhere every reader of the fleet may
// read): the operator's rendered configuration, the ConfigMap the Helm chart makes
// (`<fullname>-config`, key `config.yaml`; `gatehouse-config` for the default release name
// `gatehouse`) in the operator's namespace, carries `cluster: {name, labels}` as the chart's values
// give it. When it cannot be read (not installed with the chart, another release name, or the
// caller may not read ConfigMaps there), the kubeconfig's name for the cluster is shown instead,
// marked as such, and the answer is built without an identity.
import yaml from 'js-yaml';
import type { ClusterIdentity } from '../fleet/cluster.js';
import { parseClusterIdentity } from '../fleet/identity.js';
import type { GatehouseClient } from './kube.js';

export const IDENTITY_SOURCE = Object.freeze({ namespace: 'gatehouse-system', configMap: 'gatehouse-config', key: 'config.yaml' });

/** The cluster a row names: what the operator said it is, or else the kubeconfig's entry name. */
export interface SeenCluster {
  name: string;
  labels?: Record<string, string>;
  /** `gatehouse`: the cluster said so itself; `kubeconfig`: the kubeconfig's cluster entry, the cluster did not say. */
  from: 'gatehouse' | 'kubeconfig';
}

/** The `cluster:` of an operator configuration file's text; undefined when it has none (or is not YAML). */
export function identityFromConfig(text: string): ClusterIdentity | undefined {
  let raw: unknown;
  try {
    raw = yaml.load(text);
  } catch {
    return undefined;
  }
  const c = raw && typeof raw === 'object' ? (raw as Record<string, unknown>)['cluster'] : undefined;
  if (c === undefined || c === null) return undefined;
  try {
    const id = parseClusterIdentity(c, 'cluster');
    return id.name ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The cluster's own identity, or undefined when it cannot be read; never throws. */
export async function readClusterIdentity(client: GatehouseClient): Promise<ClusterIdentity | undefined> {
  try {
    const data = await client.readConfigMap(IDENTITY_SOURCE.namespace, IDENTITY_SOURCE.configMap);
    const text = data?.[IDENTITY_SOURCE.key];
    return text ? identityFromConfig(text) : undefined;
  } catch {
    return undefined;
  }
}

/** What a row shows: the cluster's own identity when it said one, else the kubeconfig's cluster entry name. */
export function seenCluster(own: ClusterIdentity | undefined, kubeconfigCluster: string): SeenCluster {
  return own ? { name: own.name, labels: { ...own.labels }, from: 'gatehouse' } : { name: kubeconfigCluster, from: 'kubeconfig' };
}
