// From the decoded AdmissionReview request (src/webhook/admission.ts decodes v1 and v1beta1 once)
// to the policy's normalised input, and the two functions the webhook adapter injects.
import { GROUP, KINDS } from '../api/types.js';
import { isBreakGlass, isRecord, isUnmanaged } from './common.js';
import { mutateAdmission } from './mutate.js';
import type { AdmissionContext, AdmissionInput, AdmissionKind, AdmissionReviewRequest, MutationResult, ValidationResult } from './types.js';
import { toMessage, validateAdmission } from './validate.js';
import { isAccessReview, markReviewAsker } from './review-asker.js';
import { REQUEST_KIND } from '../requests/types.js';

/** The normalised input, or a problem when the request is not one Gatehouse can judge. */
export function toAdmissionInput(request: AdmissionReviewRequest): AdmissionInput | { problem: string } {
  const group = request.kind.group;
  const kindName = request.kind.kind;
  let kind: AdmissionKind;
  if (group === GROUP && (KINDS as readonly string[]).includes(kindName)) kind = kindName as AdmissionKind;
  else if (group === '' && kindName === 'Namespace') kind = 'Namespace';
  else if (group === GROUP && kindName === REQUEST_KIND) kind = 'AccessRequest';
  else return { problem: `Gatehouse has no admission rules for ${group ? `${group}/` : ''}${kindName}; check the webhook configuration's rules` };
  const object = request.object ?? null;
  const oldObject = request.oldObject ?? null;
  const objName = (o: unknown): string | undefined => (isRecord(o) && isRecord(o['metadata']) && typeof o['metadata']['name'] === 'string' ? o['metadata']['name'] : undefined);
  const input: AdmissionInput = {
    operation: request.operation,
    kind,
    name: request.name || (objName(object) ?? objName(oldObject) ?? ''),
    object,
    oldObject,
    requester: request.requester,
    dryRun: request.dryRun,
  };
  if (request.subResource) input.subResource = request.subResource;
  return input;
}

/** Whether an asker may read the whole policy anyway (break-glass, RBAC-left identities, Active superusers). */
function askerSeesAll(ctx: AdmissionContext, requester: AdmissionReviewRequest['requester']): boolean {
  if (isBreakGlass(ctx, requester) || isUnmanaged(ctx, requester)) return true;
  const view = ctx.view();
  // Before the index synced, mark: the safe side.
  return view !== undefined && view !== null && view.isSuperuser(requester);
}

export interface AdmissionPolicy {
  validate(review: AdmissionReviewRequest): ValidationResult;
  mutate(review: AdmissionReviewRequest): MutationResult;
}

/** The validate/mutate pair for the webhook adapter; never throws. */
export function createAdmissionPolicy(ctx: AdmissionContext): AdmissionPolicy {
  return {
    validate(review) {
      // Access reviews are sent for the mutation only (review-asker.ts); nothing to refuse.
      if (isAccessReview(review)) return { allowed: true };
      const input = toAdmissionInput(review);
      if ('problem' in input) return { allowed: false, message: `Gatehouse denied: ${input.problem} (rule: malformed-object)` };
      const res = validateAdmission(input, ctx);
      const answer: ValidationResult = { allowed: res.allowed };
      if (!res.allowed) answer.message = toMessage(res);
      if (res.warnings.length > 0) answer.warnings = res.warnings;
      return answer;
    },
    mutate(review) {
      if (isAccessReview(review)) return markReviewAsker(review, askerSeesAll(ctx, review.requester));
      const input = toAdmissionInput(review);
      if ('problem' in input) return {};
      try {
        const res = mutateAdmission(input, ctx);
        return { ...(res.patch.length > 0 ? { patch: res.patch } : {}), ...(res.warnings.length > 0 ? { warnings: res.warnings } : {}) };
      } catch {
        // Mutation fails open (validation still enforces).
        return {};
      }
    },
  };
}
