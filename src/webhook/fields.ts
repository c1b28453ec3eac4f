// Reading fields of a review body that has not been trusted yet: every string is bounded, every
// wrong type is a ReviewError (a 400, or a denied review that echoes the uid), never a crash.
import { ReviewError } from '../errors.js';
import { clip } from './http.js';

/** Usernames, group names and paths; long OIDC identities fit, megabyte strings do not. */
export const MAX_STRING_LENGTH = 4096;
/** Groups a single identity may carry. */
export const MAX_GROUPS = 1024;

export type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function optString(o: Obj, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ReviewError(`${where}.${key} must be a string`);
  if (v.length > MAX_STRING_LENGTH) throw new ReviewError(`${where}.${key} is longer than ${MAX_STRING_LENGTH} characters`);
  return v;
}

export function reqString(o: Obj, key: string, where: string): string {
  const v = optString(o, key, where);
  if (v === undefined || v === '') throw new ReviewError(`${where}.${key} is required`);
  return v;
}

export function stringArray(o: Obj, key: string, where: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ReviewError(`${where}.${key} must be an array of strings`);
  if (v.length > MAX_GROUPS) throw new ReviewError(`${where}.${key} has more than ${MAX_GROUPS} entries`);
  for (const item of v) {
    if (typeof item !== 'string') throw new ReviewError(`${where}.${key} must be an array of strings`);
    if (item.length > MAX_STRING_LENGTH) throw new ReviewError(`${where}.${key} has an entry longer than ${MAX_STRING_LENGTH} characters`);
  }
  return v as string[];
}

/**
 * A review's envelope: an object of this kind in one of these apiVersions, and its `part` (spec or
 * request) an object. Throws ReviewError with a message for anything else.
 */
export function readEnvelope<V extends string>(body: unknown, kind: string, versions: readonly V[], part: 'spec' | 'request'): { apiVersion: V; part: Obj } {
  if (!isObject(body)) throw new ReviewError(`body must be a${kind.startsWith('A') ? 'n' : ''} ${kind} object`);
  const apiVersion = body['apiVersion'];
  if (typeof apiVersion !== 'string' || !(versions as readonly string[]).includes(apiVersion)) {
    throw new ReviewError(`apiVersion must be one of ${versions.join(', ')}, got ${typeof apiVersion === 'string' ? JSON.stringify(clip(apiVersion, 100)) : typeof apiVersion}`);
  }
  if (body['kind'] !== kind) throw new ReviewError(`kind must be ${kind}`);
  const inner = body[part];
  if (!isObject(inner)) throw new ReviewError(`${part} must be an object`);
  return { apiVersion: apiVersion as V, part: inner };
}
