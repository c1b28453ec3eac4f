// SubjectAccessReview (authorization.k8s.io v1 and v1beta1) to AccessRequest and back.
// The parser is strict about what it reads (envelope, types, sizes, exactly one attribute block)
// and ignores fields it does not know, so a newer API server's additions (fieldSelector,
// labelSelector, ...) do not turn every answer into an error. Of `extra` (it can carry credentials)
// only two of Gatehouse's own keys are read: a token id, and who created the review.
import { ReviewError, errorMessage } from '../errors.js';
import type { AccessRequest, Decision, ResourceAttributes } from '../authz/types.js';
import type { Logger } from '../log.js';
import { jsonReply, errorReply, type Reply } from './http.js';
import { isObject, optString, readEnvelope, reqString, stringArray, MAX_GROUPS, MAX_STRING_LENGTH } from './fields.js';
import type { WebhookMetrics } from './metrics.js';
import { ASKED_BY_EXTRA } from '../admission/review-asker.js';

export { MAX_GROUPS, MAX_STRING_LENGTH };

export const SAR_API_VERSIONS = ['authorization.k8s.io/v1', 'authorization.k8s.io/v1beta1'] as const;
export type SarApiVersion = (typeof SAR_API_VERSIONS)[number];

export interface ParsedSar {
  apiVersion: SarApiVersion;
  request: AccessRequest;
  /**
   * Who created the review, when it was created through the API (admission's mark,
   * src/admission/review-asker.ts); absent for the API server's own questions about a request.
   */
  askedBy?: string;
}

/** Parses a SubjectAccessReview body; throws ReviewError (400) with a message for anything else. */
export function parseSubjectAccessReview(body: unknown): ParsedSar {
  const { apiVersion, part: spec } = readEnvelope(body, 'SubjectAccessReview', SAR_API_VERSIONS, 'spec');

  const user = optString(spec, 'user', 'spec') ?? '';
  // v1beta1 named the field `group`; v1 renamed it `groups`.
  const groupsKey = apiVersion === 'authorization.k8s.io/v1' ? 'groups' : 'group';
  const groups = stringArray(spec, groupsKey, 'spec');
  if (user === '' && groups.length === 0) throw new ReviewError(`spec.user or spec.${groupsKey} is required`);
  const uid = optString(spec, 'uid', 'spec');

  const ra = spec['resourceAttributes'];
  const nra = spec['nonResourceAttributes'];
  const hasRa = ra !== undefined && ra !== null;
  const hasNra = nra !== undefined && nra !== null;
  if (hasRa === hasNra) {
    throw new ReviewError('exactly one of spec.resourceAttributes and spec.nonResourceAttributes must be set');
  }
  const request: AccessRequest = uid === undefined || uid === '' ? { user, groups } : { user, groups, uid };
  // Of `extra`, only the one key Gatehouse's own TokenReview sets (a token id, not a credential).
  const credentialId = credentialIdFrom(spec['extra']);
  if (credentialId !== undefined) request.credentialId = credentialId;
  const askedBy = askedByFrom(spec['extra']);
  if (hasRa) {
    if (!isObject(ra)) throw new ReviewError('spec.resourceAttributes must be an object');
    const where = 'spec.resourceAttributes';
    const resource: ResourceAttributes = {
      verb: reqString(ra, 'verb', where),
      group: optString(ra, 'group', where) ?? '',
      resource: optString(ra, 'resource', where) ?? '',
    };
    const namespace = optString(ra, 'namespace', where);
    if (namespace) resource.namespace = namespace;
    const version = optString(ra, 'version', where);
    if (version) resource.version = version;
    const subresource = optString(ra, 'subresource', where);
    if (subresource) resource.subresource = subresource;
    const name = optString(ra, 'name', where);
    if (name) resource.name = name;
    request.resource = resource;
  } else {
    if (!isObject(nra)) throw new ReviewError('spec.nonResourceAttributes must be an object');
    const where = 'spec.nonResourceAttributes';
    request.nonResource = { path: reqString(nra, 'path', where), verb: reqString(nra, 'verb', where) };
  }
  return askedBy === undefined ? { apiVersion, request } : { apiVersion, request, askedBy };
}

/** The asker admission wrote (one string); anything else counts as an asker that is nobody. */
function askedByFrom(extra: unknown): string | undefined {
  if (!isObject(extra) || !(ASKED_BY_EXTRA in extra)) return undefined;
  const v = extra[ASKED_BY_EXTRA];
  return Array.isArray(v) && v.length === 1 && typeof v[0] === 'string' ? v[0] : '';
}

/**
 * Whether a review is about someone other than who created it (issue 32, finding 10): then its
 * answer carries the verdict only (verdictOnly()), never that user's state, superuser or seed
 * status, which binding grants, or whether a User exists.
 */
export function isAboutAnother(parsed: ParsedSar): boolean {
  return parsed.askedBy !== undefined && parsed.askedBy !== parsed.request.user;
}

const ABOUT_ANOTHER = 'the reason concerns another user; kubectl gatehouse explain shows it to those who may read the policy';

/** The reason for a review about someone else: what the verdict says, nothing more. */
export function verdictOnly(status: SarStatus): SarStatus {
  if (status.evaluationError !== undefined) return status;
  const what = status.allowed ? 'allowed' : status.denied === true ? 'denied' : 'no opinion';
  return { ...status, reason: `Gatehouse: ${what} (${ABOUT_ANOTHER})` };
}

/** The extra key carrying a Gatehouse token id (src/credentials/tokenreview.ts sets it). */
export const CREDENTIAL_EXTRA = 'iam.gatehouse.dev/token-id';

function credentialIdFrom(extra: unknown): string | undefined {
  if (!isObject(extra)) return undefined;
  const v = extra[CREDENTIAL_EXTRA];
  // Anything but exactly one short string is not Gatehouse's and is ignored.
  return Array.isArray(v) && v.length === 1 && typeof v[0] === 'string' && v[0].length <= 64 ? v[0] : undefined;
}

export interface SarStatus {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

/** The answer, in the same apiVersion the API server asked in. */
export function sarResponseBody(apiVersion: SarApiVersion, status: SarStatus): string {
  return `{"apiVersion":"${apiVersion}","kind":"SubjectAccessReview","status":${JSON.stringify(status)}}`;
}

/** decide()'s three verdicts in SubjectAccessReview terms; `denied` only for an explicit deny. */
export function decisionStatus(decision: Decision): SarStatus {
  switch (decision.verdict) {
    case 'allow':
      return { allowed: true, reason: decision.reason };
    case 'deny':
      return { allowed: false, denied: true, reason: decision.reason };
    default:
      return { allowed: false, reason: decision.reason };
  }
}

/** How a request reads in one log field: `group/resource/subresource` or the URL path. */
export function logTarget(req: AccessRequest): string {
  if (req.resource) {
    const r = req.resource;
    const base = r.group ? `${r.group}/${r.resource}` : r.resource;
    return r.subresource ? `${base}/${r.subresource}` : base;
  }
  return req.nonResource?.path ?? '';
}

export const NOT_SYNCED_REASON = 'Gatehouse index not synced yet';
const EVALUATION_ERROR = 'Gatehouse could not evaluate this request (internal error); no opinion';

export interface AuthorizeHandlerOptions {
  authorize: (req: AccessRequest) => Decision;
  isReady: () => boolean;
  logger: Logger;
  metrics?: WebhookMetrics;
  /** Called for every answer with code unknownUser (registration `auto`); must not throw. */
  onUnknownUser?: (req: AccessRequest) => void;
  /** Monotonic milliseconds, for the latency histogram. */
  now?: () => number;
}

const VERDICTS = new Set(['allow', 'deny', 'noOpinion']);

function isDecision(d: unknown): d is Decision {
  return isObject(d) && VERDICTS.has(d['verdict'] as string) && typeof d['code'] === 'string' && typeof d['reason'] === 'string';
}

/** The /authorize route's handler: parsed JSON body in, SubjectAccessReview answer out. */
export function createAuthorizeHandler(options: AuthorizeHandlerOptions): (body: unknown) => Reply {
  const { authorize, isReady, logger, metrics, onUnknownUser } = options;
  const now = options.now ?? (() => performance.now());

  return (body: unknown): Reply => {
    const started = now();
    let parsed: ParsedSar;
    try {
      parsed = parseSubjectAccessReview(body);
    } catch (err) {
      const message = err instanceof ReviewError ? err.message : 'body is not a valid SubjectAccessReview';
      metrics?.recordDecision('error', 'invalid', (now() - started) / 1000);
      logger.debug({ err: message }, 'invalid SubjectAccessReview');
      return errorReply(400, message);
    }
    const { apiVersion, request } = parsed;

    if (!isReady()) {
      metrics?.recordDecision('noOpinion', 'notSynced', (now() - started) / 1000);
      return jsonReply(200, sarResponseBody(apiVersion, { allowed: false, reason: NOT_SYNCED_REASON }));
    }

    let decision: unknown;
    try {
      decision = authorize(request);
    } catch (err) {
      decision = err instanceof Error ? err : new Error(errorMessage(err));
    }
    if (!isDecision(decision)) {
      metrics?.recordDecision('error', 'evaluationError', (now() - started) / 1000);
      logger.error({ user: request.user, verb: request.resource?.verb ?? request.nonResource?.verb, resource: logTarget(request),
        namespace: request.resource?.namespace, err: decision instanceof Error ? decision.message : 'authorize returned no decision' },
      'authorization evaluation failed');
      return jsonReply(200, sarResponseBody(apiVersion, { allowed: false, evaluationError: EVALUATION_ERROR }));
    }

    metrics?.recordDecision(decision.verdict, decision.code, (now() - started) / 1000);
    if (decision.verdict === 'deny') {
      logger.info(logFields(request, decision), 'authorization denied');
    } else if (logger.isLevelEnabled('debug')) {
      logger.debug(logFields(request, decision), decision.verdict === 'allow' ? 'authorization allowed' : 'authorization no opinion');
    }
    const aboutAnother = isAboutAnother(parsed);
    // A review about someone without a User registers no one (registration auto): the asker is not them.
    if (decision.code === 'unknownUser' && onUnknownUser && !aboutAnother) {
      try {
        onUnknownUser(request);
      } catch (err) {
        logger.warn({ user: request.user, err: errorMessage(err) }, 'unknown-user hook failed');
      }
    }
    const status = decisionStatus(decision);
    return jsonReply(200, sarResponseBody(apiVersion, aboutAnother ? verdictOnly(status) : status));
  };
}

function logFields(request: AccessRequest, decision: Decision): Record<string, unknown> {
  // Built only for lines that are written; `extra` was never read, so it cannot appear.
  return {
    user: request.user,
    uid: request.uid,
    verb: request.resource?.verb ?? request.nonResource?.verb,
    resource: logTarget(request),
    name: request.resource?.name,
    namespace: request.resource?.namespace,
    decision: decision.verdict,
    code: decision.code,
    reason: decision.reason,
  };
}
