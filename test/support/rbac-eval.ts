// A reading of the API server's RBAC authorizer (k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac:
// RuleAllows, VerbMatches, APIGroupMatches, ResourceMatches, ResourceNameMatches,
// NonResourceURLMatches) over the objects the compiler produced, for the unit property test. The
// integration test asks the real API server instead; this one lets thousands of worlds run fast.
import type { PolicyRule } from '../../src/api/types.js';
import type { RbacObject } from '../../src/rbac/objects.js';
import type { AccessRequest } from '../../src/authz/types.js';

function resourceMatches(rule: PolicyRule, combined: string, sub: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (sub !== '' && r.length === sub.length + 2 && r.startsWith('*/') && r.endsWith(sub)) return true;
  }
  return false;
}

function ruleAllows(rule: PolicyRule, req: AccessRequest): boolean {
  const verb = req.resource?.verb ?? req.nonResource!.verb;
  if (!(rule.verbs.includes('*') || rule.verbs.includes(verb))) return false;
  if (req.nonResource) {
    return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === req.nonResource!.path || (u.endsWith('*') && req.nonResource!.path.startsWith(u.slice(0, -1))));
  }
  const r = req.resource!;
  if (!(rule.apiGroups ?? []).some((g) => g === '*' || g === r.group)) return false;
  const sub = r.subresource ?? '';
  if (!resourceMatches(rule, sub === '' ? r.resource : `${r.resource}/${sub}`, sub)) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(r.name ?? '');
}

export function rbacAllows(objects: Iterable<RbacObject>, req: AccessRequest): boolean {
  const roles = new Map<string, PolicyRule[]>();
  const bindings: RbacObject[] = [];
  for (const o of objects) {
    if (o.kind === 'ClusterRole') roles.set(o.metadata.name, o.rules);
    else bindings.push(o);
  }
  const ns = req.resource?.namespace ?? '';
  for (const b of bindings) {
    if (b.kind === 'ClusterRole') continue;
    if (b.kind === 'RoleBinding' && (ns === '' || b.metadata.namespace !== ns)) continue;
    const applies = b.subjects.some((s) => (s.kind === 'User' ? s.name === req.user : req.groups.includes(s.name)));
    if (!applies) continue;
    for (const rule of roles.get(b.roleRef.name) ?? []) if (ruleAllows(rule, req)) return true;
  }
  return false;
}
