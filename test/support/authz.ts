// Small builders for the core's tests (and peers' tests): user({...}), role(...), team(...),
// binding(...), ns(...), policy({...}), req(...). Defaults are the common case.
import type { Namespace, Role, RoleBinding, RoleSpec, Scope, Subject, Team, TeamSpec, User, UserSpec } from '../../src/api/types.js';
import type { PolicyConfig } from '../../src/config.js';
import { parseConfig } from '../../src/config.js';
import type { AccessRequest, ResourceAttributes } from '../../src/authz/types.js';

export function user(name: string, spec: Partial<UserSpec> = {}): User {
  return { kind: 'User', metadata: { name }, spec: { state: 'Active', ...spec } };
}
export function role(name: string, permissions: string[] = [], spec: Partial<RoleSpec> = {}): Role {
  return { kind: 'Role', metadata: { name }, spec: { permissions, ...spec } };
}
export function team(name: string, spec: Partial<TeamSpec> = {}): Team {
  return { kind: 'Team', metadata: { name }, spec: { ...spec } };
}
/** `subjects` as strings: `alice` (User), `team:vision`, `group:oidc:ml`. */
export function binding(name: string, roleName: string, subjects: (string | Subject)[], scope: Scope, expiresAt?: string): RoleBinding {
  const subs: Subject[] = subjects.map((s) => {
    if (typeof s !== 'string') return s;
    if (s.startsWith('team:')) return { kind: 'Team', name: s.slice(5) };
    if (s.startsWith('group:')) return { kind: 'Group', name: s.slice(6) };
    return { kind: 'User', name: s };
  });
  return { kind: 'RoleBinding', metadata: { name }, spec: { role: roleName, subjects: subs, scope, ...(expiresAt ? { expiresAt } : {}) } };
}
export function ns(name: string, labels: Record<string, string> = {}): Namespace {
  return { kind: 'Namespace', metadata: { name, labels } };
}
export function policy(raw: Record<string, unknown> = {}): PolicyConfig {
  return parseConfig(raw);
}
/** `req('alice', 'get pods', 'ns1')`; the resource may be `group/resource[/sub]` or `/path` for non-resource. */
export function req(userName: string, verbAndResource: string, namespace?: string, extra: Partial<ResourceAttributes> & { groups?: string[] } = {}): AccessRequest {
  const [verb, target] = verbAndResource.split(' ') as [string, string];
  const { groups = [], ...attrs } = extra;
  if (target.startsWith('/')) return { user: userName, groups, nonResource: { path: target, verb } };
  const parts = target.split('/');
  let group = '';
  let resource: string;
  let subresource: string | undefined;
  if (parts.length === 3) [group, resource, subresource] = parts as [string, string, string];
  else if (parts.length === 2 && parts[0]!.includes('.')) [group, resource] = parts as [string, string];
  else if (parts.length === 2 && ['apps', 'batch'].includes(parts[0]!)) [group, resource] = parts as [string, string];
  else [resource, subresource] = parts as [string, string | undefined];
  const resourceAttrs: ResourceAttributes = { verb, group, resource, ...(subresource ? { subresource } : {}), ...(namespace ? { namespace } : {}), ...attrs };
  return { user: userName, groups, resource: resourceAttrs };
}
