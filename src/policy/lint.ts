// `kubectl gatehouse lint` (issue 25): every object of a policy set checked the way the admission
// webhook checks it when Argo CD (or a person) creates it, with the webhook's own functions
// (mutateAdmission, validateAdmission) and rule ids, over a view built with the operator's own
// index from the same set. Pure: (set, options) -> messages.
import { PermissionIndex } from '../authz/index.js';
import type { Requester } from '../authz/types.js';
import { mutateAdmission } from '../admission/mutate.js';
import { validateAdmission } from '../admission/validate.js';
import { createPolicyView } from '../admission/view.js';
import { jsonEqual } from '../admission/common.js';
import type { AdmissionContext, AdmissionInput, AdmissionKind, Operation, PatchOp, PolicyView, RuleId } from '../admission/types.js';
import { GROUP, type GatehouseKind } from '../api/types.js';
import { schemaErrors } from './schema.js';
import type { PolicySet, PolicyDoc } from './sources.js';

/**
 * Admission's rule ids; `schema` for what the API server itself refuses first (the CRD's schema,
 * the object name); and the two only a set of files can break (a document that is not one object; one object twice). */
export type LintRule = RuleId | 'schema' | 'unreadable-document' | 'duplicate-object';

export interface LintMessage {
  severity: 'error' | 'warning';
  /** Where: the file, the document's index in it (from 0; -1: the whole file), a List item. */
  file: string;
  document: number;
  item?: string;
  kind?: string;
  name?: string;
  /** The field path, as admission names it (`spec.scope.teams[0]`); '' for the object. */
  path: string;
  /** Set on errors: the admission webhook's rule id (docs/admission.md) or a lint-only one. */
  rule?: LintRule;
  /** With --as: the operation admission would see for this object (CREATE, UPDATE, DELETE). */
  operation?: Operation;
  message: string;
}

/**
 * Who applies the files when no --as is given: a GitOps controller's service account, which
 * Gatehouse leaves to native RBAC (an unmanaged identity). Admission then trusts its privilege
 * and checks everything else: schema, grammar, names, references, seeds and the no-lockout rule.
 */
export const GITOPS_APPLIER: Requester = Object.freeze({
  user: 'system:serviceaccount:argocd:argocd-application-controller',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd', 'system:authenticated'],
});

export interface LintOptions {
  now: number;
  /** Check the change as this user makes it (the escalation rules apply); needs `base`. */
  as?: Requester;
  /** The objects before the change (a pull request's base checkout). */
  base?: PolicySet;
}

/** The admission context over `world`'s index, as the operator builds it (src/operator.ts). */
export function admissionContextFor(set: Pick<PolicySet, 'world' | 'config'>, now: number): { ctx: AdmissionContext; view: PolicyView } {
  const index = PermissionIndex.build(set.world, set.config, () => now);
  const view = createPolicyView(index, () => now);
  return { ctx: { config: set.config, view: () => view, now: () => now }, view };
}

/** JSON pointer `add`s (the only operation mutateAdmission emits) applied to a copy of `obj`. */
export function applyAdds(obj: unknown, patch: readonly PatchOp[]): unknown {
  const out = structuredClone(obj) as Record<string, unknown>;
  for (const op of patch) {
    if (op.op !== 'add') continue;
    const keys = op.path.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    let at: Record<string, unknown> = out;
    for (const k of keys.slice(0, -1)) {
      if (typeof at[k] !== 'object' || at[k] === null) at[k] = {};
      at = at[k] as Record<string, unknown>;
    }
    at[keys[keys.length - 1] ?? ''] = structuredClone(op.value);
  }
  return out;
}

/** One admission request as the webhook would get it: mutation first, then validation. */
export function admit(ctx: AdmissionContext, operation: Operation, kind: AdmissionKind, name: string, object: unknown, oldObject: unknown, requester: Requester): { errors: Array<{ path: string; rule: RuleId; message: string }>; warnings: string[] } {
  let input: AdmissionInput = { operation, kind, name, object, oldObject, requester, dryRun: false };
  const m = mutateAdmission(input, ctx);
  if (m.patch.length > 0 && object !== null) input = { ...input, object: applyAdds(object, m.patch) };
  const res = validateAdmission(input, ctx);
  return { errors: res.errors, warnings: [...m.warnings, ...res.warnings] };
}

function where(d: PolicyDoc): Pick<LintMessage, 'file' | 'document' | 'item' | 'kind' | 'name'> {
  return { file: d.file, document: d.index, ...(d.item ? { item: d.item } : {}), ...(d.kind ? { kind: d.kind } : {}), ...(d.name ? { name: d.name } : {}) };
}

/** A warning's field path, when admission's text starts with one (`spec.role: Role x does not exist yet`). */
function splitWarning(w: string): { path: string; message: string } {
  const m = /^((?:spec|metadata)[\w.[\]-]*): (.*)$/s.exec(w);
  return m ? { path: m[1] ?? '', message: m[2] ?? w } : { path: '', message: w };
}

const keyOf = (kind: string, name: string): string => `${kind}/${name}`;

/**
 * The API server's schema check, which runs before the validating webhook: an object it refuses
 * never reaches admission, so its errors are the only ones (added to `out` when given).
 */
function refusedBySchema(d: PolicyDoc, out?: LintMessage[]): boolean {
  if (!d.kind || d.kind === 'Namespace') return false;
  const errors = schemaErrors(d.kind as GatehouseKind, d.object);
  for (const e of errors) out?.push({ severity: 'error', ...where(d), path: e.path, rule: 'schema', message: e.message });
  return errors.length > 0;
}

export function lint(set: PolicySet, opts: LintOptions): LintMessage[] {
  const out: LintMessage[] = [];
  for (const p of set.problems) out.push({ severity: 'error', file: p.file, document: p.index, path: '', rule: 'unreadable-document', message: p.message });

  const seen = new Map<string, PolicyDoc>();
  const ours: PolicyDoc[] = [];
  for (const d of set.docs) {
    const api = d.object['apiVersion'];
    if (!d.kind) {
      // Another kind of the API group is a typo the API server refuses (no such resource).
      if (typeof api === 'string' && api.startsWith(`${GROUP}/`)) {
        out.push({ severity: 'error', ...where(d), path: 'kind', rule: 'malformed-object', message: `${String(d.object['kind'])} is not a kind of ${String(api)} (User, Role, Team, RoleBinding)` });
      }
      continue;
    }
    const key = keyOf(d.kind, d.name);
    const first = seen.get(key);
    if (first && d.name) {
      out.push({ severity: 'error', ...where(d), path: 'metadata.name', rule: 'duplicate-object', message: `${d.kind} ${d.name} is also defined in ${first.file} document ${first.index}; the later one would replace it` });
      continue;
    }
    seen.set(key, d);
    ours.push(d);
  }

  // Each object as the webhook checks its create, over the whole set (the view every reference
  // resolves in, so a warning is a reference nothing in the set or the configuration satisfies).
  const { ctx, view } = admissionContextFor(set, opts.now);
  for (const d of ours) {
    const kind = d.kind as AdmissionKind;
    if (refusedBySchema(d, out)) continue;
    const res = admit(ctx, 'CREATE', kind, d.name, d.object, null, GITOPS_APPLIER);
    for (const e of res.errors) out.push({ severity: 'error', ...where(d), path: e.path, rule: e.rule, message: e.message });
    for (const w of res.warnings) out.push({ severity: 'warning', ...where(d), ...splitWarning(w) });
  }

  // The no-lockout rule over the whole set: someone must still be able to administer Gatehouse.
  if (view.activeSuperusers().length === 0) {
    out.push({
      severity: 'error', file: set.describe, document: -1, path: '', rule: 'last-superuser',
      message: 'no Active superuser: neither a User with superuser: true and state Active nor a seed admin in the values (seedAdmins); nobody could administer Gatehouse',
    });
  }

  if (opts.as) out.push(...lintChange(set, opts.base, opts.as, opts.now));
  return out;
}

/**
 * The change from `base` to `head` as `as` makes it: each created, changed and deleted object
 * through admission over the base's view (what the cluster holds when the change is applied), so
 * the escalation and delegation rules apply. Only errors: warnings were given for the head above.
 */
export function lintChange(head: PolicySet, base: PolicySet | undefined, as: Requester, now: number): LintMessage[] {
  const out: LintMessage[] = [];
  // Without a base, every object is new and is created in a cluster that holds the set (the
  // author's grants as the set gives them).
  const before = base ?? { ...head, docs: [] };
  const { ctx } = admissionContextFor(before, now);
  const baseDocs = new Map<string, PolicyDoc>();
  for (const d of before.docs) if (d.kind && d.name && !baseDocs.has(keyOf(d.kind, d.name))) baseDocs.set(keyOf(d.kind, d.name), d);
  const headKeys = new Set<string>();
  for (const d of head.docs) {
    if (!d.kind || !d.name) continue;
    const key = keyOf(d.kind, d.name);
    if (headKeys.has(key)) continue;
    headKeys.add(key);
    const old = baseDocs.get(key);
    if ((old && jsonEqual(old.object, d.object)) || refusedBySchema(d)) continue;
    const op: Operation = old ? 'UPDATE' : 'CREATE';
    const res = admit(ctx, op, d.kind, d.name, d.object, old ? old.object : null, as);
    for (const e of res.errors) out.push({ severity: 'error', ...where(d), path: e.path, rule: e.rule, operation: op, message: `as ${as.user}: ${e.message}` });
  }
  for (const [key, d] of baseDocs) {
    if (headKeys.has(key)) continue;
    const res = admit(ctx, 'DELETE', d.kind as AdmissionKind, d.name, null, d.object, as);
    for (const e of res.errors) out.push({ severity: 'error', ...where(d), path: e.path, rule: e.rule, operation: 'DELETE', message: `as ${as.user}: ${e.message}` });
  }
  return out;
}

/** `file#2 (Role viewer) spec.permissions[0]: ... (rule: permission-syntax)`. */
export function formatMessage(m: LintMessage): string {
  const at = `${m.file}${m.document >= 0 ? `#${m.document}` : ''}${m.item ? ` ${m.item}` : ''}`;
  const what = m.kind ? ` (${m.kind}${m.name ? ` ${m.name}` : ''})` : '';
  const op = m.operation ? ` [${m.operation}]` : '';
  return `${m.severity}: ${at}${what}${op}${m.path ? ` ${m.path}` : ''}: ${m.message}${m.rule ? ` (rule: ${m.rule})` : ''}`;
}
