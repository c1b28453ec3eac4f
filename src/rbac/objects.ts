// The native RBAC objects Gatehouse writes: their kinds, the labels that mark them as Gatehouse's,
// and their names. Shared by the compiler (units.ts, compile.ts), the applier and the explainer.
import { createHash } from 'node:crypto';
import type { PolicyRule } from '../api/types.js';
import { GROUP } from '../api/types.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'gatehouse';
/** Label: what kind of grant an object carries (role, delegate, binding, superuser, project-owner, public, default). */
export const SOURCE_LABEL = `${GROUP}/rbac-source`;
/** Annotation: the exact source, e.g. `RoleBinding/vision-researchers` or `projects.ownerRole`. */
export const SOURCE_ANNOTATION = `${GROUP}/source`;
/**
 * Annotation: a hash of the content Gatehouse wrote (its labels, source annotation, rules or roleRef
 * and subjects). The applier's caches hold metadata only; this says what an object was written as
 * without its spec. It cannot say that a spec was edited by hand since (an edit keeps annotations),
 * which is why the applier also compares resourceVersions (src/controller/rbac-applier.ts).
 */
export const HASH_ANNOTATION = `${GROUP}/content-hash`;
/** The label selector of Gatehouse's objects (tools and people filter by it). */
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
/**
 * Every name the compiler writes starts with this, and Gatehouse owns every ClusterRole,
 * ClusterRoleBinding and RoleBinding whose name does (in modes rbac and both): the applier
 * recognises its objects by name, which a namespace user cannot change, not by the label, which
 * they can remove (issue 32, item 11). An object under a reserved name that Gatehouse does not want
 * is deleted; one that differs is rewritten, label included.
 */
export const RESERVED_PREFIX = 'gatehouse:';
export const isReservedName = (name: string): boolean => name.startsWith(RESERVED_PREFIX);
/** What the applier keeps in its caches: its label, or a reserved name without it (a foreign or tampered object). */
export const isGatehouseObject = (o: { metadata: { name?: string; labels?: Record<string, string> } }): boolean =>
  o.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY || isReservedName(o.metadata.name ?? '');
/** Longest name written; longer ones keep a prefix and end in `~` and a hash (`~` is in no Kubernetes object name). */
export const MAX_NAME = 253;
/** Subjects per binding object: at most ~330 bytes each, so ~660 KB, well inside etcd's 1.5 MiB. */
export const DEFAULT_MAX_SUBJECTS = 2000;

export type SourceKind = 'role' | 'delegate' | 'binding' | 'superuser' | 'project-owner' | 'public' | 'default';

export interface RbacSubject {
  kind: 'User' | 'Group';
  apiGroup: typeof RBAC_GROUP;
  name: string;
}

export interface RbacMeta {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RbacClusterRole {
  kind: 'ClusterRole';
  metadata: RbacMeta;
  rules: PolicyRule[];
}

export interface RbacBindingObject {
  kind: 'ClusterRoleBinding' | 'RoleBinding';
  metadata: RbacMeta;
  roleRef: { apiGroup: typeof RBAC_GROUP; kind: 'ClusterRole'; name: string };
  subjects: RbacSubject[];
}

export type RbacObject = RbacClusterRole | RbacBindingObject;
export type RbacKind = RbacObject['kind'];

/** `Kind/namespace/name` (namespace empty for cluster-scoped kinds): the applier's key. */
export function objectKey(kind: RbacKind, namespace: string | undefined, name: string): string {
  // One flat string (a template literal makes a chain of cons strings, copied again when hashed as a
  // Map key; tens of thousands of keys are kept: memory, issue 26).
  return [kind, namespace ?? '', name].join('/');
}
export const keyOf = (o: RbacObject): string => objectKey(o.kind, o.metadata.namespace, o.metadata.name);

/** A deterministic name no other source can produce: `gatehouse:<what>:<name>`, hashed when too long. */
export function rbacName(what: string, name: string, reserve = 0): string {
  // join: one flat string, not a cons string (kept by every desired object: memory).
  const full = ['gatehouse', what, name].join(':');
  const limit = MAX_NAME - reserve;
  if (full.length <= limit) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 16);
  return `${full.slice(0, limit - hash.length - 1)}~${hash}`;
}

/** Room kept at the end of a base name for a part number (`:2` ... `:99999`). */
export const PART_RESERVE = 6;
export const partName = (base: string, part: number): string => (part === 0 ? base : `${base}:${part + 1}`);

/**
 * One labels object per source kind, shared by every object of that kind: tens of thousands of
 * desired objects are kept (memory, issue 26). Nothing writes into an object's labels or
 * annotations (the applier's manifest() copies them), so sharing is safe.
 */
const LABELS = new Map<SourceKind, Record<string, string>>();

export const meta = (name: string, namespace: string | undefined, source: SourceKind, annotation: string | Record<string, string>): RbacMeta => {
  let labels = LABELS.get(source);
  if (labels === undefined) LABELS.set(source, (labels = { [MANAGED_BY_LABEL]: MANAGED_BY, [SOURCE_LABEL]: source }));
  const annotations = typeof annotation === 'string' ? { [SOURCE_ANNOTATION]: annotation } : annotation;
  return namespace !== undefined ? { name, namespace, labels, annotations } : { name, labels, annotations };
};
