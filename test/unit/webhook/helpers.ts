// Builders and a small HTTPS client for the webhook tests.
import https from 'node:https';
import tls from 'node:tls';
import type { ServerConfig } from '../../../src/config.js';
import type { AccessRequest, Decision } from '../../../src/authz/types.js';

export function serverConfig(files: { cert: string; key: string }, extra: Partial<ServerConfig> = {}): ServerConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    certFile: files.cert,
    keyFile: files.key,
    maxBodyBytes: 3 * 1024 * 1024,
    requestTimeoutMs: 10_000,
    ...extra,
  };
}

/** A SubjectAccessReview as kube-apiserver sends it (v1 uses `groups`, v1beta1 `group`). */
export function sar(opts: {
  apiVersion?: string;
  user?: string;
  groups?: string[];
  verb?: string;
  resource?: string;
  group?: string;
  namespace?: string;
  name?: string;
  nonResource?: { path: string; verb: string };
  extra?: Record<string, string[]>;
} = {}): Record<string, unknown> {
  const apiVersion = opts.apiVersion ?? 'authorization.k8s.io/v1';
  const spec: Record<string, unknown> = { user: opts.user ?? 'alice', uid: 'uid-alice' };
  spec[apiVersion.endsWith('v1beta1') ? 'group' : 'groups'] = opts.groups ?? ['system:authenticated', 'oidc:vision'];
  if (opts.extra) spec['extra'] = opts.extra;
  if (opts.nonResource) {
    spec['nonResourceAttributes'] = opts.nonResource;
  } else {
    const ra: Record<string, unknown> = { verb: opts.verb ?? 'get', group: opts.group ?? '', version: 'v1', resource: opts.resource ?? 'pods' };
    if (opts.namespace !== undefined) ra['namespace'] = opts.namespace;
    else ra['namespace'] = 'vision-dev';
    if (opts.name) ra['name'] = opts.name;
    spec['resourceAttributes'] = ra;
  }
  return { apiVersion, kind: 'SubjectAccessReview', metadata: { creationTimestamp: null }, spec, status: { allowed: false } };
}

export function admissionReview(opts: {
  apiVersion?: string;
  uid?: string | null;
  operation?: string;
  username?: string;
  groups?: string[];
  object?: unknown;
  oldObject?: unknown;
  kind?: string;
} = {}): Record<string, unknown> {
  const request: Record<string, unknown> = {
    kind: { group: 'iam.gatehouse.dev', version: 'v1alpha1', kind: opts.kind ?? 'Role' },
    resource: { group: 'iam.gatehouse.dev', version: 'v1alpha1', resource: 'roles' },
    requestKind: { group: 'iam.gatehouse.dev', version: 'v1alpha1', kind: opts.kind ?? 'Role' },
    name: 'researcher',
    operation: opts.operation ?? 'CREATE',
    userInfo: { username: opts.username ?? 'alice', uid: 'uid-alice', groups: opts.groups ?? ['system:authenticated'], extra: { token: ['secret-extra'] } },
    object: opts.object ?? { apiVersion: 'iam.gatehouse.dev/v1alpha1', kind: 'Role', metadata: { name: 'researcher' }, spec: { permissions: ['jobs:*'] } },
    oldObject: opts.oldObject ?? null,
    dryRun: false,
    options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
  };
  if (opts.uid !== null) request['uid'] = opts.uid ?? '705ab4f5-6393-11e8-b7cc-42010a800002';
  return { apiVersion: opts.apiVersion ?? 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

/** A fake decide(): alice may get pods; mallory is denied outright; everyone else, no opinion. */
export function fakeAuthorize(req: AccessRequest): Decision {
  if (req.user === 'mallory') return { verdict: 'deny', code: 'inactive', reason: 'user mallory is Suspended' };
  if (req.user === 'alice' && req.resource?.verb === 'get' && req.resource.resource === 'pods' && req.resource.group === '') {
    return { verdict: 'allow', code: 'binding', reason: 'role viewer via binding alice-viewer' };
  }
  if (req.user === 'newcomer') return { verdict: 'noOpinion', code: 'unknownUser', reason: 'no User for newcomer' };
  return { verdict: 'noOpinion', code: 'noMatch', reason: 'no rule matches' };
}

export interface HttpsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The serving certificate's fingerprint, to tell a rotated certificate from the old one. */
  fingerprint: string;
  socketId: number;
}

let socketIds = 0;
const ids = new WeakMap<object, number>();

export function request(port: number, opts: {
  method?: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  ca: Buffer | Buffer[];
  agent?: https.Agent | false;
  cert?: Buffer;
  key?: Buffer;
}): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...opts.headers };
    if (opts.body !== undefined) headers['Content-Length'] = Buffer.byteLength(opts.body);
    const req = https.request({
      host: '127.0.0.1', port, method: opts.method ?? (opts.body !== undefined ? 'POST' : 'GET'), path: opts.path,
      ca: opts.ca, headers, agent: opts.agent ?? false, ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}),
    }, (res) => {
      // With a keep-alive agent the socket goes back to the pool before 'end'.
      const socket = res.socket as tls.TLSSocket;
      const fingerprint = socket.getPeerCertificate?.()?.fingerprint256 ?? '';
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let id = ids.get(socket);
        if (id === undefined) {
          id = ++socketIds;
          ids.set(socket, id);
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          fingerprint,
          socketId: id,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
