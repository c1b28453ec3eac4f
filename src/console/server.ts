// The console's HTTP adapter (node:http, no framework: a dozen routes, and every header that
// matters for safety is set here in one place). Every request passes the guard first; then the
// caller's own client answers it. The console holds no Kubernetes power of its own: in the local
// mode the client is the CLI's kubeconfig identity, in the operator mode one made from the
// request's bearer token, and a request without one is refused, never served with the operator's.
import http from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { PolicyConfig } from '../config.js';
import { ConsoleError, errorMessage } from '../errors.js';
import { ClientError } from '../client/errors.js';
import type { GatehouseClient } from '../client/kube.js';
import { checkRequest, loopbackHosts, LocalSession, bearerToken, SECURITY_HEADERS, type ConsoleMode } from './guard.js';
import * as api from './api.js';
import * as requestsApi from './requests.js';
import { streamChanges } from './live.js';
import { ruleOf } from './views.js';

export interface ConsoleServerOptions {
  mode: ConsoleMode;
  host: string;
  port: number;
  /** Operator mode: Host values answered to (empty: any). The local mode answers to loopback names only. */
  allowedHosts?: readonly string[];
  /** The caller's client: local mode ignores the token; operator mode is given the request's. */
  clientFor(bearer: string | undefined): GatehouseClient;
  policy: { config: PolicyConfig; source: string };
  now: () => number;
  logger?: Logger;
  /** Open event streams at most (each holds four watches on the API server). */
  maxStreams?: number;
  /** Open event streams at most per bearer token (the local mode's one session counts as one). */
  maxStreamsPerToken?: number;
}

export interface ConsoleServer {
  readonly port: number;
  /** Local mode: the URL with the one-time token; operator mode: the base URL. */
  readonly url: string;
  close(): Promise<void>;
}

export const PAGES = ['approvals', 'users', 'teams', 'roles', 'access', 'review', 'requests'] as const;
const MAX_BODY = 64 * 1024;

const PUBLIC = new URL('../../../src/console/public/', import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  '/assets/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  '/assets/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

type Handler = (caller: api.Caller, q: URLSearchParams, body: Record<string, unknown>) => Promise<unknown>;
const GET_ROUTES: Record<string, Handler> = {
  '/api/session': (c) => api.session(c),
  '/api/pending': (c, q) => api.pending(c, q),
  '/api/users': (c, q) => api.users(c, q),
  '/api/teams': (c, q) => api.teams(c, q),
  '/api/roles': (c, q) => api.roles(c, q),
  '/api/access/explain': (c, q) => api.explain(c, q),
  '/api/access/who-can': (c, q) => api.whoCanQuery(c, q),
  '/api/review': (c, q) => api.review(c, q),
  '/api/requests': (c) => requestsApi.requests(c),
};
const POST_ROUTES: Record<string, Handler> = {
  '/api/users/state': (c, _q, b) => api.setState(c, b),
  '/api/users/superuser': (c, _q, b) => api.superuser(c, b),
  '/api/teams/members': (c, _q, b) => api.membership(c, b),
  '/api/roles': (c, _q, b) => api.createRole(c, b),
  '/api/assignments': (c, _q, b) => api.assignRole(c, b),
  '/api/review/revoke': (c, _q, b) => api.revoke(c, b),
  '/api/requests': (c, _q, b) => requestsApi.makeAccessRequest(c, b),
  '/api/requests/decide': (c, _q, b) => requestsApi.decideAccessRequest(c, b),
};

function loadAssets(): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const a of [...Object.values(ASSETS), { file: 'index.html' }]) out.set(a.file, readFileSync(new URL(a.file, PUBLIC)));
  return out;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function reply(res: http.ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, ...extra });
  res.end(body);
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  reply(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

/** Errors go back as they were given: the API server's or the webhook's message, and the rule id. */
function fail(res: http.ServerResponse, err: unknown, logger: Logger | undefined): void {
  if (err instanceof ConsoleError) return json(res, err.status, { error: { code: err.code, message: err.message } });
  if (err instanceof ClientError) {
    const status = Number(err.details['status'] ?? 502);
    const rule = ruleOf(err.message);
    return json(res, status >= 400 && status < 600 ? status : 502, { error: { code: err.code, message: err.message, ...(rule ? { rule } : {}) } });
  }
  logger?.error({ err: errorMessage(err) }, 'console request failed');
  json(res, 500, { error: { code: 'GH_INTERNAL', message: 'internal error (see the console log)' } });
}

function refusalPage(res: http.ServerResponse, status: number, message: string): void {
  const esc = message.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  reply(res, status, 'text/html; charset=utf-8', `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Gatehouse console</title></head><body><main><h1>Gatehouse console</h1><p role="alert">${esc}</p></main></body></html>`);
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/.test(header(req, 'content-type') ?? '')) throw new ConsoleError('GH_CONSOLE_INPUT', 415, 'send JSON (Content-Type: application/json)');
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ConsoleError('GH_CONSOLE_INPUT', 413, `request body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ConsoleError('GH_CONSOLE_INPUT', 400, 'the body is not valid JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ConsoleError('GH_CONSOLE_INPUT', 400, 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

export async function startConsoleServer(opts: ConsoleServerOptions): Promise<ConsoleServer> {
  const assets = loadAssets();
  const maxStreams = opts.maxStreams ?? 32;
  const maxPerToken = opts.maxStreamsPerToken ?? 4;
  let streams = 0;
  // By a hash of the bearer token (never the token itself): one caller cannot take every slot.
  const perToken = new Map<string, number>();
  let session: LocalSession | undefined;
  let hosts: readonly string[] = opts.allowedHosts ?? [];

  /** Who is asking: local mode, the session cookie (or the launch token, once); operator, the bearer token. */
  const identify = (req: http.IncomingMessage, url: URL, res: http.ServerResponse): { bearer: string | undefined } | undefined => {
    if (opts.mode === 'operator') {
      const bearer = bearerToken(header(req, 'authorization'));
      if (!bearer) {
        refusalPage(res, 401, 'Send Authorization: Bearer <your Kubernetes token> (the console acts only with your own credentials; put it behind your authenticating proxy).');
        return undefined;
      }
      return { bearer };
    }
    const s = session as LocalSession;
    const token = url.searchParams.get('token');
    if (token !== null && req.method === 'GET') {
      const secret = s.exchange(token);
      if (!secret) {
        refusalPage(res, 401, 'This console link was already used or is wrong. Use the tab it opened, or start kubectl gatehouse console again.');
        return undefined;
      }
      url.searchParams.delete('token');
      const rest = url.searchParams.toString();
      // The token leaves the address bar (and the history) at once.
      reply(res, 303, 'text/plain; charset=utf-8', '', { Location: `${url.pathname === '/' ? '/approvals' : url.pathname}${rest ? `?${rest}` : ''}`, 'Set-Cookie': s.setCookie(secret) });
      return undefined;
    }
    if (!s.valid(header(req, 'cookie'))) {
      if (url.pathname.startsWith('/api/')) json(res, 401, { error: { code: 'GH_CONSOLE_AUTH', message: 'no console session: open the URL kubectl gatehouse console printed' } });
      else refusalPage(res, 401, 'No console session: open the URL (with its token) that kubectl gatehouse console printed.');
      return undefined;
    }
    return { bearer: undefined };
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const verdict = checkRequest({ method, host: header(req, 'host'), origin: header(req, 'origin'), fetchSite: header(req, 'sec-fetch-site') }, hosts);
    if (!verdict.ok) {
      opts.logger?.warn({ code: verdict.code, host: header(req, 'host'), origin: header(req, 'origin') }, 'console request refused');
      return json(res, verdict.status, { error: { code: verdict.code, message: verdict.message } });
    }
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const who = identify(req, url, res);
    if (!who) return;
    const path = url.pathname;
    if (method === 'GET' && (path === '/' || path === '/index.html')) return reply(res, 303, 'text/plain; charset=utf-8', '', { Location: '/approvals' });
    if (method === 'GET' && PAGES.some((p) => path === `/${p}`)) return reply(res, 200, 'text/html; charset=utf-8', assets.get('index.html') as Buffer);
    const asset = ASSETS[path];
    if (method === 'GET' && asset) return reply(res, 200, asset.type, assets.get(asset.file) as Buffer);
    const caller: api.Caller = { client: opts.clientFor(who.bearer), policy: opts.policy, now: opts.now };
    if (method === 'GET' && path === '/api/events') {
      const key = who.bearer === undefined ? 'local' : createHash('sha256').update(who.bearer).digest('base64url');
      const mine = perToken.get(key) ?? 0;
      if (mine >= maxPerToken) return json(res, 429, { error: { code: 'GH_CONSOLE_INPUT', message: `at most ${maxPerToken} live pages at once per token` } });
      if (streams >= maxStreams) return json(res, 503, { error: { code: 'GH_CONSOLE_INPUT', message: `at most ${maxStreams} live pages at once` } });
      streams++;
      perToken.set(key, mine + 1);
      res.on('close', () => {
        streams--;
        const n = (perToken.get(key) ?? 1) - 1;
        if (n <= 0) perToken.delete(key);
        else perToken.set(key, n);
      });
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
      return streamChanges(caller.client, res);
    }
    const route = method === 'GET' ? GET_ROUTES[path] : method === 'POST' ? POST_ROUTES[path] : undefined;
    if (!route) return json(res, 404, { error: { code: 'GH_CONSOLE_INPUT', message: `no ${method} ${path}` } });
    const body = method === 'POST' ? await readJson(req) : {};
    json(res, 200, await route(caller, url.searchParams, body));
  };

  const server = http.createServer({ requestTimeout: 60_000, headersTimeout: 10_000, maxHeaderSize: 16 * 1024 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) fail(res, err, opts.logger);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}/`;
  if (opts.mode === 'local') {
    session = new LocalSession(port);
    hosts = loopbackHosts(port);
    url = `http://127.0.0.1:${port}/?token=${session.launchToken}`;
  }
  return {
    port,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
