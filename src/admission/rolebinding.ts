// RoleBinding: one scope kind, subjects, expiresAt, dangling references as warnings, delegated
// scope, and no escalation (hold the role's permissions in the whole scope, or canAssign it there).
import { SUBJECT_KINDS, type RoleBinding, type Scope } from '../api/types.js';
import { beginWrite, checkFields, isRecord, privileged, readSpec, requireDelegated, warnDuplicates, type Env, type Findings, type KindWrites, validName } from './common.js';
import { scopeText } from '../authz/scope.js';
import { dns1123LabelProblem } from './names.js';
import { grantProblem } from './grants.js';
import { checkClusters } from './clusters.js';

const RB_FIELDS = { role: 'string', subjects: 'object[]', scope: 'object', expiresAt: 'string', clusters: 'object' } as const;
const SCOPE_FIELDS = { cluster: 'boolean', teams: 'string[]', namespaces: 'string[]' } as const;
const SUBJECT_FIELDS = { kind: 'string', name: 'string' } as const;
// RFC 3339 date-time, as the CRD's format: date-time means.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function readBinding(f: Findings, obj: unknown, which: 'object' | 'oldObject'): RoleBinding | undefined {
  const read = readSpec(f, obj, which, true, RB_FIELDS);
  if (!read) return undefined;
  const spec = read.spec;
  let ok = true;
  if (typeof spec['role'] !== 'string') {
    f.deny('spec.role', 'malformed-object', 'is required');
    ok = false;
  }
  if (!Array.isArray(spec['subjects'])) {
    f.deny('spec.subjects', 'malformed-object', 'is required');
    ok = false;
  } else {
    for (const [i, s] of (spec['subjects'] as unknown[]).entries()) {
      if (isRecord(s)) ok = checkFields(f, s, `spec.subjects[${i}]`, SUBJECT_FIELDS) && ok;
      if (!isRecord(s) || typeof s['name'] !== 'string' || typeof s['kind'] !== 'string') {
        f.deny(`spec.subjects[${i}]`, 'malformed-object', 'needs a kind and a name');
        ok = false;
      }
    }
  }
  if (!isRecord(spec['scope'])) {
    f.deny('spec.scope', 'malformed-object', 'is required');
    ok = false;
  } else {
    ok = checkFields(f, spec['scope'], 'spec.scope', SCOPE_FIELDS) && ok;
  }
  if (!ok) return undefined;
  return { metadata: read.metadata, spec: spec as unknown as RoleBinding['spec'] };
}

function checkScope(env: Env, scope: Scope): void {
  const { f, view } = env;
  const set = (['cluster', 'teams', 'namespaces'] as const).filter((k) => scope[k] !== undefined && scope[k] !== null);
  if (set.length !== 1) {
    f.deny('spec.scope', 'one-scope', `must set exactly one of cluster: true, teams or namespaces${set.length > 1 ? `, not ${set.join(' and ')}` : ''}`);
    return;
  }
  if (scope.cluster !== undefined && scope.cluster !== true) f.deny('spec.scope.cluster', 'one-scope', 'must be true when set (leave it out for a narrower scope)');
  if (scope.teams) {
    if (scope.teams.length === 0) f.deny('spec.scope.teams', 'one-scope', 'must name at least one team');
    for (const [i, t] of scope.teams.entries()) {
      if (validName(f, `spec.scope.teams[${i}]`, t) && !view.team(t)) f.warn(`spec.scope.teams[${i}]: Team ${t} does not exist yet`);
    }
    warnDuplicates(f, scope.teams, 'spec.scope.teams');
  }
  if (scope.namespaces) {
    if (scope.namespaces.length === 0) f.deny('spec.scope.namespaces', 'one-scope', 'must name at least one namespace');
    for (const [i, ns] of scope.namespaces.entries()) validName(f, `spec.scope.namespaces[${i}]`, ns, dns1123LabelProblem);
    warnDuplicates(f, scope.namespaces, 'spec.scope.namespaces');
  }
}

function checkSemantics(env: Env, rb: RoleBinding): void {
  const { f, view, ctx } = env;
  validName(f, 'metadata.name', rb.metadata.name);
  if (validName(f, 'spec.role', rb.spec.role) && !view.role(rb.spec.role)) f.warn(`spec.role: Role ${rb.spec.role} does not exist yet; the binding grants nothing until it does`);
  if (rb.spec.subjects.length === 0) f.deny('spec.subjects', 'invalid-field', 'must name at least one subject');
  const seen = new Map<string, number>();
  for (const [i, s] of rb.spec.subjects.entries()) {
    const path = `spec.subjects[${i}]`;
    if (!(SUBJECT_KINDS as readonly string[]).includes(s.kind)) {
      f.deny(`${path}.kind`, 'invalid-field', `must be one of ${SUBJECT_KINDS.join(', ')}, got ${JSON.stringify(s.kind)}`);
      continue;
    }
    const key = `${s.kind}/${s.name}`;
    const before = seen.get(key);
    if (before !== undefined) f.deny(path, 'duplicate-subject', `${s.kind} ${s.name} is already listed at spec.subjects[${before}]`);
    seen.set(key, i);
    if (s.kind === 'Group') {
      if (s.name.trim() === '') f.deny(`${path}.name`, 'invalid-field', 'must not be blank');
      continue;
    }
    if (!validName(f, `${path}.name`, s.name, undefined, ` (a ${s.kind} subject names a ${s.kind} object)`)) continue;
    if (s.kind === 'User' && !view.user(s.name)) f.warn(`${path}: User ${s.name} does not exist yet`);
    else if (s.kind === 'Team' && !view.team(s.name)) f.warn(`${path}: Team ${s.name} does not exist yet`);
  }
  checkScope(env, rb.spec.scope);
  checkClusters(f, rb.spec.clusters);
  if (rb.spec.expiresAt !== undefined) {
    const t = Date.parse(rb.spec.expiresAt);
    if (!RFC3339.test(rb.spec.expiresAt) || Number.isNaN(t)) {
      f.deny('spec.expiresAt', 'expires-at', `${JSON.stringify(rb.spec.expiresAt)} is not an RFC 3339 time such as 2026-12-31T00:00:00Z`);
    } else if (t <= ctx.now()) {
      f.warn(`spec.expiresAt: ${rb.spec.expiresAt} has passed; the binding grants nothing`);
    }
  }
}

function checkEscalation(env: Env, rb: RoleBinding): void {
  const { f, view, who } = env;
  const { role, scope } = rb.spec;
  const problem = grantProblem(env, role, scope, rb.spec.expiresAt, { missingRole: 'canAssign' });
  if (problem === undefined) return;
  if (problem.why === 'missing-role') {
    f.deny('spec.role', 'no-escalation',
      `Role ${role} does not exist yet, so what it grants cannot be checked; only a superuser, or someone whose role lists ${role} in canAssign for ${scopeText(scope, 'noun')}, may bind it before it exists`);
    return;
  }
  const missing = problem.why === 'assign' ? view.missingRolePermissions(who.requester, role, scope) : [];
  if (missing.length > 0) {
    const shown = missing.slice(0, 8).join(', ') + (missing.length > 8 ? ` and ${missing.length - 8} more` : '');
    f.deny('spec.role', 'no-escalation',
      `binding Role ${role} in ${scopeText(scope, 'noun')} would grant ${shown}, which ${who.label} does not hold, and no role of theirs lists ${role} in canAssign for that scope`);
    return;
  }
  f.deny(problem.why === 'expiry' && rb.spec.expiresAt !== undefined ? 'spec.expiresAt' : 'spec.role', 'no-escalation', `binding Role ${role} in ${scopeText(scope, 'noun')}: ${problem.message}`);
}

/** A write to a RoleBinding lies in the binding's own scope. */
const BINDINGS: KindWrites<RoleBinding> = { kind: 'RoleBinding', resource: 'rolebindings', read: readBinding, scope: (b) => b.spec.scope, path: 'spec.scope' };

export function validateRoleBinding(env: Env): void {
  const write = beginWrite(env, BINDINGS);
  if (!write) return;
  const { object: newRb, old: oldRb, meta } = write;
  const specChanged = write.specChanges === undefined || write.specChanges.length > 0;
  checkSemantics(env, newRb);
  if (privileged(env) || !env.f.ok) return;
  if (env.input.operation === 'UPDATE' && oldRb) {
    // Moving a binding out of a scope is a write there too.
    const path = specChanged ? 'spec.scope' : meta[0]!;
    if (!requireDelegated(env, 'rolebindings', 'update', oldRb.spec.scope, path, `changing RoleBinding ${oldRb.metadata.name} (now in ${scopeText(oldRb.spec.scope, 'noun')})`)) return;
    if (!requireDelegated(env, 'rolebindings', 'update', newRb.spec.scope, 'spec.scope', `moving RoleBinding ${newRb.metadata.name} to ${scopeText(newRb.spec.scope, 'noun')}`)) return;
    // Metadata alone grants nothing new: the scope check above is the whole of it.
    if (!specChanged) return;
  } else if (!requireDelegated(env, 'rolebindings', 'create', newRb.spec.scope, 'spec.scope', `creating RoleBinding ${newRb.metadata.name} in ${scopeText(newRb.spec.scope, 'noun')}`)) {
    return;
  }
  checkEscalation(env, newRb);
}
