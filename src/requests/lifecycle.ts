// The life of an AccessRequest as a pure function: from the request, its role, its requester's
// User and whether its RoleBinding exists, to the status it should have and what to do about the
// grant. The controller (controller.ts) only reads, calls this and writes.
import type { Role, User } from '../api/types.js';
import { approvalsRequired, FINAL_PHASES, grantBindingName as grantName, maxDurationMs, parseDuration, type AccessRequestObject, type AccessRequestStatus, type RequestDecision, type RequestPhase } from './types.js';

export interface LifecycleInput {
  request: AccessRequestObject;
  role: Role | undefined;
  /** The requester's User (by username), undefined when there is none. */
  requester: User | undefined;
  bindingExists: boolean;
  now: number;
  pendingTTLms: number;
}

export interface LifecyclePlan {
  status: AccessRequestStatus;
  /** Create the RoleBinding (until status.expiresAt). */
  createBinding: boolean;
  deleteBinding: boolean;
  /** The phase changed: record Events and notify. */
  changed: boolean;
  /** Who made the change (a username, or `gatehouse` for the clock and the requester's state). */
  actor: string;
}

function distinctApprovers(decisions: readonly RequestDecision[]): RequestDecision[] {
  const seen = new Set<string>();
  const out: RequestDecision[] = [];
  for (const d of decisions) {
    if (d.action !== 'Approve' || d.by === undefined || seen.has(d.by)) continue;
    seen.add(d.by);
    out.push(d);
  }
  return out;
}

export function planRequest(input: LifecycleInput): LifecyclePlan {
  const { request, role, requester, bindingExists, now } = input;
  const prev: AccessRequestStatus = request.status ?? {};
  const prevPhase: RequestPhase = prev.phase ?? 'Pending';
  const decisions = request.spec.decisions ?? [];
  const required = role?.spec.requestable ? approvalsRequired(role.spec.requestable) : 1;
  const approvals = distinctApprovers(decisions);
  const base: AccessRequestStatus = { ...prev, phase: prevPhase, approvals: approvals.length, approvalsRequired: required };
  if (request.metadata.generation !== undefined) base.observedGeneration = request.metadata.generation;
  const keep = (extra: Partial<LifecyclePlan> = {}): LifecyclePlan => ({ status: base, createBinding: false, deleteBinding: false, changed: false, actor: 'gatehouse', ...extra });
  const move = (phase: RequestPhase, actor: string, message: string, d?: RequestDecision): LifecyclePlan => {
    const status: AccessRequestStatus = { ...base, phase, message, decidedBy: actor, decidedAt: d?.at ?? new Date(now).toISOString() };
    if (d?.comment !== undefined) status.comment = d.comment;
    else delete status.comment;
    return { status, createBinding: false, deleteBinding: bindingExists, changed: true, actor };
  };

  if (FINAL_PHASES.has(prevPhase)) return keep({ deleteBinding: bindingExists });
  const revoke = decisions.find((d) => d.action === 'Revoke');
  if (revoke) return move('Revoked', revoke.by ?? 'unknown', `revoked by ${revoke.by ?? 'unknown'}${revoke.comment ? `: ${revoke.comment}` : ''}`, revoke);
  const who = request.spec.requester ?? '?';
  if (requester?.spec.state !== 'Active') {
    const state = requester ? requester.spec.state : 'gone';
    if (prevPhase === 'Approved') return move('Ended', 'gatehouse', `the requester ${who} is ${state}; the grant ended at once`);
    // Pending: nothing is granted to an inactive user, and admission refuses approvals meanwhile;
    // the request waits (a reactivated user's request may still be approved) or expires.
    const created = request.metadata.creationTimestamp ? Date.parse(request.metadata.creationTimestamp) : now;
    if (now - created >= input.pendingTTLms) return move('Expired', 'gatehouse', `nobody decided within ${Math.round(input.pendingTTLms / 1000)}s`);
    const message = `the requester ${who} is ${state}; it cannot be approved until they are Active`;
    return prev.message === message ? keep() : { ...keep(), status: { ...base, message } };
  }
  const deny = decisions.find((d) => d.action === 'Deny');
  if (deny && prevPhase === 'Pending') return move('Denied', deny.by ?? 'unknown', `denied by ${deny.by ?? 'unknown'}${deny.comment ? `: ${deny.comment}` : ''}`, deny);

  if (prevPhase === 'Approved') {
    const end = prev.expiresAt ? Date.parse(prev.expiresAt) : NaN;
    if (!(now < end)) return move('Ended', 'gatehouse', `the grant ended at ${prev.expiresAt ?? '?'} (its duration passed)`);
    if (!bindingExists) return move('Ended', 'gatehouse', `RoleBinding ${prev.roleBinding ?? '?'} was deleted; the grant ended`);
    return keep();
  }
  // Pending.
  if (!role?.spec.requestable) return move('Denied', 'gatehouse', `Role ${request.spec.role} is no longer requestable`);
  if (approvals.length >= required) {
    const last = approvals[approvals.length - 1]!;
    const ms = Math.min(parseDuration(request.spec.duration) ?? 0, maxDurationMs(role.spec.requestable));
    const expiresAt = new Date(now + ms).toISOString();
    const plan = move('Approved', last.by ?? 'unknown', `approved by ${approvals.map((a) => a.by).join(', ')}; role ${request.spec.role} granted until ${expiresAt}`, last);
    plan.status.expiresAt = expiresAt;
    plan.status.roleBinding = grantName(request.metadata.name);
    plan.createBinding = true;
    plan.deleteBinding = false;
    return plan;
  }
  const created = request.metadata.creationTimestamp ? Date.parse(request.metadata.creationTimestamp) : now;
  if (now - created >= input.pendingTTLms) return move('Expired', 'gatehouse', `nobody decided within ${Math.round(input.pendingTTLms / 1000)}s`);
  if (prev.phase === undefined) return { ...keep(), status: { ...base, message: `waiting for ${required} approval${required > 1 ? 's' : ''}` }, changed: true, actor: who };
  return keep();
}
