// A thin HTTP transport to the API server that takes its credentials, CA and server from
// client-node's KubeConfig. Why not client-node's generated APIs and Watch directly: in 1.x neither
// accepts a per-request timeout or abort signal, and Watch.watch() only hands back its
// AbortController after the response headers arrive, so a connection that stalls before that (a
// frozen network path, a restarting API server) hangs for good. Every call here has a deadline or
// an AbortSignal, which is what the informers' watchdog and the leader lease need.
import https from 'node:https';
import http from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { GatehouseError } from '../errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type Query = Record<string, string | number | boolean | undefined>;

export interface KubeRequest {
  method: HttpMethod;
  /** The API path, e.g. /apis/iam.gatehouse.dev/v1alpha1/users. */
  path: string;
  query?: Query;
  body?: unknown;
  /** Defaults to application/json; merge patches use application/merge-patch+json. */
  contentType?: string;
  /** The whole request must finish within this; defaults to 30 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The Accept header; defaults to application/json (METADATA_LIST, METADATA_ITEM ask for metadata only). */
  accept?: string;
}

/**
 * Accept headers that make the API server answer a list (a watch, a get) with
 * PartialObjectMetadataList (PartialObjectMetadata): the objects' metadata only, no spec, as
 * client-go's metadata informers ask. A client that needs only names, versions and annotations
 * (the RBAC applier's caches) then holds and parses a fraction of the bytes. Plain JSON is the
 * last choice, so a server that cannot answer so still answers (the caller slims what it keeps).
 */
export const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const METADATA_ITEM = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

/** One line of a watch stream. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR' | string;
  object: Record<string, unknown>;
}

export interface KubeClient {
  request<T = unknown>(req: KubeRequest): Promise<T>;
  /**
   * Opens a watch and calls `onEvent` for every event; `onData` on every chunk of bytes (the
   * watchdog's heartbeat). Resolves when the server ends the stream cleanly, rejects on any error,
   * an HTTP status other than 200, or when `signal` aborts.
   */
  watch(path: string, query: Query, signal: AbortSignal, onEvent: (ev: WatchEvent) => void, onData?: () => void, accept?: string): Promise<void>;
}

/** A failed API call; `statusCode` 0 means the request never got an HTTP answer. */
export class KubeApiError extends GatehouseError {
  readonly statusCode: number;
  readonly reason: string;
  /**
   * How long the API server asked the client to wait (a `Retry-After` header, or a Status's
   * details.retryAfterSeconds): API Priority and Fairness and max-inflight answer 429 with it.
   */
  retryAfterMs: number | undefined;
  constructor(message: string, statusCode: number, reason = '', options?: { cause?: unknown }) {
    super('GH_KUBE_API', message, { statusCode, reason }, options);
    this.statusCode = statusCode;
    this.reason = reason;
    this.retryAfterMs = undefined;
  }
}

/** The API server is shedding load: 429 (API Priority and Fairness, max-inflight), or a 5xx that says when to come back. */
export function isThrottled(err: unknown): boolean {
  return err instanceof KubeApiError && (err.statusCode === 429 || (err.statusCode >= 500 && err.retryAfterMs !== undefined));
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 409;
}
export function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 410;
}

function buildUrl(server: string, path: string, query: Query | undefined): URL {
  const url = new URL(server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

function apiErrorFrom(status: number, body: string, method: string, path: string, retryAfter?: string | string[]): KubeApiError {
  let message = body.slice(0, 500);
  let reason = '';
  let retryAfterSeconds: number | undefined;
  try {
    const parsed = JSON.parse(body) as { message?: string; reason?: string; details?: { retryAfterSeconds?: unknown } };
    if (parsed.message) message = parsed.message;
    if (parsed.reason) reason = parsed.reason;
    if (typeof parsed.details?.retryAfterSeconds === 'number') retryAfterSeconds = parsed.details.retryAfterSeconds;
  } catch {
    /* not a Status object */
  }
  const err = new KubeApiError(`${method} ${path}: ${status} ${message}`, status, reason);
  // The header wins over the body; only a number of seconds is honoured (the API server sends no dates), capped at a minute.
  const header = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  const seconds = Number.isFinite(header) && header >= 0 ? header : retryAfterSeconds;
  if (seconds !== undefined && Number.isFinite(seconds) && seconds >= 0) err.retryAfterMs = Math.min(60, seconds) * 1000;
  return err;
}

/** The TLS fields of request options that decide which connections may be shared. */
const TLS_FIELDS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'servername', 'rejectUnauthorized', 'ciphers', 'crl'] as const;

/** How long an agent replaced by new TLS material keeps serving the requests already on it. */
const RETIRED_AGENT_GRACE_MS = 5 * 60_000;

/**
 * One keep-alive https.Agent per distinct TLS material (in practice one for the client's life).
 * The key is the material itself, compared as text: a few kilobytes per request, far cheaper than
 * the handshake it saves. A retired agent is destroyed after a grace period, so a long watch on it
 * ends (and is reopened on the new agent by its informer) rather than holding old credentials.
 */
export function createAgentCache(): { agentFor(opts: https.RequestOptions): https.Agent; destroy(): void } {
  let current: { key: string; agent: https.Agent } | null = null;
  const keyOf = (opts: https.RequestOptions): string =>
    TLS_FIELDS.map((f) => {
      const v = (opts as Record<string, unknown>)[f];
      if (v === undefined || v === null) return '';
      if (Buffer.isBuffer(v)) return v.toString('latin1');
      return Array.isArray(v) ? v.map((x) => (Buffer.isBuffer(x) ? x.toString('latin1') : String(x))).join('\u0001') : String(v);
    }).join('\u0000');
  return {
    agentFor(opts) {
      const key = keyOf(opts);
      if (current?.key === key) return current.agent;
      const retired = current?.agent;
      if (retired) setTimeout(() => retired.destroy(), RETIRED_AGENT_GRACE_MS).unref();
      const tls: https.AgentOptions = {};
      for (const f of TLS_FIELDS) {
        const v = (opts as Record<string, unknown>)[f];
        if (v !== undefined) (tls as Record<string, unknown>)[f] = v;
      }
      current = { key, agent: new https.Agent({ ...tls, keepAlive: true, scheduling: 'lifo' }) };
      return current.agent;
    },
    destroy() {
      current?.agent.destroy();
      current = null;
    },
  };
}

export function createKubeClient(kubeConfig: KubeConfig): KubeClient {
  const server = (): string => {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new KubeApiError('the kubeconfig has no current cluster', 0);
    return cluster.server;
  };

  const agents = createAgentCache();

  // Credentials are applied per request so rotating tokens (exec plugins, projected service
  // account tokens) are picked up. client-node's applyToHTTPSOptions also hands back a new
  // https.Agent on every call, which means a new TCP connection and TLS handshake (and a new TLS
  // context) per request: that was most of the operator's CPU while it wrote RBAC objects (issue
  // 26). The agent is replaced by a keep-alive one shared by every request with the same TLS
  // material, so connections are reused; new material (a rotated client certificate) gets a new agent.
  async function open(method: HttpMethod, url: URL, headers: Record<string, string>): Promise<http.ClientRequest> {
    const opts: https.RequestOptions = { method, headers: { Accept: 'application/json', ...headers } };
    await kubeConfig.applyToHTTPSOptions(opts);
    if (url.protocol === 'http:') {
      delete opts.agent;
      return http.request(url, opts);
    }
    opts.agent = agents.agentFor(opts);
    return https.request(url, opts);
  }

  async function request<T>(req: KubeRequest): Promise<T> {
    const url = buildUrl(server(), req.path, req.query);
    const payload = req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const headers: Record<string, string> = req.accept !== undefined ? { Accept: req.accept } : {};
    if (payload !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const r = await open(req.method, url, headers);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, value?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(value as T);
      };
      const timeoutMs = req.timeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        r.destroy();
        finish(new KubeApiError(`${req.method} ${req.path}: no answer within ${timeoutMs} ms`, 0, 'Timeout'));
      }, timeoutMs);
      const onAbort = (): void => {
        r.destroy();
        finish(new KubeApiError(`${req.method} ${req.path}: aborted`, 0, 'Aborted'));
      };
      if (req.signal?.aborted) return onAbort();
      req.signal?.addEventListener('abort', onAbort, { once: true });
      r.on('error', (err) => finish(new KubeApiError(`${req.method} ${req.path}: ${err.message}`, 0, 'Network', { cause: err })));
      r.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => finish(new KubeApiError(`${req.method} ${req.path}: ${err.message}`, 0, 'Network', { cause: err })));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) return finish(apiErrorFrom(status, text, req.method, req.path, res.headers['retry-after']));
          try {
            finish(undefined, (text ? JSON.parse(text) : undefined) as T);
          } catch (err) {
            finish(new KubeApiError(`${req.method} ${req.path}: answer is not JSON`, status, 'BadResponse', { cause: err }));
          }
        });
      });
      r.end(payload);
    });
  }

  async function watch(path: string, query: Query, signal: AbortSignal, onEvent: (ev: WatchEvent) => void, onData?: () => void, accept?: string): Promise<void> {
    const url = buildUrl(server(), path, { ...query, watch: true });
    const r = await open('GET', url, accept !== undefined ? { Accept: accept } : {});
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        r.destroy();
        if (err) reject(err);
        else resolve();
      };
      const onAbort = (): void => finish(new KubeApiError(`watch ${path}: aborted`, 0, 'Aborted'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      r.on('error', (err) => finish(new KubeApiError(`watch ${path}: ${err.message}`, 0, 'Network', { cause: err })));
      r.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => finish(apiErrorFrom(status, Buffer.concat(chunks).toString('utf8'), 'GET', path, res.headers['retry-after'])));
          res.on('error', (err) => finish(new KubeApiError(`watch ${path}: ${err.message}`, 0, 'Network', { cause: err })));
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          onData?.();
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (!line) continue;
            let ev: WatchEvent;
            try {
              ev = JSON.parse(line) as WatchEvent;
            } catch (err) {
              return finish(new KubeApiError(`watch ${path}: a line is not JSON`, 200, 'BadResponse', { cause: err }));
            }
            try {
              onEvent(ev);
            } catch (err) {
              return finish(err instanceof Error ? err : new Error(String(err)));
            }
            if (settled) return;
          }
        });
        res.on('error', (err) => finish(new KubeApiError(`watch ${path}: ${err.message}`, 0, 'Network', { cause: err })));
        // 'aborted' then 'close' without 'end' means the connection broke mid-stream.
        res.on('aborted', () => finish(new KubeApiError(`watch ${path}: connection closed mid-stream`, 0, 'Network')));
        res.on('end', () => finish());
        res.on('close', () => {
          if (!res.complete) finish(new KubeApiError(`watch ${path}: connection closed mid-stream`, 0, 'Network'));
          else finish();
        });
      });
      r.end();
    });
  }

  return { request, watch };
}
