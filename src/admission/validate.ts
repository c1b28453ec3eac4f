// The validating policy: one entry point that routes to the kind's validator after the paths every
// request shares (break-glass, status, not synced). Pure: (input, context) -> result.
import { Findings, isBreakGlass, resolveWho, type Env } from './common.js';
import { validateNamespace } from './namespace.js';
import { NAMESPACE_SUBRESOURCES } from './webhook-config.js';
import { validateRole } from './role.js';
import { validateRoleBinding } from './rolebinding.js';
import { validateTeam } from './team.js';
import type { AdmissionContext, AdmissionInput, AdmissionResult, FieldError } from './types.js';
import { validateUser } from './user.js';
import { validateAccessRequest } from './accessrequest.js';

const VALIDATORS = {
  User: validateUser,
  Role: validateRole,
  Team: validateTeam,
  RoleBinding: validateRoleBinding,
  Namespace: validateNamespace,
  AccessRequest: validateAccessRequest,
} as const;

const isNamespaceSubresource = (sub: string): boolean => (NAMESPACE_SUBRESOURCES as readonly string[]).includes(sub);

function result(f: Findings): AdmissionResult {
  return { allowed: f.errors.length === 0, errors: [...f.errors], warnings: [...f.warnings] };
}

export function validateAdmission(input: AdmissionInput, ctx: AdmissionContext): AdmissionResult {
  const f = new Findings();
  // A Gatehouse object's status is written by the operator through the subresource; the webhook
  // rules do not send it, and decide() delegates no subresource, so RBAC is the gate. A Namespace's
  // `status` and `finalize` carry label changes the API server keeps (issue 32, finding 1): they
  // go through the same rule as the object.
  if (input.subResource && !(input.kind === 'Namespace' && isNamespaceSubresource(input.subResource))) return result(f);
  if (input.operation === 'CONNECT') return result(f);
  const validator = VALIDATORS[input.kind];
  if (!validator) {
    f.deny('', 'malformed-object', `Gatehouse does not validate kind ${String(input.kind)}`);
    return result(f);
  }
  const breakGlass = isBreakGlass(ctx, input.requester);
  const view = ctx.view();
  if (!view) {
    if (breakGlass) return { allowed: true, errors: [], warnings: ['Gatehouse has not synced its index yet; admitted through break-glass without checks'] };
    f.deny('', 'not-synced', 'Gatehouse is starting and has not read its users, roles, teams and bindings yet; retry in a few seconds');
    return result(f);
  }
  const who = resolveWho(ctx, view, input.requester);
  // Break-glass passes the privilege rules outright; semantic, lockout and seed findings still
  // surface, as warnings (below).
  if (breakGlass) who.trusted = true;
  const env: Env = { ctx, view, who, input, f };
  try {
    validator(env);
  } catch (err) {
    // A bug or an index that cannot answer must not admit anything (fail closed).
    if (!breakGlass) {
      f.deny('', 'malformed-object', `Gatehouse could not check this request: ${err instanceof Error ? err.message : String(err)}`);
      return result(f);
    }
  }
  if (breakGlass && f.errors.length > 0) {
    // The operator and system:masters repair broken configurations: what would deny others is a warning.
    return {
      allowed: true,
      errors: [],
      warnings: [...f.warnings, ...f.errors.map((e) => `break-glass: would be denied for others: ${renderError(e)}`)],
    };
  }
  return result(f);
}

export function renderError(e: FieldError): string {
  return `${e.path ? `${e.path}: ` : ''}${e.message} (rule: ${e.rule})`;
}

/**
 * The denial as a person reads it in kubectl's output, e.g.
 * `Gatehouse denied: spec.superuser: only superusers may set superuser (rule: superuser-only)`.
 */
export function toMessage(res: AdmissionResult): string {
  if (res.allowed || res.errors.length === 0) return '';
  return `Gatehouse denied: ${res.errors.map(renderError).join('; ')}`;
}
