// What the leader does next with the certificate Secret (certificates.mode operator): a pure
// function of the Secret's content, the clock and what the replicas report, so every rotation step
// is tested without a cluster. src/certs/keeper.ts applies the step.
//
// The CA rotates with an overlap, in three phases the Secret itself records:
//   steady      ca signs; bundle = [ca]
//   publishing  ca signs; ca-next is published (bundle = [ca, next]) for caOverlap, so the
//               webhook configurations and the API servers' kubeconfig files learn it first
//   retiring    next became ca and signs; the old CA stays in the bundle (ca-previous) until every
//               replica reports serving a certificate from the new CA
import { X509Certificate } from 'node:crypto';
import { issueCa, issueServing, issuerIn, fingerprint, splitBundle, type KeyPair } from './x509.js';

export interface CertSettings {
  commonName: string;
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  caValidityMs: number;
  /** Start a CA rotation when the CA has less than this left. */
  caRotateBeforeMs: number;
  /** How long a new CA is published before it signs. */
  caOverlapMs: number;
  certValidityMs: number;
  /** Renew the serving certificate when it has less than this left. */
  certRenewBeforeMs: number;
  /** Also keep a client pair for the API server (/authorize, /authenticate), signed by the newest CA. */
  apiServerClient: boolean;
}

/** The Secret's data, decoded (PEM strings), plus the one timestamp the phases need. */
export interface CertState {
  ca?: KeyPair;
  next?: KeyPair;
  /** ms since the epoch when `next` was first published. */
  nextSince?: number;
  previous?: string;
  serving?: KeyPair;
  client?: KeyPair;
}

export type StepKind = 'create' | 'startRotation' | 'promote' | 'dropPrevious' | 'renew' | 'issueClient' | 'none';

export interface Step {
  kind: StepKind;
  /** Why, for the log. */
  reason: string;
  /** The new state to write (absent for `none`). */
  state?: CertState;
}

/** The PEM bundle the API server must trust: the signing CA first, then the next, then the previous. */
export function trustBundle(state: CertState): string {
  return [state.ca?.cert, state.next?.cert, state.previous].filter((c): c is string => Boolean(c)).map((c) => c.trim() + '\n').join('');
}

function remaining(pem: string, now: number): number {
  return Date.parse(new X509Certificate(pem).validTo) - now;
}

/**
 * A certificate with more time left than the configured validity was issued under a longer one:
 * lowering a lifetime (certs.operator in the chart) takes effect now, not at the old expiry. The
 * slack covers clock differences between the leaders that issued and that check.
 */
const OUTLIVES_SLACK_MS = 60_000;
function outlives(pem: string, now: number, validityMs: number): boolean {
  return remaining(pem, now) > validityMs + OUTLIVES_SLACK_MS;
}

/** Whether the certificate carries exactly the wanted names (X509Certificate spells IPv6 its own way, so ask it). */
function sameNames(pem: string, s: CertSettings): boolean {
  const cert = new X509Certificate(pem);
  return s.dnsNames.every((d) => cert.checkHost(d) === d) && s.ipAddresses.every((ip) => cert.checkIP(ip) !== undefined)
    && (cert.subjectAltName ?? '').split(', ').filter(Boolean).length === s.dnsNames.length + s.ipAddresses.length;
}

function serving(ca: KeyPair, s: CertSettings, now: number): KeyPair {
  // Backdated a minute: replicas' and the API server's clocks differ a little.
  return issueServing(ca, { commonName: s.commonName, dnsNames: s.dnsNames, ipAddresses: s.ipAddresses, notBefore: now - 60_000, notAfter: now + s.certValidityMs });
}

function client(ca: KeyPair, s: CertSettings, now: number): KeyPair {
  // It lives in files on the control-plane nodes, copied by hand: as long as its CA.
  return issueServing(ca, { commonName: 'gatehouse-apiserver-webhook-client', dnsNames: ['gatehouse-apiserver-webhook-client'], ipAddresses: [], clientAuth: true, notBefore: now - 60_000, notAfter: now + s.caValidityMs });
}

function newCa(s: CertSettings, now: number): KeyPair {
  return issueCa({ commonName: `${s.commonName}-ca-${new Date(now).toISOString().slice(0, 10)}`, notBefore: now - 60_000, notAfter: now + s.caValidityMs });
}

/**
 * The next step for the leader. `replicaCas` are the fingerprints of the CAs that signed what each
 * live replica serves (fresh reports only); the old CA leaves the bundle only when all of them name
 * the signing CA.
 */
export function planStep(state: CertState, now: number, s: CertSettings, replicaCas: readonly string[]): Step {
  return withClient(nextStep(state, now, s, replicaCas), s, now);
}

/**
 * Whatever step writes the Secret also brings the API server's client pair up to date (from the
 * newest CA), so a Secret left by an install without it (mode rbac, then reinstalled in mode
 * webhook) gets the pair in the same write as its renewal, not one poll later: the administrator
 * copies the pair as soon as the pods are Ready.
 */
function withClient(step: Step, s: CertSettings, now: number): Step {
  const st = step.state;
  if (!s.apiServerClient || !st) return step;
  const newest = st.next ?? st.ca;
  if (!newest || (st.client && issuerIn(new X509Certificate(st.client.cert), splitBundle(newest.cert)))) return step;
  return { ...step, state: { ...st, client: client(newest, s, now) } };
}

function nextStep(state: CertState, now: number, s: CertSettings, replicaCas: readonly string[]): Step {
  const { ca } = state;
  if (!ca) {
    const fresh = newCa(s, now);
    return { kind: 'create', reason: 'no CA yet', state: { ca: fresh, serving: serving(fresh, s, now), ...(s.apiServerClient ? { client: client(fresh, s, now) } : {}) } };
  }
  const caFp = fingerprint(ca.cert);
  if (state.previous && replicaCas.length > 0 && replicaCas.every((fp) => fp === caFp)) {
    const { previous: _dropped, ...rest } = state;
    return { kind: 'dropPrevious', reason: 'every replica serves a certificate from the new CA', state: rest };
  }
  if (state.next && now - (state.nextSince ?? now) >= s.caOverlapMs) {
    const promoted = state.next;
    const { next: _n, nextSince: _s, ...rest } = state;
    return { kind: 'promote', reason: 'the new CA was published for the overlap period', state: { ...rest, ca: promoted, previous: ca.cert, serving: serving(promoted, s, now) } };
  }
  if (!state.next && !state.previous && (remaining(ca.cert, now) < s.caRotateBeforeMs || outlives(ca.cert, now, s.caValidityMs))) {
    const next = newCa(s, now);
    // The API server's new client pair comes from the new CA at once, so it can be copied to the
    // nodes together with the new bundle during the overlap.
    const reason = remaining(ca.cert, now) < s.caRotateBeforeMs ? 'the CA is close to its end' : 'the CA outlives the configured validity';
    return { kind: 'startRotation', reason, state: { ...state, next, nextSince: now, ...(s.apiServerClient ? { client: client(next, s, now) } : {}) } };
  }
  const current = state.serving;
  const signer = splitBundle(ca.cert);
  if (!current) return { kind: 'renew', reason: 'no serving certificate', state: { ...state, serving: serving(ca, s, now) } };
  const cert = new X509Certificate(current.cert);
  if (!issuerIn(cert, signer)) return { kind: 'renew', reason: 'the serving certificate is not from the signing CA', state: { ...state, serving: serving(ca, s, now) } };
  if (remaining(current.cert, now) < s.certRenewBeforeMs) return { kind: 'renew', reason: 'the serving certificate is close to its end', state: { ...state, serving: serving(ca, s, now) } };
  if (outlives(current.cert, now, s.certValidityMs)) return { kind: 'renew', reason: 'the serving certificate outlives the configured validity', state: { ...state, serving: serving(ca, s, now) } };
  if (!sameNames(current.cert, s)) return { kind: 'renew', reason: 'the certificate names changed', state: { ...state, serving: serving(ca, s, now) } };
  if (s.apiServerClient) {
    const newest = state.next ?? ca;
    if (!state.client || !issuerIn(new X509Certificate(state.client.cert), splitBundle(newest.cert))) {
      return { kind: 'issueClient', reason: "no API server client pair from the newest CA", state: { ...state, client: client(newest, s, now) } };
    }
  }
  return { kind: 'none', reason: 'up to date' };
}

// --- the Secret's layout ---

export const SECRET_KEYS = {
  caCert: 'ca.crt', caKey: 'ca.key', nextCert: 'ca-next.crt', nextKey: 'ca-next.key', previous: 'ca-previous.crt',
  bundle: 'ca-bundle.crt', cert: 'tls.crt', key: 'tls.key', clientCert: 'apiserver-client.crt', clientKey: 'apiserver-client.key',
} as const;
export const NEXT_SINCE_ANNOTATION = 'iam.gatehouse.dev/ca-next-since';

function pair(data: Record<string, string>, c: string, k: string): KeyPair | undefined {
  const cert = data[c];
  const key = data[k];
  return cert && key ? { cert, key } : undefined;
}

/** The Secret's data (already base64-decoded) to a state; unreadable certificates are left out (and so re-issued). */
export function stateFromData(data: Record<string, string>, annotations: Record<string, string> = {}): CertState {
  const usable = (p: KeyPair | undefined): KeyPair | undefined => {
    if (!p) return undefined;
    try {
      new X509Certificate(p.cert);
      return p;
    } catch {
      return undefined;
    }
  };
  const K = SECRET_KEYS;
  const state: CertState = {};
  const ca = usable(pair(data, K.caCert, K.caKey));
  if (ca) state.ca = ca;
  const next = usable(pair(data, K.nextCert, K.nextKey));
  if (next) {
    state.next = next;
    const since = Date.parse(annotations[NEXT_SINCE_ANNOTATION] ?? '');
    state.nextSince = Number.isFinite(since) ? since : 0;
  }
  const prev = data[K.previous];
  if (prev && splitBundle(prev).length > 0) state.previous = prev;
  const srv = usable(pair(data, K.cert, K.key));
  if (srv) state.serving = srv;
  const cl = usable(pair(data, K.clientCert, K.clientKey));
  if (cl) state.client = cl;
  return state;
}

export function dataFromState(state: CertState): { data: Record<string, string>; annotations: Record<string, string | null> } {
  const K = SECRET_KEYS;
  const data: Record<string, string> = {};
  if (state.ca) Object.assign(data, { [K.caCert]: state.ca.cert, [K.caKey]: state.ca.key });
  if (state.next) Object.assign(data, { [K.nextCert]: state.next.cert, [K.nextKey]: state.next.key });
  if (state.previous) data[K.previous] = state.previous;
  if (state.serving) Object.assign(data, { [K.cert]: state.serving.cert, [K.key]: state.serving.key });
  if (state.client) Object.assign(data, { [K.clientCert]: state.client.cert, [K.clientKey]: state.client.key });
  data[K.bundle] = trustBundle(state);
  return { data, annotations: { [NEXT_SINCE_ANNOTATION]: state.next ? new Date(state.nextSince ?? 0).toISOString() : null } };
}
