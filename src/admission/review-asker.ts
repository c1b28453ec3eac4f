// Who asked a SubjectAccessReview (issue 32, finding 10). A LocalSubjectAccessReview or
// SubjectAccessReview created through the API carries only its subject; the authorization webhook
// answering it cannot tell who will read the reason. Admission does know: this mutation writes the
// creator's username into the review's `extra` under ASKED_BY_EXTRA (replacing whatever the
// creator put there), and the authorization webhook (src/webhook/sar.ts) answers a review whose
// asker is not its subject with the verdict only, no facts about that user. Pure.
import type { AdmissionReviewRequest, MutationResult } from './types.js';

/** The `extra` key naming who created a review; the authorization webhook reads it. */
export const ASKED_BY_EXTRA = 'iam.gatehouse.dev/asked-by';

export const REVIEW_GROUP = 'authorization.k8s.io';
/** The reviews someone creates about another identity (self reviews are about the creator). */
export const REVIEW_RESOURCES = ['subjectaccessreviews', 'localsubjectaccessreviews'] as const;
const REVIEW_KINDS: ReadonlySet<string> = new Set(['SubjectAccessReview', 'LocalSubjectAccessReview']);

export function isAccessReview(request: Pick<AdmissionReviewRequest, 'kind'>): boolean {
  return request.kind.group === REVIEW_GROUP && REVIEW_KINDS.has(request.kind.kind);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The patch marking a review with its creator. Written on every create by an asker who may not
 * read everything, so such a creator cannot name someone else (or the subject) as the asker. Not
 * written when `askerSeesAll`: superusers, break-glass and the identities Gatehouse leaves to RBAC
 * (kubelets and aggregated API servers, which ask on behalf of the subject who called them). A
 * review without a spec is left to the API server's validation.
 */
export function markReviewAsker(request: AdmissionReviewRequest, askerSeesAll: boolean): MutationResult {
  if (askerSeesAll || request.operation !== 'CREATE' || !isRecord(request.object)) return {};
  const spec = request.object['spec'];
  if (!isRecord(spec)) return {};
  const extra = isRecord(spec['extra']) ? spec['extra'] : {};
  return { patch: [{ op: 'add', path: '/spec/extra', value: { ...extra, [ASKED_BY_EXTRA]: [request.requester.user] } }] };
}
