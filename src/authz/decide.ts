// decide(): product.md's "How a request is decided", step by step, with a reason a person can read.
// Pure: reads the index and the injected clock, nothing else. The authorization webhook, the
// admission webhook and `kubectl gatehouse can-i/explain` all call it.
import type { Subject } from '../api/types.js';
import { GROUP, PLURALS } from '../api/types.js';
import type { CompiledBinding, CompiledRole, CompiledScope, PermissionIndex, UserRecord } from './index.js';
import { PermissionIndex as Index } from './index.js';
import { resourceKeys } from './matcher.js';
import { atomMatchesPath, atomMatchesResource } from './permission.js';
import type { AccessRequest, Decision, Grant, GrantScope } from './types.js';

export interface DecideOptions {
  /** Evaluate expiry at this time instead of the index's clock. */
  now?: number;
  /** Fill grant.permission with the role's permission text that matched (costs a scan of the role). */
  explain?: boolean;
}

/** Verbs that make a request a write for delegated administration. */
export const GATEHOUSE_WRITE_VERBS: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
const ME_VERBS: ReadonlySet<string> = new Set(['get', 'list', 'watch', 'update', 'patch']);
const MASTERS = 'system:masters';

/** What decide() compares a role against, computed once per request. */
export interface PreparedTarget {
  readonly namespace: string | undefined;
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource: string | undefined;
  readonly name: string | undefined;
  readonly keys: readonly string[];
  /** Set for non-resource requests. */
  readonly path: string | undefined;
}

export function prepareTarget(req: Pick<AccessRequest, 'resource' | 'nonResource'>): PreparedTarget | null {
  if (req.resource) {
    const r = req.resource;
    const sub = r.subresource || undefined;
    return {
      namespace: r.namespace || undefined,
      verb: r.verb,
      group: r.group ?? '',
      resource: r.resource,
      subresource: sub,
      name: r.name || undefined,
      keys: resourceKeys(r.resource, sub),
      path: undefined,
    };
  }
  if (req.nonResource) {
    return { namespace: undefined, verb: req.nonResource.verb, group: '', resource: '', subresource: undefined, name: undefined, keys: [], path: req.nonResource.path };
  }
  return null;
}

/** Whether a role grants the target, scope aside. */
export function roleGrants(role: CompiledRole | undefined, t: PreparedTarget): boolean {
  if (!role) return false;
  if (t.path !== undefined) return role.matcher.matchesPath(t.path, t.verb);
  return role.matcher.matchesResource(t.keys, t.group, t.verb, t.name);
}

/** Step 1: identities Gatehouse leaves alone. Returns what made it ignored, or null. */
export function ignoredBecause(index: PermissionIndex, req: { user: string; groups: readonly string[] }): string | null {
  if (req.user.startsWith('system:')) return `user ${req.user} is a system identity`;
  if (index.ignoreUsers.has(req.user)) return `user ${req.user} is in authorization.ignoreUsers`;
  for (const g of req.groups) {
    if (g === 'system:serviceaccounts' || g.startsWith('system:serviceaccounts:')) return `group ${g} is a service-account group`;
    if (index.ignoreGroups.has(g)) return `group ${g} is in authorization.ignoreGroups`;
  }
  return null;
}

/** The groups that count for matching: system:masters never grants anything in Gatehouse. */
export function effectiveGroups(groups: readonly string[]): readonly string[] {
  return groups.includes(MASTERS) ? groups.filter((g) => g !== MASTERS) : groups;
}

/** Calls `visit` for every binding whose subjects may name the user (some more than once). */
export function forEachCandidateBinding(index: PermissionIndex, user: UserRecord, groups: readonly string[], visit: (b: CompiledBinding) => void): void {
  const each = (set: ReadonlySet<CompiledBinding>) => {
    for (const b of set) visit(b);
  };
  const eachTeam = (teams: ReadonlySet<string>) => {
    for (const t of teams) each(index.bindingsForSubject('Team', t));
  };
  each(index.bindingsForSubject('User', user.username));
  eachTeam(index.teamsByMemberName(user.username));
  if (user.name !== null && user.name !== user.username) {
    each(index.bindingsForSubject('User', user.name));
    eachTeam(index.teamsByMemberName(user.name));
  }
  for (const g of groups) {
    each(index.bindingsForSubject('Group', g));
    eachTeam(index.teamsByGroupName(g));
  }
}

/** Whether the user is in a team: a direct member, or through a group the request carries. */
export function isTeamMember(index: PermissionIndex, user: UserRecord, groups: readonly string[], team: string): boolean {
  if (index.teamsByMemberName(user.username).has(team)) return true;
  if (user.name !== null && index.teamsByMemberName(user.name).has(team)) return true;
  for (const g of groups) if (index.teamsByGroupName(g).has(team)) return true;
  return false;
}

/** The binding's first subject that names the user (bindings are found through one, so one exists). */
export function matchingSubject(index: PermissionIndex, b: CompiledBinding, user: UserRecord, groups: readonly string[]): Subject | undefined {
  for (const s of b.subjects) {
    if (s.kind === 'User' && (s.name === user.username || s.name === user.name)) return s;
    if (s.kind === 'Group' && groups.includes(s.name)) return s;
    if (s.kind === 'Team' && isTeamMember(index, user, groups, s.name)) return s;
  }
  return undefined;
}

/** Where a scope covers a namespaced request, as a GrantScope. */
function grantScopeFor(index: PermissionIndex, scope: CompiledScope, namespace: string | undefined): GrantScope {
  if (scope.kind === 'cluster' || namespace === undefined) return { kind: 'cluster' };
  if (scope.kind === 'teams') {
    const label = index.namespaceTeams(namespace);
    for (const t of label) if (scope.teams.has(t)) return { kind: 'namespace', namespace, via: { team: t } };
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

export function describeGrantScope(scope: GrantScope): string {
  if (scope.kind === 'cluster') return 'cluster-wide';
  if (scope.kind === 'team') return `in team ${scope.team}'s scope`;
  return scope.via ? `in namespace ${scope.namespace} (scope team ${scope.via.team})` : `in namespace ${scope.namespace}`;
}

/** "role researcher via binding vision-researchers (Team vision) in namespace vision-dev". */
export function describeGrant(g: Grant): string {
  const where = describeGrantScope(g.scope);
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

/** Step 6: the live binding (smallest name, for stable reasons) that grants the target in its scope. */
function findBinding(index: PermissionIndex, user: UserRecord, groups: readonly string[], t: PreparedTarget, now: number): CompiledBinding | null {
  let best: CompiledBinding | null = null;
  forEachCandidateBinding(index, user, groups, (b) => {
    if (best !== null && b.name >= best.name) return;
    if (Index.isExpired(b, now)) return;
    if (t.path !== undefined || t.namespace === undefined) {
      if (b.scope.kind !== 'cluster') return;
    } else if (!index.scopeCovers(b.scope, t.namespace)) return;
    if (!roleGrants(index.compiledRole(b.role), t)) return;
    best = b;
  });
  return best;
}

/**
 * The first grant (bindings by name, then project ownership, public projects, defaults) whose role
 * satisfies `pred`, in any scope. For delegated administration and `me`.
 */
export function holdAnywhere(index: PermissionIndex, user: UserRecord, groups: readonly string[], now: number, pred: (role: CompiledRole) => boolean): Grant | null {
  let best: CompiledBinding | null = null;
  forEachCandidateBinding(index, user, groups, (b) => {
    if (best !== null && b.name >= best.name) return;
    if (Index.isExpired(b, now)) return;
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
      const owned = [...index.namespacesOwnedBy(user.username), ...(user.name !== null ? index.namespacesOwnedBy(user.name) : [])].sort()[0];
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

const noOpinion = (code: Decision['code'], reason: string): Decision => ({ verdict: 'noOpinion', code, reason });

function allowWith(index: PermissionIndex, grant: Grant, t: PreparedTarget, opts: DecideOptions | undefined, code: Decision['code'], prefix = ''): Decision {
  if (opts?.explain) {
    const p = firstMatchingPermission(index.compiledRole(grant.role), t);
    if (p !== undefined) grant.permission = p;
  }
  return { verdict: 'allow', code, reason: prefix + describeGrant(grant), grant };
}

export function decide(index: PermissionIndex, req: AccessRequest, opts?: DecideOptions): Decision {
  // 1. Identities Gatehouse leaves alone.
  const ignored = ignoredBecause(index, req);
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
    const why = `user ${req.user} is ${user.state}`;
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
  const b = findBinding(index, user, groups, t, now);
  if (b !== null) {
    const subject = matchingSubject(index, b, user, groups);
    const grant: Grant = { role: b.role, source: 'binding', binding: b.name, ...(subject ? { subject } : {}), scope: grantScopeFor(index, b.scope, t.namespace) };
    return allowWith(index, grant, t, opts, 'binding');
  }
  if (t.path === undefined) {
    const ns = t.namespace;
    if (ns !== undefined) {
      // 7. Projects.
      const { ownerRole, publicRole } = index.config.projects;
      const owner = index.namespaceOwner(ns);
      if (ownerRole && owner !== undefined && (owner === user.username || owner === user.name) && roleGrants(index.compiledRole(ownerRole), t)) {
        return allowWith(index, { role: ownerRole, source: 'projectOwner', scope: { kind: 'namespace', namespace: ns } }, t, opts, 'projectOwner');
      }
      if (publicRole && index.isPublicNamespace(ns) && roleGrants(index.compiledRole(publicRole), t)) {
        return allowWith(index, { role: publicRole, source: 'publicProject', scope: { kind: 'namespace', namespace: ns } }, t, opts, 'publicProject');
      }
      // 8. Defaults.
      const { role: defRole, team: defTeam } = index.config.defaults;
      if (defRole && defTeam && index.teamOwnsNamespace(defTeam, ns) && roleGrants(index.compiledRole(defRole), t)) {
        return allowWith(index, { role: defRole, source: 'default', scope: { kind: 'namespace', namespace: ns, via: { team: defTeam } } }, t, opts, 'default');
      }
    } else if (t.group === GROUP) {
      // `me`: one's own User, by its object name.
      if (t.resource === PLURALS.User && t.subresource === undefined && ME_VERBS.has(t.verb) && user.name !== null && t.name === user.name) {
        const g = holdAnywhere(index, user, groups, now, (r) => r.matcher.me);
        if (g !== null) {
          g.permission = 'me';
          return { verdict: 'allow', code: 'self', reason: `permission me (own User ${user.name}) from ${describeGrant(g)}`, grant: g };
        }
      }
      // Delegated administration: writes to Gatehouse's kinds by a holder in some scope.
      if (GATEHOUSE_WRITE_VERBS.has(t.verb)) {
        const g = holdAnywhere(index, user, groups, now, (r) => roleGrants(r, t));
        if (g !== null) {
          return allowWith(index, g, t, opts, 'delegated', `delegated administration: admission checks the object lies inside the scope; `);
        }
      }
    }
  }
  // 9. No opinion: native RBAC decides.
  return noOpinion('noMatch', `no Gatehouse role grants ${describeTarget(t)} to user ${req.user}`);
}

export function describeTarget(t: PreparedTarget): string {
  if (t.path !== undefined) return `${t.verb} ${t.path}`;
  const res = (t.group ? `${t.group}/` : '') + t.resource + (t.subresource ? `/${t.subresource}` : '');
  return `${t.verb} ${res}${t.name ? ` ${t.name}` : ''}${t.namespace ? ` in namespace ${t.namespace}` : ' (cluster-scoped)'}`;
}
