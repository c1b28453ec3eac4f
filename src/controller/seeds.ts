// Objects the operator keeps as its configuration says: seed admins (Users) and the enabled
// presets' Roles (their specs come from the core's src/authz/presets.ts). The leader creates them, restores them when someone changes them, and when one
// leaves the configuration it only drops the label (it is no longer protected, but nothing a
// person relies on disappears).
import { createHash } from 'node:crypto';
import { API_VERSION, LABELS, type User, type UserSpec } from '../api/types.js';
import type { SeedAdmin } from '../config.js';
import { canonical } from './status.js';

/** A DNS-1123 subdomain name for a seed admin's User (usernames may be emails or have capitals). */
export function seedObjectName(username: string): string {
  const cleaned = username
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 240);
  if (cleaned === username && cleaned.length > 0) return cleaned;
  // A short hash keeps two usernames that clean to the same text apart.
  const hash = createHash('sha256').update(username).digest('hex').slice(0, 6);
  return cleaned ? `${cleaned}-${hash}` : `seed-${hash}`;
}

export function desiredSeedUser(seed: SeedAdmin): User {
  const spec: UserSpec = { username: seed.username, state: 'Active', superuser: true };
  if (seed.email !== undefined) spec.email = seed.email;
  if (seed.displayName !== undefined) spec.displayName = seed.displayName;
  return {
    apiVersion: API_VERSION,
    kind: 'User',
    metadata: { name: seedObjectName(seed.username), labels: { [LABELS.seed]: 'true' } },
    spec,
  };
}


/**
 * The JSON merge patch that makes `existing` match `desired` in spec and in the labels `desired`
 * sets, or undefined when it already does. Spec fields `desired` leaves out are removed.
 */
export function keepPatch(existing: { metadata: { labels?: Record<string, string> }; spec?: object }, desired: { metadata: { labels?: Record<string, string> }; spec: object }): Record<string, unknown> | undefined {
  const patch: Record<string, unknown> = {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(desired.metadata.labels ?? {})) if (existing.metadata.labels?.[k] !== v) labels[k] = v;
  if (Object.keys(labels).length > 0) patch['metadata'] = { labels };
  const have = (existing.spec ?? {}) as Record<string, unknown>;
  const want = desired.spec as Record<string, unknown>;
  const spec: Record<string, unknown> = {};
  for (const k of new Set([...Object.keys(have), ...Object.keys(want)])) {
    if (canonical(have[k]) !== canonical(want[k])) spec[k] = want[k] === undefined ? null : want[k];
  }
  if (Object.keys(spec).length > 0) patch['spec'] = spec;
  return Object.keys(patch).length > 0 ? patch : undefined;
}
