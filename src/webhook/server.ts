// The HTTPS server both webhooks and the probes share. HTTP/1.1 only (ALPN offers nothing else),
// keep-alive, bounded and timed request bodies, and a certificate that is re-read from disk when it
// changes (cert-manager and kubelet rotate the mounted Secret in place) without touching open
// connections: setSecureContext only affects handshakes that start afterwards.
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket, SecureContextOptions } from 'node:tls';
import { createSecureContext } from 'node:tls';
import { readFile, stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../log.js';
import { ReviewError, errorMessage } from '../errors.js';
import { errorReply, parseJsonBody, clip, TooDeepError, JSON_CONTENT_TYPE, type Reply } from './http.js';
import type { WebhookMetrics } from './metrics.js';

export interface RequestContext {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body for POST routes; undefined for GET. */
  body: unknown;
  /** The caller's address (rate limits for failed TokenReviews); undefined for injected requests. */
  source?: string;
}

export interface Route {
  /** Label for metrics and logs. */
  name: string;
  method: 'GET' | 'POST';
  /**
   * When the server verifies client certificates, whether this route requires one. Webhook routes
   * do; probes and /metrics do not (kubelet probes and Prometheus present no client certificate).
   * Default: true for POST, false for GET.
   */
  requireClientCert?: boolean;
  handler(ctx: RequestContext): Reply | Promise<Reply>;
  /**
   * A body that is JSON but nests too deep to walk: the route may still answer from its shallow
   * parts (an AdmissionReview's uid, so the API server gets a review back). Undefined: 400.
   */
  onTooDeep?(parsed: unknown, message: string): Reply | undefined;
}

export type Routes = Readonly<Record<string, Route>>;

export interface WebhookServerOptions {
  server: ServerConfig;
  logger: Logger;
  routes: Routes;
  metrics?: WebhookMetrics;
  /** How often the certificate files are checked for changes; 0 turns polling off. Default 10 s. */
  certReloadIntervalMs?: number;
  /** Idle keep-alive connections are kept this long; longer than Go's 90 s, so the API server closes first. */
  keepAliveTimeoutMs?: number;
  /**
   * The certificate comes from installCertificate() (certificates.mode operator reads it from the
   * Secret through the API), not from certFile/keyFile; listen() needs one installed first.
   */
  externalCertificates?: boolean;
}

export interface InjectRequest {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Whether the caller presented a verified client certificate (default true). */
  clientCertVerified?: boolean;
}

export interface InjectResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  json<T = unknown>(): T;
}

export interface WebhookServer {
  listen(): Promise<{ port: number }>;
  close(): Promise<void>;
  /**
   * Starts a graceful drain before close(): every later response carries `Connection: close`, so
   * clients (the API server) stop reusing their keep-alive connections after one more request.
   * New connections are still served.
   */
  drain(): void;
  /** Runs one request through routing and the handlers without a socket (tests). */
  inject(req: InjectRequest): Promise<InjectResponse>;
  /** Re-reads the certificate files now; true when a new certificate was installed. */
  reloadCertificates(): Promise<boolean>;
  /**
   * Serves this pair (and verifies client certificates against `clientCa`, when the server asks for
   * them) from the next handshake on; throws, keeping the current one, when they do not fit.
   */
  installCertificate(pair: { cert: string; key: string; clientCa?: string }): void;
  /** The PEM certificate served now (undefined before the first). */
  servingCertificate(): string | undefined;
  /** The raw node server, for tests that need connection-level detail. */
  readonly httpsServer: https.Server;
}

interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  stamp: string;
}

async function fileStamp(file: string): Promise<string> {
  const s = await stat(file);
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}

async function readTlsMaterial(config: ServerConfig): Promise<TlsMaterial> {
  const files = [config.certFile, config.keyFile, ...(config.clientCAFile ? [config.clientCAFile] : [])];
  const stamp = (await Promise.all(files.map(fileStamp))).join('|');
  const [cert, key, ca] = await Promise.all(files.map((f) => readFile(f)));
  if (!cert || !key) throw new Error('certificate or key missing');
  return ca ? { cert, key, ca, stamp } : { cert, key, stamp };
}

function secureContextOptions(m: TlsMaterial): SecureContextOptions {
  return m.ca ? { cert: m.cert, key: m.key, ca: m.ca } : { cert: m.cert, key: m.key };
}

class BodyError extends ReviewError {}

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const semi = value.indexOf(';');
  const type = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  return type === JSON_CONTENT_TYPE;
}

export function createWebhookServer(options: WebhookServerOptions): WebhookServer {
  const { logger, routes, metrics } = options;
  const config = options.server;
  const verifyClients = Boolean(config.clientCAFile);
  const reloadInterval = options.certReloadIntervalMs ?? 10_000;
  let material: TlsMaterial | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let reloading: Promise<boolean> | undefined;
  let draining = false;

  const httpsServer = https.createServer({
    // The real certificate is installed by listen(); a server cannot be created without options here.
    requestCert: verifyClients,
    // Checked per route instead (see Route.requireClientCert), so probes still work.
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
    keepAlive: true,
  });
  httpsServer.keepAliveTimeout = options.keepAliveTimeoutMs ?? 120_000;
  httpsServer.headersTimeout = config.requestTimeoutMs;
  // The per-request timer below answers 408 with a message; this is Node's own backstop.
  httpsServer.requestTimeout = config.requestTimeoutMs + 1000;
  httpsServer.maxHeadersCount = 100;

  async function dispatch(method: string, url: string, headers: IncomingHttpHeaders, clientCertVerified: boolean,
    readBody: () => Promise<Buffer>, source?: string): Promise<{ reply: Reply; route: string }> {
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = Object.prototype.hasOwnProperty.call(routes, path) ? routes[path] : undefined;
    if (!route) return { reply: errorReply(404, `no route for ${clip(path, 100)}`), route: 'unknown' };
    if (method !== route.method) {
      return { reply: errorReply(405, `${clip(method, 20)} is not allowed on ${path}; use ${route.method}`, { Allow: route.method }), route: route.name };
    }
    const certRoutes: readonly string[] = config.clientCertificateRoutes ?? ['authorize', 'authenticate', 'validate', 'mutate'];
    if (verifyClients && !clientCertVerified && (route.requireClientCert ?? (route.method === 'POST' && certRoutes.includes(route.name)))) {
      return { reply: errorReply(401, 'a client certificate signed by the configured CA is required'), route: route.name };
    }
    let body: unknown;
    if (route.method === 'POST') {
      if (!isJsonContentType(headers['content-type'])) {
        return { reply: errorReply(415, `content type must be ${JSON_CONTENT_TYPE}, got ${clip(String(headers['content-type'] ?? 'none'), 100)}`), route: route.name };
      }
      try {
        body = parseJsonBody(await readBody());
      } catch (err) {
        if (err instanceof TooDeepError && route.onTooDeep) {
          const reply = route.onTooDeep(err.parsed, err.message);
          if (reply) return { reply, route: route.name };
        }
        if (err instanceof ReviewError) {
          const extra = err instanceof BodyError ? { Connection: 'close' } : undefined;
          return { reply: errorReply(err.status, err.message, extra), route: route.name };
        }
        throw err;
      }
    }
    try {
      const reply = await route.handler({ method, path, headers, body, ...(source !== undefined ? { source } : {}) });
      return { reply, route: route.name };
    } catch (err) {
      // Handlers answer bad input themselves; reaching here is a bug. Never crash, never allow.
      logger.error({ route: route.name, err: errorMessage(err) }, 'webhook handler failed');
      if (err instanceof ReviewError) return { reply: errorReply(err.status, err.message), route: route.name };
      return { reply: errorReply(500, 'internal error in Gatehouse; see the operator log'), route: route.name };
    }
  }

  // Past the limit the body is read and dropped until it ends, then 413 is answered: closing on a
  // client still writing makes it see a reset instead of the answer. Past four times the limit
  // (or the timeout) the connection is cut.
  function readRequestBody(req: IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const limit = config.maxBodyBytes;
      const tooLarge = (): BodyError => new BodyError(`request body exceeds the limit of ${limit} bytes`, 413, 'GH_BODY_TOO_LARGE');
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > 4 * limit) {
        reject(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const timer = setTimeout(() => {
        finish(size > limit ? tooLarge() : new BodyError(`request body not received within ${config.requestTimeoutMs} ms`, 408, 'GH_BODY_TIMEOUT'));
      }, config.requestTimeoutMs);
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > limit) {
          chunks.length = 0;
          if (size > 4 * limit) finish(tooLarge());
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = (): void => finish(size > limit ? tooLarge() : undefined);
      const onError = (err: Error): void => finish(new BodyError(`request body could not be read: ${err.message}`, 400));
      function finish(err?: Error): void {
        if (done) return;
        done = true;
        clearTimeout(timer);
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        if (err) {
          req.pause();
          reject(err);
        } else {
          resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
        }
      }
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', onError);
    });
  }

  function send(res: ServerResponse, reply: Reply): void {
    if (res.headersSent || res.destroyed) return;
    const body = Buffer.from(reply.body, 'utf8');
    const headers: Record<string, string | number> = {
      'Content-Type': reply.contentType ?? JSON_CONTENT_TYPE,
      'Content-Length': body.length,
      ...reply.headers,
      // Draining: the client closes this connection after the response instead of sending the
      // next review on it while we shut down (a request written just as we close would fail).
      ...(draining ? { Connection: 'close' } : {}),
    };
    const closing = reply.headers?.['Connection'] === 'close';
    res.writeHead(reply.status, headers);
    res.end(body);
    // A body we stopped reading mid-way leaves the socket unusable for the next request.
    if (closing) res.once('finish', () => res.socket?.destroySoon?.());
  }

  httpsServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const verified = verifyClients && (req.socket as TLSSocket).authorized === true;
    dispatch(req.method ?? 'GET', req.url ?? '/', req.headers, verified, () => readRequestBody(req), req.socket.remoteAddress)
      .then(({ reply, route }) => {
        metrics?.recordResponse(route, reply.status);
        send(res, reply);
      })
      .catch((err: unknown) => {
        logger.error({ err: errorMessage(err) }, 'webhook request failed');
        send(res, errorReply(500, 'internal error in Gatehouse; see the operator log'));
      });
  });
  httpsServer.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Malformed HTTP never reaches a handler; answer what we can and drop the connection.
    if (socket.writable && err.code !== 'ECONNRESET') {
      const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      socket.end(`HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } else {
      socket.destroy();
    }
  });
  httpsServer.on('tlsClientError', (err: Error) => {
    logger.debug({ err: err.message }, 'TLS handshake failed');
  });

  function installCertificate(pair: { cert: string; key: string; clientCa?: string }): void {
    const fresh: TlsMaterial = {
      cert: Buffer.from(pair.cert),
      key: Buffer.from(pair.key),
      ...(pair.clientCa ? { ca: Buffer.from(pair.clientCa) } : {}),
      stamp: 'installed',
    };
    createSecureContext(secureContextOptions(fresh));
    httpsServer.setSecureContext(secureContextOptions(fresh));
    const first = material === undefined;
    material = fresh;
    if (!first) logger.info({}, 'serving certificate installed');
  }

  async function reloadCertificates(): Promise<boolean> {
    if (options.externalCertificates) return false;
    // One reload at a time; a poll that lands during a reload waits for it.
    if (reloading) return reloading;
    reloading = (async () => {
      try {
        const fresh = await readTlsMaterial(config);
        if (material && fresh.stamp === material.stamp) return false;
        // Validates that key and certificate belong together before anything is swapped; a
        // half-rotated pair (cert written, key not yet) throws and is tried again at the next poll.
        createSecureContext(secureContextOptions(fresh));
        httpsServer.setSecureContext(secureContextOptions(fresh));
        const first = material === undefined;
        material = fresh;
        if (!first) logger.info({ certFile: config.certFile }, 'serving certificate reloaded');
        return true;
      } catch (err) {
        if (!material) throw err;
        logger.warn({ certFile: config.certFile, err: errorMessage(err) }, 'serving certificate reload failed; keeping the current one');
        return false;
      } finally {
        reloading = undefined;
      }
    })();
    return reloading;
  }

  return {
    httpsServer,
    async listen() {
      if (options.externalCertificates) {
        if (!material) throw new Error('no serving certificate installed');
      } else {
        await reloadCertificates();
      }
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        httpsServer.once('error', onError);
        httpsServer.listen(config.port, config.host, () => {
          httpsServer.off('error', onError);
          resolve();
        });
      });
      if (reloadInterval > 0 && !options.externalCertificates) {
        pollTimer = setInterval(() => {
          void reloadCertificates().catch(() => undefined);
        }, reloadInterval);
        pollTimer.unref();
      }
      const addr = httpsServer.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      logger.info({ host: config.host, port, clientCertificates: verifyClients }, 'webhook server listening');
      return { port };
    },
    drain() {
      // Idle connections are left open: closing one races with a client that just picked it for
      // its next request (the unit test saw "socket hang up"). Each is closed after its next
      // response instead, and close() ends those never used again.
      draining = true;
    },
    async close() {
      if (pollTimer) clearInterval(pollTimer);
      pollTimer = undefined;
      if (!httpsServer.listening) return;
      const closed = new Promise<void>((resolve) => httpsServer.close(() => resolve()));
      // Idle keep-alive connections would hold close() open for keepAliveTimeout; requests in
      // flight finish first, then a deadline ends whatever is left.
      // The API server keeps sending reviews on its open connections while we drain, so one sweep
      // is not enough: keep closing connections as they fall idle between reviews.
      httpsServer.closeIdleConnections();
      const sweep = setInterval(() => httpsServer.closeIdleConnections(), 25);
      // A review takes well under a millisecond, but a connection that has not sent its first request
      // never counts as idle; two seconds lets real work finish without holding shutdown for long.
      const deadline = setTimeout(() => httpsServer.closeAllConnections(), Math.min(config.requestTimeoutMs, 2000));
      deadline.unref();
      await closed;
      clearInterval(sweep);
      clearTimeout(deadline);
    },
    async inject(req) {
      const body = req.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
      const headers: IncomingHttpHeaders = {};
      for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
      if (req.body !== undefined && headers['content-type'] === undefined) headers['content-type'] = JSON_CONTENT_TYPE;
      const readBody = async (): Promise<Buffer> => {
        if (body.length > config.maxBodyBytes) {
          throw new BodyError(`request body exceeds the limit of ${config.maxBodyBytes} bytes`, 413, 'GH_BODY_TOO_LARGE');
        }
        return body;
      };
      let outcome: { reply: Reply; route: string };
      try {
        outcome = await dispatch(req.method ?? 'GET', req.url, headers, req.clientCertVerified ?? true, readBody);
      } catch (err) {
        logger.error({ err: errorMessage(err) }, 'webhook request failed');
        outcome = { reply: errorReply(500, 'internal error in Gatehouse; see the operator log'), route: 'unknown' };
      }
      metrics?.recordResponse(outcome.route, outcome.reply.status);
      const { reply } = outcome;
      const text = reply.body;
      return {
        status: reply.status,
        headers: { 'content-type': reply.contentType ?? JSON_CONTENT_TYPE, ...lowerKeys(reply.headers ?? {}) },
        body: text,
        json<T>() {
          return JSON.parse(text) as T;
        },
      };
    },
    reloadCertificates,
    installCertificate,
    servingCertificate: () => material?.cert.toString('utf8'),
  };
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v;
  return out;
}
