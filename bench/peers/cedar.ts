// The plain-RBAC subset (./subset.ts) in Cedar (@cedar-policy/cedar-wasm 4.x), one static policy
// per RoleBinding.
//
// The encoding:
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
//   (a `*` drops the term). Cluster-scoped requests carry no Namespace parent, so only
//   cluster-scoped bindings can cover them.
// - Cedar asks the caller for the entities relevant to a request (its documented model): the
//   User, the Namespace and the Resource, prebuilt per User and Namespace here, so a request only
//   assembles three small objects. Policies are parsed once (preparsePolicySet) and requests go
//   through statefulIsAuthorized, cedar-wasm's isAuthorized over a preparsed policy set; plain
//   isAuthorized would re-parse every policy on every call.
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { AuthorizationCall, EntityJson, StatefulAuthorizationCall } from '@cedar-policy/cedar-wasm/nodejs';
import type { AccessRequest } from '../../src/authz/types.js';
import type { PeerWorld, RbacBinding, RbacGrant, RbacModel } from './subset.js';
import { rbacModel } from './subset.js';

const uid = (type: string, id: string): string => `${type}::${JSON.stringify(id)}`;

function grantExpr(g: RbacGrant): string {
  const terms: string[] = [];
  if (g.verbs !== null) {
    terms.push(g.verbs.length === 1 ? `action == ${uid('Action', g.verbs[0]!)}` : `action in [${g.verbs.map((v) => uid('Action', v)).join(', ')}]`);
  }
  if (g.group !== null) terms.push(`resource.group == ${JSON.stringify(g.group)}`);
  if (g.resource !== '*') terms.push(`resource.name == ${JSON.stringify(g.resource)}`);
  return terms.length === 0 ? 'true' : terms.join(' && ');
}

/** The Cedar text of one binding's policy; `null` when the binding grants nothing (no role, empty scope). */
export function bindingPolicy(b: RbacBinding, grants: readonly RbacGrant[] | undefined): string | null {
  if (!grants || grants.length === 0) return null;
  const subjects = [...b.users.map((u) => uid('User', u)), ...b.teams.map((t) => uid('Team', t))];
  let targets: string[] | null;
  if (b.scope.kind === 'cluster') targets = null;
  else if (b.scope.kind === 'namespaces') targets = b.scope.namespaces.map((n) => uid('Namespace', n));
  else targets = b.scope.teams.map((t) => uid('Team', t));
  if (subjects.length === 0 || (targets !== null && targets.length === 0)) return null;
  const conds: string[] = [];
  const principal = subjects.length === 1 ? `principal in ${subjects[0]}` : 'principal';
  if (subjects.length > 1) conds.push(`principal in [${subjects.join(', ')}]`);
  let resource = 'resource';
  if (targets !== null) {
    if (targets.length === 1) resource = `resource in ${targets[0]}`;
    else conds.push(`resource in [${targets.join(', ')}]`);
  }
  const perms = grants.map(grantExpr);
  if (!perms.includes('true')) conds.push(perms.length === 1 ? perms[0]! : `(${perms.map((p) => `(${p})`).join(' || ')})`);
  const when = conds.length > 0 ? ` when { ${conds.join(' && ')} }` : '';
  return `@binding(${JSON.stringify(b.name)})\npermit (${principal}, action, ${resource})${when};`;
}

/** Policy id (the binding name) -> policy text. */
export function cedarPolicies(model: RbacModel): Record<string, string> {
  const out: Record<string, string> = {};
  for (const b of model.bindings) {
    const text = bindingPolicy(b, model.roleGrants.get(b.role));
    if (text !== null) out[b.name] = text;
  }
  return out;
}

export class CedarError extends Error {
  constructor(what: string, errors: readonly { message: string }[]) {
    super(`cedar ${what}: ${errors.map((e) => e.message).join('; ')}`);
    this.name = 'CedarError';
  }
}

export interface CedarPeer {
  readonly policies: number;
  allows(req: AccessRequest): boolean;
  /** The same request through plain isAuthorized (parses every policy per call), for a note in the results. */
  allowsUnprepared(req: AccessRequest): boolean;
}

let nextSetId = 0;

/** Preparses the policy set and prebuilds the User and Namespace entities. */
export function buildCedar(world: PeerWorld): CedarPeer {
  const model = rbacModel(world);
  const policies = cedarPolicies(model);
  const setId = `gatehouse-${nextSetId++}`;
  const parsed = cedar.preparsePolicySet(setId, { staticPolicies: policies });
  if (parsed.type !== 'success') throw new CedarError('policy set', parsed.errors);
  const userEntities = new Map<string, EntityJson>();
  for (const [username, name] of model.userNames) {
    const teams = model.userTeams.get(name) ?? [];
    userEntities.set(username, { uid: { type: 'User', id: name }, attrs: {}, parents: teams.map((t) => ({ type: 'Team', id: t })) });
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
  for (const ns of model.namespaceTeams.keys()) nsEntity(ns);

  const call = (req: AccessRequest): Omit<StatefulAuthorizationCall, 'preparsedPolicySetId'> | null => {
    const r = req.resource;
    const user = userEntities.get(req.user);
    if (!r || r.subresource || user === undefined) return null;
    const ns = r.namespace || undefined;
    const resource: EntityJson = {
      uid: { type: 'Resource', id: `${ns ?? ''}/${r.group}/${r.resource}` },
      attrs: { group: r.group, name: r.resource },
      parents: ns === undefined ? [] : [{ type: 'Namespace', id: ns }],
    };
    const entities = ns === undefined ? [user, resource] : [user, nsEntity(ns), resource];
    return { principal: user.uid, action: { type: 'Action', id: r.verb }, resource: resource.uid, context: {}, entities };
  };
  const decisionOf = (answer: cedar.AuthorizationAnswer): boolean => {
    if (answer.type !== 'success') throw new CedarError('isAuthorized', answer.errors);
    if (answer.response.diagnostics.errors.length > 0) {
      throw new CedarError('policy evaluation', answer.response.diagnostics.errors.map((e) => e.error));
    }
    return answer.response.decision === 'allow';
  };
  return {
    policies: Object.keys(policies).length,
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
