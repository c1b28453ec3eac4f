// The permission grammar (docs/design.md, "Permissions"): `[group/]resource[/subresource]:action`,
// the word `me`, and Kubernetes-style PolicyRules, all compiled to one atom shape so that the
// index, decide() and the escalation checks share a single notion of "what a permission grants".
// Pure: no I/O.
import type { PolicyRule } from '../api/types.js';
import { PermissionSyntaxError } from '../errors.js';

export const READ_VERBS = Object.freeze(['get', 'list', 'watch'] as const);
export const WRITE_VERBS = Object.freeze(['create', 'update', 'patch', 'delete', 'deletecollection'] as const);
export const ALIASES: Readonly<Record<string, readonly string[]>> = Object.freeze({ read: READ_VERBS, write: WRITE_VERBS });

/**
 * API groups whose names have no dot. In `a/b:verb`, `a` is read as a group when it contains a dot
 * or is one of these (or `core`, meaning the core group ""); otherwise `a/b` is resource/subresource
 * (`pods/log:get`). Three segments are always group/resource/subresource.
 */
export const DOTLESS_GROUPS: ReadonlySet<string> = new Set(['apps', 'batch', 'autoscaling', 'policy', 'extensions', 'core']);

/**
 * What one permission grants on resources. `group` null = any API group, '' = core.
 * `resource` '*' = every resource and every subresource. `subresource` null = the resource itself
 * only (`pods` does not match `pods/log`), '*' = every subresource (not the resource itself).
 * Neither wildcard reaches the targets in EXPLICIT_ONLY (Secrets, exec, proxies, tokens).
 * `verbs` null = every verb but those in EXPLICIT_VERBS (impersonate, bind, escalate, ...). `names` null = every object name.
 */
export interface ResourceAtom {
  readonly kind: 'resource';
  readonly group: string | null;
  readonly resource: string;
  readonly subresource: string | null;
  readonly verbs: ReadonlySet<string> | null;
  readonly names: ReadonlySet<string> | null;
}

/** A non-resource URL grant: exact path, or with `prefix` every path starting with `path` (`/logs/*`). */
export interface NonResourceAtom {
  readonly kind: 'nonResource';
  readonly path: string;
  readonly prefix: boolean;
  readonly verbs: ReadonlySet<string> | null;
}

/** `me`: read one's own User and change its displayName and email (admission narrows the fields). */
export interface MeAtom {
  readonly kind: 'me';
}

export type PermissionAtom = ResourceAtom | NonResourceAtom | MeAtom;

/** A parsed permission string: its text and what it grants. */
export interface ParsedPermission {
  readonly text: string;
  readonly atom: PermissionAtom;
}

const VERB_RE = /^[a-z][a-zA-Z0-9-]*$/;
const RESOURCE_RE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const GROUP_RE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const PATH_RE = /^\/[^\s*]*(\*)?$/;

function parseVerbs(text: string, action: string): ReadonlySet<string> | null {
  if (action === '') throw new PermissionSyntaxError(text, 'the action after ":" is empty (use a verb, read, write or *)');
  // A comma-separated list (`get,list`) is accepted too; formatAtom writes it.
  const verbs = new Set<string>();
  for (const part of action.split(',')) {
    if (part === '*') return null;
    const alias = ALIASES[part];
    if (alias) for (const a of alias) verbs.add(a);
    else if (VERB_RE.test(part)) verbs.add(part);
    else if (part === '') throw new PermissionSyntaxError(text, 'an empty verb in the action list');
    else throw new PermissionSyntaxError(text, `action ${JSON.stringify(part)} is not a verb (lowercase letters, digits and -), read, write or *`);
  }
  return verbs;
}

function checkResource(text: string, what: string, value: string): void {
  if (value === '') throw new PermissionSyntaxError(text, `the ${what} is empty`);
  if (value !== '*' && !RESOURCE_RE.test(value)) {
    throw new PermissionSyntaxError(text, `${what} ${JSON.stringify(value)} is not a lowercase resource name (or *)`);
  }
}

function checkGroup(text: string, value: string): void {
  if (!GROUP_RE.test(value)) throw new PermissionSyntaxError(text, `API group ${JSON.stringify(value)} is not a valid group name`);
}

/** Parses one permission string; throws PermissionSyntaxError naming the string and the problem. */
export function parsePermission(text: string): ParsedPermission {
  if (typeof text !== 'string') throw new PermissionSyntaxError(String(text), 'a permission must be a string');
  if (text === 'me') return { text, atom: { kind: 'me' } };
  if (text.trim() === '') throw new PermissionSyntaxError(text, 'the permission is empty');
  if (text !== text.trim() || /\s/.test(text)) throw new PermissionSyntaxError(text, 'a permission contains no spaces');
  const colon = text.lastIndexOf(':');
  if (colon < 0) {
    throw new PermissionSyntaxError(text, 'missing ":action" (write [group/]resource[/subresource]:action, e.g. pods:read, or the word me)');
  }
  const target = text.slice(0, colon);
  const action = text.slice(colon + 1);
  if (target === '') throw new PermissionSyntaxError(text, 'the resource before ":" is empty');
  const verbs = parseVerbs(text, action);
  if (target.startsWith('/')) {
    if (!PATH_RE.test(target)) throw new PermissionSyntaxError(text, 'a non-resource path may contain * only as its last character');
    const prefix = target.endsWith('*');
    return { text, atom: { kind: 'nonResource', path: prefix ? target.slice(0, -1) : target, prefix, verbs } };
  }
  if (target.includes(':')) throw new PermissionSyntaxError(text, 'only one ":" is allowed, before the action');
  const parts = target.split('/');
  let group: string | null = null;
  let resource: string;
  let subresource: string | null = null;
  if (parts.length === 1) {
    resource = parts[0]!;
  } else if (parts.length === 2) {
    const [first, second] = parts as [string, string];
    if (first !== '*' && (first.includes('.') || DOTLESS_GROUPS.has(first))) {
      checkGroup(text, first);
      group = first === 'core' ? '' : first;
      resource = second;
    } else {
      resource = first;
      subresource = second;
    }
  } else if (parts.length === 3) {
    const [g, r, s] = parts as [string, string, string];
    if (g === '*') group = null;
    else {
      checkGroup(text, g);
      group = g === 'core' ? '' : g;
    }
    resource = r;
    subresource = s;
  } else {
    throw new PermissionSyntaxError(text, `too many "/" (at most group/resource/subresource)`);
  }
  checkResource(text, 'resource', resource);
  if (subresource !== null) checkResource(text, 'subresource', subresource);
  // `*` already covers every subresource; `*/x` is Kubernetes' "subresource x of every resource".
  return { text, atom: { kind: 'resource', group, resource, subresource, verbs, names: null } };
}

/** A rendering of a PolicyRule for messages, e.g. `rules[2] (apiGroups [""], resources [pods], verbs [get])`. */
export function describeRule(rule: PolicyRule, index: number): string {
  const parts: string[] = [];
  if (rule.apiGroups) parts.push(`apiGroups ${JSON.stringify(rule.apiGroups)}`);
  if (rule.resources) parts.push(`resources [${rule.resources.join(',')}]`);
  if (rule.nonResourceURLs) parts.push(`nonResourceURLs [${rule.nonResourceURLs.join(',')}]`);
  if (rule.resourceNames) parts.push(`resourceNames [${rule.resourceNames.join(',')}]`);
  parts.push(`verbs [${(rule.verbs ?? []).join(',')}]`);
  return `rules[${index}] (${parts.join(', ')})`;
}

/**
 * Compiles one Kubernetes-style PolicyRule into atoms. Verbs accept the same aliases as the
 * grammar. Throws PermissionSyntaxError (the "permission" being the rule's rendering).
 */
export function compileRule(rule: PolicyRule, index = 0): ParsedPermission[] {
  const label = describeRule(rule, index);
  const fail = (problem: string): never => {
    throw new PermissionSyntaxError(label, problem);
  };
  if (!Array.isArray(rule.verbs) || rule.verbs.length === 0) fail('verbs must list at least one verb');
  let verbs: Set<string> | null = new Set();
  for (const v of rule.verbs) {
    if (v === '*') {
      verbs = null;
      break;
    }
    const alias = ALIASES[v];
    if (alias) for (const a of alias) verbs.add(a);
    else if (VERB_RE.test(v)) verbs.add(v);
    else fail(`verb ${JSON.stringify(v)} is not a verb`);
  }
  const hasResources = (rule.resources?.length ?? 0) > 0;
  const hasUrls = (rule.nonResourceURLs?.length ?? 0) > 0;
  if (hasResources && hasUrls) fail('a rule names either resources or nonResourceURLs, not both');
  if (!hasResources && !hasUrls) fail('a rule must name resources (with apiGroups) or nonResourceURLs');
  const out: ParsedPermission[] = [];
  if (hasUrls) {
    if (rule.apiGroups?.length || rule.resourceNames?.length) fail('apiGroups and resourceNames do not apply to nonResourceURLs');
    for (const url of rule.nonResourceURLs!) {
      if (url === '*') {
        out.push({ text: label, atom: { kind: 'nonResource', path: '/', prefix: true, verbs } });
        continue;
      }
      if (!PATH_RE.test(url)) fail(`nonResourceURL ${JSON.stringify(url)} must start with / and may end in *`);
      const prefix = url.endsWith('*');
      out.push({ text: label, atom: { kind: 'nonResource', path: prefix ? url.slice(0, -1) : url, prefix, verbs } });
    }
    return out;
  }
  if (!rule.apiGroups || rule.apiGroups.length === 0) fail('resources need apiGroups ("" is the core group, * every group)');
  const names = rule.resourceNames && rule.resourceNames.length > 0 ? new Set(rule.resourceNames) : null;
  const groups: (string | null)[] = [];
  for (const g of rule.apiGroups!) {
    if (g === '*') groups.push(null);
    else if (g === '') groups.push('');
    else {
      checkGroup(label, g);
      groups.push(g);
    }
  }
  for (const r of rule.resources!) {
    const slash = r.indexOf('/');
    const resource = slash < 0 ? r : r.slice(0, slash);
    const subresource = slash < 0 ? null : r.slice(slash + 1);
    checkResource(label, 'resource', resource);
    if (subresource !== null) {
      if (subresource.includes('/')) fail(`resource ${JSON.stringify(r)} has more than one "/"`);
      checkResource(label, 'subresource', subresource);
    }
    for (const group of groups) out.push({ text: label, atom: { kind: 'resource', group, resource, subresource, verbs, names } });
  }
  return out;
}

/**
 * What a wildcard reaches (docs/security.md, "What `*` covers"). `*` as the resource (`*:read`,
 * `*\/x`) or as the subresource (`pods/*`) covers every resource and subresource except these
 * targets, each a known path from reading to full control: Secrets (service-account tokens and
 * other credentials), running commands in or tunnelling into a container (pods/exec, attach,
 * portforward), the proxy subresources (pods, services, and nodes/proxy, which is the whole kubelet
 * API), minting service-account tokens, approving certificate requests, and asking what another
 * identity may do (subject access reviews, whose reasons describe other users). A role reaches one only by naming it exactly
 * (`secrets:read`, `pods/exec:create`). This table is the one rule: the matcher (resourceKeys), the
 * slow reading (atomMatchesResource), the escalation checks (atomCovers) and the RBAC compiler all
 * follow it. `subresource: null` is the resource itself.
 */
export const EXPLICIT_ONLY: readonly { readonly group: string; readonly resource: string; readonly subresource: string | null }[] = Object.freeze([
  { group: '', resource: 'secrets', subresource: null },
  { group: '', resource: 'pods', subresource: 'exec' },
  { group: '', resource: 'pods', subresource: 'attach' },
  { group: '', resource: 'pods', subresource: 'portforward' },
  { group: '', resource: 'pods', subresource: 'proxy' },
  { group: '', resource: 'services', subresource: 'proxy' },
  { group: '', resource: 'nodes', subresource: 'proxy' },
  { group: '', resource: 'serviceaccounts', subresource: 'token' },
  // Approving a certificate request (with a signer that issues client certificates, any identity).
  { group: 'certificates.k8s.io', resource: 'certificatesigningrequests', subresource: 'approval' },
  // Asking what another identity may do: reasons about other users (issue 32, finding 10).
  { group: 'authorization.k8s.io', resource: 'localsubjectaccessreviews', subresource: null },
  { group: 'authorization.k8s.io', resource: 'subjectaccessreviews', subresource: null },
]);

/**
 * Verbs a wildcard action (`*`, `pods:*`, `verbs: ["*"]`) never reaches, the verb side of
 * EXPLICIT_ONLY: each turns a grant in one namespace into more than it says. `impersonate` acts as
 * any user, group or service account (a service account holds whatever it holds cluster-wide),
 * `bind` and `escalate` write a RoleBinding to a stronger (cluster-admin) role, `approve` and `sign`
 * on certificate signers issue client certificates for any name. The targets are those the API
 * server asks about for each verb; `resource` null = every resource of the group. A role reaches
 * one only by naming the verb (`serviceaccounts:impersonate`, `verbs: [bind]`); `grant` is the
 * permission the admin presets use. decide() (matcher and GrantBits), the slow reading, atomCovers
 * and the RBAC compiler all follow this table.
 */
export const EXPLICIT_VERBS: readonly { readonly verb: string; readonly group: string; readonly resource: string; readonly grant: string }[] = Object.freeze([
  { verb: 'impersonate', group: '', resource: 'users', grant: 'core/users:impersonate' },
  { verb: 'impersonate', group: '', resource: 'groups', grant: 'core/groups:impersonate' },
  { verb: 'impersonate', group: '', resource: 'serviceaccounts', grant: 'core/serviceaccounts:impersonate' },
  { verb: 'impersonate', group: 'authentication.k8s.io', resource: 'userextras', grant: 'authentication.k8s.io/userextras/*:impersonate' },
  { verb: 'impersonate', group: 'authentication.k8s.io', resource: 'uids', grant: 'authentication.k8s.io/uids:impersonate' },
  { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'roles', grant: 'rbac.authorization.k8s.io/roles:bind' },
  { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', grant: 'rbac.authorization.k8s.io/clusterroles:bind' },
  { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'roles', grant: 'rbac.authorization.k8s.io/roles:escalate' },
  { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', grant: 'rbac.authorization.k8s.io/clusterroles:escalate' },
  { verb: 'approve', group: 'certificates.k8s.io', resource: 'signers', grant: 'certificates.k8s.io/signers:approve' },
  { verb: 'sign', group: 'certificates.k8s.io', resource: 'signers', grant: 'certificates.k8s.io/signers:sign' },
]);

const EXPLICIT_VERB_SET: ReadonlySet<string> = new Set(EXPLICIT_VERBS.map((e) => e.verb));

/** The API groups EXPLICIT_VERBS names (the RBAC compiler writes a wildcard over them apart). */
export const EXPLICIT_VERB_GROUPS: ReadonlySet<string> = new Set(EXPLICIT_VERBS.map((e) => e.group));

/**
 * Whether `verb` on (group, resource) must be named to be granted (EXPLICIT_VERBS). `group` null
 * (an atom without group) means any group and `resource` '*' any resource: true when some target
 * the pair reaches needs the verb named.
 */
export function isExplicitVerb(verb: string, group: string | null, resource: string): boolean {
  if (!EXPLICIT_VERB_SET.has(verb)) return false;
  return EXPLICIT_VERBS.some((e) => e.verb === verb && (group === null || group === e.group) && (resource === '*' || resource === e.resource));
}

/** The permissions granting what `*:*` does not (EXPLICIT_VERBS), for roles meant to hold every permission (the admin presets). */
export function explicitVerbPermissions(): string[] {
  return EXPLICIT_VERBS.map((e) => e.grant);
}

/** EXPLICIT_ONLY as permission strings with one action (`secrets:read`, `pods/exec:read`, ...), for roles meant to reach them. */
export function explicitOnlyPermissions(action: string): string[] {
  // The group is named when it is not core, so `localsubjectaccessreviews` is read as authorization's.
  return EXPLICIT_ONLY.map((e) => `${e.group !== '' ? `${e.group}/` : ''}${e.resource}${e.subresource !== null ? `/${e.subresource}` : ''}:${action}`);
}

/** EXPLICIT_ONLY by resource, for isExplicitOnly(). */
const EXPLICIT_BY_RESOURCE: ReadonlyMap<string, ReadonlyArray<(typeof EXPLICIT_ONLY)[number]>> = (() => {
  const m = new Map<string, Array<(typeof EXPLICIT_ONLY)[number]>>();
  for (const e of EXPLICIT_ONLY) m.set(e.resource, [...(m.get(e.resource) ?? []), e]);
  return m;
})();

/**
 * Whether a request target is one a wildcard never reaches (EXPLICIT_ONLY). `group` null (an atom
 * without group) means any group, so it includes the core group.
 */
export function isExplicitOnly(group: string | null, resource: string, subresource: string | null | undefined): boolean {
  // decide() asks this for every request; one map lookup answers the common case (a resource not in the table).
  const entries = EXPLICIT_BY_RESOURCE.get(resource);
  if (entries === undefined) return false;
  const sub = subresource || null;
  return entries.some((e) => (group === null || group === e.group) && e.subresource === sub);
}

/** Whether an atom names its resource and subresource without a wildcard (so it may reach an EXPLICIT_ONLY target). */
function namesExactly(atom: ResourceAtom): boolean {
  return atom.resource !== '*' && atom.subresource !== '*';
}

/** What a request asks for, normalised for matching. */
export interface ResourceTarget {
  verb: string;
  group: string;
  resource: string;
  subresource?: string | undefined;
  name?: string | undefined;
}

/** Whether a resource atom grants a request (the slow, obvious reading; the index compiles a faster one). */
export function atomMatchesResource(atom: PermissionAtom, t: ResourceTarget): boolean {
  if (atom.kind !== 'resource') return false;
  if (atom.verbs && !atom.verbs.has(t.verb)) return false;
  if (atom.verbs === null && isExplicitVerb(t.verb, t.group, t.resource)) return false;
  if (atom.group !== null && atom.group !== t.group) return false;
  if (!namesExactly(atom) && isExplicitOnly(t.group, t.resource, t.subresource)) return false;
  if (atom.resource !== '*') {
    if (atom.resource !== t.resource) return false;
    const sub = t.subresource || null;
    if (atom.subresource === '*') {
      if (sub === null) return false;
    } else if (atom.subresource !== sub) return false;
  } else if (atom.subresource !== null && atom.subresource !== '*' && atom.subresource !== (t.subresource || null)) {
    // `*/scale`: the scale subresource of every resource.
    return false;
  }
  if (atom.names && (t.name === undefined || !atom.names.has(t.name))) return false;
  return true;
}

export function atomMatchesPath(atom: PermissionAtom, path: string, verb: string): boolean {
  if (atom.kind !== 'nonResource') return false;
  if (atom.verbs && !atom.verbs.has(verb)) return false;
  return atom.prefix ? path.startsWith(atom.path) : path === atom.path;
}

function verbsCover(held: ReadonlySet<string> | null, wanted: ReadonlySet<string> | null): boolean {
  if (held === null) return true;
  if (wanted === null) return false;
  for (const v of wanted) if (!held.has(v)) return false;
  return true;
}

/**
 * Whether holding `held` covers everything `wanted` grants (escalation checks). A wildcard covers a
 * narrower permission; a narrower one never covers a wildcard: `*:read` covers `pods:get`;
 * `pods:get` does not cover `pods:read`; `pods:*` does not cover `pods/log:get`; a permission without
 * group covers one with a group, not the reverse; resourceNames-limited permissions cover only
 * permissions limited to a subset of those names. `me` is covered by `me` only.
 */
export function atomCovers(held: PermissionAtom, wanted: PermissionAtom): boolean {
  if (wanted.kind === 'me') return held.kind === 'me';
  if (wanted.kind === 'nonResource') {
    if (held.kind !== 'nonResource') return false;
    if (!verbsCover(held.verbs, wanted.verbs)) return false;
    if (held.prefix) return wanted.path.startsWith(held.path);
    return !wanted.prefix && wanted.path === held.path;
  }
  if (held.kind !== 'resource') return false;
  if (!verbsCover(held.verbs, wanted.verbs)) return false;
  // A held `*` action does not reach a verb that must be named (EXPLICIT_VERBS), wherever the
  // wanted atom's target may include one; a wanted `*` action does not reach it either.
  if (held.verbs === null && wanted.verbs !== null) {
    for (const v of wanted.verbs) if (isExplicitVerb(v, wanted.group, wanted.resource)) return false;
  }
  if (held.group !== null && held.group !== wanted.group) return false;
  if (held.names !== null) {
    if (wanted.names === null) return false;
    for (const n of wanted.names) if (!held.names.has(n)) return false;
  }
  // A wildcard does not reach what must be named (EXPLICIT_ONLY); what the wanted atom reaches
  // with its own wildcard, a held wildcard reaches too, so only an exact wanted target matters.
  if (!namesExactly(held) && namesExactly(wanted) && isExplicitOnly(wanted.group, wanted.resource, wanted.subresource)) return false;
  if (held.resource === '*') {
    if (held.subresource === null || held.subresource === '*') return true;
    return wanted.subresource === held.subresource;
  }
  if (wanted.resource !== held.resource) return false;
  if (held.subresource === '*') return wanted.subresource !== null;
  return wanted.subresource === held.subresource;
}

/** Splits an atom into pieces each needing one covering atom (one verb, one name), so unions of held atoms count. */
export function splitAtom(atom: PermissionAtom): PermissionAtom[] {
  if (atom.kind === 'me') return [atom];
  const verbs: (ReadonlySet<string> | null)[] = atom.verbs === null ? [null] : [...atom.verbs].map((v) => new Set([v]));
  const out: PermissionAtom[] = [];
  for (const v of verbs) {
    if (atom.kind === 'nonResource') out.push({ ...atom, verbs: v });
    else if (atom.names === null) out.push({ ...atom, verbs: v });
    else for (const n of atom.names) out.push({ ...atom, verbs: v, names: new Set([n]) });
  }
  return out;
}

/** A canonical text for an atom (for messages and snapshots), e.g. `apps/deployments:get,list`. */
export function formatAtom(atom: PermissionAtom): string {
  if (atom.kind === 'me') return 'me';
  const verbs = atom.verbs === null ? '*' : [...atom.verbs].sort().join(',');
  if (atom.kind === 'nonResource') return `${atom.path}${atom.prefix ? '*' : ''}:${verbs}`;
  let target = atom.resource + (atom.subresource !== null ? `/${atom.subresource}` : '');
  if (atom.group !== null) target = `${atom.group === '' ? 'core' : atom.group}/${target}`;
  const names = atom.names ? `[${[...atom.names].sort().join(',')}]` : '';
  return `${target}${names}:${verbs}`;
}
