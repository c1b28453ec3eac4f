// How a namespace names its owner (docs/design.md, decision step 7): the `iam.gatehouse.dev/owner` label, whose
// value is an encoding of the username, and the exact username in an annotation. The admission
// mutation writes both; the index reads them back with namespaceOwner().
import { createHash } from 'node:crypto';
import { GROUP, LABELS } from './types.js';

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function isValidLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

/** The annotation that keeps a namespace owner's exact username, next to the (encoded) label. */
export const OWNER_USERNAME_ANNOTATION = `${GROUP}/owner-username`;

/**
 * The value of the `iam.gatehouse.dev/owner` label for a username. Label values allow at most 63
 * characters from [A-Za-z0-9-_.], starting and ending alphanumeric, so:
 * - a username that is already a valid label value is used as it is (`alice` stays `alice`);
 * - otherwise `@` becomes `_at_`, every other character outside the set becomes `_`, leading and
 *   trailing non-alphanumerics are dropped (`alice@example.com` -> `alice_at_example.com`,
 *   `system:serviceaccount:ml:ci` -> `system_serviceaccount_ml_ci`);
 * - a result longer than 63 characters (or empty) is cut to 54 and given `-` plus the first 8 hex
 *   digits of the username's SHA-256, so different long names stay apart.
 * Encoding can collide (`a@b.c` and `a_at_b.c`), so the mutation also writes the exact username to
 * the `iam.gatehouse.dev/owner-username` annotation; namespaceOwner() trusts the annotation only
 * when it encodes to the label, so the label stays the authority.
 */
export function ownerLabelValue(username: string): string {
  if (isValidLabelValue(username) && username.length > 0) return username;
  let value = username.replace(/@/g, '_at_').replace(/[^A-Za-z0-9_.-]/g, '_');
  value = value.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
  if (value.length === 0 || value.length > 63) {
    const hash = createHash('sha256').update(username).digest('hex').slice(0, 8);
    value = `${value.slice(0, 54).replace(/[^A-Za-z0-9]+$/, '')}-${hash}`.replace(/^-/, 'u-');
  }
  return value;
}

/** Whether the namespace's owner label names this username. */
export function isNamespaceOwner(labels: Readonly<Record<string, string>> | undefined, username: string): boolean {
  const label = labels?.[LABELS.owner];
  return label !== undefined && label === ownerLabelValue(username);
}

/**
 * The namespace owner's username: the annotation when it agrees with the label, else the label
 * value itself (exact for usernames that are valid label values).
 */
export function namespaceOwner(metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }): string | undefined {
  const label = metadata.labels?.[LABELS.owner];
  if (label === undefined) return undefined;
  const exact = metadata.annotations?.[OWNER_USERNAME_ANNOTATION];
  if (exact !== undefined && ownerLabelValue(exact) === label) return exact;
  return label;
}
