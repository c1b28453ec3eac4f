// AdmissionReview (admission.k8s.io v1 and v1beta1) in and out. The validators and mutators are
// pure functions injected here; this adapter makes sure every answer is a well-formed review that
// echoes the request's uid, and that a validator's failure denies (fail closed) rather than lets a
// write through unchecked.
import { ReviewError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { jsonReply, errorReply, clip, type Reply } from './http.js';
import type { WebhookMetrics } from './metrics.js';
import { isObject, optString, readEnvelope, reqString, MAX_GROUPS, MAX_STRING_LENGTH, type Obj } from './fields.js';
import {
  ADMISSION_API_VERSIONS,
  OPERATIONS,
  type AdmissionApiVersion,
  type AdmissionReviewRequest,
  type MutationResult,
  type Operation,
  type PatchOp,
  type ValidationResult,
} from '../admission/types.js';
import type { Requester } from '../authz/types.js';

/** The API server truncates warnings past 256 characters and asks for few of them. */
export const MAX_WARNINGS = 32;
export const MAX_WARNING_LENGTH = 256;
/** Request uids are UUIDs; anything much longer is not from an API server. */
export const MAX_UID_LENGTH = 256;
/** Denial messages end up in kubectl's output; keep them readable. */
export const MAX_MESSAGE_LENGTH = 4096;

export type Validator = (review: AdmissionReviewRequest) => ValidationResult | Promise<ValidationResult>;
export type Mutator = (review: AdmissionReviewRequest) => MutationResult | Promise<MutationResult>;

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason?: string };
  warnings?: string[];
  patchType?: 'JSONPatch';
  patch?: string;
}

/** The envelope and the uid: without these no well-formed answer can be given, so they are a 400. */
export function parseAdmissionEnvelope(body: unknown): { apiVersion: AdmissionApiVersion; uid: string; request: Obj } {
  const { apiVersion, part: request } = readEnvelope(body, 'AdmissionReview', ADMISSION_API_VERSIONS, 'request');
  const uid = request['uid'];
  if (typeof uid !== 'string' || uid === '') throw new ReviewError('request.uid is required');
  if (uid.length > MAX_UID_LENGTH) throw new ReviewError(`request.uid is longer than ${MAX_UID_LENGTH} characters`);
  return { apiVersion, uid, request };
}

/** The rest of the request; a ReviewError here is answered as a denied review with code 400. */
export function parseAdmissionRequest(apiVersion: AdmissionApiVersion, uid: string, request: Obj): AdmissionReviewRequest {
  const kind = request['kind'];
  if (!isObject(kind)) throw new ReviewError('request.kind must be an object');
  const resource = request['resource'];
  if (!isObject(resource)) throw new ReviewError('request.resource must be an object');
  const operation = request['operation'];
  if (typeof operation !== 'string' || !(OPERATIONS as readonly string[]).includes(operation)) {
    throw new ReviewError(`request.operation must be one of ${OPERATIONS.join(', ')}`);
  }
  const userInfo = request['userInfo'];
  if (!isObject(userInfo)) throw new ReviewError('request.userInfo must be an object');
  const groupsRaw = userInfo['groups'];
  let groups: string[] = [];
  if (groupsRaw !== undefined && groupsRaw !== null) {
    if (!Array.isArray(groupsRaw) || groupsRaw.length > MAX_GROUPS
      || !groupsRaw.every((g) => typeof g === 'string' && g.length <= MAX_STRING_LENGTH)) {
      throw new ReviewError(`request.userInfo.groups must be an array of at most ${MAX_GROUPS} strings`);
    }
    groups = groupsRaw as string[];
  }
  const dryRun = request['dryRun'];
  if (dryRun !== undefined && dryRun !== null && typeof dryRun !== 'boolean') throw new ReviewError('request.dryRun must be a boolean');
  const object = request['object'];
  const oldObject = request['oldObject'];
  if (object !== undefined && object !== null && !isObject(object)) throw new ReviewError('request.object must be an object');
  if (oldObject !== undefined && oldObject !== null && !isObject(oldObject)) throw new ReviewError('request.oldObject must be an object');

  const review: AdmissionReviewRequest = {
    apiVersion,
    uid,
    kind: { group: optString(kind, 'group', 'request.kind') ?? '', version: reqString(kind, 'version', 'request.kind'), kind: reqString(kind, 'kind', 'request.kind') },
    resource: { group: optString(resource, 'group', 'request.resource') ?? '', version: reqString(resource, 'version', 'request.resource'), resource: reqString(resource, 'resource', 'request.resource') },
    operation: operation as Operation,
    requester: { user: optString(userInfo, 'username', 'request.userInfo') ?? '', groups },
    dryRun: dryRun === true,
  };
  const userUid = optString(userInfo, 'uid', 'request.userInfo');
  if (userUid) review.requester = { ...review.requester, uid: userUid };
  const subResource = optString(request, 'subResource', 'request');
  if (subResource) review.subResource = subResource;
  const name = optString(request, 'name', 'request');
  if (name) review.name = name;
  const namespace = optString(request, 'namespace', 'request');
  if (namespace) review.namespace = namespace;
  if (isObject(object)) review.object = object;
  if (isObject(oldObject)) review.oldObject = oldObject;
  return review;
}

/** Strings only, printable, bounded in length and number; anything else is dropped. */
export function sanitizeWarnings(warnings: unknown): string[] | undefined {
  if (!Array.isArray(warnings) || warnings.length === 0) return undefined;
  const out: string[] = [];
  for (const w of warnings) {
    if (out.length >= MAX_WARNINGS) break;
    if (typeof w !== 'string') continue;
    // The API server drops warnings with control characters; replace them instead.
    // eslint-disable-next-line no-control-regex
    const clean = w.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
    if (clean === '') continue;
    out.push(clean.length > MAX_WARNING_LENGTH ? `${clean.slice(0, MAX_WARNING_LENGTH - 3)}...` : clean);
  }
  return out.length > 0 ? out : undefined;
}

const PATCH_OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

function checkPatch(patch: unknown): PatchOp[] {
  if (!Array.isArray(patch)) throw new Error('mutator returned a patch that is not an array');
  for (const op of patch) {
    if (!isObject(op) || !PATCH_OPS.has(op['op'] as string) || typeof op['path'] !== 'string') {
      throw new Error('mutator returned a malformed JSONPatch operation');
    }
    if ((op['op'] === 'move' || op['op'] === 'copy') && typeof op['from'] !== 'string') {
      throw new Error('mutator returned a move/copy without from');
    }
  }
  return patch as PatchOp[];
}

export function admissionResponseBody(apiVersion: AdmissionApiVersion, response: AdmissionResponse): string {
  return JSON.stringify({ apiVersion, kind: 'AdmissionReview', response });
}

function denial(uid: string, code: number, message: string, warnings?: string[]): AdmissionResponse {
  const response: AdmissionResponse = {
    uid,
    allowed: false,
    status: { code, message: clip(message, MAX_MESSAGE_LENGTH), reason: code === 400 ? 'BadRequest' : code >= 500 ? 'InternalError' : 'Forbidden' },
  };
  if (warnings) response.warnings = warnings;
  return response;
}

export interface AdmissionHandlerOptions {
  validate: Validator;
  mutate: Mutator;
  logger: Logger;
  metrics?: WebhookMetrics;
  /**
   * Callers whose writes pass without validation (the operator's own service account,
   * system:masters), so a broken configuration or a validator bug can always be repaired.
   */
  breakGlass?: (requester: Requester) => boolean;
  now?: () => number;
}

export interface AdmissionHandlers {
  validate: (body: unknown) => Promise<Reply>;
  mutate: (body: unknown) => Promise<Reply>;
  /** For a body too deep to walk: a denied review echoing the uid when the envelope allows it, else undefined (400). */
  tooDeep: (webhook: 'validate' | 'mutate', parsed: unknown, message: string) => Reply | undefined;
}

export function createAdmissionHandler(options: AdmissionHandlerOptions): AdmissionHandlers {
  const { logger, metrics, breakGlass } = options;
  const now = options.now ?? (() => performance.now());

  async function handle(webhook: 'validate' | 'mutate', body: unknown): Promise<Reply> {
    const started = now();
    let envelope: ReturnType<typeof parseAdmissionEnvelope>;
    try {
      envelope = parseAdmissionEnvelope(body);
    } catch (err) {
      const message = err instanceof ReviewError ? err.message : 'body is not a valid AdmissionReview';
      metrics?.recordAdmission(webhook, 'unknown', 'invalid', (now() - started) / 1000);
      logger.debug({ webhook, err: message }, 'invalid AdmissionReview');
      return errorReply(400, message);
    }
    const { apiVersion, uid } = envelope;
    const answer = (response: AdmissionResponse, operation: string, result: 'allowed' | 'denied' | 'error' | 'invalid'): Reply => {
      metrics?.recordAdmission(webhook, operation, result, (now() - started) / 1000);
      return jsonReply(200, admissionResponseBody(apiVersion, response));
    };

    let review: AdmissionReviewRequest;
    try {
      review = parseAdmissionRequest(apiVersion, uid, envelope.request);
    } catch (err) {
      const message = err instanceof ReviewError ? err.message : 'malformed AdmissionReview request';
      logger.info({ webhook, uid, err: message }, 'admission request invalid');
      return answer(denial(uid, 400, `Gatehouse: malformed AdmissionReview: ${message}`), 'unknown', 'invalid');
    }
    const logBase = (): Record<string, unknown> => ({
      webhook, uid, user: review.requester.user, operation: review.operation,
      resource: review.resource.group ? `${review.resource.group}/${review.resource.resource}` : review.resource.resource,
      name: review.name, namespace: review.namespace,
    });

    let privileged = false;
    try {
      privileged = breakGlass ? breakGlass(review.requester) === true : false;
    } catch {
      privileged = false;
    }

    if (webhook === 'validate') {
      // The policy itself lets break-glass callers through (with warnings for what it would have
      // refused); here they only matter when the validator fails, so a validator bug can be repaired.
      const failed = (): Reply => privileged
        ? answer({ uid, allowed: true, warnings: ['Gatehouse could not validate this request (internal error); let through for a break-glass identity'] }, review.operation, 'error')
        : answer(denial(uid, 500, 'Gatehouse could not validate this request (internal error); denied to be safe'), review.operation, 'error');
      let result: unknown;
      try {
        result = await options.validate(review);
      } catch (err) {
        logger.error({ ...logBase(), err: errorMessage(err) }, 'admission validation failed');
        return failed();
      }
      if (!isObject(result) || typeof result['allowed'] !== 'boolean') {
        logger.error(logBase(), 'admission validator returned no result');
        return failed();
      }
      const warnings = sanitizeWarnings(result['warnings']);
      if (result['allowed'] === true) {
        const response: AdmissionResponse = { uid, allowed: true };
        if (warnings) response.warnings = warnings;
        if (logger.isLevelEnabled('debug')) logger.debug(logBase(), 'admission allowed');
        return answer(response, review.operation, 'allowed');
      }
      const rawCode = result['code'];
      const code = typeof rawCode === 'number' && Number.isInteger(rawCode) && rawCode >= 400 && rawCode < 600 ? rawCode : 403;
      const message = typeof result['message'] === 'string' && result['message'] !== '' ? result['message'] : 'denied by Gatehouse';
      logger.info({ ...logBase(), reason: clip(message, 500) }, 'admission denied');
      return answer(denial(uid, code, message, warnings), review.operation, 'denied');
    }

    let result: unknown;
    try {
      result = await options.mutate(review);
      if (!isObject(result)) throw new Error('mutator returned no result');
      const patch = result['patch'] === undefined ? [] : checkPatch(result['patch']);
      const response: AdmissionResponse = { uid, allowed: true };
      if (patch.length > 0) {
        response.patchType = 'JSONPatch';
        response.patch = Buffer.from(JSON.stringify(patch), 'utf8').toString('base64');
      }
      const warnings = sanitizeWarnings(result['warnings']);
      if (warnings) response.warnings = warnings;
      if (logger.isLevelEnabled('debug')) logger.debug({ ...logBase(), patchOps: patch.length }, 'admission mutated');
      return answer(response, review.operation, 'allowed');
    } catch (err) {
      logger.error({ ...logBase(), err: errorMessage(err) }, 'admission mutation failed');
      // Break-glass callers still get their write through, unmutated, so repairs stay possible.
      if (privileged) return answer({ uid, allowed: true }, review.operation, 'allowed');
      return answer(denial(uid, 500, 'Gatehouse could not process this request (internal error); denied to be safe'), review.operation, 'error');
    }
  }

  return {
    validate: (body) => handle('validate', body),
    mutate: (body) => handle('mutate', body),
    tooDeep(webhook, parsed, message) {
      let envelope: ReturnType<typeof parseAdmissionEnvelope>;
      try {
        // Reads two levels only; the deep part is never touched.
        envelope = parseAdmissionEnvelope(parsed);
      } catch {
        return undefined;
      }
      metrics?.recordAdmission(webhook, 'unknown', 'invalid', 0);
      return jsonReply(200, admissionResponseBody(envelope.apiVersion, denial(envelope.uid, 400, `Gatehouse: malformed AdmissionReview: ${message}`)));
    },
  };
}
