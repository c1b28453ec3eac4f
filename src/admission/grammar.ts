// The permission grammar as the admission policy uses it: the core's parser for problems, and
// PolicyRules turned into permission strings the core's missingPermissions() accepts.
import type { PolicyRule } from '../api/types.js';
import { compileRule, DOTLESS_GROUPS, parsePermission, type PermissionAtom } from '../authz/permission.js';
import { errorMessage } from '../errors.js';

export function permissionProblem(permission: string): string | undefined {
  try {
    parsePermission(permission);
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

export function ruleProblem(rule: PolicyRule, index: number): string | undefined {
  try {
    compileRule(rule, index);
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

/**
 * One atom as a permission string that parses back to the same or a broader atom (broader only
 * makes the escalation check stricter): resourceNames are dropped, and a dotless API group the
 * grammar cannot tell from a resource becomes "any group".
 */
export function atomPermission(atom: PermissionAtom): string {
  if (atom.kind === 'me') return 'me';
  const verbs = atom.verbs === null ? '*' : [...atom.verbs].sort().join(',');
  if (atom.kind === 'nonResource') return `${atom.path}${atom.prefix ? '*' : ''}:${verbs}`;
  let group: string | null = atom.group;
  if (group !== null && group !== '' && !group.includes('.') && !DOTLESS_GROUPS.has(group)) group = null;
  const g = group === null ? '*' : group === '' ? 'core' : group;
  if (atom.subresource !== null) return `${g}/${atom.resource}/${atom.subresource}:${verbs}`;
  return group === null ? `${atom.resource}:${verbs}` : `${g}/${atom.resource}:${verbs}`;
}

/** What a PolicyRule grants, as permission strings; an invalid rule grants nothing. */
export function rulePermissions(rule: PolicyRule): string[] {
  try {
    return compileRule(rule).map((p) => atomPermission(p.atom));
  } catch {
    return [];
  }
}
