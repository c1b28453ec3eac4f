// The proxy's header rules, pure so they can be fuzzed: what a client sent, minus everything that
// could change who the request acts as or how the connection behaves, plus the operator's own
// credentials and the impersonation of the token's user.
import type { Identity } from './authenticate.js';

// RFC 9110 hop-by-hop fields, and the ones the proxy sets itself.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'host',
]);

/**
 * Fields that carry identity: the client's own credentials and impersonation requests, and the
 * request-header authenticator's fields (harmless without its client certificate, dropped anyway).
 */
export function carriesIdentity(lower: string): boolean {
  return lower === 'authorization' || lower.startsWith('impersonate-') || lower.startsWith('x-remote-') || lower === 'cookie';
}

export type OutgoingHeaders = Record<string, string | string[]>;

/**
 * Request headers for the API server. `raw` is node's rawHeaders (name, value, name, value...).
 * `upgrade`: the client asked to switch protocols (exec, attach, port-forward); then Connection and
 * Upgrade are passed on, nothing else hop-by-hop.
 */
export function forwardRequestHeaders(raw: readonly string[], identity: Identity, upstreamAuth: Readonly<Record<string, string>>, upgrade: boolean): OutgoingHeaders {
  const out: OutgoingHeaders = {};
  // Fields named in Connection are hop-by-hop too.
  const named = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') for (const t of raw[i + 1]!.split(',')) named.add(t.trim().toLowerCase());
  }
  let upgradeValue: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === 'upgrade') upgradeValue = value;
    if (HOP_BY_HOP.has(lower) || carriesIdentity(lower) || (named.has(lower) && lower !== 'upgrade')) continue;
    const prev = out[lower];
    if (prev === undefined) out[lower] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[lower] = [prev, value];
  }
  if (upgrade && upgradeValue !== undefined) {
    out['connection'] = 'Upgrade';
    out['upgrade'] = upgradeValue;
  }
  for (const [k, v] of Object.entries(upstreamAuth)) out[k.toLowerCase()] = v;
  out['impersonate-user'] = identity.username;
  if (identity.groups.length > 0) out['impersonate-group'] = [...identity.groups];
  return out;
}

/** Response headers for the client: the API server's, minus hop-by-hop ones (node frames the body). */
export function forwardResponseHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (lower === 'connection' || lower === 'keep-alive' || lower === 'proxy-connection' || lower === 'upgrade' || lower === 'trailer') continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}
