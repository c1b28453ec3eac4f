// AccessRequest: who may ask (any Active user, for themselves only), what (a requestable Role, in
// one scope, for at most its maxDuration) and who may decide (an approver, never the requester; a
// Revoke also by the requester). Decisions are appended to spec.decisions one at a time; the
// mutation stamps `by` and `at` from the writer's identity and the clock, and this checks them.
// Status is the operator's (the subresource is not sent here, and decide() grants it to nobody).
import type { Role, Scope } from '../api/types.js';
import { approverProblem, isSameUser } from '../requests/approvers.js';
import { DECISION_ACTIONS, FINAL_PHASES, maxDurationMs, parseDuration, type RequestDecision, type RequestPhase } from '../requests/types.js';
import { isRecord, jsonEqual, privileged, readObject, checkFields, type Env } from './common.js';
import type { PatchOp } from './types.js';

const SPEC_FIELDS = { role: 'string', scope: 'object', duration: 'string', reason: 'string', requester: 'string', decisions: 'object[]' } as const;
const IMMUTABLE = ['role', 'scope', 'duration', 'reason', 'requester'] as const;

interface Read {
  name: string;
  spec: Record<string, unknown>;
  decisions: RequestDecision[];
  phase: RequestPhase | undefined;
}

function read(env: Env, obj: unknown, which: 'object' | 'oldObject'): Read | undefined {
  const r = readObject(env.f, obj, which, true);
  if (!r || !checkFields(env.f, r.spec, 'spec', SPEC_FIELDS)) return undefined;
  const decisions = (r.spec['decisions'] ?? []) as RequestDecision[];
  for (const [i, d] of decisions.entries()) {
    if (!(DECISION_ACTIONS as readonly string[]).includes(String(d.action))) {
      env.f.deny(`spec.decisions[${i}].action`, 'malformed-object', `must be one of ${DECISION_ACTIONS.join(', ')}`);
      return undefined;
    }
  }
  const status = isRecord(obj) ? obj['status'] : undefined;
  const phase = isRecord(status) && typeof status['phase'] === 'string' ? (status['phase'] as RequestPhase) : undefined;
  return { name: r.metadata.name, spec: r.spec, decisions, phase };
}

function scopeProblem(scope: unknown): string | undefined {
  if (!isRecord(scope)) return 'must be an object';
  const set = (['cluster', 'teams', 'namespaces'] as const).filter((k) => scope[k] !== undefined);
  if (set.length !== 1) return 'must set exactly one of cluster, teams, namespaces';
  if (scope['cluster'] !== undefined && scope['cluster'] !== true) return 'cluster must be true when set';
  for (const k of ['teams', 'namespaces'] as const) {
    const v = scope[k];
    if (v !== undefined && (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && x.length > 0))) return `${k} must be a non-empty list of names`;
  }
  return undefined;
}

/** The requestable Role, or a denial on spec.role. */
function requestableRole(env: Env, name: unknown): Role | undefined {
  const role = typeof name === 'string' ? env.view.role(name) : undefined;
  if (!role) {
    env.f.deny('spec.role', 'request-not-requestable', `Role ${String(name)} does not exist`);
    return undefined;
  }
  if (!role.spec.requestable) {
    env.f.deny('spec.role', 'request-not-requestable', `Role ${role.metadata.name} is not requestable (its spec.requestable is unset); ask an administrator for a RoleBinding instead`);
    return undefined;
  }
  return role;
}

function validateCreate(env: Env): void {
  const { f, who, input } = env;
  const obj = read(env, input.object, 'object');
  if (!obj) return;
  if (!privileged(env) && who.user?.spec.state !== 'Active') {
    f.deny('', 'request-requester', `only Active users may ask for access; ${who.label} ${who.user ? `is ${who.user.spec.state}` : 'has no User'}`);
  }
  // The mutation stamps it when unset; a value in the body that is someone else is refused.
  if (obj.spec['requester'] !== input.requester.user) {
    f.deny('spec.requester', 'request-requester', `must be the creating user ${input.requester.user} (set by Gatehouse; leave it out); got ${JSON.stringify(obj.spec['requester'])}`);
  }
  if (obj.decisions.length > 0) f.deny('spec.decisions', 'request-decision', 'must be empty when the request is made; approvers add decisions');
  const sp = scopeProblem(obj.spec['scope']);
  if (sp) f.deny('spec.scope', 'one-scope', sp);
  if (typeof obj.spec['reason'] !== 'string' || obj.spec['reason'].trim() === '') f.deny('spec.reason', 'invalid-field', 'must say why (a non-empty reason)');
  const role = requestableRole(env, obj.spec['role']);
  const ms = parseDuration(obj.spec['duration']);
  if (ms === undefined) {
    f.deny('spec.duration', 'request-duration', `must be a duration like 30m, 4h or 1d, got ${JSON.stringify(obj.spec['duration'])}`);
  } else if (role?.spec.requestable && ms > maxDurationMs(role.spec.requestable)) {
    f.deny('spec.duration', 'request-duration', `${String(obj.spec['duration'])} is longer than role ${role.metadata.name}'s maxDuration ${role.spec.requestable.maxDuration ?? '8h'}`);
  }
}

function validateUpdate(env: Env): void {
  const { f, input, view } = env;
  const obj = read(env, input.object, 'object');
  const old = read(env, input.oldObject, 'oldObject');
  if (!obj || !old) return;
  for (const k of IMMUTABLE) {
    if (!jsonEqual(obj.spec[k], old.spec[k])) f.deny(`spec.${k}`, 'request-immutable', 'cannot change once the request is made; make a new request');
  }
  const prefixKept = old.decisions.every((d, i) => jsonEqual(d, obj.decisions[i]));
  const added = obj.decisions.length - old.decisions.length;
  if (!prefixKept || added < 0 || added > 1) {
    f.deny('spec.decisions', 'request-decision', 'decisions are appended one at a time; earlier ones never change');
    return;
  }
  const requester = String(old.spec['requester'] ?? '');
  const isRequester = isSameUser(view, input.requester, requester);
  if (added === 0) {
    // Labels and annotations: the requester's or an administrator's business only.
    if (!isRequester && !privileged(env)) f.deny('', 'request-decision', `only the requester ${requester} changes a request other than by a decision`);
    return;
  }
  const i = obj.decisions.length - 1;
  const d = obj.decisions[i]!;
  if (d.by !== input.requester.user) {
    f.deny(`spec.decisions[${i}].by`, 'request-decision', `must be the writer ${input.requester.user} (set by Gatehouse)`);
  }
  const phase = old.phase ?? 'Pending';
  if (FINAL_PHASES.has(phase)) {
    f.deny(`spec.decisions[${i}]`, 'request-decision', `the request is ${phase}; nothing more can be decided`);
    return;
  }
  const role = env.view.role(String(old.spec['role']));
  const scope = old.spec['scope'] as Scope;
  if (d.action === 'Revoke') {
    if (isRequester || privileged(env)) return;
    const problem = role ? approverProblem(view, input.requester, role, scope) : `Role ${String(old.spec['role'])} no longer exists`;
    if (problem) f.deny(`spec.decisions[${i}]`, 'request-approver', `only the requester or an approver may revoke: ${problem}`);
    return;
  }
  if (phase !== 'Pending') {
    f.deny(`spec.decisions[${i}]`, 'request-decision', `the request is ${phase}; only Revoke is left`);
    return;
  }
  if (isRequester) {
    f.deny(`spec.decisions[${i}]`, 'request-self-approval', `${input.requester.user} may not ${d.action.toLowerCase()} their own request`);
    return;
  }
  if (!role) {
    f.deny('spec.role', 'request-not-requestable', `Role ${String(old.spec['role'])} no longer exists`);
    return;
  }
  const problem = approverProblem(view, input.requester, role, scope);
  if (problem) {
    f.deny(`spec.decisions[${i}]`, 'request-approver', problem);
    return;
  }
  if (d.action === 'Approve') {
    if (old.decisions.some((e) => e.action === 'Approve' && e.by === input.requester.user)) {
      f.deny(`spec.decisions[${i}]`, 'request-decision', `${input.requester.user} already approved this request; another approver must`);
    }
    if (!role.spec.requestable) f.deny('spec.role', 'request-not-requestable', `Role ${role.metadata.name} is no longer requestable`);
    const target = view.userByUsername(requester);
    if (target?.spec.state !== 'Active') {
      f.deny(`spec.decisions[${i}]`, 'request-inactive', `the requester ${requester} is ${target ? target.spec.state : 'gone'}; an approval would grant nothing`);
    }
  }
}

function validateDelete(env: Env): void {
  const old = read(env, env.input.oldObject, 'oldObject');
  if (!old || privileged(env)) return;
  const requester = String(old.spec['requester'] ?? '');
  if (isSameUser(env.view, env.input.requester, requester)) return;
  const role = env.view.role(String(old.spec['role']));
  const problem = role ? approverProblem(env.view, env.input.requester, role, old.spec['scope'] as Scope) : 'its role is gone';
  if (problem) env.f.deny('', 'request-approver', `only the requester or an approver may delete a request: ${problem}`);
}

export function validateAccessRequest(env: Env): void {
  switch (env.input.operation) {
    case 'CREATE':
      return validateCreate(env);
    case 'UPDATE':
      return validateUpdate(env);
    case 'DELETE':
      return validateDelete(env);
    default:
      return;
  }
}

/**
 * The mutation: on create, spec.requester from the creating user when unset; on update, `by` and
 * `at` of an appended decision from the writer and the clock (a value in the body is replaced).
 */
export function mutateAccessRequest(operation: string, object: unknown, oldObject: unknown, user: string, now: number): PatchOp[] {
  if (!isRecord(object) || !isRecord(object['spec'])) return [];
  const spec = object['spec'];
  if (operation === 'CREATE') return spec['requester'] === undefined ? [{ op: 'add', path: '/spec/requester', value: user }] : [];
  if (operation !== 'UPDATE' || !isRecord(oldObject) || !isRecord(oldObject['spec'])) return [];
  const before = Array.isArray(oldObject['spec']['decisions']) ? oldObject['spec']['decisions'].length : 0;
  const after = Array.isArray(spec['decisions']) ? spec['decisions'] : [];
  const out: PatchOp[] = [];
  for (let i = before; i < after.length; i++) {
    if (!isRecord(after[i])) continue;
    out.push({ op: 'add', path: `/spec/decisions/${i}/by`, value: user });
    out.push({ op: 'add', path: `/spec/decisions/${i}/at`, value: new Date(now).toISOString() });
  }
  return out;
}
