// The authenticating proxy, for clusters whose API server flags cannot be set (EKS, AKS, GKE): its
// own HTTPS listener, which accepts only Gatehouse tokens, drops every credential and
// impersonation header a client sends, and forwards to the API server with the operator's own
// credentials plus Impersonate-User / Impersonate-Group, so the API server (and Gatehouse's
// authorization webhook) sees the token's user. Bodies stream both ways (watches), and upgraded
// connections (exec, attach, port-forward) are spliced byte for byte after the 101.
// It also serves the two login calls, /gatehouse/v1/activate and /gatehouse/v1/rotate.
import https from 'node:https';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { readFile, stat } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { errorMessage } from '../errors.js';
import { errorReply } from '../webhook/http.js';
import type { AuthResult, Authenticator } from './authenticate.js';
import { bearerToken } from './token.js';
import { forwardRequestHeaders, forwardResponseHeaders } from './headers.js';
import type { Outcome } from './service.js';
import { createStreamRegistry, type StreamRegistry } from './streams.js';

export const ACTIVATE_PATH = '/gatehouse/v1/activate';
export const ROTATE_PATH = '/gatehouse/v1/rotate';

export interface Upstream {
  /** The API server, e.g. https://kubernetes.default.svc. */
  url: URL;
  /** TLS settings for the API server (CA, client certificate) from the operator's kubeconfig. */
  tls: https.AgentOptions;
  /** The operator's own credentials, as headers (a bearer token), fetched per use (they rotate). */
  auth(): Promise<Record<string, string>>;
}

export interface ProxyOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  upstream: Upstream;
  authenticator: Authenticator;
  redeem(token: string | undefined, source: string | undefined): Promise<Outcome>;
  rotate(token: string | undefined, source: string | undefined): Promise<Outcome>;
  onRejected(result: Extract<AuthResult, { ok: false }>, source: string | undefined): void;
  onResponse?(status: number): void;
  logger: Logger;
  certReloadIntervalMs?: number;
  /**
   * How often open streams are checked against revocation (default 100 ms; only while some are
   * open). A check is a few map lookups per stream; sweep() also runs on demand.
   */
  streamSweepMs?: number;
  /** Told how many open streams a sweep ended (logs, metrics). */
  onStreamsEnded?(count: number): void;
}

export interface CredentialProxy {
  listen(): Promise<{ port: number }>;
  close(): Promise<void>;
  readonly server: https.Server;
  /** Open proxied requests and upgraded sessions, by token and user. */
  readonly streams: StreamRegistry;
  /** Ends the open streams whose token is no longer live now; returns how many. */
  sweep(): number;
}

function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Unknown'}`;
}

/** A whole HTTP response written on a raw socket (an upgrade that did not happen). */
function writeRaw(socket: Duplex, status: number, body: string, extra: string[] = []): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(`${statusLine(status)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extra.join('')}\r\n${body}`);
}

const REFUSAL_MESSAGE: Record<number, string> = {
  401: 'Unauthorized: a valid Gatehouse token is required (kubectl gatehouse activate)',
  429: 'too many failed attempts from this address; wait a minute',
  503: 'Gatehouse credentials are not synced yet; try again shortly',
};

export function createCredentialProxy(opts: ProxyOptions): CredentialProxy {
  const { upstream, authenticator, logger } = opts;
  const secure = upstream.url.protocol === 'https:';
  const agentOpts = { keepAlive: true, maxSockets: 512, ...upstream.tls };
  const agent = secure ? new https.Agent(agentOpts) : new http.Agent({ keepAlive: true, maxSockets: 512 });
  const mod = secure ? https : http;
  const target = { hostname: upstream.url.hostname, port: upstream.url.port || (secure ? 443 : 80) };
  let stamp = '';
  // Upgraded connections leave the HTTP server's bookkeeping; close() ends them from here.
  const upgraded = new Set<Duplex>();
  let timer: NodeJS.Timeout | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  const streams = createStreamRegistry();
  // The same rule authorization applies to every request, applied to what is already open.
  const sweep = (): number => {
    if (streams.size === 0) return 0;
    const ended = streams.sweep((id, username) => authenticator.stillLive(id, username));
    if (ended > 0) {
      logger.info({ streams: ended }, 'proxy streams ended: credential no longer live');
      opts.onStreamsEnded?.(ended);
    }
    return ended;
  };

  const server = https.createServer({ ALPNProtocols: ['http/1.1'], keepAlive: true });
  server.keepAliveTimeout = 120_000;
  // Watches and exec sessions stay open for long; the API server ends them itself.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  server.maxHeadersCount = 200;

  async function loadCert(): Promise<void> {
    const s = await Promise.all([opts.certFile, opts.keyFile].map((f) => stat(f)));
    const next = s.map((x) => `${x.ino}:${x.size}:${x.mtimeMs}`).join('|');
    if (next === stamp) return;
    const [cert, key] = await Promise.all([readFile(opts.certFile), readFile(opts.keyFile)]);
    server.setSecureContext({ cert, key });
    if (stamp) logger.info({ certFile: opts.certFile }, 'proxy certificate reloaded');
    stamp = next;
  }

  function refuse(res: ServerResponse, result: Extract<AuthResult, { ok: false }>): void {
    const reply = errorReply(result.status, REFUSAL_MESSAGE[result.status] ?? 'refused');
    send(res, result.status, reply.body, result.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="gatehouse"' } : {});
  }

  function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    opts.onResponse?.(status);
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
    res.end(body);
  }

  async function login(req: IncomingMessage, res: ServerResponse, action: 'redeem' | 'rotate'): Promise<void> {
    req.resume(); // the body is not used; the token is in the Authorization header
    if (req.method !== 'POST') return send(res, 405, errorReply(405, 'use POST').body, { Allow: 'POST' });
    const source = req.socket.remoteAddress;
    const outcome = await opts[action](bearerToken(req.headers.authorization), source);
    if (!outcome.ok) {
      const message = outcome.reason === 'limit' ? 'too many credentials for this user; revoke some first'
        : action === 'redeem' ? 'invitation not valid (unknown, expired, already used, or the user is not allowed in)' : REFUSAL_MESSAGE[outcome.status] ?? 'refused';
      return send(res, outcome.status, errorReply(outcome.status, message).body);
    }
    send(res, 200, JSON.stringify({ apiVersion: 'gatehouse.dev/v1', kind: 'Credential', username: outcome.username, user: outcome.user, token: outcome.token }));
  }

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const source = req.socket.remoteAddress;
    const auth = authenticator.check(bearerToken(req.headers.authorization), 'usr', { viaHeaders: true, ...(source !== undefined ? { source } : {}) });
    if (!auth.ok) {
      opts.onRejected(auth, source);
      req.resume();
      return refuse(res, auth);
    }
    const headers = forwardRequestHeaders(req.rawHeaders, auth.identity, await upstream.auth(), false);
    const up = mod.request({ ...target, method: req.method, path: req.url, headers, agent });
    // Every forwarded request is indexed while open (a watch may stay open for an hour): ending
    // the credential ends it.
    const { identity } = auth;
    const forget = streams.open({ tokenId: identity.tokenId, user: identity.user, username: identity.username }, 'request', () => {
      up.destroy();
      res.destroy();
    });
    // A client that goes away (a watch ended with Ctrl-C) ends the upstream request too.
    res.on('close', () => {
      forget();
      if (!res.writableFinished) up.destroy();
    });
    up.on('response', (ur) => {
      opts.onResponse?.(ur.statusCode ?? 502);
      res.writeHead(ur.statusCode ?? 502, forwardResponseHeaders(ur.rawHeaders));
      // Watches: the client must see the headers before the first event arrives.
      res.flushHeaders();
      ur.pipe(res);
      ur.on('error', () => res.destroy());
    });
    up.on('error', (err) => {
      logger.warn({ err: err.message }, 'proxy upstream request failed');
      if (!res.headersSent) send(res, 502, errorReply(502, 'the API server could not be reached through the Gatehouse proxy').body);
      else res.destroy();
    });
    req.pipe(up);
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const source = req.socket.remoteAddress;
    const auth = authenticator.check(bearerToken(req.headers.authorization), 'usr', { viaHeaders: true, ...(source !== undefined ? { source } : {}) });
    socket.on('error', () => socket.destroy());
    if (!auth.ok) {
      opts.onRejected(auth, source);
      opts.onResponse?.(auth.status);
      return writeRaw(socket, auth.status, errorReply(auth.status, REFUSAL_MESSAGE[auth.status] ?? 'refused').body);
    }
    const { identity } = auth;
    // Indexed from now, not only once spliced: a session being set up when the token ends ends too.
    let upstreamSide: Duplex | undefined;
    const forget = streams.open({ tokenId: identity.tokenId, user: identity.user, username: identity.username }, 'upgrade', () => {
      upstreamSide?.destroy();
      socket.destroy();
    });
    socket.on('close', () => {
      forget();
      upstreamSide?.destroy();
    });
    void upstream.auth().then((upAuth) => {
      if (socket.destroyed) return;
      const headers = forwardRequestHeaders(req.rawHeaders, auth.identity, upAuth, true);
      // An upgraded connection belongs to one session: no pooling.
      const up = mod.request({ ...target, method: req.method, path: req.url, headers, agent: false, ...(secure ? upstream.tls : {}) } as https.RequestOptions);
      upstreamSide = up.socket ?? undefined;
      up.on('socket', (s: Duplex) => (upstreamSide = s));
      up.on('upgrade', (ur, upSocket, upHead) => {
        upstreamSide = upSocket;
        if (socket.destroyed) return void upSocket.destroy();
        opts.onResponse?.(101);
        const lines = [statusLine(ur.statusCode ?? 101)];
        for (let i = 0; i + 1 < ur.rawHeaders.length; i += 2) lines.push(`${ur.rawHeaders[i]}: ${ur.rawHeaders[i + 1]}`);
        socket.write(lines.join('\r\n') + '\r\n\r\n');
        if (upHead.length > 0) socket.write(upHead);
        if (head.length > 0) upSocket.write(head);
        upSocket.on('error', () => socket.destroy());
        socket.on('error', () => upSocket.destroy());
        upSocket.on('close', () => socket.destroy());
        socket.on('close', () => upSocket.destroy());
        upgraded.add(socket);
        socket.on('close', () => upgraded.delete(socket));
        upSocket.pipe(socket);
        socket.pipe(upSocket);
      });
      up.on('response', (ur) => {
        // The API server refused the upgrade (not found, forbidden): pass its answer on, then close.
        opts.onResponse?.(ur.statusCode ?? 502);
        const chunks: Buffer[] = [];
        ur.on('data', (c: Buffer) => chunks.push(c));
        ur.on('end', () => {
          const body = Buffer.concat(chunks);
          const raw = forwardResponseHeaders(ur.rawHeaders);
          const lines = [statusLine(ur.statusCode ?? 502)];
          for (let i = 0; i + 1 < raw.length; i += 2) {
            if (!/^(transfer-encoding|content-length)$/i.test(raw[i]!)) lines.push(`${raw[i]}: ${raw[i + 1]}`);
          }
          lines.push(`Content-Length: ${body.length}`, 'Connection: close');
          socket.end(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), body]));
        });
        ur.on('error', () => socket.destroy());
      });
      up.on('error', (err) => {
        logger.warn({ err: err.message }, 'proxy upstream upgrade failed');
        writeRaw(socket, 502, errorReply(502, 'the API server could not be reached through the Gatehouse proxy').body);
      });
      up.end();
    }, (err: unknown) => {
      logger.error({ err: errorMessage(err) }, 'proxy could not read the operator credentials');
      writeRaw(socket, 502, errorReply(502, 'the Gatehouse proxy has no credentials for the API server').body);
    });
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const work = path === ACTIVATE_PATH ? login(req, res, 'redeem') : path === ROTATE_PATH ? login(req, res, 'rotate') : forward(req, res);
    work.catch((err: unknown) => {
      // Never a crash, never an accidental allow: an internal failure is a 500 and nothing forwarded.
      logger.error({ err: errorMessage(err) }, 'proxy request failed');
      if (!res.headersSent) send(res, 500, errorReply(500, 'internal error in the Gatehouse proxy; see the operator log').body);
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      upgrade(req, socket, head);
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'proxy upgrade failed');
      socket.destroy();
    }
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  server.on('tlsClientError', (err: Error) => logger.debug({ err: err.message }, 'proxy TLS handshake failed'));

  return {
    server,
    streams,
    sweep,
    async listen() {
      await loadCert();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      sweeper = setInterval(sweep, opts.streamSweepMs ?? 100);
      sweeper.unref();
      const interval = opts.certReloadIntervalMs ?? 10_000;
      if (interval > 0) {
        timer = setInterval(() => void loadCert().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'proxy certificate reload failed')), interval);
        timer.unref();
      }
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : opts.port;
      logger.info({ host: opts.host, port, upstream: upstream.url.origin }, 'credential proxy listening');
      return { port };
    },
    async close() {
      if (timer) clearInterval(timer);
      if (sweeper) clearInterval(sweeper);
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Watches and exec sessions would hold close() open until the API server ends them.
      const deadline = setTimeout(() => server.closeAllConnections(), 1000);
      for (const s of upgraded) s.destroy();
      await closed;
      clearTimeout(deadline);
      agent.destroy();
    },
  };
}
