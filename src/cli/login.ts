// The two calls a person makes to the Gatehouse proxy with a Gatehouse token instead of their
// kubeconfig identity (redeem an invitation, rotate a token), and the kubeconfig edits that follow.
// Pure except for postToken, which main.ts wires (the CLI's only network use outside client-node).
import https from 'node:https';
import yaml from 'js-yaml';
import { usageError } from '../client/errors.js';

export interface TlsTrust {
  /** PEM CA bundle the proxy's certificate must chain to; the system roots when absent. */
  ca?: string;
  insecureSkipVerify?: boolean;
}

export interface PostResult {
  status: number;
  body: string;
}

export type PostToken = (url: string, token: string, tls: TlsTrust) => Promise<PostResult>;

/** POSTs with `Authorization: Bearer <token>` and an empty body; 15 s deadline. */
export const postToken: PostToken = (url, token, tls) =>
  new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Length': '0', Accept: 'application/json' },
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
      timeout: 15_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 64 * 1024) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 15 s`)));
    req.on('error', reject);
    req.end();
  });

export interface IssuedCredential {
  username: string;
  user: string;
  token: string;
}

/** The proxy's answer: the new token, or an error with the server's message. */
export function parseCredential(res: PostResult): IssuedCredential | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body);
  } catch {
    return { error: `HTTP ${res.status}: ${res.body.slice(0, 200)}` };
  }
  const o = parsed as Record<string, unknown>;
  if (res.status === 200 && typeof o['token'] === 'string' && typeof o['username'] === 'string' && typeof o['user'] === 'string') {
    return { token: o['token'], username: o['username'], user: o['user'] };
  }
  return { error: `HTTP ${res.status}: ${typeof o['message'] === 'string' ? o['message'] : res.body.slice(0, 200)}` };
}

interface Named<T> {
  name: string;
  [key: string]: unknown;
  value?: T;
}
interface KubeconfigDoc {
  apiVersion?: string;
  kind?: string;
  clusters?: Array<Named<unknown> & { cluster?: Record<string, unknown> }>;
  users?: Array<Named<unknown> & { user?: Record<string, unknown> }>;
  contexts?: Array<Named<unknown> & { context?: Record<string, unknown> }>;
  'current-context'?: string;
  [key: string]: unknown;
}

function upsert<T extends { name: string }>(list: T[] | undefined, item: T): T[] {
  const out = (list ?? []).filter((x) => x.name !== item.name);
  out.push(item);
  return out;
}

function parseDoc(existing: string | undefined): KubeconfigDoc {
  if (existing === undefined || existing.trim() === '') return { apiVersion: 'v1', kind: 'Config' };
  const doc = yaml.load(existing);
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw usageError('the kubeconfig file is not a kubeconfig (not a YAML mapping)');
  return doc as KubeconfigDoc;
}

export interface ClusterEntry {
  server: string;
  caData?: string;
  insecureSkipVerify?: boolean;
}

/**
 * The kubeconfig text with a cluster, a user (the token) and a context named `name` added or
 * replaced, and that context made current; everything else in the file is kept.
 */
export function withCredential(existing: string | undefined, name: string, cluster: ClusterEntry, token: string): string {
  const doc = parseDoc(existing);
  doc.clusters = upsert(doc.clusters, {
    name,
    cluster: {
      server: cluster.server,
      ...(cluster.caData ? { 'certificate-authority-data': cluster.caData } : {}),
      ...(cluster.insecureSkipVerify ? { 'insecure-skip-tls-verify': true } : {}),
    },
  });
  doc.users = upsert(doc.users, { name, user: { token } });
  doc.contexts = upsert(doc.contexts, { name, context: { cluster: name, user: name } });
  doc['current-context'] = name;
  doc.apiVersion ??= 'v1';
  doc.kind ??= 'Config';
  return yaml.dump(doc, { lineWidth: -1 });
}

/** The kubeconfig text with the token of user entry `userName` replaced. */
export function withToken(existing: string, userName: string, token: string): string {
  const doc = parseDoc(existing);
  const entry = doc.users?.find((u) => u.name === userName);
  if (!entry) throw usageError(`user ${JSON.stringify(userName)} not found in the kubeconfig`);
  entry.user = { ...(entry.user ?? {}), token };
  return yaml.dump(doc, { lineWidth: -1 });
}

/** A kubeconfig entry name for a username (kubeconfig names are free text; keep them readable). */
export function contextName(username: string): string {
  return `gatehouse-${username.replace(/[^A-Za-z0-9._@-]+/g, '-')}`;
}
