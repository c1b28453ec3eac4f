// The pieces shared by the server and the handlers: what a handler returns, error answers in the
// API server's own Status shape, and a JSON reader that refuses what would hurt later code.
import { ReviewError } from '../errors.js';

/** What a route handler answers; the server writes it. */
export interface Reply {
  status: number;
  body: string;
  /** application/json when unset. */
  contentType?: string;
  headers?: Record<string, string>;
}

export const JSON_CONTENT_TYPE = 'application/json';

/** Reasons the API server uses in metav1.Status for these codes. */
const STATUS_REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  408: 'Timeout',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

export function statusReason(code: number): string {
  return STATUS_REASONS[code] ?? (code >= 500 ? 'InternalError' : 'BadRequest');
}

/** An error answer as a metav1.Status, which kubectl and the API server log readably. */
export function errorReply(status: number, message: string, headers?: Record<string, string>): Reply {
  const body = JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: statusReason(status),
    code: status,
  });
  return headers ? { status, body, headers } : { status, body };
}

export function jsonReply(status: number, body: string): Reply {
  return { status, body };
}

/**
 * Deeper JSON parses fine, but JSON.stringify and any recursive walk of it overflow the stack.
 * Kubernetes objects (managedFields included) stay far below this.
 */
export const MAX_JSON_DEPTH = 100;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * The deepest nesting of arrays and objects in a JSON text, stopping early past `limit`. A byte
 * scan (UTF-8 continuation bytes are >= 0x80, so they never look like brackets or quotes).
 */
export function jsonDepthExceeds(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
      continue;
    }
    if (b === QUOTE) inString = true;
    else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) depth--;
  }
  return false;
}

/** A body that parsed but nests too deep to hand to code that walks it. */
export class TooDeepError extends ReviewError {
  /** The parsed value: safe to read a few levels into (an envelope, a uid), never to walk. */
  readonly parsed: unknown;
  constructor(parsed: unknown) {
    super(`request body nests deeper than ${MAX_JSON_DEPTH} levels`);
    this.parsed = parsed;
  }
}

/** Parses a request body; a ReviewError (400) for anything that is not JSON we are willing to walk. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw new ReviewError('request body is empty; expected a JSON review');
  const tooDeep = jsonDepthExceeds(body, MAX_JSON_DEPTH);
  let parsed: unknown;
  try {
    // V8's parser is not recursive, so even a 3 MiB run of brackets parses without harm.
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ReviewError(`request body is not valid JSON: ${clip(err instanceof Error ? err.message : String(err))}`);
  }
  if (tooDeep) throw new TooDeepError(parsed);
  return parsed;
}

/** Bounds a caller-supplied string before it goes into a log line or an error message. */
export function clip(value: string, max = 200): string {
  return value.length <= max ? value : `${value.slice(0, max)}...(${value.length} chars)`;
}
