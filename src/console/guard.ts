// Who may talk to the console at all, decided before any Kubernetes call. A loopback page is still
// reachable by other local users (so a secret token), by other sites' scripts in the same browser
// (so an Origin check and SameSite cookies) and by DNS rebinding (so a Host check). Pure: the
// server passes the request's facts in and turns the verdict into a response.
import { randomBytes, timingSafeEqual } from 'node:crypto';

export type ConsoleMode = 'local' | 'operator';

export interface RequestFacts {
  method: string;
  host: string | undefined;
  origin: string | undefined;
  /** Sec-Fetch-Site, which Chromium and Firefox send on every request. */
  fetchSite: string | undefined;
}

export type Verdict = { ok: true } | { ok: false; status: number; code: 'GH_CONSOLE_HOST' | 'GH_CONSOLE_ORIGIN'; message: string };

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** Host header values a loopback console on `port` answers to. */
export function loopbackHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
}

/**
 * The Host and Origin checks. `hosts` empty accepts any Host (the operator mode without
 * allowedHosts); an Origin, when sent, must be the page's own; a state-changing request must carry
 * one (browsers always do), so a form posted from elsewhere or a bare script cannot change anything.
 */
export function checkRequest(facts: RequestFacts, hosts: readonly string[]): Verdict {
  const host = facts.host?.toLowerCase();
  if (!host || (hosts.length > 0 && !hosts.includes(host))) {
    return { ok: false, status: 421, code: 'GH_CONSOLE_HOST', message: `this console does not answer to Host ${JSON.stringify(facts.host ?? '')}` };
  }
  const unsafe = !SAFE_METHODS.has(facts.method.toUpperCase());
  if (facts.origin !== undefined) {
    const own = [`http://${host}`, `https://${host}`];
    if (!own.includes(facts.origin.toLowerCase())) {
      return { ok: false, status: 403, code: 'GH_CONSOLE_ORIGIN', message: `requests from ${JSON.stringify(facts.origin)} are refused: only the console's own pages may call it` };
    }
  } else if (unsafe) {
    return { ok: false, status: 403, code: 'GH_CONSOLE_ORIGIN', message: 'a change needs an Origin header (the console\'s own pages send one)' };
  }
  if (facts.fetchSite !== undefined && unsafe && facts.fetchSite !== 'same-origin') {
    return { ok: false, status: 403, code: 'GH_CONSOLE_ORIGIN', message: `a ${facts.fetchSite} request may not change anything` };
  }
  return { ok: true };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The local console's secrets: a launch token printed once in the URL, exchanged on first use for a
 * session secret kept in an HttpOnly, SameSite=Strict cookie. The launch token then stops working,
 * so a URL left in a terminal's scrollback or a browser history opens nothing.
 */
export class LocalSession {
  readonly launchToken = randomBytes(24).toString('base64url');
  private readonly session = randomBytes(32).toString('base64url');
  private used = false;
  /** Cookie names carry the port: browsers share cookies between ports of one host. */
  readonly cookieName: string;

  constructor(port: number) {
    this.cookieName = `gatehouse_console_${port}`;
  }

  /** The session secret for the launch token, once; undefined for a wrong or used token. */
  exchange(token: string): string | undefined {
    if (this.used || !same(token, this.launchToken)) return undefined;
    this.used = true;
    return this.session;
  }

  valid(cookieHeader: string | undefined): boolean {
    const value = cookieValue(cookieHeader, this.cookieName);
    return value !== undefined && same(value, this.session);
  }

  setCookie(session: string): string {
    return `${this.cookieName}=${session}; Path=/; HttpOnly; SameSite=Strict`;
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** `Authorization: Bearer TOKEN` (the operator mode, behind an authenticating proxy); bounded. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{1,4096})$/.exec(header ?? '');
  return m?.[1];
}

/** Every page and answer carries these: nothing loads from anywhere but the console itself. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
});
