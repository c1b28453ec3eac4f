// Which native RBAC object carries a decide() allow in authorization modes rbac and both: for
// `kubectl gatehouse explain` and anything else that tells a person where a grant is in force.
// Pure; names come from the compiler's own naming, so they match what the operator writes.
import type { AuthorizationMode } from '../config.js';
import type { Decision } from '../authz/types.js';
import { PART_RESERVE, rbacName } from './objects.js';

/** The object (or the reason there is none) that makes the API server's RBAC allow what `d` allows. */
export function rbacCarrier(d: Decision, namespace: string | undefined): string {
  if (d.verdict !== 'allow') return 'none (Gatehouse does not allow it)';
  const g = d.grant;
  const inNs = (name: string): string => (namespace ? `RoleBinding ${namespace}/${name}` : `ClusterRoleBinding ${name}`);
  switch (d.code) {
    case 'superuser':
      return 'ClusterRoleBinding gatehouse:superusers (numbered gatehouse:superusers:N beyond the first part)';
    case 'binding':
      if (!g?.binding) return 'none';
      return g.scope.kind === 'cluster' ? `ClusterRoleBinding ${rbacName('binding', g.binding, PART_RESERVE)}` : inNs(rbacName('binding', g.binding, PART_RESERVE));
    case 'projectOwner':
      return inNs('gatehouse:project-owner');
    case 'publicProject':
      return inNs('gatehouse:public');
    case 'default':
      return inNs('gatehouse:default');
    case 'delegated':
      if (g?.source === 'binding' && g.binding) return `ClusterRoleBinding ${rbacName('delegate', g.binding, PART_RESERVE)}`;
      return `ClusterRoleBinding gatehouse:${g?.source === 'projectOwner' ? 'project-owners' : g?.source === 'publicProject' ? 'public' : 'default'}:delegate`;
    default:
      // `me` and registration depend on who asks in a way RBAC cannot say without one object per user.
      return 'none: RBAC cannot express it; only the authorization webhook grants it (mode webhook or both)';
  }
}

/** One line: how the answer reaches the API server in this mode. */
export function inForce(mode: AuthorizationMode, d: Decision, namespace: string | undefined): string {
  if (mode === 'webhook') return 'authorization mode webhook: the API server asks Gatehouse\'s authorization webhook';
  const carrier = rbacCarrier(d, namespace);
  if (mode === 'rbac') return `authorization mode rbac: native RBAC only, through ${carrier}`;
  return `authorization mode both: the authorization webhook, and native RBAC through ${carrier}`;
}
