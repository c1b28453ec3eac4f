// The plain-RBAC subset (./subset.ts) in Casbin's RBAC-with-domains model, used the way Casbin's
// documentation shows it: a model text, policy lines `p` and grouping lines `g`, the built-in
// regexMatch and keyMatch functions, and the plain synchronous Enforcer (no decision cache: the
// Gatehouse side runs without one too).
//
// The encoding:
// - Domains are namespaces; the domain `*` is the cluster. A request in namespace ns is enforced
//   with dom = ns, a request without a namespace (a cluster-scoped resource, or a namespaced
//   resource across all namespaces) with dom = `*`.
// - A cluster-scoped binding links its subjects to the role in domain `*`, and the matcher asks
//   g(sub, role, r.dom) || g(sub, role, "*"), so a cluster grant covers every namespace and the
//   cluster itself, while a namespace grant never covers a request with dom `*` (docs/design.md:
//   cluster-scoped resources are covered only by `cluster: true`).
// - Casbin has no team scope and its domains are flat, so a team-scoped binding is written as one
//   grouping line per namespace of the team (changing a team's namespaces means rewriting them).
// - Team membership is role inheritance: user -> team -> role. Casbin's role links live inside one
//   domain, so the user -> team link is written in every domain where the team holds a role.
//   (Casbin's domain-pattern matching, addDomainMatchingFunc, would let one `*` link serve every
//   domain, but casbin-node then copies every matching domain's role graph on each g() call; at
//   these sizes that is unusable, so the links are expanded instead.)
// - p = role, domain, object, action. Roles are defined once for all domains (domain `*`, checked
//   with keyMatch); the object is `group/resource` (core group `core`) matched with regexMatch
//   against an anchored pattern, so `pods` (any group), `apps/*` and `*` mean what they mean in
//   Gatehouse; the action is one verb per line (aliases expanded) or `*`.
// - The explicit-only rule (docs/security.md, "What `*` covers"): a policy line carries a fifth
//   field `wild`, "1" when its object pattern has a resource or subresource wildcard, and the
//   matcher has the clause `(p.wild == "0" || !(r.obj == "core/secrets" || r.obj == "core/pods/exec"
//   || ...))`, generated from the peers' table (PEER_EXPLICIT_ONLY), so `*:*` never reaches
//   `core/secrets` or `core/pods/exec` while `secrets:get` does. A table row limited to some verbs
//   adds a clause of its own in which a `*` action counts as a wildcard too.
// - Cheap tests come first in the matcher, as Casbin's performance notes advise, so g() runs only
//   for policy lines whose object and action already match.
import type { Enforcer } from 'casbin';
import { newEnforcer, newModel } from 'casbin';
import type { AccessRequest } from '../../src/authz/types.js';
import type { ExplicitOnlyTarget } from '../../test/support/oracle.js';
import type { PeerWorld, RbacGrant, RbacModel } from './subset.js';
import { objectOf, objectWildcard, PEER_EXPLICIT_ONLY, rbacModel, teamMembers } from './subset.js';

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** "The request's object is one of these rows' targets", as string comparisons in the matcher. */
function isOneOf(rows: readonly ExplicitOnlyTarget[]): string {
  return rows.map((e) => `r.obj == "${objectOf(e.group, e.resource, e.subresource)}"`).join(' || ');
}

/** The matcher clause for the explicit-only table: a wildcard line never reaches a row's target. */
export function explicitOnlyClause(rows: readonly ExplicitOnlyTarget[] = PEER_EXPLICIT_ONLY): string {
  const clauses: string[] = [];
  const anyVerb = rows.filter((e) => e.verbs === undefined);
  if (anyVerb.length > 0) clauses.push(`(p.wild == "0" || !(${isOneOf(anyVerb)}))`);
  for (const e of rows.filter((x) => x.verbs !== undefined)) {
    const verbs = e.verbs!.map((v) => `r.act == "${v}"`).join(' || ');
    clauses.push(`((p.wild == "0" && p.act != "*") || !((${verbs}) && (${isOneOf([e])})))`);
  }
  return clauses.length === 0 ? 'true' : clauses.join(' && ');
}

export const CASBIN_MODEL = `
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act, wild

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = (r.act == p.act || p.act == "*") && regexMatch(r.obj, p.obj) && ${explicitOnlyClause()} && (g(r.sub, p.sub, r.dom) || g(r.sub, p.sub, "*")) && keyMatch(r.dom, p.dom)
`;

export const CLUSTER_DOMAIN = '*';

/** The anchored regexMatch pattern for a grant's group, resource and subresource. */
export function objectPattern(g: Pick<RbacGrant, 'group' | 'resource'> & { subresource?: string | null }): string {
  const group = g.group === null ? '[^/]+' : escapeRe(g.group === '' ? 'core' : g.group);
  const sub = g.subresource ?? null;
  if (g.resource === '*' && sub === null) return `^${group}/[^/]+(/[^/]+)?$`; // every resource and subresource
  const resource = g.resource === '*' ? '[^/]+' : escapeRe(g.resource);
  if (sub === null) return `^${group}/${resource}$`;
  return `^${group}/${resource}/${sub === '*' ? '[^/]+' : escapeRe(sub)}$`;
}

export interface CasbinRules {
  p: string[][];
  g: string[][];
}

/** The policy and grouping lines for a model (deduplicated, deterministic order). */
export function casbinRules(model: RbacModel): CasbinRules {
  const p: string[][] = [];
  for (const [role, grants] of model.roleGrants) {
    const seen = new Set<string>();
    for (const g of grants) {
      const obj = objectPattern(g);
      for (const act of g.verbs ?? ['*']) {
        const wild = objectWildcard(g) ? '1' : '0';
        const key = `${obj} ${act} ${wild}`;
        if (seen.has(key)) continue;
        seen.add(key);
        p.push([`role:${role}`, CLUSTER_DOMAIN, obj, act, wild]);
      }
    }
  }
  const gKeys = new Set<string>();
  const g: string[][] = [];
  const addG = (a: string, b: string, dom: string): void => {
    const key = `${a}\u0000${b}\u0000${dom}`;
    if (gKeys.has(key)) return;
    gKeys.add(key);
    g.push([a, b, dom]);
  };
  // Team memberships are expanded per domain after all team grants are known.
  const teamDomains = new Map<string, Set<string>>();
  for (const b of model.bindings) {
    let domains: Iterable<string>;
    if (b.scope.kind === 'cluster') domains = [CLUSTER_DOMAIN];
    else if (b.scope.kind === 'namespaces') domains = b.scope.namespaces;
    else {
      const all = new Set<string>();
      for (const t of b.scope.teams) for (const ns of model.teamNamespaces.get(t) ?? []) all.add(ns);
      domains = all;
    }
    const doms = [...domains];
    for (const dom of doms) {
      for (const u of b.users) addG(`user:${u}`, `role:${b.role}`, dom);
      for (const t of b.teams) {
        addG(`team:${t}`, `role:${b.role}`, dom);
        let s = teamDomains.get(t);
        if (!s) teamDomains.set(t, (s = new Set()));
        s.add(dom);
      }
    }
  }
  const members = teamMembers(model);
  for (const [team, doms] of teamDomains) {
    for (const dom of doms) for (const u of members.get(team) ?? []) addG(`user:${u}`, `team:${team}`, dom);
  }
  return { p, g };
}

export interface CasbinPeer {
  readonly enforcer: Enforcer;
  readonly rules: { p: number; g: number };
  allows(req: AccessRequest): boolean;
}

/** Builds an Enforcer from a World in the plain-RBAC subset. */
export async function buildCasbin(world: PeerWorld): Promise<CasbinPeer> {
  const model = rbacModel(world);
  const rules = casbinRules(model);
  const enforcer = await newEnforcer(newModel(CASBIN_MODEL));
  // One batch each: Enforcer.addPolicies checks duplicates against the (empty) model, then appends.
  if (rules.p.length > 0) await enforcer.addPolicies(rules.p);
  if (rules.g.length > 0) await enforcer.addGroupingPolicies(rules.g);
  const userNames = model.userNames;
  return {
    enforcer,
    rules: { p: rules.p.length, g: rules.g.length },
    allows(req: AccessRequest): boolean {
      const r = req.resource;
      const name = userNames.get(req.user);
      if (!r || name === undefined) return false;
      return enforcer.enforceSync(`user:${name}`, r.namespace || CLUSTER_DOMAIN, objectOf(r.group, r.resource, r.subresource), r.verb);
    },
  };
}
