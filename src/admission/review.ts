// From an AdmissionReview's request (v1 or v1beta1, same shape) to the policy's normalised input,
// and the two functions the webhook adapter (src/webhook/) injects.
import { GROUP, KINDS } from '../api/types.js';
import { isRecord } from './common.js';
import { mutateAdmission } from './mutate.js';
import type { AdmissionContext, AdmissionInput, AdmissionKind, MutationResult, Operation } from './types.js';
import { toMessage, validateAdmission } from './validate.js';

const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** The normalised input, or a problem when the request is not one Gatehouse can judge. */
export function toAdmissionInput(request: unknown): AdmissionInput | { problem: string } {
  if (!isRecord(request)) return { problem: 'request is missing' };
  const operation = request['operation'];
  if (typeof operation !== 'string' || !(OPERATIONS as readonly string[]).includes(operation)) {
    return { problem: `request.operation must be one of ${OPERATIONS.join(', ')}` };
  }
  const kindRef = request['kind'];
  if (!isRecord(kindRef) || typeof kindRef['kind'] !== 'string') return { problem: 'request.kind.kind is missing' };
  const group = typeof kindRef['group'] === 'string' ? kindRef['group'] : '';
  let kind: AdmissionKind;
  if (group === GROUP && (KINDS as readonly string[]).includes(kindRef['kind'])) kind = kindRef['kind'] as AdmissionKind;
  else if (group === '' && kindRef['kind'] === 'Namespace') kind = 'Namespace';
  else return { problem: `Gatehouse has no admission rules for ${group ? `${group}/` : ''}${kindRef['kind']}; check the webhook configuration's rules` };
  const userInfo = isRecord(request['userInfo']) ? request['userInfo'] : {};
  const username = typeof userInfo['username'] === 'string' ? userInfo['username'] : '';
  const groups = Array.isArray(userInfo['groups']) ? userInfo['groups'].filter((g): g is string => typeof g === 'string') : [];
  const object = request['object'] ?? null;
  const oldObject = request['oldObject'] ?? null;
  const objName = (o: unknown): string | undefined => (isRecord(o) && isRecord(o['metadata']) && typeof o['metadata']['name'] === 'string' ? o['metadata']['name'] : undefined);
  const name = typeof request['name'] === 'string' && request['name'] !== '' ? request['name'] : objName(object) ?? objName(oldObject) ?? '';
  const input: AdmissionInput = {
    operation: operation as Operation,
    kind,
    name,
    object,
    oldObject,
    requester: { user: username, groups, ...(typeof userInfo['uid'] === 'string' ? { uid: userInfo['uid'] } : {}) },
    dryRun: request['dryRun'] === true,
  };
  if (typeof request['subResource'] === 'string' && request['subResource'] !== '') input.subResource = request['subResource'];
  return input;
}

export interface ValidateAnswer {
  allowed: boolean;
  message?: string;
  warnings?: string[];
}

export interface MutateAnswer {
  patch?: MutationResult['patch'];
  warnings?: string[];
}

export interface AdmissionPolicy {
  /** Takes an AdmissionReview (or its `request`); answers for AdmissionResponse. */
  validate(review: unknown): ValidateAnswer;
  mutate(review: unknown): MutateAnswer;
}

function requestOf(review: unknown): unknown {
  return isRecord(review) && isRecord(review['request']) ? review['request'] : review;
}

/** The validate/mutate pair for the webhook adapter; never throws. */
export function createAdmissionPolicy(ctx: AdmissionContext): AdmissionPolicy {
  return {
    validate(review) {
      const input = toAdmissionInput(requestOf(review));
      if ('problem' in input) return { allowed: false, message: `Gatehouse denied: ${input.problem} (rule: malformed-object)` };
      const res = validateAdmission(input, ctx);
      const answer: ValidateAnswer = { allowed: res.allowed };
      if (!res.allowed) answer.message = toMessage(res);
      if (res.warnings.length > 0) answer.warnings = res.warnings;
      return answer;
    },
    mutate(review) {
      const input = toAdmissionInput(requestOf(review));
      if ('problem' in input) return {};
      try {
        const res = mutateAdmission(input, ctx);
        const answer: MutateAnswer = {};
        if (res.patch.length > 0) answer.patch = res.patch;
        if (res.warnings.length > 0) answer.warnings = res.warnings;
        return answer;
      } catch {
        // Mutation fails open (validation still enforces).
        return {};
      }
    },
  };
}
