// decide(): docs/design.md's "How a request is decided", step by step, with a reason a person can read.
// Pure: reads the index and the injected clock, nothing else. The authorization webhook, the
// admission webhook and `kubectl gatehouse can-i/explain` all call it.
import type { Subject } from '../api/types.js';
import { GROUP, PLURALS } from '../api/types.js';
import type { CompiledBinding, CompiledRole, NamespaceFast, PermissionIndex, RoleCell, UserRecord } from './index.js';
import { GrantBits } from './grantbits.js';
import { atomMatchesPath, atomMatchesResource } from './permission.js';
import { effectiveGroups, isDelegatedWrite, isLive, leftAloneBecause } from './rules.js';
import type { AccessRequest, Decision, Grant } from './types.js';
import { scopeText, type CompiledScope, type GrantScope } from './scope.js';
import { prepareTarget, roleGrants, type PreparedTarget } from './target.js';
import { REQUEST_PLURAL } from '../requests/types.js';
import { requestHint } from '../requests/hint.js';

export interface DecideOptions {
  /** Evaluate expiry at this time instead of the index's clock. */
  now?: number;
  /** Fill grant.permission with the role's permission text that matched (costs a scan of the role). */
  explain?: boolean;
}

const ME_VERBS: ReadonlySet<string> = new Set(['get', 'list', 'watch', 'update', 'patch']);
const REQUEST_VERBS: ReadonlySet<string> = new Set(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']);

export { prepareTarget, roleGrants, type PreparedTarget } from './target.js';

/** Calls `visit` for every binding whose subjects may name the user (some more than once). */
export function forEachCandidateBinding(index: PermissionIndex, user: UserRecord, groups: readonly string[], visit: (b: CompiledBinding) => void): void {
  for (const id of index.requestSubjectIds(user, groups)) for (const b of index.bindingsForSubjectId(id)) visit(b);
}

/** Whether the user is in a team: a direct member, or through a group the request carries. */
export function isTeamMember(index: PermissionIndex, user: UserRecord, groups: readonly string[], team: string): boolean {
  const id = index.teamId(team);
  if (id === undefined) return false;
  for (const set of user.memberTeamIds) if (set.has(id)) return true;
  for (const g of groups) if (index.groupTeamIds(g)?.has(id) === true) return true;
  return false;
}

/** The binding's first subject that names the user (bindings are found through one, so one exists). */
export function matchingSubject(index: PermissionIndex, b: CompiledBinding, user: UserRecord, groups: readonly string[]): Subject | undefined {
  for (const s of b.subjects) {
    if (s.kind === 'User' && user.aliases.includes(s.name)) return s;
    if (s.kind === 'Group' && groups.includes(s.name)) return s;
    if (s.kind === 'Team' && isTeamMember(index, user, groups, s.name)) return s;
  }
  return undefined;
}

/** Where a scope covers a namespaced request, as a GrantScope (the binding is known to cover it). */
export function grantScopeFor(index: PermissionIndex, scope: CompiledScope, namespace: string | undefined): GrantScope {
  if (scope.kind === 'cluster' || namespace === undefined) return { kind: 'cluster' };
  if (scope.kind === 'teams') {
    // The scope team itself, or the nearest one above the namespace's team (the tree).
    const team = index.scopeTeamOf(namespace, scope.teams);
    if (team !== undefined) return { kind: 'namespace', namespace, via: { team } };
  }
  return { kind: 'namespace', namespace };
}

/** Where a binding holds a permission at all (delegated administration). */
function anyScopeOf(scope: CompiledScope): GrantScope {
  if (scope.kind === 'cluster') return { kind: 'cluster' };
  if (scope.kind === 'teams') {
    const first = [...scope.teams].sort()[0];
    if (first !== undefined) return { kind: 'team', team: first };
  }
  const ns = scope.kind === 'namespaces' ? [...scope.namespaces].sort()[0] : undefined;
  return ns !== undefined ? { kind: 'namespace', namespace: ns } : { kind: 'cluster' };
}

/** "role researcher via binding vision-researchers (Team vision) in namespace vision-dev". */
export function describeGrant(g: Grant): string {
  const where = scopeText(g.scope, 'where');
  switch (g.source) {
    case 'binding':
      return `role ${g.role} via binding ${g.binding}${g.subject ? ` (${g.subject.kind} ${g.subject.name})` : ''} ${where}`;
    case 'projectOwner':
      return `role ${g.role} as owner of namespace ${g.scope.kind === 'namespace' ? g.scope.namespace : '?'} (projects.ownerRole)`;
    case 'publicProject':
      return `role ${g.role} in public namespace ${g.scope.kind === 'namespace' ? g.scope.namespace : '?'} (projects.publicRole)`;
    case 'default':
      return `role ${g.role} held by every active user ${where} (defaults)`;
  }
}

function firstMatchingPermission(role: CompiledRole | undefined, t: PreparedTarget): string | undefined {
  if (!role) return undefined;
  for (const a of role.atoms) {
    const ok =
      t.path !== undefined
        ? atomMatchesPath(a.atom, t.path, t.verb)
        : atomMatchesResource(a.atom, { verb: t.verb, group: t.group, resource: t.resource, subresource: t.subresource, name: t.name });
    if (ok) return a.role === role.name ? a.text : `${a.text} (from ${a.role})`;
  }
  return undefined;
}

/** Per-request state of step 6: the target, and the role bitset once a role needs checking. */
interface Search {
  readonly index: PermissionIndex;
  readonly t: PreparedTarget;
  readonly now: number;
  bits: Uint32Array | null;
  best: CompiledBinding | null;
}

function cellGrants(s: Search, cell: RoleCell): boolean {
  const closure = cell.closure;
  if (closure.length === 0) return false;
  const t = s.t;
  if (t.path === undefined) {
    const bits = (s.bits ??= s.index.roleBitsFor(t));
    for (const id of closure) if (GrantBits.has(bits, id)) return true;
    if (!cell.needsMatcher || t.name === undefined) return false;
    for (const id of closure) {
      const own = s.index.ownRoleById(id);
      if (own !== undefined && own.hasNamed && own.matcher.matchesResource(t.keys, t.group, t.verb, t.name, t.verbNamed)) return true;
    }
    return false;
  }
  if (!cell.needsMatcher) return false;
  for (const id of closure) if (s.index.ownRoleById(id)?.matcher.matchesPath(t.path, t.verb)) return true;
  return false;
}

/** Keeps the better (smaller-named) live binding whose role grants the target. */
function scan(s: Search, set: ReadonlySet<CompiledBinding> | undefined): void {
  if (set === undefined) return;
  for (const b of set) {
    if (s.best !== null && b.name >= s.best.name) continue;
    if (!isLive(b, s.now)) continue;
    if (!cellGrants(s, b.roleCell)) continue;
    s.best = b;
  }
}

function scanBySubject(s: Search, bySubject: ReadonlyMap<number, ReadonlySet<CompiledBinding>> | undefined, ids: readonly number[]): void {
  if (bySubject === undefined) return;
  // Probe the smaller side.
  if (bySubject.size < ids.length) {
    for (const [id, set] of bySubject) if (ids.includes(id)) scan(s, set);
  } else {
    for (const id of ids) scan(s, bySubject.get(id));
  }
}

/**
 * Step 6: the live binding (smallest name, for stable reasons) that grants the target in its
 * scope. Only bindings that name one of the request's subjects (user, teams, groups, as small
 * integer ids) and can cover the request are touched: cluster-scoped ones, and for a namespaced
 * request those scoped to the namespace or to a team that owns it.
 */
function findBinding(index: PermissionIndex, ids: readonly number[], f: Readonly<NamespaceFast> | undefined, t: PreparedTarget, now: number): CompiledBinding | null {
  const s: Search = { index, t, now, bits: null, best: null };
  for (const id of ids) scan(s, index.clusterBindingsForSubjectId(id));
  if (t.path === undefined && t.namespace !== undefined && f !== undefined) {
    scanBySubject(s, f.bySubject, ids);
    const label = f.labelTeamId;
    if (label !== undefined || f.specTeamIds !== undefined) {
      // A teams scope covers the namespaces of the team and of every team below it: walk up from
      // each owning team (bounded by the tree's depth; a team seen twice is scanned once).
      const seen: number[] = [];
      if (label !== undefined) scanUp(s, index, label, ids, seen);
      if (f.specTeamIds !== undefined) for (const tid of f.specTeamIds) scanUp(s, index, tid, ids, seen);
    }
  }
  return s.best;
}

function scanUp(s: Search, index: PermissionIndex, from: number, ids: readonly number[], seen: number[]): void {
  for (let t: number | undefined = from; t !== undefined && !seen.includes(t); t = index.parentTeamId(t)) {
    seen.push(t);
    scanBySubject(s, index.teamScopeBindings(t), ids);
  }
}

/**
 * The first grant (bindings by name, then project ownership, public projects, defaults) whose role
 * satisfies `pred`, in any scope. For delegated administration and `me`.
 */
export function holdAnywhere(index: PermissionIndex, user: UserRecord, groups: readonly string[], now: number, pred: (role: CompiledRole) => boolean): Grant | null {
  let best: CompiledBinding | null = null;
  forEachCandidateBinding(index, user, groups, (b) => {
    if (best !== null && b.name >= best.name) return;
    if (!isLive(b, now)) return;
    const role = index.compiledRole(b.role);
    if (role && pred(role)) best = b;
  });
  if (best !== null) {
    const b: CompiledBinding = best;
    const subject = matchingSubject(index, b, user, groups);
    return { role: b.role, source: 'binding', binding: b.name, ...(subject ? { subject } : {}), scope: anyScopeOf(b.scope) };
  }
  const { ownerRole, publicRole } = index.config.projects;
  if (ownerRole) {
    const role = index.compiledRole(ownerRole);
    if (role && pred(role)) {
      const owned = [...index.namespacesOwnedByUser(user)].sort()[0];
      if (owned !== undefined) return { role: ownerRole, source: 'projectOwner', scope: { kind: 'namespace', namespace: owned } };
    }
  }
  if (publicRole) {
    const role = index.compiledRole(publicRole);
    const pub = index.listPublicNamespaces()[0];
    if (role && pub !== undefined && pred(role)) return { role: publicRole, source: 'publicProject', scope: { kind: 'namespace', namespace: pub } };
  }
  const { role: defRole, team: defTeam } = index.config.defaults;
  if (defRole && defTeam) {
    const role = index.compiledRole(defRole);
    if (role && pred(role)) return { role: defRole, source: 'default', scope: { kind: 'team', team: defTeam } };
  }
  return null;
}

// What native RBAC gives every authenticated user (system:basic-user, system:discovery,
// system:public-info-viewer) and that reveals nothing but the user's own access and the API's shape.
const SELF_REVIEWS: ReadonlySet<string> = new Set([
  'authorization.k8s.io/selfsubjectaccessreviews',
  'authorization.k8s.io/selfsubjectrulesreviews',
  'authentication.k8s.io/selfsubjectreviews',
]);
const DISCOVERY_PATH = /^\/(?:(?:api|apis|openapi)(?:\/.*)?|version\/?|healthz|livez|readyz)$/;

/**
 * Asking the API server what one may do, who one is, or what APIs exist. Step 4 leaves these to
 * RBAC, so an inactive user still gets a readable answer ("no - user pat is Pending") from kubectl.
 */
export function isIntrospection(t: PreparedTarget): boolean {
  if (t.path !== undefined) return t.verb === 'get' && DISCOVERY_PATH.test(t.path);
  return t.verb === 'create' && t.subresource === undefined && t.name === undefined && SELF_REVIEWS.has(`${t.group}/${t.resource}`);
}

const noOpinion = (code: Decision['code'], reason: string): Decision => ({ verdict: 'noOpinion', code, reason });

function allowWith(index: PermissionIndex, grant: Grant, t: PreparedTarget, opts: DecideOptions | undefined, code: Decision['code'], prefix = ''): Decision {
  if (opts?.explain) {
    const p = firstMatchingPermission(index.compiledRole(grant.role), t);
    if (p !== undefined) grant.permission = p;
  }
  return { verdict: 'allow', code, reason: prefix + describeGrant(grant), grant };
}

/**
 * Why a user who is not Active is refused: being deleted, limited to other clusters (issue 30: the
 * reason names this cluster and the selector), or their state. decide() and the queries say the same.
 */
export function inactiveReason(user: UserRecord, username: string): string {
  if (user.deleting) return `user ${username} is being deleted (its User has a deletionTimestamp)`;
  if (user.notHereReason !== undefined) return user.notHereReason;
  return `user ${username} is ${user.state}`;
}

export function decide(index: PermissionIndex, req: AccessRequest, opts?: DecideOptions): Decision {
  // 1. Identities Gatehouse leaves alone.
  const ignored = leftAloneBecause(index.ignoreLists, req.user, req.groups);
  if (ignored !== null) return noOpinion('ignored', `${ignored}; Gatehouse has no opinion`);
  // 2. Nothing before the caches have synced.
  if (!index.synced) return noOpinion('notSynced', 'the permission index has not synced yet');
  const t = prepareTarget(req);
  const user = index.userRecord(req.user);
  // 3. Unknown users; registration.
  if (!user) {
    const mode = index.config.registration.mode;
    if (
      t !== null &&
      (mode === 'approval' || mode === 'open') &&
      t.path === undefined &&
      t.verb === 'create' &&
      t.group === GROUP &&
      t.resource === PLURALS.User &&
      t.subresource === undefined
    ) {
      return { verdict: 'allow', code: 'registration', reason: `user ${req.user} has no User and may register (registration mode ${mode}); admission checks it is their own` };
    }
    return noOpinion('unknownUser', `user ${req.user} has no User object`);
  }
  // 4. Inactive users.
  if (user.state !== 'Active') {
    const why = inactiveReason(user, req.user);
    // Without this, `kubectl auth can-i` (a SelfSubjectAccessReview) and kubectl's discovery fail
    // for a Pending user with an error instead of the answer "no - user ... is Pending".
    if (t !== null && isIntrospection(t)) return noOpinion('inactive', `${why}; self reviews and API discovery are left to RBAC`);
    return index.config.authorization.denyInactiveUsers
      ? { verdict: 'deny', code: 'inactive', reason: why }
      : noOpinion('inactive', `${why} (authorization.denyInactiveUsers is false)`);
  }
  // 5. Superusers.
  if (user.superuser) {
    return { verdict: 'allow', code: 'superuser', reason: user.seed ? `user ${req.user} is a seed admin (configuration) and a superuser` : `user ${req.user} is a superuser` };
  }
  if (t === null) return noOpinion('noMatch', 'the request names neither a resource nor a non-resource path');
  const groups = effectiveGroups(req.groups);
  const now = opts?.now ?? index.now();
  // 6. Live bindings.
  const ids = index.requestSubjectIds(user, groups);
  const f = t.namespace !== undefined && t.path === undefined ? index.namespaceFast(t.namespace) : undefined;
  const b = findBinding(index, ids, f, t, now);
  if (b !== null) {
    let subject: Subject | undefined;
    for (let i = 0; i < b.subjectIds.length; i++) {
      if (ids.includes(b.subjectIds[i]!)) {
        subject = b.subjects[i];
        break;
      }
    }
    const grant: Grant = { role: b.role, source: 'binding', binding: b.name, ...(subject ? { subject } : {}), scope: grantScopeFor(index, b.scope, t.namespace) };
    return allowWith(index, grant, t, opts, 'binding');
  }
  if (t.path === undefined) {
    const ns = t.namespace;
    if (ns !== undefined) {
      // 7. Projects.
      const { ownerRole, publicRole } = index.config.projects;
      const owner = f?.owner;
      if (ownerRole && owner !== undefined && user.aliases.includes(owner) && roleGrants(index.compiledRole(ownerRole), t)) {
        return allowWith(index, { role: ownerRole, source: 'projectOwner', scope: { kind: 'namespace', namespace: ns } }, t, opts, 'projectOwner');
      }
      if (publicRole && f?.isPublic === true && roleGrants(index.compiledRole(publicRole), t)) {
        return allowWith(index, { role: publicRole, source: 'publicProject', scope: { kind: 'namespace', namespace: ns } }, t, opts, 'publicProject');
      }
      // 8. Defaults.
      const { role: defRole, team: defTeam } = index.config.defaults;
      const defId = index.defaultTeamId;
      if (defRole && defTeam && f !== undefined && defId !== undefined && (f.labelTeamId === defId || f.specTeamIds?.has(defId) === true) && roleGrants(index.compiledRole(defRole), t)) {
        return allowWith(index, { role: defRole, source: 'default', scope: { kind: 'namespace', namespace: ns, via: { team: defTeam } } }, t, opts, 'default');
      }
    } else if (t.group === GROUP) {
      // Access requests: every Active user may ask and may decide; admission says who may do what.
      if (t.resource === REQUEST_PLURAL && t.subresource === undefined && REQUEST_VERBS.has(t.verb)) {
        return { verdict: 'allow', code: 'accessRequest', reason: `access requests: any Active user may ${t.verb} them; admission checks who asks and who decides` };
      }
      // `me`: one's own User, by its object name.
      if (t.resource === PLURALS.User && t.subresource === undefined && ME_VERBS.has(t.verb) && user.name !== null && t.name === user.name) {
        const g = holdAnywhere(index, user, groups, now, (r) => r.matcher.me);
        if (g !== null) {
          g.permission = 'me';
          return { verdict: 'allow', code: 'self', reason: `permission me (own User ${user.name}) from ${describeGrant(g)}`, grant: g };
        }
      }
      // Delegated administration: writes to Gatehouse's kinds by a holder in some scope. The
      // objects themselves only (isDelegatedWrite): status is the operator's, and admission does
      // not see subresources to check a scope.
      if (isDelegatedWrite(t)) {
        const g = holdAnywhere(index, user, groups, now, (r) => roleGrants(r, t));
        if (g !== null) {
          return allowWith(index, g, t, opts, 'delegated', `delegated administration: admission checks the object lies inside the scope; `);
        }
      }
      // Approval (Polyaxon accept/reject): `users:approve` is what lets someone change a User's
      // state, and changing it is an update or patch; admission keeps the change to `state`.
      if ((t.verb === 'update' || t.verb === 'patch') && t.resource === PLURALS.User && t.subresource === undefined) {
        const approve: PreparedTarget = { ...t, verb: 'approve' };
        const g = holdAnywhere(index, user, groups, now, (r) => roleGrants(r, approve));
        if (g !== null) {
          return allowWith(index, g, approve, opts, 'delegated', `approval: users:approve lets ${t.verb} through; admission allows only a state change; `);
        }
      }
    }
  }
  // 9. No opinion: native RBAC decides. The reason names a requestable role that would allow it.
  return noOpinion('noMatch', `no Gatehouse role grants ${describeTarget(t)} to user ${req.user}${requestHint(index, t)}`);
}

export function describeTarget(t: PreparedTarget): string {
  if (t.path !== undefined) return `${t.verb} ${t.path}`;
  const res = (t.group ? `${t.group}/` : '') + t.resource + (t.subresource ? `/${t.subresource}` : '');
  return `${t.verb} ${res}${t.name ? ` ${t.name}` : ''}${t.namespace ? ` in namespace ${t.namespace}` : ' (cluster-scoped)'}`;
}
