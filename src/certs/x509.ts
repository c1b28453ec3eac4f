// Issues the operator's own certificates (certificates.mode operator, docs/helm.md): a CA and
// serving certificates signed by it, ECDSA P-256 with SHA-256.
//
// Node's crypto makes keys and signs bytes, but cannot build a certificate (X509Certificate only
// reads one). Rather than a dependency for this (node-forge signs RSA only and in JavaScript;
// @peculiar/x509 pulls in an ASN.1 framework and a DI container), this module writes the few DER
// structures a certificate needs (RFC 5280) and signs them with crypto.sign. Everything it emits is
// read back with X509Certificate in the tests and checked with openssl there.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

// --- DER: tag, length, contents ---

function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else if (n < 0x100) len = Buffer.from([0x81, n]);
  else if (n < 0x10000) len = Buffer.from([0x82, n >> 8, n & 0xff]);
  else len = Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

const seq = (...parts: Buffer[]): Buffer => der(0x30, ...parts);
const set = (...parts: Buffer[]): Buffer => der(0x31, ...parts);
const octets = (b: Buffer): Buffer => der(0x04, b);
const bitString = (b: Buffer): Buffer => der(0x03, Buffer.from([0]), b);
const utf8 = (s: string): Buffer => der(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean): Buffer => der(0x01, Buffer.from([v ? 0xff : 0]));
const explicit = (n: number, inner: Buffer): Buffer => der(0xa0 + n, inner);

/** An unsigned big-endian integer: a leading zero keeps the high bit from meaning "negative". */
function uint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const trimmed = b.subarray(i);
  return der(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

/** UTCTime up to 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(ms: number): Buffer {
  const iso = new Date(ms).toISOString(); // 2026-12-07T15:10:48.123Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z'; // 20261207151048Z
  const year = new Date(ms).getUTCFullYear();
  return year < 2050 ? der(0x17, Buffer.from(digits.slice(2), 'ascii')) : der(0x18, Buffer.from(digits, 'ascii'));
}

const OID = {
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

function name(commonName: string): Buffer {
  return seq(
    set(seq(oid(OID.organization), utf8('Gatehouse'))),
    set(seq(oid(OID.commonName), utf8(commonName))),
  );
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

/** keyUsage bits, numbered as in RFC 5280 (0 = digitalSignature), as a DER BIT STRING. */
function keyUsage(bits: number[]): Buffer {
  let value = 0;
  for (const b of bits) value |= 0x80 >> b;
  const unused = bits.length === 0 ? 0 : 7 - Math.max(...bits);
  return der(0x03, Buffer.from([unused, value]));
}

function subjectAltNames(dnsNames: readonly string[], ipAddresses: readonly string[]): Buffer {
  const entries: Buffer[] = [];
  for (const d of dnsNames) entries.push(der(0x82, Buffer.from(d, 'ascii')));
  for (const ip of ipAddresses) entries.push(der(0x87, ipBytes(ip)));
  return seq(...entries);
}

function ipBytes(ip: string): Buffer {
  const family = isIP(ip);
  if (family === 4) return Buffer.from(ip.split('.').map(Number));
  if (family !== 6) throw new CertificateError(`not an IP address: ${JSON.stringify(ip)}`);
  const [head, tail] = ip.includes('::') ? ip.split('::') as [string, string] : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export class CertificateError extends Error {
  readonly code = 'GH_CERTIFICATE';
}

// --- certificates ---

/** A certificate and its key, both PEM. */
export interface KeyPair {
  cert: string;
  key: string;
}

export interface IssueOptions {
  commonName: string;
  notBefore: number;
  notAfter: number;
}

export interface ServingOptions extends IssueOptions {
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  /** Also usable as a TLS client certificate (the API server's pair for /authorize). */
  clientAuth?: boolean;
}

function keyId(spki: Buffer): Buffer {
  // RFC 5280 4.2.1.2 method 1 would hash the BIT STRING's contents; any stable unique value is
  // allowed, and the SHA-256 of the whole SPKI, cut to 20 bytes, is stable and unique.
  return createHash('sha256').update(spki).digest().subarray(0, 20);
}

function signTbs(tbs: Buffer, signer: KeyObject): string {
  const algorithm = seq(oid(OID.ecdsaWithSHA256));
  const signature = sign('sha256', tbs, signer); // ECDSA: DER Ecdsa-Sig-Value, as X.509 wants
  const cert = seq(tbs, algorithm, bitString(signature));
  const b64 = cert.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

function tbsCertificate(opts: {
  issuer: Buffer; subject: Buffer; spki: Buffer; notBefore: number; notAfter: number; extensions: Buffer[];
}): Buffer {
  // 16 random bytes with the top bit cleared: positive, unique, under the 20-byte limit.
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  return seq(
    explicit(0, der(0x02, Buffer.from([2]))), // v3
    uint(serial),
    seq(oid(OID.ecdsaWithSHA256)),
    opts.issuer,
    seq(time(opts.notBefore), time(opts.notAfter)),
    opts.subject,
    opts.spki,
    explicit(3, seq(...opts.extensions)),
  );
}

function newKey(): { privateKey: KeyObject; spki: Buffer; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKey,
    spki: publicKey.export({ type: 'spki', format: 'der' }),
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** A self-signed CA that may sign leaf certificates only (path length 0). */
export function issueCa(opts: IssueOptions): KeyPair {
  const k = newKey();
  const subject = name(opts.commonName);
  const ski = keyId(k.spki);
  const tbs = tbsCertificate({
    issuer: subject, subject, spki: k.spki, notBefore: opts.notBefore, notAfter: opts.notAfter,
    extensions: [
      extension(OID.basicConstraints, true, seq(bool(true), der(0x02, Buffer.from([0])))),
      extension(OID.keyUsage, true, keyUsage([0, 5, 6])), // digitalSignature, keyCertSign, cRLSign
      extension(OID.subjectKeyIdentifier, false, octets(ski)),
    ],
  });
  return { cert: signTbs(tbs, k.privateKey), key: k.pem };
}

/** A serving certificate for the given names, signed by `ca`. */
export function issueServing(ca: KeyPair, opts: ServingOptions): KeyPair {
  if (opts.dnsNames.length === 0 && opts.ipAddresses.length === 0) throw new CertificateError('a serving certificate needs at least one DNS name or IP address');
  const caCert = new X509Certificate(ca.cert);
  const caKey = createPrivateKey(ca.key);
  const caSpki = createPublicKey(caKey).export({ type: 'spki', format: 'der' });
  const k = newKey();
  const tbs = tbsCertificate({
    issuer: Buffer.from(subjectOf(caCert)), subject: name(opts.commonName), spki: k.spki,
    // Never outlive the CA: a client would refuse the chain after the CA ends anyway.
    notBefore: opts.notBefore, notAfter: Math.min(opts.notAfter, Date.parse(caCert.validTo)),
    extensions: [
      extension(OID.basicConstraints, true, seq()),
      extension(OID.keyUsage, true, keyUsage([0])), // digitalSignature (ECDSA key agreement in TLS 1.3 needs no more)
      extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth), ...(opts.clientAuth ? [oid(OID.clientAuth)] : []))),
      extension(OID.subjectKeyIdentifier, false, octets(keyId(k.spki))),
      extension(OID.authorityKeyIdentifier, false, seq(der(0x80, keyId(caSpki)))),
      extension(OID.subjectAltName, false, subjectAltNames(opts.dnsNames, opts.ipAddresses)),
    ],
  });
  return { cert: signTbs(tbs, caKey), key: k.pem };
}

/** The DER of a certificate's subject Name, taken from the certificate itself (the issuer field must match it byte for byte). */
function subjectOf(cert: X509Certificate): Buffer {
  // Certificate ::= SEQUENCE { tbs SEQUENCE { [0] version, serial, sigAlg, issuer, validity, subject, ... } }
  const raw = cert.raw;
  let pos = 0;
  const header = (at: number): { tag: number; start: number; end: number } => {
    const tag = raw[at]!;
    let len = raw[at + 1]!;
    let start = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + raw[at + 2 + i]!;
      start += n;
    }
    return { tag, start, end: start + len };
  };
  const outer = header(pos);
  const tbs = header(outer.start);
  pos = tbs.start;
  const fields: Array<{ start: number; end: number }> = [];
  while (pos < tbs.end && fields.length < 6) {
    const h = header(pos);
    fields.push({ start: pos, end: h.end });
    pos = h.end;
  }
  // With the [0] version present: version, serial, sigAlg, issuer, validity, subject.
  const subject = fields[5];
  if (!subject) throw new CertificateError('cannot read the CA certificate');
  return raw.subarray(subject.start, subject.end);
}

/** Splits a PEM bundle into its certificates (unparseable blocks are dropped). */
export function splitBundle(pem: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)) {
    try {
      out.push(new X509Certificate(m[0]));
    } catch {
      // a damaged block trusts nothing
    }
  }
  return out;
}

/** The CA in `bundle` that signed `cert`, if any (checked by signature, not by name). */
export function issuerIn(cert: X509Certificate, bundle: readonly X509Certificate[]): X509Certificate | undefined {
  return bundle.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
}

/** A short fingerprint for logs, annotations and comparisons. */
export function fingerprint(cert: X509Certificate | string): string {
  const c = typeof cert === 'string' ? new X509Certificate(cert) : cert;
  return createHash('sha256').update(c.raw).digest('hex').slice(0, 16);
}
