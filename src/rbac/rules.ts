// The permission grammar as native PolicyRules. One function, atomToRule(), maps what one atom
// grants to the rule the API server's RBAC authorizer matches the same way; it reads the atom
// through the matcher's own key (atomKey), so a change to what `*` or `r/*` covers in the matcher
// shows up here, and the differential test (test/integration/rbac-e2e.test.ts) catches any
// disagreement with decide().
import { GROUP, PLURALS, type PolicyRule } from '../api/types.js';
import { atomKey } from '../authz/matcher.js';
import { EXPLICIT_ONLY, isExplicitOnly, type PermissionAtom, type ResourceAtom } from '../authz/permission.js';
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

/**
 * The core API group's resources and their subresources. RBAC cannot say "every core resource but
 * Secrets", so a wildcard that would reach an EXPLICIT_ONLY target is written over the core group
 * as this list less EXPLICIT_ONLY. The core group does not grow with CRDs; a core resource a later
 * Kubernetes adds is not granted by a wildcard until it is listed here (less, never more).
 */
export const CORE_RESOURCES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  bindings: [], componentstatuses: [], configmaps: [], endpoints: [], events: [], limitranges: [],
  namespaces: ['finalize', 'status'], nodes: ['proxy', 'status'], persistentvolumeclaims: ['status'],
  persistentvolumes: ['status'], pods: [...BUILTIN_SUBRESOURCES.pods!, 'status'], podtemplates: [],
  replicationcontrollers: ['scale', 'status'], resourcequotas: ['status'], secrets: [],
  serviceaccounts: ['token'], services: ['proxy', 'status'],
});

/**
 * Built-in API groups besides core. A group-less wildcard cannot be `apiGroups: ["*"]` when it must
 * miss Secrets (that would include core), so it is written over these, the groups the cluster
 * serves (discovery, refreshed by the applier) and every group a Role names.
 */
export const BUILTIN_GROUPS: readonly string[] = Object.freeze([
  'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'apiregistration.k8s.io', 'apps', 'authentication.k8s.io',
  'authorization.k8s.io', 'autoscaling', 'batch', 'certificates.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io',
  'events.k8s.io', 'flowcontrol.apiserver.k8s.io', 'networking.k8s.io', 'node.k8s.io', 'policy',
  'rbac.authorization.k8s.io', 'resource.k8s.io', 'scheduling.k8s.io', 'storage.k8s.io', GROUP,
]);

const EXPLICIT_SUBRESOURCES = new Set(EXPLICIT_ONLY.map((e) => e.subresource).filter((s): s is string => s !== null));

const sortedVerbs = (verbs: ReadonlySet<string> | null): string[] => (verbs === null ? ['*'] : [...verbs].sort());

/**
 * The PolicyRule for one atom when no wildcard of it reaches an EXPLICIT_ONLY target; atomRules()
 * is what the compiler calls. Null for `me`, which RBAC cannot express.
 */
export function atomToRule(atom: PermissionAtom): PolicyRule | null {
  if (atom.kind === 'me') return null;
  if (atom.kind === 'nonResource') return { nonResourceURLs: [atom.path + (atom.prefix ? '*' : '')], verbs: sortedVerbs(atom.verbs) };
  const key = atomKey(atom.resource, atom.subresource);
  // `*` and `*/sub` mean the same in RBAC; `r` and `r/sub` too; only `r/*` needs spelling out, less
  // what a wildcard never reaches (pods/exec for `pods/*`; in other groups too: RBAC grants less, never more).
  const resources = key.endsWith('/*') && !key.startsWith('*')
    ? subresourcesOf(atom.resource).filter((s) => !isExplicitOnly(atom.group, atom.resource, s)).map((s) => `${atom.resource}/${s}`)
    : [key];
  return ruleOf(atom, [atom.group === null ? '*' : atom.group], resources);
}

function ruleOf(atom: ResourceAtom, apiGroups: string[], resources: string[]): PolicyRule {
  const rule: PolicyRule = { apiGroups, resources, verbs: sortedVerbs(atom.verbs) };
  if (atom.names !== null) rule.resourceNames = [...atom.names].sort();
  return rule;
}

/**
 * The PolicyRules granting what one atom grants, as the matcher reads it (`*` never reaches
 * EXPLICIT_ONLY). An atom of any resource (or any resource's exec, token, ...) over the core group
 * (group `core` or none) is written as the core resources it may reach, and a group-less one
 * also over `otherGroups` (see BUILTIN_GROUPS); every other atom is one rule, atomToRule().
 */
export function atomRules(atom: PermissionAtom, otherGroups: readonly string[]): PolicyRule[] {
  const plain = atomToRule(atom);
  if (plain === null) return [];
  if (atom.kind !== 'resource' || (atom.group !== null && atom.group !== '') || atom.resource !== '*') return [plain];
  const sub = atom.subresource === '*' ? null : atom.subresource;
  if (sub !== null && !EXPLICIT_SUBRESOURCES.has(sub)) return [plain];
  const core: string[] = [];
  for (const [resource, subs] of Object.entries(CORE_RESOURCES)) {
    if (sub === null) {
      if (!isExplicitOnly('', resource, null)) core.push(resource);
      for (const s of subs) if (!isExplicitOnly('', resource, s)) core.push(`${resource}/${s}`);
    } else if (subs.includes(sub) && !isExplicitOnly('', resource, sub)) core.push(`${resource}/${sub}`);
  }
  const out: PolicyRule[] = [];
  if (core.length > 0) out.push(ruleOf(atom, [''], core.sort()));
  const groups = [...new Set(otherGroups)].filter((g) => g !== '').sort();
  if (atom.group === null && groups.length > 0) out.push(ruleOf(atom, groups, plain.resources!));
  return out;
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

/** A role's atoms as rules (atomRules() each), then rules differing only in resources merged, sorted. */
export function roleRules(atoms: readonly PermissionAtom[], otherGroups: readonly string[] = BUILTIN_GROUPS): PolicyRule[] {
  return mergeRules(atoms.flatMap((a) => atomRules(a, otherGroups)));
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
