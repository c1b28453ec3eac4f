// What a user's credential Secret holds, and the pure transitions on it. One Secret per User in the
// operator's namespace: the User's name and uid (a User deleted and created again under the same
// name is a different person, and none of the old tokens work for it) and a bounded list of
// records, each a token's id, kind and SHA-256 hash, never the token.
import { createHash } from 'node:crypto';
import { ID_RE, isHash, type TokenKind } from './token.js';

export interface CredentialRecord {
  id: string;
  kind: TokenKind;
  hash: string;
  /** Milliseconds since the epoch. */
  issuedAt: number;
  /** Invitations only: after this they are refused. */
  expiresAt?: number;
  /** Invitations only: set at redemption; the record stays so a reuse is told apart (and logged). */
  redeemedAt?: number;
  /**
   * The username the token was issued for. A token acts only as that username: changing a User's
   * username ends its tokens. (Records written before this field existed have none and are
   * bound to the User object only.)
   */
  username?: string;
}

export interface UserCredentials {
  /** The User object's name. */
  user: string;
  /** The User object's metadata.uid when the first record was written. */
  uid: string;
  records: CredentialRecord[];
  /** A seed admin's token was generated once (credentials: generate); never again by itself. */
  seedGenerated?: boolean;
}

/** At most this many records per user; a new one past it is refused (not silently dropped). */
export const MAX_RECORDS = 32;
/** Redeemed and expired invitations are kept this long (reuse is reported as reuse), then pruned. */
export const TOMBSTONE_MS = 7 * 24 * 3600 * 1000;
/** The Secret's one data key. */
export const DATA_KEY = 'credentials.json';
const MAX_DATA_BYTES = 64 * 1024;

/**
 * The Secret's name for a User: readable when it fits, otherwise cut with a hash (User names may be
 * 253 characters long, Secret names too).
 */
export function credentialSecretName(user: string): string {
  const plain = `gatehouse-credentials-${user}`;
  if (plain.length <= 253) return plain;
  const hash = createHash('sha256').update(user).digest('hex').slice(0, 12);
  return `${plain.slice(0, 240).replace(/[.-]+$/, '')}-${hash}`;
}

function isRecord(v: unknown): v is CredentialRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  const okNum = (x: unknown): boolean => x === undefined || (typeof x === 'number' && Number.isFinite(x));
  return typeof r['id'] === 'string' && ID_RE.test(r['id'])
    && (r['kind'] === 'inv' || r['kind'] === 'usr')
    && isHash(r['hash'])
    && typeof r['issuedAt'] === 'number' && Number.isFinite(r['issuedAt'])
    && okNum(r['expiresAt']) && okNum(r['redeemedAt'])
    && (r['username'] === undefined || typeof r['username'] === 'string');
}

/** Reads a Secret's data; undefined when it is not a credential document (the caller logs it). */
export function decodeCredentials(data: Record<string, string> | undefined): UserCredentials | undefined {
  const b64 = data?.[DATA_KEY];
  if (typeof b64 !== 'string' || b64.length > MAX_DATA_BYTES * 2) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  if (typeof d['user'] !== 'string' || typeof d['uid'] !== 'string' || !Array.isArray(d['records'])) return undefined;
  // A record that does not parse is dropped, never trusted.
  const records = (d['records'] as unknown[]).filter(isRecord).slice(0, MAX_RECORDS);
  const out: UserCredentials = { user: d['user'], uid: d['uid'], records };
  if (d['seedGenerated'] === true) out.seedGenerated = true;
  return out;
}

export function encodeCredentials(creds: UserCredentials): Record<string, string> {
  return { [DATA_KEY]: Buffer.from(JSON.stringify(creds), 'utf8').toString('base64') };
}

/** Drops invitations past expiry or redeemed longer than TOMBSTONE_MS ago. */
export function prune(creds: UserCredentials, now: number): UserCredentials {
  const records = creds.records.filter((r) => {
    if (r.kind !== 'inv') return true;
    const ended = r.redeemedAt ?? r.expiresAt;
    return ended === undefined || ended + TOMBSTONE_MS > now;
  });
  return { ...creds, records };
}

/** Fresh credentials for a user, or the existing ones when they belong to the same User object. */
export function forUser(existing: UserCredentials | undefined, user: string, uid: string): UserCredentials {
  if (existing && existing.user === user && existing.uid === uid) return existing;
  return { user, uid, records: [] };
}

export class RecordLimitError extends Error {}

export function addRecord(creds: UserCredentials, record: CredentialRecord, now: number): UserCredentials {
  const pruned = prune(creds, now);
  if (pruned.records.length >= MAX_RECORDS) {
    throw new RecordLimitError(`user ${creds.user} already has ${MAX_RECORDS} credential records; revoke some first`);
  }
  return { ...pruned, records: [...pruned.records, record] };
}

export function removeRecord(creds: UserCredentials, id: string): UserCredentials {
  return { ...creds, records: creds.records.filter((r) => r.id !== id) };
}

export function markRedeemed(creds: UserCredentials, id: string, now: number): UserCredentials {
  return { ...creds, records: creds.records.map((r) => (r.id === id ? { ...r, redeemedAt: now } : r)) };
}

/** Why a presented token's record does not admit it (or undefined when it does). */
export type RecordProblem = 'wrongKind' | 'expired' | 'redeemed';

export function recordProblem(record: CredentialRecord, kind: TokenKind, now: number): RecordProblem | undefined {
  if (record.kind !== kind) return 'wrongKind';
  if (record.redeemedAt !== undefined) return 'redeemed';
  if (record.expiresAt !== undefined && record.expiresAt <= now) return 'expired';
  return undefined;
}
