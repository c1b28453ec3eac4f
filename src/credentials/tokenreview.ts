// Webhook token authentication: the API server (--authentication-token-webhook-config-file) sends
// a TokenReview with the bearer token a client presented; the answer is the Gatehouse user and
// their teams as groups, or authenticated: false. Any token that is not Gatehouse's (a service
// account's, another authenticator's) is simply not authenticated here.
import { ReviewError } from '../errors.js';
import { jsonReply, errorReply, clip, type Reply } from '../webhook/http.js';
import { isObject, MAX_STRING_LENGTH } from '../webhook/fields.js';
import { CREDENTIAL_EXTRA } from '../webhook/sar.js';
import type { Authenticator, AuthResult } from './authenticate.js';

export const TOKEN_REVIEW_VERSIONS = ['authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1'] as const;
type TokenReviewVersion = (typeof TOKEN_REVIEW_VERSIONS)[number];

export interface ParsedTokenReview {
  apiVersion: TokenReviewVersion;
  token: string;
  audiences: string[];
}

const MAX_AUDIENCES = 32;

export function parseTokenReview(body: unknown): ParsedTokenReview {
  if (!isObject(body)) throw new ReviewError('body must be a TokenReview object');
  const apiVersion = body['apiVersion'];
  if (apiVersion !== TOKEN_REVIEW_VERSIONS[0] && apiVersion !== TOKEN_REVIEW_VERSIONS[1]) {
    throw new ReviewError(`apiVersion must be one of ${TOKEN_REVIEW_VERSIONS.join(', ')}, got ${typeof apiVersion === 'string' ? JSON.stringify(clip(apiVersion, 100)) : typeof apiVersion}`);
  }
  if (body['kind'] !== 'TokenReview') throw new ReviewError('kind must be TokenReview');
  const spec = body['spec'];
  if (!isObject(spec)) throw new ReviewError('spec must be an object');
  const token = spec['token'];
  if (typeof token !== 'string' || token === '') throw new ReviewError('spec.token must be a non-empty string');
  if (token.length > MAX_STRING_LENGTH) throw new ReviewError(`spec.token is longer than ${MAX_STRING_LENGTH} characters`);
  const auds = spec['audiences'];
  let audiences: string[] = [];
  if (auds !== undefined && auds !== null) {
    if (!Array.isArray(auds) || auds.length > MAX_AUDIENCES || !auds.every((a) => typeof a === 'string' && a.length <= 1024)) {
      throw new ReviewError(`spec.audiences must be at most ${MAX_AUDIENCES} strings`);
    }
    audiences = auds as string[];
  }
  return { apiVersion, token, audiences };
}

/**
 * The audiences a Gatehouse token is answered as valid for, or undefined when it is valid for none
 * of those requested. Never the requested list itself: echoing it would make a Gatehouse token
 * pass for any audience-bound consumer (Vault, an aggregated API server) that asks the API server.
 * With none configured the answer names none, which the TokenReview API defines as valid for the
 * API server's own audience only; the API server then checks its own audiences itself.
 */
export function acceptedAudiences(requested: readonly string[], configured: readonly string[]): string[] | undefined {
  if (configured.length === 0) return [];
  if (requested.length === 0) return [...configured];
  const ours = new Set(configured);
  const both = requested.filter((a) => ours.has(a));
  return both.length > 0 ? [...new Set(both)] : undefined;
}

export interface TokenReviewHandlerOptions {
  authenticator: Authenticator;
  /** credentials.audiences. */
  audiences: readonly string[];
  onRejected(result: Extract<AuthResult, { ok: false }>): void;
}

export function createTokenReviewHandler(opts: TokenReviewHandlerOptions): (body: unknown, source?: string) => Reply {
  return (body, source) => {
    let review: ParsedTokenReview;
    try {
      review = parseTokenReview(body);
    } catch (err) {
      if (err instanceof ReviewError) return errorReply(400, err.message);
      throw err;
    }
    const head = { apiVersion: review.apiVersion, kind: 'TokenReview' };
    const audiences = acceptedAudiences(review.audiences, opts.audiences);
    if (audiences === undefined) {
      return jsonReply(200, JSON.stringify({ ...head, status: { authenticated: false, error: 'a Gatehouse token is not valid for the requested audiences' } }));
    }
    // The caller is usually the API server (its failures from every client share one budget), but
    // anyone who reaches the port can send a TokenReview: failures are limited per caller too.
    const result = opts.authenticator.check(review.token, 'usr', source !== undefined ? { source } : {});
    if (!result.ok) {
      // Tokens of other authenticators come here too; only Gatehouse-shaped ones are worth a log line.
      // (A rate-limited answer for a token of another shape is not worth one either.)
      if (result.reason !== 'malformed' && (result.reason !== 'rateLimited' || result.tokenId !== undefined)) opts.onRejected(result);
      const error = result.reason === 'notSynced' ? 'Gatehouse credentials not synced yet' : 'not a valid Gatehouse token';
      return jsonReply(200, JSON.stringify({ ...head, status: { authenticated: false, error } }));
    }
    const { identity } = result;
    const status: Record<string, unknown> = {
      authenticated: true,
      // The token id comes back in every SubjectAccessReview, so authorization can end a revoked
      // token at once despite the API server's own 10 s cache of successful authentications.
      user: { username: identity.username, uid: identity.uid, groups: identity.groups, extra: { [CREDENTIAL_EXTRA]: [identity.tokenId] } },
    };
    if (audiences.length > 0) status['audiences'] = audiences;
    return jsonReply(200, JSON.stringify({ ...head, status }));
  };
}
