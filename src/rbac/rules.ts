// The permission grammar as native PolicyRules. One function, atomToRule(), maps what one atom
// grants to the rule the API server's RBAC authorizer matches the same way; it reads the atom
// through the matcher's own key (atomKey), so a change to what `*` or `r/*` covers in the matcher
// shows up here, and the differential test (test/integration/rbac-e2e.test.ts) catches any
// disagreement with decide().
import { GROUP, PLURALS, type PolicyRule } from '../api/types.js';
import { atomKey } from '../authz/matcher.js';
import type { PermissionAtom, ResourceAtom } from '../authz/permission.js';
import { DELEGATED_WRITE_VERBS } from '../authz/rules.js';

/**
 * RBAC has no "every subresource of r" (`r/*` matches only a subresource literally named `*`), so
 * the grammar's `r/*` is written as every subresource the API server can serve for r: `status` and
 * `scale` (the only ones a CustomResourceDefinition can have) plus those of the built-in kinds.
 * An aggregated API with other subresources needs them named (docs/rbac.md).
 */
export const BUILTIN_SUBRESOURCES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  pods: ['attach', 'binding', 'ephemeralcontainers', 'eviction', 'exec', 'log', 'portforward', 'proxy', 'resize'],
  nodes: ['proxy'],
  services: ['proxy'],
  serviceaccounts: ['token'],
  namespaces: ['finalize'],
  certificatesigningrequests: ['approval'],
});
const CRD_SUBRESOURCES = ['scale', 'status'] as const;

export function subresourcesOf(resource: string): string[] {
  return [...new Set([...CRD_SUBRESOURCES, ...(BUILTIN_SUBRESOURCES[resource] ?? [])])].sort();
}

const sortedVerbs = (verbs: ReadonlySet<string> | null): string[] => (verbs === null ? ['*'] : [...verbs].sort());

/** The PolicyRule granting exactly what one atom grants (null for `me`, which RBAC cannot express). */
export function atomToRule(atom: PermissionAtom): PolicyRule | null {
  if (atom.kind === 'me') return null;
  if (atom.kind === 'nonResource') return { nonResourceURLs: [atom.path + (atom.prefix ? '*' : '')], verbs: sortedVerbs(atom.verbs) };
  const key = atomKey(atom.resource, atom.subresource);
  // `*` and `*/sub` mean the same in RBAC; `r` and `r/sub` too; only `r/*` needs spelling out.
  const resources = key.endsWith('/*') && !key.startsWith('*') ? subresourcesOf(atom.resource).map((s) => `${atom.resource}/${s}`) : [key];
  const rule: PolicyRule = { apiGroups: [atom.group === null ? '*' : atom.group], resources, verbs: sortedVerbs(atom.verbs) };
  if (atom.names !== null) rule.resourceNames = [...atom.names].sort();
  return rule;
}

/**
 * Delegated administration (decide(): a holder of a write on Gatehouse's kinds in any scope may
 * write them cluster-wide; admission then checks the object lies inside the scope), and approval
 * (`users:approve` lets update and patch of a User through). Gatehouse's kinds are cluster-scoped,
 * so what a namespaced binding holds of them is compiled into a cluster-wide rule on them alone.
 */
export function delegatedRules(atoms: readonly PermissionAtom[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const atom of atoms) {
    if (atom.kind !== 'resource' || (atom.group !== null && atom.group !== GROUP)) continue;
    const writes = atom.verbs === null ? [...DELEGATED_WRITE_VERBS] : [...DELEGATED_WRITE_VERBS].filter((v) => atom.verbs!.has(v));
    const narrowed: ResourceAtom = { ...atom, group: GROUP };
    if (writes.length > 0) out.push(atomToRule({ ...narrowed, verbs: new Set(writes) })!);
    const key = atomKey(atom.resource, atom.subresource);
    if ((atom.verbs === null || atom.verbs.has('approve')) && (key === '*' || key === PLURALS.User)) {
      out.push(atomToRule({ ...narrowed, resource: PLURALS.User, subresource: null, verbs: new Set(['update', 'patch']) })!);
    }
  }
  return mergeRules(out);
}

/** A role's atoms as rules: one per atom, then rules differing only in resources merged, sorted. */
export function roleRules(atoms: readonly PermissionAtom[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const a of atoms) {
    const r = atomToRule(a);
    if (r !== null) out.push(r);
  }
  return mergeRules(out);
}

/** Same-shaped rules (groups, verbs, names) merged into one with the union of resources; deterministic order. */
export function mergeRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const byShape = new Map<string, { rule: PolicyRule; set: Set<string> }>();
  for (const r of rules) {
    const url = r.nonResourceURLs !== undefined;
    const shape = JSON.stringify([url, r.apiGroups ?? [], r.verbs, r.resourceNames ?? []]);
    let e = byShape.get(shape);
    if (!e) byShape.set(shape, (e = { rule: { ...r }, set: new Set() }));
    for (const x of (url ? r.nonResourceURLs : r.resources) ?? []) e.set.add(x);
  }
  const merged = [...byShape.values()].map(({ rule, set }) => {
    const list = [...set].sort();
    return rule.nonResourceURLs !== undefined ? { ...rule, nonResourceURLs: list } : { ...rule, resources: list };
  });
  return merged.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

/** What a superuser holds: everything (decide() allows them every request). */
export const SUPERUSER_RULES: readonly PolicyRule[] = Object.freeze([
  { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
  { nonResourceURLs: ['*'], verbs: ['*'] },
]);
