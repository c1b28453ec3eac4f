// The plain-RBAC subset (./subset.ts) in Cedar (@cedar-policy/cedar-wasm 4.x), in one of two
// encodings (CedarEncoding):
//
// `binding`: one static policy per RoleBinding, bindings and teams resolved by Cedar.
// - Entities: User (parents: the Teams that list it as a member), Team, Namespace (parents: the
//   Teams it belongs to), and per request a Resource entity with attributes `group` (core group
//   "") and `name`, whose parent is the request's Namespace; a request without a namespace (a
//   cluster-scoped resource, or across all namespaces) gets a Resource with no parent.
// - Actions: Action::"<verb>".
// - A binding is `permit(principal in <subject>, action, resource in <scope target>) when {...}`:
//   a cluster scope leaves resource unconstrained, a namespace scope is `resource in
//   Namespace::"ns"`, and a team scope `resource in Team::"t"`, which Cedar's entity hierarchy
//   resolves through Resource -> Namespace -> Team. Several subjects or targets become
//   `principal in [..]` / `resource in [..]` in the condition. The role's permissions become a
//   disjunction of `action in [..] && resource.group == ".." && resource.name == ".."` terms
//   (a `*` drops the term) and a `resource.sub` term for the subresource ("" = the resource itself).
//   Cluster-scoped requests carry no Namespace parent, so only cluster-scoped bindings can cover them.
// - The explicit-only rule (docs/security.md, "What `*` covers"), in both encodings: the grants
//   with a resource or subresource wildcard go into a policy of their own with
//   `unless { (resource.group == "" && resource.name == "secrets" && resource.sub == "") || ... }`,
//   generated from the peers' table (PEER_EXPLICIT_ONLY), and the named grants into another
//   without it; a row limited to some verbs also blocks grants whose verb is `*`.
//
// `role` (the default): one static policy per Role that some binding grants, the bindings moved
// into entity data. Cedar evaluates every policy on every request, and the binding encoding has
// as many policies as bindings (90k at 100k users: 40 ms per decision at 10k users, no preparse
// within 300 s at 100k); the roles are 100 times fewer.
// - What moved from policies into entity data: who holds which role where. Each User entity
//   carries `grants`, a record from role name to the Set of namespaces where the User holds that
//   role, "*" standing for a cluster scope (e.g. `{"trainer": ["vision-dev", "vision-prod"],
//   "adapter": ["*"]}`). It is resolved, before any request, from the User's direct bindings and
//   the bindings of the Teams it is a member of, a team scope expanded to the team's namespaces
//   (spec and label). That per-User flattening is a precomputation Cedar needs: a policy cannot
//   iterate over a principal's parents or read their attributes, so joining bindings, teams and
//   team namespaces at evaluation time needs the hierarchy of the binding encoding, i.e. one
//   policy per binding. Teams and Namespaces are therefore not entities here, and a change to a
//   binding, a team's members or a team's namespaces means recomputing the grants of the Users
//   concerned.
// - What stays in policies: each role's permissions, matched exactly as in the binding encoding
//   (same terms), and the scope check:
//   `permit (principal, action, resource) when { principal.grants has "r" && (<permissions>) &&
//    (principal.grants["r"].contains("*") ||
//     (context has ns && principal.grants["r"].contains(context.ns))) };`
//   A request with a namespace carries it as `context.ns`; a cluster-wide one has no `ns`, so only
//   a "*" grant (a cluster-scoped binding) covers it, as in the binding encoding. The `has` test
//   comes first because it settles most policies (roles the User does not hold) in one lookup: a
//   Set of `{role, ns}` records with `contains` tests, the other way to write the same data, was
//   6.6x slower per decision at 10k users (2.9 vs 0.43 ms, one-off check).
// - The Resource entity has the same `group` and `name` attributes, and no parent.
//
// In both, Cedar asks the caller for the entities relevant to a request (its documented model):
// the User (and, for `binding`, the Namespace) prebuilt, and the Resource, so a request only
// assembles small objects. Policies are parsed once (preparsePolicySet) and requests go through
// statefulIsAuthorized, cedar-wasm's isAuthorized over a preparsed policy set; plain isAuthorized
// would re-parse every policy on every call.
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { AuthorizationCall, EntityJson, StatefulAuthorizationCall } from '@cedar-policy/cedar-wasm/nodejs';
import type { AccessRequest } from '../../src/authz/types.js';
import type { ExplicitOnlyTarget } from '../../test/support/oracle.js';
import type { PeerWorld, RbacBinding, RbacGrant, RbacModel } from './subset.js';
import { objectWildcard, PEER_EXPLICIT_ONLY, rbacModel, teamMembers } from './subset.js';

const uid = (type: string, id: string): string => `${type}::${JSON.stringify(id)}`;

function grantExpr(g: RbacGrant): string {
  const terms: string[] = [];
  if (g.verbs !== null) {
    terms.push(g.verbs.length === 1 ? `action == ${uid('Action', g.verbs[0]!)}` : `action in [${g.verbs.map((v) => uid('Action', v)).join(', ')}]`);
  }
  if (g.group !== null) terms.push(`resource.group == ${JSON.stringify(g.group)}`);
  if (g.resource !== '*') terms.push(`resource.name == ${JSON.stringify(g.resource)}`);
  // `sub` is "" for the resource itself. `pods` is not `pods/log`; `pods/*` is every subresource;
  // `*` alone is every resource and subresource; `*/scale` the scale subresource of every resource.
  if (g.subresource === '*') terms.push('resource.sub != ""');
  else if (g.subresource !== null) terms.push(`resource.sub == ${JSON.stringify(g.subresource)}`);
  else if (g.resource !== '*') terms.push('resource.sub == ""');
  return terms.length === 0 ? 'true' : terms.join(' && ');
}

/** The Cedar condition "the request's target is one of these explicit-only rows". */
export function explicitOnlyExpr(rows: readonly ExplicitOnlyTarget[]): string {
  const one = (e: ExplicitOnlyTarget): string => {
    const t = [`resource.group == ${JSON.stringify(e.group)}`, `resource.name == ${JSON.stringify(e.resource)}`, `resource.sub == ${JSON.stringify(e.subresource ?? '')}`];
    if (e.verbs !== undefined) t.push(`action in [${e.verbs.map((v) => uid('Action', v)).join(', ')}]`);
    return `(${t.join(' && ')})`;
  };
  return rows.length === 1 ? one(rows[0]!) : rows.map(one).join(' || ');
}

/**
 * The explicit-only rows a grant does not reach (docs/security.md: a target is reached only by
 * naming it): every row for a resource or subresource wildcard, the rows limited to some verbs for
 * a `*` verb, none for a grant that names resource, subresource and verbs.
 */
function blockedRows(g: RbacGrant, rows: readonly ExplicitOnlyTarget[]): readonly ExplicitOnlyTarget[] {
  if (objectWildcard(g)) return rows;
  if (g.verbs === null) return rows.filter((e) => e.verbs !== undefined);
  return [];
}

/**
 * A role's grants in groups by the explicit-only rows they do not reach: one policy per group,
 * `unless { <those rows> }` on the groups that have any. A role with both `*:*` and
 * `secrets:get` is two policies, so the named grant still reaches Secrets.
 */
function grantGroups(grants: readonly RbacGrant[], rows: readonly ExplicitOnlyTarget[] = PEER_EXPLICIT_ONLY): { suffix: string; unless: string | null; perms: string[] }[] {
  const groups = new Map<number, { suffix: string; unless: string | null; perms: string[] }>();
  for (const g of grants) {
    const blocked = blockedRows(g, rows);
    const key = blocked.length === rows.length && blocked.length > 0 ? 2 : blocked.length > 0 ? 1 : 0;
    let e = groups.get(key);
    if (!e) groups.set(key, (e = { suffix: ['', ' (verb wildcards)', ' (wildcards)'][key]!, unless: blocked.length > 0 ? explicitOnlyExpr(blocked) : null, perms: [] }));
    e.perms.push(grantExpr(g));
  }
  return [...groups.keys()].sort().map((k) => groups.get(k)!);
}

/**
 * `(t1 || t2 || ...)` as a balanced tree, identical terms once. cedar-wasm evaluates a left-nested
 * chain recursively, and a role with ~100 permission terms (roles with includes, at 100k users)
 * overflowed the stack; a balanced tree has depth log2(n) and the same meaning.
 */
function anyOf(terms: readonly string[]): string {
  const unique = [...new Set(terms)];
  const tree = (t: readonly string[]): string => {
    if (t.length === 1) return `(${t[0]!})`;
    const mid = t.length >> 1;
    return `(${tree(t.slice(0, mid))} || ${tree(t.slice(mid))})`;
  };
  return tree(unique);
}

const unlessOf = (u: string | null): string => (u === null ? '' : ` unless { ${u} }`);

/** The Cedar policies of one binding (id -> text); empty when the binding grants nothing (no role, empty scope). */
export function bindingPolicies(b: RbacBinding, grants: readonly RbacGrant[] | undefined): Record<string, string> {
  if (!grants || grants.length === 0) return {};
  const subjects = [...b.users.map((u) => uid('User', u)), ...b.teams.map((t) => uid('Team', t))];
  let targets: string[] | null;
  if (b.scope.kind === 'cluster') targets = null;
  else if (b.scope.kind === 'namespaces') targets = b.scope.namespaces.map((n) => uid('Namespace', n));
  else targets = b.scope.teams.map((t) => uid('Team', t));
  if (subjects.length === 0 || (targets !== null && targets.length === 0)) return {};
  const out: Record<string, string> = {};
  for (const group of grantGroups(grants)) {
    const conds: string[] = [];
    const principal = subjects.length === 1 ? `principal in ${subjects[0]}` : 'principal';
    if (subjects.length > 1) conds.push(`principal in [${subjects.join(', ')}]`);
    let resource = 'resource';
    if (targets !== null) {
      if (targets.length === 1) resource = `resource in ${targets[0]}`;
      else conds.push(`resource in [${targets.join(', ')}]`);
    }
    const perms = group.perms;
    if (!perms.includes('true')) conds.push(perms.length === 1 ? perms[0]! : anyOf(perms));
    const when = conds.length > 0 ? ` when { ${conds.join(' && ')} }` : '';
    const id = b.name + group.suffix;
    out[id] = `@binding(${JSON.stringify(id)})\npermit (${principal}, action, ${resource})${when}${unlessOf(group.unless)};`;
  }
  return out;
}

/** Policy id (the binding name, plus a suffix for its wildcard grants) -> policy text. */
export function cedarPolicies(model: RbacModel): Record<string, string> {
  const out: Record<string, string> = {};
  for (const b of model.bindings) Object.assign(out, bindingPolicies(b, model.roleGrants.get(b.role)));
  return out;
}

/** The Cedar policies of one role (the `role` encoding, id -> text); empty when the role grants nothing. */
export function rolePolicies(role: string, grants: readonly RbacGrant[] | undefined): Record<string, string> {
  if (!grants || grants.length === 0) return {};
  const r = JSON.stringify(role);
  const held = `principal.grants[${r}]`;
  const scope = `${held}.contains("*") || (context has ns && ${held}.contains(context.ns))`;
  const out: Record<string, string> = {};
  for (const group of grantGroups(grants)) {
    const conds = [`principal.grants has ${r}`];
    if (!group.perms.includes('true')) conds.push(anyOf(group.perms));
    conds.push(`(${scope})`);
    const id = role + group.suffix;
    out[id] = `@role(${JSON.stringify(id)})\npermit (principal, action, resource) when { ${conds.join(' && ')} }${unlessOf(group.unless)};`;
  }
  return out;
}

/** One (role, namespace) pair a User holds (the `role` encoding); a User entity's `grants` groups them by role. */
export interface RoleGrantRecord {
  readonly role: string;
  /** A namespace name, or "*" for a cluster scope. */
  readonly ns: string;
}

/**
 * The `role` encoding's precomputation: for each User (object name), the {role, ns} pairs its
 * direct bindings and its Teams' bindings grant, team scopes expanded to the team's namespaces.
 * Bindings whose role grants nothing are left out, as the binding encoding leaves out their policy.
 */
export function userRoleGrants(model: RbacModel): Map<string, RoleGrantRecord[]> {
  const members = teamMembers(model);
  const keys = new Map<string, Set<string>>();
  const out = new Map<string, RoleGrantRecord[]>();
  for (const user of model.userTeams.keys()) {
    keys.set(user, new Set());
    out.set(user, []);
  }
  for (const b of model.bindings) {
    if ((model.roleGrants.get(b.role) ?? []).length === 0) continue;
    let nss: readonly string[];
    if (b.scope.kind === 'cluster') nss = ['*'];
    else if (b.scope.kind === 'namespaces') nss = b.scope.namespaces;
    else nss = [...new Set(b.scope.teams.flatMap((t) => [...(model.teamNamespaces.get(t) ?? [])]))];
    const subjects = new Set([...b.users, ...b.teams.flatMap((t) => members.get(t) ?? [])]);
    for (const u of subjects) {
      const seen = keys.get(u);
      const list = out.get(u);
      // A subject naming no User in the world grants nobody anything.
      if (seen === undefined || list === undefined) continue;
      for (const ns of nss) {
        const k = `${b.role}\u0000${ns}`;
        if (seen.has(k)) continue;
        seen.add(k);
        list.push({ role: b.role, ns });
      }
    }
  }
  return out;
}

/** Policy id (the role name, plus a suffix for its wildcard grants) -> policy text, for the roles some binding with a subject grants. */
export function cedarRolePolicies(model: RbacModel): Record<string, string> {
  const granted = new Set(model.bindings.filter((b) => b.users.length + b.teams.length > 0).map((b) => b.role));
  const out: Record<string, string> = {};
  for (const role of [...granted].sort()) Object.assign(out, rolePolicies(role, model.roleGrants.get(role)));
  return out;
}

export class CedarError extends Error {
  constructor(what: string, errors: readonly { message: string }[]) {
    super(`cedar ${what}: ${errors.map((e) => e.message).join('; ')}`);
    this.name = 'CedarError';
  }
}

/** `role`: one policy per Role, bindings as User entity data; `binding`: one policy per RoleBinding. */
export type CedarEncoding = 'role' | 'binding';
export const CEDAR_ENCODINGS: readonly CedarEncoding[] = ['role', 'binding'];

export interface CedarPeer {
  readonly encoding: CedarEncoding;
  readonly policies: number;
  /** `role` encoding: the (role, namespace) pairs over all User entities (0 for `binding`). */
  readonly grantPairs: number;
  allows(req: AccessRequest): boolean;
  /** The same request through plain isAuthorized (parses every policy per call), for a note in the results. */
  allowsUnprepared(req: AccessRequest): boolean;
}

let nextSetId = 0;

/** Preparses the policy set and prebuilds the User (and, for `binding`, Namespace) entities. */
export function buildCedar(world: PeerWorld, encoding: CedarEncoding = 'role'): CedarPeer {
  const model = rbacModel(world);
  const policies = encoding === 'role' ? cedarRolePolicies(model) : cedarPolicies(model);
  const setId = `gatehouse-${nextSetId++}`;
  const parsed = cedar.preparsePolicySet(setId, { staticPolicies: policies });
  if (parsed.type !== 'success') throw new CedarError('policy set', parsed.errors);
  const userEntities = new Map<string, EntityJson>();
  let grantPairs = 0;
  if (encoding === 'role') {
    const grants = userRoleGrants(model);
    for (const [username, name] of model.userNames) {
      const g = grants.get(name) ?? [];
      grantPairs += g.length;
      const byRole: Record<string, string[]> = {};
      for (const x of g) (byRole[x.role] ??= []).push(x.ns);
      userEntities.set(username, { uid: { type: 'User', id: name }, attrs: { grants: byRole }, parents: [] });
    }
  } else {
    for (const [username, name] of model.userNames) {
      const teams = model.userTeams.get(name) ?? [];
      userEntities.set(username, { uid: { type: 'User', id: name }, attrs: {}, parents: teams.map((t) => ({ type: 'Team', id: t })) });
    }
  }
  const nsEntities = new Map<string, EntityJson>();
  const nsEntity = (ns: string): EntityJson => {
    let e = nsEntities.get(ns);
    if (!e) {
      // Namespaces no team owns still exist as entities (without parents).
      e = { uid: { type: 'Namespace', id: ns }, attrs: {}, parents: (model.namespaceTeams.get(ns) ?? []).map((t) => ({ type: 'Team', id: t })) };
      nsEntities.set(ns, e);
    }
    return e;
  };
  if (encoding === 'binding') for (const ns of model.namespaceTeams.keys()) nsEntity(ns);

  const call = (req: AccessRequest): Omit<StatefulAuthorizationCall, 'preparsedPolicySetId'> | null => {
    const r = req.resource;
    const user = userEntities.get(req.user);
    if (!r || user === undefined) return null;
    const ns = r.namespace || undefined;
    const sub = r.subresource ?? '';
    const uidOf = { type: 'Resource', id: `${ns ?? ''}/${r.group}/${r.resource}/${sub}` };
    const action = { type: 'Action', id: r.verb };
    if (encoding === 'role') {
      const resource: EntityJson = { uid: uidOf, attrs: { group: r.group, name: r.resource, sub }, parents: [] };
      return { principal: user.uid, action, resource: uidOf, context: ns === undefined ? {} : { ns }, entities: [user, resource] };
    }
    const resource: EntityJson = {
      uid: uidOf,
      attrs: { group: r.group, name: r.resource, sub },
      parents: ns === undefined ? [] : [{ type: 'Namespace', id: ns }],
    };
    const entities = ns === undefined ? [user, resource] : [user, nsEntity(ns), resource];
    return { principal: user.uid, action, resource: uidOf, context: {}, entities };
  };
  const decisionOf = (answer: cedar.AuthorizationAnswer): boolean => {
    if (answer.type !== 'success') throw new CedarError('isAuthorized', answer.errors);
    if (answer.response.diagnostics.errors.length > 0) {
      throw new CedarError('policy evaluation', answer.response.diagnostics.errors.map((e) => e.error));
    }
    return answer.response.decision === 'allow';
  };
  return {
    encoding,
    policies: Object.keys(policies).length,
    grantPairs,
    allows(req) {
      const c = call(req);
      return c !== null && decisionOf(cedar.statefulIsAuthorized({ ...c, preparsedPolicySetId: setId }));
    },
    allowsUnprepared(req) {
      const c = call(req);
      if (c === null) return false;
      const full: AuthorizationCall = { ...c, policies: { staticPolicies: policies } };
      return decisionOf(cedar.isAuthorized(full));
    },
  };
}
