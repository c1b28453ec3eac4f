// Shared pieces of the validators: findings, who is asking, structural checks of untrusted objects,
// and scope arithmetic.
import { GROUP, type ObjectMeta, type Scope, type User } from '../api/types.js';
import { ignoreListsOf, isBreakGlass as breakGlass, leftAloneBecause } from '../authz/rules.js';
import type { Requester } from '../authz/types.js';
import type { AdmissionContext, AdmissionInput, FieldError, PolicyView, RuleId } from './types.js';
import { scopeParts, scopeText, type GrantScope, type HeldScopes } from '../authz/scope.js';
import { dns1123SubdomainProblem } from './names.js';

export class Findings {
  readonly errors: FieldError[] = [];
  readonly warnings: string[] = [];
  deny(path: string, rule: RuleId, message: string): void {
    this.errors.push({ path, rule, message });
  }
  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }
  get ok(): boolean {
    return this.errors.length === 0;
  }
}

/** Who is asking, resolved once per request. */
export interface Who {
  requester: Requester;
  /** Their User, when they have one. */
  user: User | undefined;
  /** Active superuser. */
  superuser: boolean;
  /** An identity Gatehouse's authorizer leaves to RBAC, trusted for privilege rules (see types.ts). */
  trusted: boolean;
  /** `alice` or `alice (User alice)` for messages. */
  label: string;
}

export interface Env {
  ctx: AdmissionContext;
  view: PolicyView;
  who: Who;
  input: AdmissionInput;
  f: Findings;
}

/** The operator's service account or `system:masters` (authz/rules.ts isBreakGlass). */
export function isBreakGlass(ctx: AdmissionContext, requester: Requester): boolean {
  return breakGlass(ctx.config.operator.serviceAccountUsername, requester.user, requester.groups);
}

/** The identities decide() gives no opinion on (docs/design.md, decision step 1; authz/rules.ts). */
export function isUnmanaged(ctx: AdmissionContext, requester: Requester): boolean {
  return leftAloneBecause(ignoreListsOf(ctx.config.authorization), requester.user, requester.groups) !== null;
}

export function resolveWho(ctx: AdmissionContext, view: PolicyView, requester: Requester): Who {
  const user = view.userByUsername(requester.user);
  const trusted = (ctx.trustUnmanagedIdentities ?? true) && isUnmanaged(ctx, requester);
  return { requester, user, superuser: view.isSuperuser(requester), trusted, label: requester.user };
}

/** Superusers and RBAC-trusted identities pass the privilege rules. */
export function privileged(env: Env): boolean {
  return env.who.superuser || env.who.trusted;
}

export const CLUSTER: Scope = Object.freeze({ cluster: true });

export function gatehousePermission(resource: string, verb: string): string {
  return `${GROUP}/${resource}:${verb}`;
}

export function holdsClusterWide(env: Env, permission: string): boolean {
  return env.view.missingPermissions(env.who.requester, [permission], CLUSTER).length === 0;
}

/** The parts of `scope` that `held` does not cover (empty: covered). */
export function uncovered(view: PolicyView, held: HeldScopes, scope: Scope): GrantScope[] {
  if (held.cluster) return [];
  const viaTeams = new Set(held.teams.flatMap((t) => view.teamNamespaces(t)));
  return scopeParts(scope).filter((p) =>
    p.kind === 'cluster' ? true : p.kind === 'team' ? !held.teams.includes(p.team) : !held.namespaces.includes(p.namespace) && !viaTeams.has(p.namespace));
}

/**
 * Delegated administration (docs/design.md): a write to a Gatehouse kind lies inside the scopes where
 * the requester holds `iam.gatehouse.dev/<resource>:<verb>`.
 */
export function requireDelegated(env: Env, resource: string, verb: string, scope: Scope, path: string, what: string): boolean {
  if (privileged(env)) return true;
  const held = env.view.scopesHolding(env.who.requester, { group: GROUP, resource, verb });
  const missing = uncovered(env.view, held, scope);
  if (missing.length === 0) return true;
  // "holds it nowhere", not "holds it in nowhere": the message is read by a person.
  const where = held.cluster || held.namespaces.length + held.teams.length === 0
    ? 'nowhere'
    : `in ${[...held.teams.map((team) => scopeText({ kind: 'team', team }, 'noun')), ...held.namespaces.map((namespace) => scopeText({ kind: 'namespace', namespace }, 'noun'))].join(', ')}`;
  env.f.deny(
    path,
    'delegated-scope',
    `${what} requires ${gatehousePermission(resource, verb)} in ${missing.map((p) => scopeText(p, 'noun')).join(', ')}; ${env.who.label} holds it ${where}`,
  );
  return false;
}

/** How a kind's validator reads its objects and where a write to one lies (delegated administration). */
export interface KindWrites<T extends { metadata: ObjectMeta; spec: object }> {
  kind: 'Role' | 'Team' | 'RoleBinding';
  /** The plural in `iam.gatehouse.dev/<resource>:<verb>`. */
  resource: string;
  read(f: Findings, obj: unknown, which: 'object' | 'oldObject'): T | undefined;
  /** The scope a write to the object lies in, and the field path a denial of it names. */
  scope(object: T): Scope;
  path: string;
}

/** A create or update that is left to check after beginWrite(). */
export interface Write<T> {
  object: T;
  old: T | undefined;
  /** The metadata the write changes (metadataChanges). */
  meta: string[];
  /** The spec keys an UPDATE changes; undefined on CREATE. */
  specChanges: string[] | undefined;
}

/**
 * The steps each kind's validator starts with: read the object and the old object, check a DELETE
 * against the delegated scope, and pass an UPDATE that changes neither spec nor metadata.
 * Undefined: nothing is left to check.
 */
export function beginWrite<T extends { metadata: ObjectMeta; spec: object }>(env: Env, k: KindWrites<T>): Write<T> | undefined {
  const { input, f } = env;
  const object = input.operation === 'DELETE' ? undefined : k.read(f, input.object, 'object');
  const old = input.operation === 'CREATE' ? undefined : k.read(f, input.oldObject, 'oldObject');
  if (!f.ok) return undefined;
  if (input.operation === 'DELETE') {
    if (old) requireDelegated(env, k.resource, 'delete', k.scope(old), k.path, `deleting ${k.kind} ${old.metadata.name}`);
    return undefined;
  }
  if (!object) return undefined;
  const meta = metadataChanges(env, old?.metadata, object.metadata);
  let specChanges: string[] | undefined;
  if (input.operation === 'UPDATE' && old) {
    specChanges = changedKeys(old.spec as Record<string, unknown>, object.spec as Record<string, unknown>);
    if (specChanges.length === 0 && meta.length === 0) return undefined;
  }
  return { object, old, meta, specChanges };
}

/** A create or update lies inside the scope where the requester holds that write. */
export function requireWriteScope<T extends { metadata: ObjectMeta; spec: object }>(env: Env, k: KindWrites<T>, object: T): boolean {
  const verb = env.input.operation === 'CREATE' ? 'create' : 'update';
  return requireDelegated(env, k.resource, verb, k.scope(object), k.path, `${verb === 'create' ? 'creating' : 'changing'} ${k.kind} ${object.metadata.name}`);
}

/** The annotation `kubectl apply` keeps; self-service may change it along with displayName and email. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The metadata of a Gatehouse object that a write changes, as paths (`metadata.labels[k]`,
 * `metadata.annotations[k]`, `metadata.finalizers`, `metadata.ownerReferences`); on CREATE (`old`
 * undefined) what is set. Fields the API server sets (resourceVersion, managedFields,
 * deletionTimestamp, ...) do not count. A change here is a write like a spec change and goes
 * through the same delegated scope check (issue 16, item 1). Finalizers and ownerReferences keep an
 * object alive or tie its life to another's, so only superusers, the operator and RBAC-trusted
 * identities may set or change them: anyone else is denied here (rule metadata-protected).
 */
export function metadataChanges(env: Env, old: ObjectMeta | undefined, nu: ObjectMeta): string[] {
  const out: string[] = [];
  for (const key of ['labels', 'annotations'] as const) {
    const a = (old?.[key] ?? {}) as Record<string, unknown>;
    const b = (nu[key] ?? {}) as Record<string, unknown>;
    for (const k of changedKeys(a, b)) out.push(`metadata.${key}[${k}]`);
  }
  const raw = nu as unknown as Record<string, unknown>;
  const rawOld = (old ?? {}) as unknown as Record<string, unknown>;
  for (const key of ['finalizers', 'ownerReferences'] as const) {
    const empty = (v: unknown) => v === undefined || v === null || (Array.isArray(v) && v.length === 0);
    const same = empty(raw[key]) ? empty(rawOld[key]) : jsonEqual(raw[key], rawOld[key]);
    if (same) continue;
    out.push(`metadata.${key}`);
    if (!privileged(env)) {
      env.f.deny(`metadata.${key}`, 'metadata-protected',
        `only superusers and the operator may set or change ${key} on Gatehouse objects (they keep an object, and what it grants, alive past its deletion)`);
    }
  }
  return out;
}

// ---- structural checks of untrusted input (the API server's schema normally guarantees these) ----

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type FieldType = 'string' | 'boolean' | 'string[]' | 'object' | 'object[]';

function typeOk(value: unknown, type: FieldType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'string[]':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'object':
      return isRecord(value);
    case 'object[]':
      return Array.isArray(value) && value.every(isRecord);
  }
}

/** Checks optional fields' types; returns false (with findings) if any is wrong. */
export function checkFields(f: Findings, obj: Record<string, unknown>, base: string, fields: Record<string, FieldType>): boolean {
  let ok = true;
  for (const [key, type] of Object.entries(fields)) {
    const value = obj[key];
    if (value === undefined || value === null) continue;
    if (!typeOk(value, type)) {
      f.deny(`${base}.${key}`, 'malformed-object', `must be ${type === 'string[]' ? 'a list of strings' : type === 'object[]' ? 'a list of objects' : `a ${type}`}`);
      ok = false;
    }
  }
  return ok;
}

function stringMap(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}

/**
 * The object's metadata and spec, checked to be well-formed enough to read. Records findings and
 * returns undefined when the object cannot be read at all.
 */
export function readObject(f: Findings, obj: unknown, which: 'object' | 'oldObject', needSpec: boolean): { metadata: ObjectMeta; spec: Record<string, unknown> } | undefined {
  if (!isRecord(obj)) {
    f.deny('', 'malformed-object', `the request's ${which} is missing or not an object`);
    return undefined;
  }
  const metadata = obj['metadata'];
  if (!isRecord(metadata) || typeof metadata['name'] !== 'string') {
    f.deny('metadata.name', 'malformed-object', 'must be a string');
    return undefined;
  }
  for (const key of ['labels', 'annotations'] as const) {
    if (metadata[key] !== undefined && metadata[key] !== null && !stringMap(metadata[key])) {
      f.deny(`metadata.${key}`, 'malformed-object', 'must be a map of strings');
      return undefined;
    }
  }
  const spec = obj['spec'];
  if (spec === undefined || spec === null) {
    if (needSpec) {
      f.deny('spec', 'malformed-object', 'is required');
      return undefined;
    }
    return { metadata: metadata as unknown as ObjectMeta, spec: {} };
  }
  if (!isRecord(spec)) {
    f.deny('spec', 'malformed-object', 'must be an object');
    return undefined;
  }
  return { metadata: metadata as unknown as ObjectMeta, spec };
}

/** readObject(), then the spec's field types (checkFields); undefined (with findings) when either fails. */
export function readSpec(f: Findings, obj: unknown, which: 'object' | 'oldObject', needSpec: boolean, fields: Record<string, FieldType>): { metadata: ObjectMeta; spec: Record<string, unknown> } | undefined {
  const read = readObject(f, obj, which, needSpec);
  if (!read || !checkFields(f, read.spec, 'spec', fields)) return undefined;
  return read;
}

/** Deep equality for JSON values (key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Keys whose values differ between two records. */
export function changedKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !jsonEqual(a[k] ?? undefined, b[k] ?? undefined)).sort();
}

export function label(metadata: ObjectMeta, key: string): string | undefined {
  return metadata.labels?.[key];
}

/**
 * Denies `value` at `path` (rule invalid-name) when `problemOf` (an object name's rule unless told)
 * finds a problem; `note` ends the message. True when the name is valid.
 */
export function validName(f: Findings, path: string, value: string, problemOf: (v: string) => string | undefined = dns1123SubdomainProblem, note = ''): boolean {
  const problem = problemOf(value);
  if (problem !== undefined) f.deny(path, 'invalid-name', `${JSON.stringify(value)} ${problem}${note}`);
  return problem === undefined;
}

/** Reports duplicate strings in a list as warnings (they are harmless but usually a typo). */
export function warnDuplicates(f: Findings, list: readonly string[], path: string): void {
  const seen = new Set<string>();
  for (const [i, v] of list.entries()) {
    if (seen.has(v)) f.warn(`${path}[${i}]: ${JSON.stringify(v)} is listed twice`);
    seen.add(v);
  }
}

export type { AdmissionInput };
