// can-i / explain / who-can: turning `VERB RESOURCE [-n NS]` into the request decide() sees. Pure.
import { GROUP } from '../api/types.js';
import type { NonResourceAttributes, ResourceAttributes } from '../authz/types.js';
import { usageError } from './errors.js';

interface KnownResource {
  group: string;
  resource: string;
  namespaced: boolean;
}

// kubectl resolves names through discovery; the plugin answers offline from the objects it lists,
// so it knows the common resources and Gatehouse's own, and takes RESOURCE.GROUP for the rest.
const CORE_NAMESPACED = ['pods', 'services', 'configmaps', 'secrets', 'serviceaccounts', 'persistentvolumeclaims', 'events', 'endpoints', 'limitranges', 'resourcequotas', 'replicationcontrollers', 'podtemplates'];
const CORE_CLUSTER = ['namespaces', 'nodes', 'persistentvolumes', 'componentstatuses'];
const KNOWN: Record<string, KnownResource> = {};
const add = (names: string[], group: string, namespaced: boolean) => {
  for (const n of names) KNOWN[n] = { group, resource: n, namespaced };
};
add(CORE_NAMESPACED, '', true);
add(CORE_CLUSTER, '', false);
add(['deployments', 'statefulsets', 'daemonsets', 'replicasets', 'controllerrevisions'], 'apps', true);
add(['jobs', 'cronjobs'], 'batch', true);
add(['ingresses', 'networkpolicies'], 'networking.k8s.io', true);
add(['roles', 'rolebindings'], 'rbac.authorization.k8s.io', true);
add(['clusterroles', 'clusterrolebindings'], 'rbac.authorization.k8s.io', false);
add(['customresourcedefinitions'], 'apiextensions.k8s.io', false);
add(['storageclasses'], 'storage.k8s.io', false);
add(['leases'], 'coordination.k8s.io', true);
add(['horizontalpodautoscalers'], 'autoscaling', true);
add(['poddisruptionbudgets'], 'policy', true);
// Gatehouse's kinds are cluster-scoped; `roles` and `rolebindings` alone mean RBAC's, as in kubectl.
add(['users', 'teams'], GROUP, false);
const SHORT: Record<string, string> = {
  po: 'pods', svc: 'services', cm: 'configmaps', sa: 'serviceaccounts', pvc: 'persistentvolumeclaims', ns: 'namespaces', no: 'nodes',
  pv: 'persistentvolumes', deploy: 'deployments', sts: 'statefulsets', ds: 'daemonsets', rs: 'replicasets', cj: 'cronjobs', ing: 'ingresses',
  netpol: 'networkpolicies', crd: 'customresourcedefinitions', sc: 'storageclasses', hpa: 'horizontalpodautoscalers', pdb: 'poddisruptionbudgets',
  ghuser: `users.${GROUP}`, ghrole: `roles.${GROUP}`, ghteam: `teams.${GROUP}`, ghrb: `rolebindings.${GROUP}`,
};
const CLUSTER_SCOPED_GROUPS = new Set([GROUP]);

export interface TargetInput {
  verb: string;
  /** `RESOURCE[.GROUP][/NAME]` (kubectl's TYPE/NAME) or a non-resource URL (`/metrics`). */
  resource: string;
  subresource?: string;
  namespace?: string;
  allNamespaces?: boolean;
  /** The kubeconfig context's namespace, used for namespaced resources when -n is not given (like kubectl). */
  contextNamespace?: string;
}

export type Target = { resource: ResourceAttributes; nonResource?: undefined } | { nonResource: NonResourceAttributes; resource?: undefined };

export function parseTarget(input: TargetInput): Target {
  const verb = input.verb.trim();
  if (!/^([a-z][a-zA-Z0-9-]*|\*)$/.test(verb)) throw usageError(`VERB ${JSON.stringify(input.verb)} is not a verb (get, list, create, ...)`);
  const text = input.resource.trim();
  if (text.startsWith('/')) {
    if (input.namespace || input.subresource) throw usageError('a non-resource URL takes neither -n nor --subresource');
    return { nonResource: { path: text, verb } };
  }
  const slash = text.indexOf('/');
  const typePart = slash < 0 ? text : text.slice(0, slash);
  const name = slash < 0 ? undefined : text.slice(slash + 1);
  if (name !== undefined && (name === '' || name.includes('/'))) {
    throw usageError(`RESOURCE ${JSON.stringify(text)}: write TYPE[.GROUP][/NAME], e.g. pods, jobs.batch, notebooks.kubeflow.org/nb1 (subresources with --subresource)`);
  }
  const expanded = SHORT[typePart.toLowerCase()] ?? typePart.toLowerCase();
  const dot = expanded.indexOf('.');
  const resource = dot < 0 ? expanded : expanded.slice(0, dot);
  let group = dot < 0 ? undefined : expanded.slice(dot + 1);
  if (!/^([a-z0-9]([a-z0-9-]*[a-z0-9])?|\*)$/.test(resource)) throw usageError(`RESOURCE ${JSON.stringify(typePart)} is not a resource name`);
  const known = KNOWN[resource];
  if (group === undefined) group = known?.group ?? '';
  else if (group === 'core') group = '';
  const namespaced = known && known.group === group ? known.namespaced : !CLUSTER_SCOPED_GROUPS.has(group);
  let namespace: string | undefined;
  if (namespaced && !input.allNamespaces) namespace = input.namespace || input.contextNamespace || 'default';
  else if (!namespaced && input.namespace) throw usageError(`${resource}${group ? '.' + group : ''} is cluster-scoped: leave out -n`);
  const attrs: ResourceAttributes = {
    verb,
    group,
    resource,
    ...(namespace ? { namespace } : {}),
    ...(input.subresource ? { subresource: input.subresource } : {}),
    ...(name ? { name } : {}),
  };
  return { resource: attrs };
}

export function describeRequest(t: Target): string {
  if (t.nonResource) return `${t.nonResource.verb} ${t.nonResource.path}`;
  const r = t.resource;
  const res = (r.group ? `${r.group}/` : '') + r.resource + (r.subresource ? `/${r.subresource}` : '');
  return `${r.verb} ${res}${r.name ? ` ${r.name}` : ''}${r.namespace ? ` in namespace ${r.namespace}` : ' (cluster-wide)'}`;
}
