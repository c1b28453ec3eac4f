// The one error type of the client core (src/client/): what went wrong when a person asked
// something of Gatehouse, with a stable code each face maps: the CLI to an exit code
// (src/cli/errors.ts exitCodeOf), the console to an HTTP status and message (src/console/server.ts).
// translateError turns the API server's answers into messages a person can act on.
import { GatehouseError, errorMessage, type ErrorCode } from '../errors.js';
import { GROUP, VERSION, type GatehouseKind } from '../api/types.js';

/**
 * GH_CLI_USAGE: the question itself is malformed (a bad flag value, scope, permission, kubeconfig);
 * GH_KUBE_API: the API server refused or failed, or the object is not there. The strings are
 * stable (the console answers with them; scripts match on them): GH_CLI_USAGE keeps its name from
 * before the core served two faces.
 */
export type ClientErrorCode = Extract<ErrorCode, 'GH_CLI_USAGE' | 'GH_KUBE_API'>;

export class ClientError extends GatehouseError {
  declare readonly code: ClientErrorCode;
  constructor(code: ClientErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}

export function usageError(message: string): ClientError {
  return new ClientError('GH_CLI_USAGE', message);
}

/** A refusal or failure from the API server (or of a request to it). */
export function apiError(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }): ClientError {
  return new ClientError('GH_KUBE_API', message, details, options);
}

/** The parts of a Kubernetes `Status` body the messages use. */
export interface KubeStatus {
  code?: number;
  reason?: string;
  message?: string;
  details?: { name?: string; kind?: string; group?: string; causes?: Array<{ field?: string; message?: string }> };
}

/** An HTTP failure from the API server, independent of the client library's exception class. */
export interface ApiFailure {
  status: number;
  body: KubeStatus | undefined;
  /** The raw body when it was not a Status (e.g. "404 page not found"). */
  text?: string;
}

/** Recognises client-node's ApiException (code + body, body a string or an object). */
export function asApiFailure(err: unknown): ApiFailure | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; body?: unknown };
  if (typeof e.code !== 'number' || e.code < 100 || e.code > 599) return undefined;
  let body: unknown = e.body;
  let text: string | undefined;
  if (typeof body === 'string') {
    text = body;
    try {
      body = JSON.parse(body);
    } catch {
      body = undefined;
    }
  }
  const status = body && typeof body === 'object' && (body as KubeStatus).message !== undefined ? (body as KubeStatus) : undefined;
  return text !== undefined ? { status: e.code, body: status, text } : { status: e.code, body: status };
}

export interface ErrorContext {
  /** What was being done, e.g. "list users" or "patch user alice". */
  action: string;
  kind?: GatehouseKind | 'Namespace' | 'SubjectAccessReview';
  name?: string;
  server?: string;
}

const CRDS_MISSING =
  `The Gatehouse CRDs (${GROUP}/${VERSION}) are not installed in this cluster. Install them with ` +
  '`helm install gatehouse ./helm/gatehouse` or `kubectl apply -f crds/`, then try again.';

/** Turns any failure into a ClientError whose message tells the person what happened and what to do. */
export function translateError(err: unknown, ctx: ErrorContext): ClientError {
  if (err instanceof ClientError) return err;
  const failure = asApiFailure(err);
  if (!failure) {
    const msg = errorMessage(err);
    const cause = (err as { cause?: { code?: string } } | undefined)?.cause?.code ?? (err as { code?: string } | undefined)?.code;
    if (typeof cause === 'string' && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET/.test(cause)) {
      return apiError(`cannot reach the API server${ctx.server ? ` at ${ctx.server}` : ''} (${cause}) while trying to ${ctx.action}: check your kubeconfig and --context`, {}, { cause: err });
    }
    return apiError(`failed to ${ctx.action}: ${msg}`, {}, { cause: err });
  }
  const message = failure.body?.message ?? failure.text?.trim() ?? `HTTP ${failure.status}`;
  switch (failure.status) {
    case 401:
      return apiError(`unauthorized: the API server did not accept your kubeconfig's credentials while trying to ${ctx.action} (log in again or check --context)`, { status: 401 });
    case 403:
      // The API server's (or an admission webhook's) own sentence says who was refused what and why.
      return apiError(`forbidden: ${message}`, { status: 403 });
    case 404: {
      const isGatehouse = ctx.kind !== undefined && ctx.kind !== 'Namespace' && ctx.kind !== 'SubjectAccessReview';
      // A missing object comes back as a Status naming it; a missing resource type does not.
      const namesObject = failure.body?.details?.name !== undefined || failure.body?.reason === 'NotFound' && ctx.name !== undefined && message.includes(`"${ctx.name}"`);
      if (isGatehouse && !namesObject) return apiError(CRDS_MISSING, { status: 404, crdsMissing: true });
      const what = ctx.kind && ctx.name ? `${ctx.kind} ${JSON.stringify(ctx.name)} not found` : message;
      return apiError(what, { status: 404, notFound: true });
    }
    case 409:
      if (failure.body?.reason === 'AlreadyExists') return apiError(`${message} (use a different name, or delete it first)`, { status: 409, alreadyExists: true });
      return apiError(`conflict: ${message} (someone changed it meanwhile; run the command again)`, { status: 409, conflict: true });
    case 400:
    case 422: {
      const causes = (failure.body?.details?.causes ?? []).map((c) => `  ${c.field ? c.field + ': ' : ''}${c.message ?? ''}`);
      // The message already carries the causes for 422; keep them on their own lines only if it does not.
      const extra = causes.filter((c) => !message.includes(c.trim()));
      return apiError(`rejected: ${message}${extra.length ? '\n' + extra.join('\n') : ''}`, { status: failure.status });
    }
    default:
      return apiError(`failed to ${ctx.action}: ${message} (HTTP ${failure.status})`, { status: failure.status });
  }
}
