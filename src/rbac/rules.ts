// The permission grammar as native PolicyRules. One function, atomToRule(), maps what one atom
// grants to the rule the API server's RBAC authorizer matches the same way; it reads the atom
// through the matcher's own key (atomKey), so a change to what `*` or `r/*` covers in the matcher
// shows up here, and the differential test (test/integration/rbac-e2e.test.ts) catches any
// disagreement with decide().
import { GROUP, PLURALS, type PolicyRule } from '../api/types.js';
import { atomKey } from '../authz/matcher.js';
import { EXPLICIT_ONLY, EXPLICIT_VERB_GROUPS, isExplicitOnly, isExplicitVerb, READ_VERBS, WRITE_VERBS, type PermissionAtom, type ResourceAtom } from '../authz/permission.js';
import { DELEGATED_RESOURCES, DELEGATED_WRITE_VERBS } from '../authz/rules.js';

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
 * Every API group holding an EXPLICIT_ONLY target, with its resources and their subresources: a
 * wildcard over such a group is written as this list less EXPLICIT_ONLY (as CORE_RESOURCES for
 * core). `signers` is not served, but RBAC is asked about it when a request is approved or signed.
 */
export const ENUMERATED_GROUPS: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = Object.freeze({
  '': CORE_RESOURCES,
  'authorization.k8s.io': Object.freeze({ localsubjectaccessreviews: [], selfsubjectaccessreviews: [], selfsubjectrulesreviews: [], subjectaccessreviews: [] }),
  'certificates.k8s.io': Object.freeze({ certificatesigningrequests: ['approval', 'status'], signers: [] }),
});

/**
 * The verbs a `*` action is written as when a verb of EXPLICIT_VERBS could apply to the rule's
 * target (RBAC cannot say "every verb but impersonate"): the verbs Kubernetes' own APIs and
 * Gatehouse ask about, less those the target needs named. A custom verb of an aggregated API is
 * not granted by `*` in rbac mode until it is listed here (less, never more; docs/rbac.md).
 */
export const WILDCARD_VERBS: readonly string[] = Object.freeze([
  ...READ_VERBS, ...WRITE_VERBS, 'approve', 'bind', 'escalate', 'impersonate', 'sign', 'use',
]);

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
 * The verbs of a rule for `atom` over (group, resource): `*` only when no verb of EXPLICIT_VERBS
 * applies there, else WILDCARD_VERBS less those.
 */
function verbsFor(atom: ResourceAtom, group: string | null, resource: string): string[] {
  if (atom.verbs !== null) return sortedVerbs(atom.verbs);
  const kept = WILDCARD_VERBS.filter((v) => !isExplicitVerb(v, group, resource));
  return kept.length === WILDCARD_VERBS.length ? ['*'] : [...new Set(kept)].sort();
}

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

/** One rule; `verbs` defaults to verbsFor() over the atom's own group and resource. */
function ruleOf(atom: ResourceAtom, apiGroups: string[], resources: string[], verbs: string[] = verbsFor(atom, atom.group, atom.resource)): PolicyRule {
  const rule: PolicyRule = { apiGroups, resources, verbs };
  if (atom.names !== null) rule.resourceNames = [...atom.names].sort();
  return rule;
}

/**
 * The PolicyRules granting what one atom grants, as the matcher reads it (`*` never reaches
 * EXPLICIT_ONLY). An atom of any resource (or any resource's exec, token, ...) over a group with an
 * EXPLICIT_ONLY target (core, authorization, certificates; or none) is written as the resources
 * of that group it may reach (ENUMERATED_GROUPS), and a group-less one also over `otherGroups`
 * (see BUILTIN_GROUPS); every other atom is one rule, atomToRule().
 */
export function atomRules(atom: PermissionAtom, otherGroups: readonly string[]): PolicyRule[] {
  const plain = atomToRule(atom);
  if (plain === null) return [];
  if (atom.kind !== 'resource' || atom.resource !== '*') return [plain];
  if (atom.group !== null && ENUMERATED_GROUPS[atom.group] === undefined) return [plain];
  const sub = atom.subresource === '*' ? null : atom.subresource;
  if (sub !== null && !EXPLICIT_SUBRESOURCES.has(sub)) return [plain];
  const out: PolicyRule[] = [];
  const enumerated = atom.group === null ? Object.keys(ENUMERATED_GROUPS) : [atom.group];
  for (const group of enumerated) {
    // Resources grouped by their verbs: `*` for most, less impersonate for serviceaccounts, ...
    const byVerbs = new Map<string, { verbs: string[]; resources: string[] }>();
    const add = (resource: string, listed: string): void => {
      const verbs = verbsFor(atom, group, resource);
      const k = verbs.join(',');
      let e = byVerbs.get(k);
      if (!e) byVerbs.set(k, (e = { verbs, resources: [] }));
      e.resources.push(listed);
    };
    for (const [resource, subs] of Object.entries(ENUMERATED_GROUPS[group]!)) {
      if (sub === null) {
        if (!isExplicitOnly(group, resource, null)) add(resource, resource);
        for (const s of subs) if (!isExplicitOnly(group, resource, s)) add(resource, `${resource}/${s}`);
      } else if (subs.includes(sub) && !isExplicitOnly(group, resource, sub)) add(resource, `${resource}/${sub}`);
    }
    for (const { verbs, resources } of byVerbs.values()) out.push(ruleOf(atom, [group], resources.sort(), verbs));
  }
  if (atom.group === null) {
    // Groups where a verb must be named get a rule each (verbsFor() over that group); the rest one.
    const groups = [...new Set(otherGroups)].filter((g) => ENUMERATED_GROUPS[g] === undefined).sort();
    const plainGroups = groups.filter((g) => !EXPLICIT_VERB_GROUPS.has(g));
    for (const g of groups.filter((x) => EXPLICIT_VERB_GROUPS.has(x))) out.push(ruleOf(atom, [g], plain.resources!, verbsFor(atom, g, atom.resource)));
    if (plainGroups.length > 0) out.push(ruleOf(atom, plainGroups, plain.resources!, verbsFor(atom, plainGroups[0]!, atom.resource)));
  }
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
    // The kinds by name, never a subresource (decide()'s isDelegatedWrite): `resources: ["*"]`
    // would hand every namespace owner `users/status` cluster-wide (issue 19, finding 5).
    const key = atomKey(atom.resource, atom.subresource);
    const kinds = key === '*' ? [...DELEGATED_RESOURCES].sort() : DELEGATED_RESOURCES.has(key) ? [key] : [];
    if (kinds.length === 0) continue;
    const writes = atom.verbs === null ? [...DELEGATED_WRITE_VERBS] : [...DELEGATED_WRITE_VERBS].filter((v) => atom.verbs!.has(v));
    const narrowed: ResourceAtom = { ...atom, group: GROUP };
    if (writes.length > 0) out.push(ruleOf({ ...narrowed, verbs: new Set(writes) }, [GROUP], kinds));
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
