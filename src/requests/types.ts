// AccessRequest (iam.gatehouse.dev/v1alpha1, cluster-scoped, short name ghar): a user asks for a
// requestable Role in a scope for a while; approvers decide. crds/accessrequests.yaml is the
// contract. Not one of api/types.ts KINDS on purpose: it is not part of the permission index, and
// the four kinds' tables (client, status, RBAC compiler) stay as they are.
import { GROUP, VERSION, type CommonStatus, type ObjectMeta, type Scope } from '../api/types.js';

export const REQUEST_KIND = 'AccessRequest';
export const REQUEST_PLURAL = 'accessrequests';
export const REQUEST_PATH = `/apis/${GROUP}/${VERSION}/${REQUEST_PLURAL}`;

export const REQUEST_PHASES = ['Pending', 'Approved', 'Denied', 'Expired', 'Revoked', 'Ended'] as const;
export type RequestPhase = (typeof REQUEST_PHASES)[number];
/** Phases after which nothing changes any more. */
export const FINAL_PHASES: ReadonlySet<RequestPhase> = new Set(['Denied', 'Expired', 'Revoked', 'Ended']);

export const DECISION_ACTIONS = ['Approve', 'Deny', 'Revoke'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

/** One decision, appended to spec.decisions by an approver (or the requester, Revoke). */
export interface RequestDecision {
  action: DecisionAction;
  /** Stamped by the mutating admission webhook from the writer's userInfo; validation checks it. */
  by?: string;
  /** Stamped by the mutating admission webhook (RFC 3339). */
  at?: string;
  comment?: string;
}

export interface AccessRequestSpec {
  role: string;
  scope: Scope;
  /** How long the grant lasts once approved: `90s`, `30m`, `4h`, `2d`, `1h30m`. */
  duration: string;
  reason: string;
  /** The creating user's username, stamped by admission; a different value in the body is refused. */
  requester?: string;
  decisions?: RequestDecision[];
}

export interface AccessRequestStatus extends CommonStatus {
  phase?: RequestPhase;
  /** Who decided the phase (the last deciding actor), when and their comment. */
  decidedBy?: string;
  decidedAt?: string;
  comment?: string;
  approvals?: number;
  approvalsRequired?: number;
  /** The RoleBinding the approval made. */
  roleBinding?: string;
  expiresAt?: string;
  message?: string;
}

export interface AccessRequestObject {
  apiVersion?: string;
  kind?: 'AccessRequest';
  metadata: ObjectMeta & { ownerReferences?: unknown[] };
  spec: AccessRequestSpec;
  status?: AccessRequestStatus;
}

export type { RoleRequestable as Requestable } from '../api/types.js';
import type { RoleRequestable as Requestable } from '../api/types.js';

export const DEFAULT_MAX_DURATION = '8h';
const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
const DURATION = /^(?:\d{1,6}[dhms])+$/;

/** `1h30m` -> ms, or undefined when it is not a duration of this form or is zero. */
export function parseDuration(text: unknown): number | undefined {
  if (typeof text !== 'string' || !DURATION.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/(\d+)([dhms])/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms > 0 ? ms : undefined;
}

export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(ms / 1000));
  for (const [u, s] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= s) {
      parts.push(`${Math.floor(rest / s)}${u}`);
      rest %= s;
    }
  }
  return parts.join('') || '0s';
}

/** The role's maxDuration in ms (the default when unset or unreadable). */
export function maxDurationMs(r: Requestable): number {
  return parseDuration(r.maxDuration) ?? parseDuration(DEFAULT_MAX_DURATION)!;
}

export function approvalsRequired(r: Requestable): number {
  return typeof r.approvals === 'number' && Number.isInteger(r.approvals) && r.approvals >= 1 ? r.approvals : 1;
}

/** The one-line scope a CLI flag would give: `--team a`, `--namespace x`, `--cluster`. */
export function scopeFlags(scope: Scope): string {
  if (scope.cluster) return '--cluster';
  if (scope.teams) return scope.teams.map((t) => `--team ${t}`).join(' ');
  return (scope.namespaces ?? []).map((n) => `--namespace ${n}`).join(' ');
}

/** The name of the RoleBinding an approved request makes (RoleBinding names allow 253 characters). */
export function grantBindingName(requestName: string): string {
  return `request-${requestName}`.slice(0, 253);
}
