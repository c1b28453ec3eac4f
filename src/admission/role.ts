// Role: permission grammar, rules, includes (no cycles), and no escalation: a Role is written only
// by someone who holds all it grants cluster-wide (and may assign what its canAssign lists).
import { LABELS, type PolicyRule, type Role } from '../api/types.js';
import { CLUSTER, beginWrite, checkFields, isRecord, privileged, readSpec, requireWriteScope, warnDuplicates, type Env, type Findings, type KindWrites, validName } from './common.js';
import { permissionProblem, rulePermissions, ruleProblem } from './grammar.js';
import { grantProblem, lastLiveMoment } from './grants.js';
import { parseDuration } from '../requests/types.js';

const ROLE_FIELDS = { description: 'string', permissions: 'string[]', rules: 'object[]', includes: 'string[]', canAssign: 'string[]', requestable: 'object' } as const;
const RULE_FIELDS = { apiGroups: 'string[]', resources: 'string[]', verbs: 'string[]', resourceNames: 'string[]', nonResourceURLs: 'string[]' } as const;

function readRole(f: Findings, obj: unknown, which: 'object' | 'oldObject'): Role | undefined {
  const read = readSpec(f, obj, which, false, ROLE_FIELDS);
  if (!read) return undefined;
  const rules = read.spec['rules'];
  if (Array.isArray(rules)) {
    let ok = true;
    for (const [i, rule] of rules.entries()) if (isRecord(rule)) ok = checkFields(f, rule, `spec.rules[${i}]`, RULE_FIELDS) && ok;
    if (!ok) return undefined;
  }
  return { metadata: read.metadata, spec: read.spec as Role['spec'] };
}

function checkRules(env: Env, rules: readonly PolicyRule[]): void {
  for (const [i, rule] of rules.entries()) {
    const problem = ruleProblem(rule, i);
    if (problem) env.f.deny(`spec.rules[${i}]`, 'permission-syntax', problem);
  }
}

/** Whether following `includes` from `from` (through the stored roles) arrives at `target`. */
function reaches(env: Env, from: string, target: string): boolean {
  const seen = new Set<string>();
  const queue = [from];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const next of env.view.role(name)?.spec.includes ?? []) {
      if (next === target) return true;
      queue.push(next);
    }
  }
  return false;
}

function checkSemantics(env: Env, role: Role): void {
  const { f, view } = env;
  const name = role.metadata.name;
  validName(f, 'metadata.name', name);
  for (const [i, p] of (role.spec.permissions ?? []).entries()) {
    const problem = permissionProblem(p);
    if (problem) f.deny(`spec.permissions[${i}]`, 'permission-syntax', problem);
  }
  warnDuplicates(f, role.spec.permissions ?? [], 'spec.permissions');
  checkRules(env, role.spec.rules ?? []);
  const rq = role.spec.requestable;
  if (rq !== undefined) {
    if (rq.maxDuration !== undefined && parseDuration(rq.maxDuration) === undefined) f.deny('spec.requestable.maxDuration', 'invalid-field', `must be a duration like 4h or 1d, got ${JSON.stringify(rq.maxDuration)}`);
    if (rq.approvals !== undefined && !(Number.isInteger(rq.approvals) && rq.approvals >= 1 && rq.approvals <= 5)) f.deny('spec.requestable.approvals', 'invalid-field', 'must be a whole number from 1 to 5');
    for (const [i, a] of (Array.isArray(rq.approvers) ? rq.approvers : []).entries()) {
      if (!isRecord(a) || (a['kind'] !== 'User' && a['kind'] !== 'Team') || typeof a['name'] !== 'string') f.deny(`spec.requestable.approvers[${i}]`, 'invalid-field', 'must be {kind: User|Team, name}');
    }
  }
  for (const field of ['includes', 'canAssign'] as const) {
    const list = role.spec[field] ?? [];
    warnDuplicates(f, list, `spec.${field}`);
    for (const [i, ref] of list.entries()) {
      if (!validName(f, `spec.${field}[${i}]`, ref)) continue;
      if (field === 'includes' && (ref === name || reaches(env, ref, name))) {
        f.deny(`spec.includes[${i}]`, 'role-include-cycle', `including ${ref} makes a cycle back to ${name}`);
        continue;
      }
      if (ref !== name && !view.role(ref)) f.warn(`spec.${field}[${i}]: Role ${ref} does not exist yet`);
    }
  }
}

/** The role's own grants as permission strings (its includes are checked one by one). */
function ownPermissions(role: Role): string[] {
  const perms = new Set<string>();
  for (const p of role.spec.permissions ?? []) perms.add(p);
  for (const rule of role.spec.rules ?? []) for (const p of rulePermissions(rule)) perms.add(p);
  return [...perms];
}

function listed(items: readonly string[], max = 8): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

function checkEscalation(env: Env, role: Role): void {
  const { f, view, who } = env;
  const name = role.metadata.name;
  // A Role lasts until deleted, and every binding of it grants what it says from now on: what the
  // writer holds only until some expiresAt does not cover it (issue 32, item 4).
  const forGood = view.at(lastLiveMoment(env, undefined));
  const expiring = (lackedForGood: boolean, lackedNow: boolean): string => (lackedForGood && !lackedNow ? ' for good (what they hold of it expires)' : '');
  const missing = forGood.missingPermissions(who.requester, ownPermissions(role), CLUSTER);
  if (missing.length > 0) {
    f.deny(role.spec.permissions?.length ? 'spec.permissions' : 'spec.rules', 'no-escalation',
      `Role ${name} would grant ${listed(missing)}, which ${who.label} does not hold${expiring(true, view.missingPermissions(who.requester, ownPermissions(role), CLUSTER).length === 0)}; a Role can be written only by someone who holds all its permissions cluster-wide`);
  }
  for (const [i, inc] of (role.spec.includes ?? []).entries()) {
    if (inc === name) continue;
    if (!view.role(inc)) {
      f.deny(`spec.includes[${i}]`, 'no-escalation',
        `Role ${inc} does not exist yet, so what it grants cannot be checked; only a superuser may include a role before it exists`);
      continue;
    }
    const lack = forGood.missingRolePermissions(who.requester, inc, CLUSTER);
    if (lack.length > 0) {
      f.deny(`spec.includes[${i}]`, 'no-escalation', `including Role ${inc} would grant ${listed(lack)}, which ${who.label} does not hold${expiring(true, view.missingRolePermissions(who.requester, inc, CLUSTER).length === 0)}`);
      continue;
    }
    // Including a role inherits its canAssign: the writer must be able to assign all of that too.
    const problem = grantProblem(env, inc, CLUSTER, undefined, { missingRole: 'refuse' });
    if (problem) f.deny(`spec.includes[${i}]`, 'no-escalation', `including Role ${inc}: ${problem.message}`);
  }
  for (const [i, target] of (role.spec.canAssign ?? []).entries()) {
    const problem = grantProblem(env, target, CLUSTER, undefined, { missingRole: 'canAssign' });
    if (problem === undefined) continue;
    if (problem.why === 'missing-role') {
      f.deny(`spec.canAssign[${i}]`, 'no-escalation',
        `Role ${target} does not exist yet; only a superuser may let others assign a role before it exists`);
      continue;
    }
    const lack = problem.why === 'assign' ? view.missingRolePermissions(who.requester, target, CLUSTER) : [];
    f.deny(`spec.canAssign[${i}]`, 'no-escalation', lack.length > 0
      ? `holders of ${name} could assign ${target}, which grants ${listed(lack)} that ${who.label} does not hold, and ${who.label} may not assign ${target} cluster-wide`
      : `holders of ${name} could assign ${target}: ${problem.message}`);
  }
}

/** Roles are cluster-scoped: a write to one is held cluster-wide. */
const ROLES: KindWrites<Role> = { kind: 'Role', resource: 'roles', read: readRole, scope: () => CLUSTER, path: 'metadata.name' };

export function validateRole(env: Env): void {
  const write = beginWrite(env, ROLES);
  if (!write) return;
  const newRole = write.object;
  const grantsChanged = write.specChanges === undefined || write.specChanges.some((k) => k !== 'description');
  checkSemantics(env, newRole);
  if (newRole.metadata.labels?.[LABELS.preset] !== undefined && !privileged(env)) {
    env.f.warn(`Role ${newRole.metadata.name} is kept by the operator from a preset; the operator may overwrite this change`);
  }
  if (privileged(env)) return;
  requireWriteScope(env, ROLES, newRole);
  if (grantsChanged && env.f.ok) checkEscalation(env, newRole);
}
