// Gatehouse's own bearer tokens, as pure functions over node:crypto. A token is
//   gatehouse_<kind>_<id>_<secret>
// kind `inv` (a single-use invitation) or `usr` (a user's long-lived token); id 16 hex digits (64
// random bits, not secret: it names the stored record so a lookup needs no scan); secret 43
// base64url characters (256 random bits). Only SHA-256 of the whole token is stored, and it is
// compared in constant time. The fixed shape makes a token easy to recognise (secret scanners, the
// proxy) and lets anything else be refused before any lookup.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_KINDS = ['inv', 'usr'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

export const TOKEN_PREFIX = 'gatehouse_';
/** gatehouse_ + kind (3) + _ + id (16) + _ + secret (43). */
export const TOKEN_LENGTH = TOKEN_PREFIX.length + 3 + 1 + 16 + 1 + 43;
const TOKEN_RE = /^gatehouse_(inv|usr)_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const HASH_RE = /^[0-9a-f]{64}$/;
export const ID_RE = /^[0-9a-f]{16}$/;

export interface ParsedToken {
  kind: TokenKind;
  id: string;
}

export interface IssuedToken {
  /** The token itself: shown once, never stored or logged. */
  token: string;
  kind: TokenKind;
  id: string;
  /** SHA-256 of the token, hex: what is stored. */
  hash: string;
}

export type RandomBytes = (n: number) => Buffer;

/** A new token of `kind` from 64 + 256 random bits. */
export function issueToken(kind: TokenKind, random: RandomBytes = randomBytes): IssuedToken {
  const id = random(8).toString('hex');
  const secret = random(32).toString('base64url');
  const token = `${TOKEN_PREFIX}${kind}_${id}_${secret}`;
  return { token, kind, id, hash: hashToken(token) };
}

/** The kind and id of a well-formed token; undefined for anything else (never throws). */
export function parseToken(value: unknown): ParsedToken | undefined {
  if (typeof value !== 'string' || value.length !== TOKEN_LENGTH) return undefined;
  const m = TOKEN_RE.exec(value);
  if (!m) return undefined;
  return { kind: m[1] as TokenKind, id: m[2]! };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function isHash(value: unknown): value is string {
  return typeof value === 'string' && HASH_RE.test(value);
}

/** Whether `token` hashes to `storedHash`, compared in constant time. */
export function tokenMatches(token: string, storedHash: string): boolean {
  if (!isHash(storedHash)) return false;
  const a = createHash('sha256').update(token, 'utf8').digest();
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The bearer token of an Authorization header value, or undefined. Only the `Bearer` scheme
 * (case-insensitive, as RFC 6750 allows) with exactly one token.
 */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string' || header.length > 1024) return undefined;
  const m = /^[Bb][Ee][Aa][Rr][Ee][Rr] +([^\s]+) *$/.exec(header);
  return m ? m[1] : undefined;
}
