// A reference reading of Gatehouse's policy, written from the documents alone: the grammar from
// docs/core.md ("Permissions") and docs/design.md ("Permissions"), what `*` does not reach from
// docs/security.md ("What `*` covers"), and the decision order from docs/design.md and docs/core.md
// ("How a request is decided"). It is small and slow on purpose: it scans every object on every
// request and shares no code with src/authz, so a bug in the grammar, the rule compiler or the
// explicit-only table there is not on both sides of the property tests (test/unit/authz/
// property.test.ts) or of the peer benchmark's encoders (bench/peers/), which read this file too.
//
// Imports from src/ are types only; test/unit/authz/oracle-imports.test.ts checks that.
import type { ClusterSelector, Namespace, PolicyRule, Role, RoleBinding, Team, User } from '../../src/api/types.js';
import type { AccessRequest, Decision } from '../../src/authz/types.js';
import type { PolicyConfig } from '../../src/config.js';

// ---------------------------------------------------------------- what `*` does not reach

/**
 * One target a wildcard never reaches (docs/security.md, "What `*` covers"). `subresource` null is
 * the resource itself. `verbs`, when set, limits the row to those verbs, and then a `*` verb does
 * not reach them either (for rows such as "the impersonate verb"); without it every verb of the
 * target is explicit-only. Adding a row is adding one line to EXPLICIT_ONLY_TARGETS; the oracle,
 * the Casbin matcher clause and the Cedar `unless` are all generated from this list.
 */
export interface ExplicitOnlyTarget {
  readonly group: string;
  readonly resource: string;
  readonly subresource: string | null;
  readonly verbs?: readonly string[];
}

export const EXPLICIT_ONLY_TARGETS: readonly ExplicitOnlyTarget[] = [
  { group: '', resource: 'secrets', subresource: null }, // credentials, service-account tokens
  { group: '', resource: 'pods', subresource: 'exec' }, // commands in containers
  { group: '', resource: 'pods', subresource: 'attach' },
  { group: '', resource: 'pods', subresource: 'portforward' }, // tunnels into containers
  { group: '', resource: 'pods', subresource: 'proxy' },
  { group: '', resource: 'services', subresource: 'proxy' },
  { group: '', resource: 'nodes', subresource: 'proxy' }, // the whole kubelet API
  { group: '', resource: 'serviceaccounts', subresource: 'token' }, // minting tokens
  { group: 'certificates.k8s.io', resource: 'certificatesigningrequests', subresource: 'approval' }, // approving a client certificate
  { group: 'authorization.k8s.io', resource: 'localsubjectaccessreviews', subresource: null }, // asking about another user
  { group: 'authorization.k8s.io', resource: 'subjectaccessreviews', subresource: null },
];

/**
 * Verbs a wildcard verb (`*`, `pods:*`, `verbs: ["*"]`) never reaches on these targets (docs/security.md,
 * "What `*` covers": impersonate, bind, escalate, approve and sign). Unlike the rows above, naming the
 * verb is enough: `*:impersonate` reaches impersonation of users.
 */
export interface ExplicitVerbTarget {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
}

export const EXPLICIT_VERB_TARGETS: readonly ExplicitVerbTarget[] = [
  { verb: 'impersonate', group: '', resource: 'users' },
  { verb: 'impersonate', group: '', resource: 'groups' },
  { verb: 'impersonate', group: '', resource: 'serviceaccounts' },
  { verb: 'impersonate', group: 'authentication.k8s.io', resource: 'userextras' },
  { verb: 'impersonate', group: 'authentication.k8s.io', resource: 'uids' },
  { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'roles' },
  { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
  { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'roles' },
  { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
  { verb: 'approve', group: 'certificates.k8s.io', resource: 'signers' },
  { verb: 'sign', group: 'certificates.k8s.io', resource: 'signers' },
];

/** Whether the target's verb must be named to be granted (any subresource of the resource alike). */
export function isExplicitVerbTarget(t: Target): boolean {
  return EXPLICIT_VERB_TARGETS.some((e) => e.verb === t.verb && e.group === t.group && e.resource === t.resource);
}

/** A resource request's target, as the oracle reads it (subresource '' or absent = none). */
export interface Target {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string | undefined;
  readonly name?: string | undefined;
}

/** The rows of EXPLICIT_ONLY_TARGETS a target is (empty: a wildcard reaches it). */
export function explicitOnlyRows(t: Target): ExplicitOnlyTarget[] {
  const sub = t.subresource ? t.subresource : null;
  return EXPLICIT_ONLY_TARGETS.filter((e) => e.group === t.group && e.resource === t.resource && e.subresource === sub && (e.verbs === undefined || e.verbs.includes(t.verb)));
}

/** "The request's target is one of them", as the request sees it (docs: "core `secrets`", ...). */
export function isExplicitOnlyTarget(t: Target): boolean {
  return explicitOnlyRows(t).length > 0;
}

// ---------------------------------------------------------------- the grammar

/** What one permission grants. `group` null = any group; `verbs` null = every verb; `names` null = every name. */
export type RefAtom =
  | { kind: 'resource'; group: string | null; resource: string; subresource: string | null; verbs: readonly string[] | null; names: readonly string[] | null }
  | { kind: 'nonResource'; path: string; prefix: boolean; verbs: readonly string[] | null }
  | { kind: 'me' };

/** Thrown for a permission the grammar does not accept; such a permission grants nothing. */
export class RefSyntaxError extends Error {
  constructor(text: string, why: string) {
    super(`invalid permission ${JSON.stringify(text)}: ${why}`);
    this.name = 'RefSyntaxError';
  }
}

// "a group is recognised by its dot (or apps, batch, autoscaling, policy, extensions, core)"
const GROUP_WORDS = ['apps', 'batch', 'autoscaling', 'policy', 'extensions', 'core'];
// Kubernetes names: lowercase letters, digits, '-' and '.'.
const NAME = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const VERB = /^[a-z][a-zA-Z0-9-]*$/;
const ALIAS: Record<string, string[]> = { read: ['get', 'list', 'watch'], write: ['create', 'update', 'patch', 'delete', 'deletecollection'] };

function verbsOf(text: string, words: readonly string[]): string[] | null {
  const out: string[] = [];
  for (const w of words) {
    if (w === '*') return null;
    if (ALIAS[w]) out.push(...ALIAS[w]!);
    else if (VERB.test(w)) out.push(w);
    else throw new RefSyntaxError(text, `bad verb ${JSON.stringify(w)}`);
  }
  if (out.length === 0) throw new RefSyntaxError(text, 'no verb');
  return out;
}

const nameOrStar = (text: string, s: string): string => {
  if (s !== '*' && !NAME.test(s)) throw new RefSyntaxError(text, `bad name ${JSON.stringify(s)}`);
  return s;
};
const groupName = (text: string, g: string): string | null => {
  if (g === '*') return null;
  if (g === 'core') return '';
  if (!NAME.test(g)) throw new RefSyntaxError(text, `bad group ${JSON.stringify(g)}`);
  return g;
};

/** `[group/]resource[/subresource]:action`, `/path[*]:action`, or `me`. */
export function parseRef(text: string): RefAtom {
  if (text === 'me') return { kind: 'me' };
  const colon = text.lastIndexOf(':');
  if (colon <= 0 || /\s/.test(text)) throw new RefSyntaxError(text, 'not target:action');
  const target = text.slice(0, colon);
  const verbs = verbsOf(text, text.slice(colon + 1).split(','));
  if (target.startsWith('/')) {
    const star = target.indexOf('*');
    if (star >= 0 && star !== target.length - 1) throw new RefSyntaxError(text, '* only at the end of a path');
    return star >= 0 ? { kind: 'nonResource', path: target.slice(0, -1), prefix: true, verbs } : { kind: 'nonResource', path: target, prefix: false, verbs };
  }
  if (target.includes(':')) throw new RefSyntaxError(text, 'two colons');
  const parts = target.split('/');
  let group: string | null = null;
  let resource: string;
  let subresource: string | null = null;
  if (parts.length === 1) resource = parts[0]!;
  else if (parts.length === 2) {
    const [a, b] = parts as [string, string];
    if (a.includes('.') || GROUP_WORDS.includes(a)) [group, resource] = [groupName(text, a), b];
    else [resource, subresource] = [a, b];
  } else if (parts.length === 3) [group, resource, subresource] = [groupName(text, parts[0]!), parts[1]!, parts[2]!];
  else throw new RefSyntaxError(text, 'too many /');
  return { kind: 'resource', group, resource: nameOrStar(text, resource), subresource: subresource === null ? null : nameOrStar(text, subresource), verbs, names: null };
}

/** A Kubernetes PolicyRule, read the same way ("" = core, "*" = any group; an invalid rule throws). */
export function ruleRef(rule: PolicyRule): RefAtom[] {
  const text = JSON.stringify(rule);
  const verbs = verbsOf(text, rule.verbs ?? []);
  const resources = rule.resources ?? [];
  const urls = rule.nonResourceURLs ?? [];
  if ((resources.length > 0) === (urls.length > 0)) throw new RefSyntaxError(text, 'resources or nonResourceURLs, one of them');
  if (urls.length > 0) {
    if ((rule.apiGroups ?? []).length > 0 || (rule.resourceNames ?? []).length > 0) throw new RefSyntaxError(text, 'apiGroups/resourceNames with URLs');
    return urls.map((u): RefAtom => {
      if (u === '*') return { kind: 'nonResource', path: '/', prefix: true, verbs };
      const a = parseRef(`${u}:get`);
      if (a.kind !== 'nonResource') throw new RefSyntaxError(text, `URL ${u} must start with /`);
      return { ...a, verbs };
    });
  }
  const groups = rule.apiGroups ?? [];
  if (groups.length === 0) throw new RefSyntaxError(text, 'resources need apiGroups');
  const names = (rule.resourceNames ?? []).length > 0 ? [...rule.resourceNames!] : null;
  const out: RefAtom[] = [];
  for (const r of resources) {
    const [res, sub, more] = r.split('/');
    if (more !== undefined) throw new RefSyntaxError(text, `resource ${r}`);
    for (const g of groups) {
      const group = g === '*' ? null : g === '' ? '' : groupName(text, g);
      out.push({ kind: 'resource', group, resource: nameOrStar(text, res!), subresource: sub === undefined ? null : nameOrStar(text, sub), verbs, names });
    }
  }
  return out;
}

// ---------------------------------------------------------------- matching

/** Whether an atom names every explicit-only row of the target exactly (docs: "A role reaches one only by naming it"). */
function namesExactly(a: Extract<RefAtom, { kind: 'resource' }>, rows: readonly ExplicitOnlyTarget[]): boolean {
  if (a.resource === '*' || a.subresource === '*') return false;
  return rows.every((r) => r.verbs === undefined || a.verbs !== null);
}

/** Whether a resource atom grants a target. */
export function grantsTarget(a: RefAtom, t: Target): boolean {
  if (a.kind !== 'resource') return false;
  if (a.verbs !== null && !a.verbs.includes(t.verb)) return false;
  if (a.verbs === null && isExplicitVerbTarget(t)) return false;
  if (a.group !== null && a.group !== t.group) return false;
  const sub = t.subresource ? t.subresource : null;
  if (a.resource === '*') {
    // `*` alone: every resource and subresource; `*/x`: subresource x of every resource.
    if (a.subresource !== null && a.subresource !== '*' && a.subresource !== sub) return false;
    if (a.subresource === '*' && sub === null) return false;
  } else {
    if (a.resource !== t.resource) return false;
    // `pods` is not `pods/log`; `pods/*` is every subresource of pods, not pods itself.
    if (a.subresource === '*' ? sub === null : a.subresource !== sub) return false;
  }
  const rows = explicitOnlyRows(t);
  if (rows.length > 0 && !namesExactly(a, rows)) return false;
  if (a.names !== null && (t.name === undefined || !a.names.includes(t.name))) return false;
  return true;
}

export function grantsPath(a: RefAtom, path: string, verb: string): boolean {
  if (a.kind !== 'nonResource') return false;
  if (a.verbs !== null && !a.verbs.includes(verb)) return false;
  return a.prefix ? path.startsWith(a.path) : path === a.path;
}

// ---------------------------------------------------------------- the fleet

/** A cluster as the configuration names it (`cluster: {name, labels}`); name '' = not named. */
export interface RefCluster {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * docs/design.md, "Fleet": whether an object whose spec.clusters is `sel` holds on `cluster`. Unset
 * or with nothing in it: every cluster. Otherwise only a named cluster, selected by its name being
 * listed, or by a non-empty label part (matchLabels and matchExpressions together, as a Kubernetes
 * LabelSelector: every requirement holds; a missing label satisfies NotIn and DoesNotExist).
 * Written here from the docs, not from src/fleet/cluster.ts.
 */
export function refHoldsOn(sel: ClusterSelector | undefined, cluster: RefCluster): boolean {
  const names = sel?.names ?? [];
  const requirements: { key: string; operator: string; values: readonly string[] }[] = [
    ...Object.keys(sel?.matchLabels ?? {}).map((key) => ({ key, operator: 'In', values: [sel!.matchLabels![key]!] })),
    ...(sel?.matchExpressions ?? []).map((e) => ({ key: e.key, operator: e.operator as string, values: e.values ?? [] })),
  ];
  if (names.length === 0 && requirements.length === 0) return true;
  if (cluster.name === '') return false;
  if (names.some((n) => n === cluster.name)) return true;
  if (requirements.length === 0) return false;
  const has = (key: string): boolean => Object.keys(cluster.labels).includes(key);
  return requirements.every(({ key, operator, values }) => {
    if (operator === 'In') return has(key) && values.includes(cluster.labels[key]!);
    if (operator === 'NotIn') return !(has(key) && values.includes(cluster.labels[key]!));
    if (operator === 'Exists') return has(key);
    if (operator === 'DoesNotExist') return !has(key);
    return false;
  });
}

// ---------------------------------------------------------------- the decision order

export interface RefWorld {
  users: readonly User[];
  roles: readonly Role[];
  teams: readonly Team[];
  bindings: readonly RoleBinding[];
  namespaces: readonly Namespace[];
}

export interface RefDecision {
  verdict: Decision['verdict'];
  code: Decision['code'];
  binding?: string;
}

/** "username (unset or empty: metadata.name)" */
export const refUsername = (u: User): string => (u.spec.username ? u.spec.username : u.metadata.name);

/** Every atom a role holds, its includes followed (each role once); invalid permissions and rules grant nothing. */
export function refRoleAtoms(w: RefWorld, role: string): RefAtom[] {
  const out: RefAtom[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const ro = w.roles.find((x) => x.metadata.name === name);
    if (!ro) return;
    for (const p of ro.spec.permissions ?? []) {
      try {
        out.push(parseRef(p));
      } catch {
        /* grants nothing */
      }
    }
    for (const rule of ro.spec.rules ?? []) {
      try {
        out.push(...ruleRef(rule));
      } catch {
        /* grants nothing */
      }
    }
    for (const inc of ro.spec.includes ?? []) visit(inc);
  };
  visit(role);
  return out;
}

const byName = <T extends { metadata: { name: string } }>(a: T, b: T): number => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);

/** docs/design.md "How a request is decided", steps 1 and 3 to 9 (the oracle's index is always synced). */
export function referenceDecide(w: RefWorld, cfg: PolicyConfig, r: AccessRequest, now: number): RefDecision {
  // 1. Left alone.
  if (r.user.startsWith('system:') || cfg.authorization.ignoreUsers.includes(r.user)) return { verdict: 'noOpinion', code: 'ignored' };
  if (r.groups.some((g) => g === 'system:serviceaccounts' || g.startsWith('system:serviceaccounts:') || cfg.authorization.ignoreGroups.includes(g))) return { verdict: 'noOpinion', code: 'ignored' };
  // 3. Unknown users (two Users claiming one username: the first object name is in effect).
  const obj = w.users.filter((u) => refUsername(u) === r.user).sort(byName)[0];
  const seed = cfg.seedAdmins.some((s) => s.username === r.user);
  if (!obj && !seed) {
    const reg = (cfg.registration.mode === 'approval' || cfg.registration.mode === 'open') && r.resource?.verb === 'create' && r.resource.group === 'iam.gatehouse.dev' && r.resource.resource === 'users' && !r.resource.subresource;
    return reg ? { verdict: 'allow', code: 'registration' } : { verdict: 'noOpinion', code: 'unknownUser' };
  }
  // 4. Inactive (a User limited to other clusters counts as Suspended here; seed admins never are); 5. superusers.
  const here: RefCluster = cfg.cluster ?? { name: '', labels: {} };
  const state = seed ? 'Active' : !refHoldsOn(obj!.spec.clusters, here) ? 'Suspended' : obj!.spec.state;
  if (state !== 'Active') return cfg.authorization.denyInactiveUsers ? { verdict: 'deny', code: 'inactive' } : { verdict: 'noOpinion', code: 'inactive' };
  if (seed || obj!.spec.superuser) return { verdict: 'allow', code: 'superuser' };
  // 6. Live bindings. A subject is the user by username or object name; system:masters never counts.
  const ids = new Set([r.user, ...(obj ? [obj.metadata.name] : [])]);
  const groups = r.groups.filter((g) => g !== 'system:masters');
  const inTeam = (t: string): boolean => {
    const team = w.teams.find((x) => x.metadata.name === t);
    return !!team && ((team.spec.members ?? []).some((m) => ids.has(m)) || (team.spec.groups ?? []).some((g) => groups.includes(g)));
  };
  const target = (verb: string): Target | null => (r.resource ? { verb, group: r.resource.group, resource: r.resource.resource, subresource: r.resource.subresource, name: r.resource.name } : null);
  const grants = (role: string): boolean =>
    refRoleAtoms(w, role).some((a) => (r.nonResource ? grantsPath(a, r.nonResource.path, r.nonResource.verb) : grantsTarget(a, target(r.resource!.verb)!)));
  const teamNamespaces = (t: string): Set<string> => {
    const team = w.teams.find((x) => x.metadata.name === t);
    return new Set([...(team?.spec.namespaces ?? []), ...w.namespaces.filter((n) => n.metadata.labels?.['iam.gatehouse.dev/team'] === t).map((n) => n.metadata.name)]);
  };
  const subtreeOf = (t: string): Set<string> => {
    const out = new Set([t]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const x of w.teams) if (x.spec.parent !== undefined && out.has(x.spec.parent) && !out.has(x.metadata.name)) { out.add(x.metadata.name); grew = true; }
    }
    return out;
  };
  const ns = r.resource?.namespace;
  const live = w.bindings
    .filter((b) => refHoldsOn(b.spec.clusters, here))
    .filter((b) => b.spec.expiresAt === undefined || Date.parse(b.spec.expiresAt) > now)
    .filter((b) => b.spec.subjects.some((s) => (s.kind === 'User' ? ids.has(s.name) : s.kind === 'Group' ? groups.includes(s.name) : inTeam(s.name))))
    .sort(byName);
  const covers = (b: RoleBinding): boolean => {
    if (b.spec.scope.cluster) return true;
    if (ns === undefined) return false;
    // A teams scope covers the namespaces of every team below the named one (spec.parent), found here
    // by growing the set of teams to a fixpoint rather than walking up as the index does.
    if (b.spec.scope.teams) return b.spec.scope.teams.some((t) => [...subtreeOf(t)].some((x) => teamNamespaces(x).has(ns)));
    return (b.spec.scope.namespaces ?? []).includes(ns);
  };
  const hit = live.find((b) => covers(b) && grants(b.spec.role));
  if (hit) return { verdict: 'allow', code: 'binding', binding: hit.metadata.name };
  if (r.nonResource) return { verdict: 'noOpinion', code: 'noMatch' };
  const nsObj = w.namespaces.find((n) => n.metadata.name === ns);
  const owner = nsObj?.metadata.labels?.['iam.gatehouse.dev/owner'];
  const heldAnywhere = (pred: (role: string) => boolean): { binding?: string } | null => {
    const b = live.find((x) => pred(x.spec.role));
    if (b) return { binding: b.metadata.name };
    const { ownerRole, publicRole } = cfg.projects;
    if (ownerRole && pred(ownerRole) && w.namespaces.some((n) => ids.has(n.metadata.labels?.['iam.gatehouse.dev/owner'] ?? '\0'))) return {};
    if (publicRole && pred(publicRole) && w.namespaces.some((n) => n.metadata.labels?.['iam.gatehouse.dev/visibility'] === 'public')) return {};
    if (cfg.defaults.role && cfg.defaults.team && pred(cfg.defaults.role)) return {};
    return null;
  };
  // 7. Projects; 8. defaults.
  if (ns !== undefined) {
    if (cfg.projects.ownerRole && owner !== undefined && ids.has(owner) && grants(cfg.projects.ownerRole)) return { verdict: 'allow', code: 'projectOwner' };
    if (cfg.projects.publicRole && nsObj?.metadata.labels?.['iam.gatehouse.dev/visibility'] === 'public' && grants(cfg.projects.publicRole)) return { verdict: 'allow', code: 'publicProject' };
    if (cfg.defaults.role && cfg.defaults.team && teamNamespaces(cfg.defaults.team).has(ns) && grants(cfg.defaults.role)) return { verdict: 'allow', code: 'default' };
    return { verdict: 'noOpinion', code: 'noMatch' };
  }
  // Then, cluster-scoped requests on Gatehouse's own kinds: me, delegated administration, approval.
  const res = r.resource!;
  if (res.group === 'iam.gatehouse.dev') {
    if (res.resource === 'users' && !res.subresource && ['get', 'list', 'watch', 'update', 'patch'].includes(res.verb) && obj && res.name === obj.metadata.name) {
      const g = heldAnywhere((role) => refRoleAtoms(w, role).some((a) => a.kind === 'me'));
      if (g) return { verdict: 'allow', code: 'self', ...g };
    }
    if (['create', 'update', 'patch', 'delete', 'deletecollection'].includes(res.verb)) {
      const g = heldAnywhere(grants);
      if (g) return { verdict: 'allow', code: 'delegated', ...g };
    }
    if (res.resource === 'users' && !res.subresource && (res.verb === 'update' || res.verb === 'patch')) {
      const approve = target('approve')!;
      const g = heldAnywhere((role) => refRoleAtoms(w, role).some((a) => grantsTarget(a, approve)));
      if (g) return { verdict: 'allow', code: 'delegated', ...g };
    }
  }
  return { verdict: 'noOpinion', code: 'noMatch' };
}
