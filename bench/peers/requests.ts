// A deterministic sample of access requests over a plain-RBAC world for the agreement check and
// the timings: near-misses around real grants (so the systems must get scopes, teams and wildcards
// right, not just say no) mixed with random requests. Same world + seed -> same requests, so
// separate processes measure the same sample.
import type { AccessRequest } from '../../src/authz/types.js';
import type { RbacBinding, RbacGrant, RbacModel } from './subset.js';
import { objectWildcard, PEER_EXPLICIT_ONLY, teamMembers } from './subset.js';
import { prng } from '../world.js';

export const REQUEST_KINDS = [
  /** A User subject of a binding, in its scope, asking for something its role grants. */
  'userGrant',
  /** A member of a Team subject, likewise. */
  'teamMemberGrant',
  /** A team-scoped binding, in one of the team's namespaces. */
  'teamScope',
  /** A cluster-scoped binding, in some namespace. */
  'clusterScopeInNamespace',
  /** A cluster-scoped binding, without a namespace (cluster-scoped resources). */
  'clusterScopeClusterResource',
  /** A namespace- or team-scoped binding, asked without a namespace: only cluster bindings may cover it. */
  'narrowScopeClusterResource',
  /** A grant asked in a random namespace. */
  'otherNamespace',
  /** A grant asked with another verb. */
  'otherVerb',
  /** A grant asked for another resource or group. */
  'otherResource',
  /** Random user, verb, resource and namespace (or none). */
  'random',
  /** A user nobody knows. */
  'unknownUser',
  /**
   * A binding's user, in its scope, asking for an explicit-only target (Secrets, pods/exec, ...,
   * the rows in turn) with a verb of a wildcard grant of the role when it has one: what `*` must
   * not reach (docs/security.md, "What `*` covers").
   */
  'explicitOnly',
] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export interface SampledRequest {
  kind: RequestKind;
  req: AccessRequest;
}

type Res = [group: string, resource: string, subresource?: string];

/** Resources with an API group, the core group as '', some with a subresource; used where a permission says `*`. */
const RESOURCE_POOL: readonly Res[] = [
  ['', 'pods'],
  ['', 'pods', 'log'],
  ['', 'pods', 'exec'],
  ['', 'pods', 'portforward'],
  ['', 'services', 'proxy'],
  ['', 'serviceaccounts', 'token'],
  ['apps', 'deployments', 'scale'],
  ['', 'configmaps'],
  ['', 'secrets'],
  ['', 'services'],
  ['apps', 'deployments'],
  ['batch', 'jobs'],
  ['kubeflow.org', 'notebooks'],
  ['kubeflow.org', 'pytorchjobs'],
  ['ray.io', 'rayclusters'],
  ['', 'nodes'],
  ['', 'persistentvolumes'],
  ['storage.k8s.io', 'storageclasses'],
];
const GROUP_POOL: readonly string[] = ['', 'apps', 'batch', 'kubeflow.org', 'ray.io', 'example.com'];
const STANDARD_VERBS: readonly string[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

export function sampleRequests(model: RbacModel, n: number, seed: number): SampledRequest[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const usernames = [...model.userNames.keys()].sort();
  const nameToUsername = new Map<string, string>();
  for (const [u, name] of model.userNames) nameToUsername.set(name, u);
  const namespaces = [...model.namespaceTeams.keys(), ...[...model.teamNamespaces.values()].flatMap((s) => [...s])];
  const nsPool = [...new Set(namespaces)].sort();
  for (const b of model.bindings) if (b.scope.kind === 'namespaces') for (const ns of b.scope.namespaces) if (nsPool.length < 50_000) nsPool.push(ns);
  if (nsPool.length === 0) nsPool.push('default');
  if (usernames.length === 0) usernames.push('nobody');
  const verbs = [...new Set([...STANDARD_VERBS, ...model.verbs])].sort();
  const resources: Res[] = [...RESOURCE_POOL];
  for (const grants of model.roleGrants.values()) {
    for (const g of grants) {
      if (g.resource !== '*' && g.group !== null && g.subresource !== '*' && resources.length < 200) resources.push(g.subresource === null ? [g.group, g.resource] : [g.group, g.resource, g.subresource]);
    }
  }
  const members = teamMembers(model);
  const usable = model.bindings.filter((b) => (model.roleGrants.get(b.role)?.length ?? 0) > 0);
  const byScope = {
    cluster: usable.filter((b) => b.scope.kind === 'cluster'),
    teams: usable.filter((b) => b.scope.kind === 'teams' && b.scope.teams.some((t) => (model.teamNamespaces.get(t)?.size ?? 0) > 0)),
    narrow: usable.filter((b) => b.scope.kind !== 'cluster'),
    withUser: usable.filter((b) => b.users.some((u) => nameToUsername.has(u))),
    withTeam: usable.filter((b) => b.teams.some((t) => (members.get(t)?.length ?? 0) > 0)),
  };

  const subFor = (g: RbacGrant): string | undefined => (g.subresource === '*' ? pick(['log', 'status', 'exec', 'attach', 'proxy', 'token']) : (g.subresource ?? undefined));
  const resourceFor = (g: RbacGrant): Res => {
    const sub = subFor(g);
    if (g.resource === '*') {
      if (g.group === null && g.subresource === null) return pick(RESOURCE_POOL);
      const group = g.group ?? pick(GROUP_POOL);
      const r = pick(['widgets', 'gadgets', ...RESOURCE_POOL.map((x) => x[1])]);
      return sub === undefined ? [group, r] : [group, r, sub];
    }
    const group = g.group ?? pick(GROUP_POOL);
    return sub === undefined ? [group, g.resource] : [group, g.resource, sub];
  };
  const verbFor = (g: RbacGrant): string => (g.verbs === null ? pick(verbs) : pick(g.verbs));
  /** A namespace the binding's scope covers, or undefined for cluster scope. */
  const nsFor = (b: RbacBinding): string | undefined => {
    if (b.scope.kind === 'cluster') return pick(nsPool);
    if (b.scope.kind === 'namespaces') return b.scope.namespaces.length > 0 ? pick(b.scope.namespaces) : pick(nsPool);
    const t = pick(b.scope.teams);
    const nss = [...(model.teamNamespaces.get(t) ?? [])];
    return nss.length > 0 ? pick(nss) : pick(nsPool);
  };
  const subjectUser = (b: RbacBinding, preferTeam: boolean): string => {
    const viaTeam = b.teams.filter((t) => (members.get(t)?.length ?? 0) > 0);
    const direct = b.users.filter((u) => nameToUsername.has(u));
    if ((preferTeam || direct.length === 0) && viaTeam.length > 0) return nameToUsername.get(pick(members.get(pick(viaTeam))!)) ?? pick(usernames);
    if (direct.length > 0) return nameToUsername.get(pick(direct))!;
    return pick(usernames);
  };
  const build = (user: string, verb: string, res: Res, namespace: string | undefined): AccessRequest => ({
    user,
    groups: ['system:authenticated'],
    resource: { verb, group: res[0], resource: res[1], ...(res[2] !== undefined ? { subresource: res[2] } : {}), ...(namespace !== undefined ? { namespace } : {}) },
  });
  const grantOf = (b: RbacBinding): RbacGrant => pick(model.roleGrants.get(b.role)!);
  const withWildcard = usable.filter((b) => model.roleGrants.get(b.role)!.some(objectWildcard));
  let explicitTurn = 0;

  const out: SampledRequest[] = [];
  for (let i = 0; i < n; i++) {
    const kind = REQUEST_KINDS[i % REQUEST_KINDS.length]!;
    let req: AccessRequest;
    const fallback = (): AccessRequest => build(pick(usernames), pick(verbs), pick(resources), rnd() < 0.8 ? pick(nsPool) : undefined);
    const from = (list: readonly RbacBinding[], f: (b: RbacBinding, g: RbacGrant) => AccessRequest): AccessRequest => {
      if (list.length === 0) return fallback();
      const b = pick(list);
      return f(b, grantOf(b));
    };
    switch (kind) {
      case 'userGrant':
        req = from(byScope.withUser, (b, g) => build(subjectUser(b, false), verbFor(g), resourceFor(g), nsFor(b)));
        break;
      case 'teamMemberGrant':
        req = from(byScope.withTeam, (b, g) => build(subjectUser(b, true), verbFor(g), resourceFor(g), nsFor(b)));
        break;
      case 'teamScope':
        req = from(byScope.teams, (b, g) => build(subjectUser(b, rnd() < 0.5), verbFor(g), resourceFor(g), nsFor(b)));
        break;
      case 'clusterScopeInNamespace':
        req = from(byScope.cluster, (b, g) => build(subjectUser(b, rnd() < 0.5), verbFor(g), resourceFor(g), pick(nsPool)));
        break;
      case 'clusterScopeClusterResource':
        req = from(byScope.cluster, (b, g) => build(subjectUser(b, rnd() < 0.5), verbFor(g), resourceFor(g), undefined));
        break;
      case 'narrowScopeClusterResource':
        req = from(byScope.narrow, (b, g) => build(subjectUser(b, rnd() < 0.5), verbFor(g), resourceFor(g), undefined));
        break;
      case 'otherNamespace':
        req = from(usable, (b, g) => build(subjectUser(b, rnd() < 0.5), verbFor(g), resourceFor(g), pick(nsPool)));
        break;
      case 'otherVerb':
        req = from(usable, (b, g) => build(subjectUser(b, rnd() < 0.5), pick(verbs), resourceFor(g), nsFor(b)));
        break;
      case 'otherResource':
        req = from(usable, (b, g) => build(subjectUser(b, rnd() < 0.5), verbFor(g), pick(resources), nsFor(b)));
        break;
      case 'random':
        req = fallback();
        break;
      case 'unknownUser':
        req = build(`stranger-${i}`, pick(verbs), pick(resources), pick(nsPool));
        break;
      case 'explicitOnly': {
        const e = PEER_EXPLICIT_ONLY[explicitTurn++ % PEER_EXPLICIT_ONLY.length]!;
        const target: Res = e.subresource === null ? [e.group, e.resource] : [e.group, e.resource, e.subresource];
        req = from(withWildcard.length > 0 && rnd() < 0.8 ? withWildcard : usable, (b, g0) => {
          const wild = model.roleGrants.get(b.role)!.filter(objectWildcard);
          const g = wild.length > 0 ? pick(wild) : g0;
          const verb = e.verbs !== undefined ? pick(e.verbs) : verbFor(g);
          return build(subjectUser(b, rnd() < 0.5), verb, target, nsFor(b));
        });
        break;
      }
    }
    out.push({ kind, req });
  }
  return out;
}
