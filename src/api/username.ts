// The one canonical form of a username, and the rules for the human-readable text fields (email,
// displayName, Team description). A username is an identity: the API server compares it byte for
// byte, trims header values, and treats `system:` as its own. So a username Gatehouse stores or
// sends has exactly one spelling, and a string that would change on the way (trimmed, normalised,
// re-encoded) is refused rather than sent (docs/security.md, "Rounds 2 and 3").
import { createHash } from 'node:crypto';

/** The longest username (the CRD's maxLength). */
export const MAX_USERNAME_LENGTH = 253;
/** The API server's own identities; never a Gatehouse user's. */
export const RESERVED_USERNAME_PREFIX = 'system:';

/**
 * The documented character set: Unicode letters, combining marks and digits, and `. _ @ + : / # = ~ -`
 * (emails, OIDC prefixes such as `oidc:`, issuer URLs). No whitespace, no commas, no quotes, no
 * control or format characters. The CRD's pattern is the same class in Go's syntax.
 */
const USERNAME_CHARS = /^[\p{L}\p{M}\p{N}._@+:/#=~-]+$/u;

/** Why `value` is not a canonical username, or undefined when it is one. */
export function usernameProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_USERNAME_LENGTH) return `must be at most ${MAX_USERNAME_LENGTH} characters`;
  if (!USERNAME_CHARS.test(value)) {
    return 'may hold only letters, digits and . _ @ + : / # = ~ - (no spaces, commas, control or format characters)';
  }
  if (value.normalize('NFC') !== value) return 'must be in Unicode normal form C (NFC)';
  if (value.startsWith(RESERVED_USERNAME_PREFIX)) return `must not begin with "${RESERVED_USERNAME_PREFIX}" (the API server's own identities)`;
  return undefined;
}

export function isCanonicalUsername(value: string): boolean {
  return usernameProblem(value) === undefined;
}

/**
 * Whether a username survives an HTTP header unchanged (the proxy's Impersonate-User): visible
 * ASCII only. Node writes header strings as Latin-1 and refuses wider characters, and the API
 * server trims values, so anything else would reach it as another string.
 */
export function headerSafe(value: string): boolean {
  return /^[\x21-\x7e]+$/.test(value);
}

/**
 * The User object name for a username: the username itself when it is a valid object name, else a
 * DNS-1123 rendering plus a short hash of the username. Registration (`auto` and self-registration
 * through admission) names Users this way only, so a registrant cannot pick a name that bindings,
 * teams or owner labels already mention.
 */
export function userObjectName(username: string): string {
  const plain = username.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  if (plain === username && plain.length > 0 && plain.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(plain)) return plain;
  const hash = createHash('sha256').update(username).digest('hex').slice(0, 8);
  return `${plain.slice(0, 200).replace(/[^a-z0-9]+$/, '') || 'user'}-${hash}`;
}

// ---------------------------------------------------------------- text people read

/**
 * Characters that rewrite what a terminal or a page shows: C0 and C1 controls (ESC starts
 * terminal sequences, CR and LF forge lines), DEL, the bidirectional overrides, embeddings,
 * isolates and marks (U+202E turns text around), and the Unicode line and paragraph separators.
 */
export const UNSAFE_TEXT = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u;

export const MAX_DISPLAY_NAME_LENGTH = 256;
export const MAX_EMAIL_LENGTH = 254;
export const MAX_DESCRIPTION_LENGTH = 1024;

/** Why `value` is not fit for a displayName or description of at most `max` characters. */
export function textProblem(value: string, max: number): string | undefined {
  if (value.length > max) return `must be at most ${max} characters`;
  if (UNSAFE_TEXT.test(value)) return 'must not contain control characters, line breaks or bidirectional overrides';
  return undefined;
}

// local@domain: the local part is RFC 5322's dot-atom (ASCII), the domain dot-separated labels
// of letters, digits and '-'. Internationalised addresses are refused (see docs/security.md).
const EMAIL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** Why `value` is not an email address (the empty string means none and passes). */
export function emailProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > MAX_EMAIL_LENGTH) return `must be at most ${MAX_EMAIL_LENGTH} characters`;
  if (!EMAIL.test(value)) return 'is not an email address (local@domain, ASCII letters, digits and the usual punctuation)';
  return undefined;
}
