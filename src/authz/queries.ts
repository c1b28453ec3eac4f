// Queries over the index for the CLI (permission list, can-i, explain, role assignment list) and
// the admission webhook (escalation checks, delegated administration). Pure; they may scan (they
// are not on the authorization hot path).
//
// "Holding A covers B" (escalation): every request B grants is granted by A (permission.ts,
// atomCovers): a wildcard covers a narrower permission, never the reverse; a permission is split
// into one piece per verb and resource name, and each piece must be covered by one held permission
// in every part of the scope.
import type { Subject } from '../api/types.js';
import type { CompiledBinding, CompiledRole, PermissionIndex, UserRecord } from './index.js';
import type { PermissionAtom } from './permission.js';
import { atomCovers, formatAtom, parsePermission, splitAtom } from './permission.js';
import type { PreparedTarget } from './decide.js';
import { decide, describeGrant, forEachCandidateBinding, grantScopeFor, inactiveReason, matchingSubject, prepareTarget, roleGrants } from './decide.js';
import { scopeParts, scopeText, type GrantScope, type HeldScopes, type Scope } from './scope.js';
import { effectiveGroups, isDelegatedWrite, isLive, usernameOf } from './rules.js';
import type { Grant, NonResourceAttributes, Requester, ResourceAttributes } from './types.js';

export interface HeldGrant {
  role: string;
  /** The role's permissions with its includes', as written (rules rendered). */
  permissions: string[];
  source: Grant['source'];
  binding?: string;
  subject?: Subject;
  /** Where the grant holds, teams resolved to their namespaces. */
  scope: HeldScopes;
  expiresAt?: string;
}

export interface EffectivePermissions {
  user: UserRecord | null;
  /** Only an Active user's grants take effect. */
  active: boolean;
  superuser: boolean;
  /** Teams the user is in for this request (direct and via groups). */
  teams: string[];
  grants: HeldGrant[];
}

/** A grant held by a requester, with the parts of scopes it covers. */
interface Holding {
  role: CompiledRole | undefined;
  roleName: string;
  source: Grant['source'];
  binding?: CompiledBinding;
  /** Whether it holds in one part of a scope (a GrantScope's `via` does not matter). */
  covers(part: GrantScope): boolean;
  scope(): HeldScopes;
}

function requesterUser(index: PermissionIndex, r: Requester): UserRecord | null {
  return index.userRecord(r.user) ?? null;
}

/** Every grant the user holds now (live bindings, project ownership, public projects, defaults). */
function holdings(index: PermissionIndex, user: UserRecord, groups: readonly string[], now: number): Holding[] {
  const out: Holding[] = [];
  const seen = new Set<string>();
  forEachCandidateBinding(index, user, groups, (b) => {
    if (seen.has(b.name) || !isLive(b, now)) return;
    seen.add(b.name);
    const scope = b.scope;
    out.push({
      role: index.compiledRole(b.role),
      roleName: b.role,
      source: 'binding',
      binding: b,
      covers(part) {
        if (scope.kind === 'cluster') return true;
        if (part.kind === 'cluster') return false;
        // A team's scope holds in every team below it too (the tree).
        if (part.kind === 'team') return scope.kind === 'teams' && index.teamAncestorsOrSelf(part.team).some((t) => scope.teams.has(t));
        return index.scopeCovers(scope, part.namespace);
      },
      scope() {
        if (scope.kind === 'cluster') return { cluster: true, namespaces: [], teams: [] };
        if (scope.kind === 'namespaces') return { cluster: false, namespaces: [...scope.namespaces].sort(), teams: [] };
        const ns = new Set<string>();
        const teams = new Set<string>();
        for (const t of scope.teams) for (const sub of index.teamSubtree(t)) teams.add(sub);
        for (const t of teams) for (const n of index.teamNamespaces(t)) ns.add(n);
        return { cluster: false, namespaces: [...ns].sort(), teams: [...teams].sort() };
      },
    });
  });
  out.sort((a, b) => (a.binding!.name < b.binding!.name ? -1 : 1));
  // A project role holds in a set of namespaces: those the user owns, and the public ones.
  const inNamespaces = (roleName: string, source: 'projectOwner' | 'publicProject', namespaces: ReadonlySet<string>): void => {
    if (namespaces.size === 0) return;
    out.push({
      role: index.compiledRole(roleName),
      roleName,
      source,
      covers: (part) => part.kind === 'namespace' && namespaces.has(part.namespace),
      scope: () => ({ cluster: false, namespaces: [...namespaces].sort(), teams: [] }),
    });
  };
  const { ownerRole, publicRole } = index.config.projects;
  if (ownerRole) inNamespaces(ownerRole, 'projectOwner', index.namespacesOwnedByUser(user));
  if (publicRole) inNamespaces(publicRole, 'publicProject', new Set(index.listPublicNamespaces()));
  const { role: defRole, team: defTeam } = index.config.defaults;
  if (defRole && defTeam) {
    out.push({
      role: index.compiledRole(defRole),
      roleName: defRole,
      source: 'default',
      covers: (part) => (part.kind === 'team' ? part.team === defTeam : part.kind === 'namespace' && index.teamOwnsNamespace(defTeam, part.namespace)),
      scope: () => ({ cluster: false, namespaces: [...index.teamNamespaces(defTeam)].sort(), teams: [defTeam] }),
    });
  }
  return out;
}

function activeHoldings(index: PermissionIndex, r: Requester, now: number): { user: UserRecord | null; list: Holding[]; superuser: boolean } {
  const user = requesterUser(index, r);
  if (!user || user.state !== 'Active') return { user, list: [], superuser: false };
  return { user, list: holdings(index, user, effectiveGroups(r.groups), now), superuser: user.superuser };
}

function rolePermissionTexts(role: CompiledRole | undefined): string[] {
  if (!role) return [];
  const out: string[] = [];
  const seen = new Set<string>();
  for (const a of role.atoms) {
    if (seen.has(a.text)) continue;
    seen.add(a.text);
    out.push(a.text);
  }
  return out;
}

/** A user's effective permissions by scope (`kubectl gatehouse permission list`). */
export function effectivePermissions(index: PermissionIndex, requester: Requester, now: number = index.now()): EffectivePermissions {
  const user = requesterUser(index, requester);
  if (!user) return { user: null, active: false, superuser: false, teams: [], grants: [] };
  const groups = effectiveGroups(requester.groups);
  const grants = holdings(index, user, groups, now).map((h): HeldGrant => {
    const g: HeldGrant = { role: h.roleName, permissions: rolePermissionTexts(h.role), source: h.source, scope: h.scope() };
    if (h.binding) {
      g.binding = h.binding.name;
      const s = matchingSubject(index, h.binding, user, groups);
      if (s) g.subject = s;
      if (h.binding.object.spec.expiresAt) g.expiresAt = h.binding.object.spec.expiresAt;
    }
    return g;
  });
  return {
    user,
    active: user.state === 'Active',
    superuser: user.superuser && user.state === 'Active',
    teams: [...index.teamsOf(user, groups)].sort(),
    grants,
  };
}

export interface WhoCanEntry {
  /** `AllActiveUsers` for public projects and defaults; `User` with the superuser's name for superusers. */
  subject: Subject | { kind: 'AllActiveUsers'; name: '*' };
  reason: string;
  grant: Grant | null;
  /** True when the allow is delegated administration (admission still checks the object's scope). */
  delegated?: boolean;
}

/**
 * Who may do a verb on a resource (in a namespace): superusers, binding subjects (users that exist
 * and are Active; teams; groups), namespace owners, and everyone for public projects and defaults.
 */
export function whoCan(index: PermissionIndex, attrs: ResourceAttributes | { nonResource: NonResourceAttributes }, now: number = index.now()): WhoCanEntry[] {
  const t = prepareTarget('nonResource' in attrs ? { nonResource: attrs.nonResource } : { resource: attrs });
  if (!t) return [];
  const out: WhoCanEntry[] = [];
  for (const u of index.listUserRecords().sort((a, b) => (a.username < b.username ? -1 : 1))) {
    if (u.superuser && u.state === 'Active') out.push({ subject: { kind: 'User', name: u.username }, reason: `user ${u.username} is a superuser`, grant: null });
  }
  const subjectUsable = (s: Subject): boolean => {
    if (s.kind !== 'User') return true;
    const obj = index.getUser(s.name);
    const rec = index.userRecord(s.name) ?? (obj ? index.userRecord(usernameOf(obj)) : undefined);
    return rec !== undefined && rec.state === 'Active';
  };
  const bindings = index.listCompiledBindings().sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const b of bindings) {
    if (!isLive(b, now)) continue;
    const role = index.compiledRole(b.role);
    if (!roleGrants(role, t)) continue;
    let scope: GrantScope | null = null;
    if (t.path !== undefined || t.namespace === undefined) {
      if (b.scope.kind === 'cluster') scope = { kind: 'cluster' };
    } else if (index.scopeCovers(b.scope, t.namespace)) {
      scope = grantScopeFor(index, b.scope, t.namespace);
    }
    const delegated = scope === null && isGatehouseWrite(t);
    if (scope === null && !delegated) continue;
    for (const s of b.subjects) {
      if (!subjectUsable(s)) continue;
      const grant: Grant = { role: b.role, source: 'binding', binding: b.name, subject: s, scope: scope ?? { kind: 'cluster' } };
      out.push(
        delegated
          ? { subject: s, reason: `delegated administration: role ${b.role} via binding ${b.name} (${s.kind} ${s.name}) in ${scopeText(b.scope, 'noun')}`, grant: { ...grant, scope: { kind: 'cluster' } }, delegated: true }
          : { subject: s, reason: describeGrant(grant), grant },
      );
    }
  }
  if (t.path === undefined && t.namespace !== undefined) {
    const ns = t.namespace;
    const { ownerRole, publicRole } = index.config.projects;
    const owner = index.namespaceOwner(ns);
    if (ownerRole && owner !== undefined && roleGrants(index.compiledRole(ownerRole), t)) {
      const grant: Grant = { role: ownerRole, source: 'projectOwner', scope: { kind: 'namespace', namespace: ns } };
      out.push({ subject: { kind: 'User', name: owner }, reason: describeGrant(grant), grant });
    }
    if (publicRole && index.isPublicNamespace(ns) && roleGrants(index.compiledRole(publicRole), t)) {
      const grant: Grant = { role: publicRole, source: 'publicProject', scope: { kind: 'namespace', namespace: ns } };
      out.push({ subject: { kind: 'AllActiveUsers', name: '*' }, reason: describeGrant(grant), grant });
    }
    const { role: defRole, team: defTeam } = index.config.defaults;
    if (defRole && defTeam && index.teamOwnsNamespace(defTeam, ns) && roleGrants(index.compiledRole(defRole), t)) {
      const grant: Grant = { role: defRole, source: 'default', scope: { kind: 'namespace', namespace: ns, via: { team: defTeam } } };
      out.push({ subject: { kind: 'AllActiveUsers', name: '*' }, reason: describeGrant(grant), grant });
    }
  }
  return out;
}

function isGatehouseWrite(t: PreparedTarget): boolean {
  return t.path === undefined && t.namespace === undefined && isDelegatedWrite(t);
}

/**
 * Where the requester holds a permission (resource attributes without a namespace): the cluster,
 * namespaces, and teams (held via a binding scoped to that team, or the defaults' team). A team's
 * namespaces are added to `namespaces` too. Admission uses it for delegated administration.
 */
export function scopesHolding(
  index: PermissionIndex,
  requester: Requester,
  attrs: Omit<ResourceAttributes, 'namespace'> | { nonResource: NonResourceAttributes },
  now: number = index.now(),
): HeldScopes {
  const nowhere: HeldScopes = { cluster: false, namespaces: [], teams: [] };
  const t = prepareTarget('nonResource' in attrs ? { nonResource: attrs.nonResource } : { resource: { ...attrs } });
  if (!t) return nowhere;
  const { list, superuser } = activeHoldings(index, requester, now);
  if (superuser) return { ...nowhere, cluster: true };
  let cluster = false;
  const namespaces = new Set<string>();
  const teams = new Set<string>();
  for (const h of list) {
    if (!roleGrants(h.role, t)) continue;
    const s = h.scope();
    cluster ||= s.cluster;
    for (const n of s.namespaces) namespaces.add(n);
    for (const tm of s.teams) teams.add(tm);
  }
  return { cluster, namespaces: [...namespaces], teams: [...teams] };
}

export interface MissingPermission {
  /** The permission as written in the role or the request. */
  permission: string;
  /** The narrowest piece not covered, e.g. `pods:delete`. */
  piece: string;
  where: GrantScope;
}

export interface MissingResult {
  missing: MissingPermission[];
  /** Permission strings that did not parse (they grant nothing, so they are not required). */
  invalid: string[];
  /** Set when `permissions` named a role that does not exist. */
  unknownRole?: string;
}

/**
 * What the requester lacks to hold `permissions` (strings, or a role's, includes and all) in every
 * part of `scope`. Empty `missing` means the requester covers them (superusers cover everything;
 * inactive or unknown users cover nothing). `me` is covered by `me` held in any scope.
 */
export function missingPermissions(
  index: PermissionIndex,
  requester: Requester,
  permissions: readonly string[] | { role: string },
  scope: Scope,
  now: number = index.now(),
): MissingResult {
  const wanted: { text: string; atom: PermissionAtom }[] = [];
  const invalid: string[] = [];
  const result: MissingResult = { missing: [], invalid };
  if (Array.isArray(permissions)) {
    for (const p of permissions as readonly string[]) {
      try {
        wanted.push(parsePermission(p));
      } catch {
        invalid.push(p);
      }
    }
  } else {
    const roleName = (permissions as { role: string }).role;
    const role = index.compiledRole(roleName);
    if (!role) result.unknownRole = roleName;
    else for (const a of role.atoms) wanted.push({ text: a.text, atom: a.atom });
  }
  const { list, superuser } = activeHoldings(index, requester, now);
  if (superuser) return result;
  const parts = scopeParts(scope);
  const anywhere = list.filter((h) => h.role?.matcher.me);
  for (const w of wanted) {
    for (const piece of splitAtom(w.atom)) {
      if (piece.kind === 'me') {
        if (anywhere.length === 0) result.missing.push({ permission: w.text, piece: 'me', where: { kind: 'cluster' } });
        continue;
      }
      // A non-resource URL is granted only cluster-wide, so only a cluster-wide holder covers it.
      const need: GrantScope[] = piece.kind === 'nonResource' ? [{ kind: 'cluster' }] : parts;
      for (const part of need) {
        const ok = list.some((h) => h.covers(part) && h.role !== undefined && h.role.atoms.some((a) => atomCovers(a.atom, piece)));
        if (!ok) result.missing.push({ permission: w.text, piece: formatAtom(piece), where: part });
      }
    }
  }
  return result;
}

export interface AssignCheck {
  allowed: boolean;
  via: 'superuser' | 'holdsPermissions' | 'canAssign' | null;
  reason: string;
  missing: MissingPermission[];
  /** Set when the role itself may be assigned but a role its holders could assign may not: that role. */
  chained?: string;
}

/**
 * Whether the requester may bind `role` in `scope` (no escalation): a superuser; or someone who may
 * assign the role itself (holds all of its permissions in the whole scope, or holds, in every part
 * of the scope, a role whose canAssign, own or included, lists it) and may assign, the same way,
 * every role its holders could assign in turn: the role's canAssign (own and included), theirs, and
 * so on (issue 32, item 3: a canAssign must not be passed on unchecked). A role that does not exist
 * yet may be assigned only by a superuser or through canAssign, since nobody can show they hold what
 * it will grant. Admission's every no-escalation path asks this one function.
 */
export function canAssign(index: PermissionIndex, requester: Requester, role: string, scope: Scope, now: number = index.now()): AssignCheck {
  const user = requesterUser(index, requester);
  if (!user) return { allowed: false, via: null, reason: `user ${requester.user} has no User`, missing: [] };
  if (user.state !== 'Active') return { allowed: false, via: null, reason: inactiveReason(user, requester.user), missing: [] };
  if (user.superuser) return { allowed: true, via: 'superuser', reason: `user ${requester.user} is a superuser`, missing: [] };
  const { list } = activeHoldings(index, requester, now);
  const first = assignOne(index, requester, list, role, scope, now);
  if (!first.allowed) return first;
  // Breadth-first over what the role lets its holders assign, so the path named is a shortest one.
  const parent = new Map<string, string>([[role, '']]);
  const queue = [role];
  for (let i = 0; i < queue.length; i++) {
    for (const next of [...(index.compiledRole(queue[i]!)?.canAssign ?? [])].sort()) {
      if (parent.has(next)) continue;
      parent.set(next, queue[i]!);
      const check = assignOne(index, requester, list, next, scope, now);
      if (!check.allowed) {
        const path: string[] = [next];
        for (let at = queue[i]!; at !== ''; at = parent.get(at)!) path.unshift(at);
        return { allowed: false, via: null, reason: `holders of role ${role} could assign role ${next} (canAssign ${path.join(' -> ')}), and ${check.reason}`, missing: check.missing, chained: next };
      }
      queue.push(next);
    }
  }
  return first;
}

/** canAssign() for one role, without what it lets its holders assign in turn. */
function assignOne(index: PermissionIndex, requester: Requester, list: readonly Holding[], role: string, scope: Scope, now: number): AssignCheck {
  const parts = scopeParts(scope);
  const assigners = list.filter((h) => h.role?.canAssign.has(role));
  const viaCanAssign = parts.length > 0 && parts.every((p) => assigners.some((h) => h.covers(p)));
  const res = missingPermissions(index, requester, { role }, scope, now);
  if (res.unknownRole === undefined && res.missing.length === 0) {
    return { allowed: true, via: 'holdsPermissions', reason: `user ${requester.user} holds every permission of role ${role} in the whole scope`, missing: [] };
  }
  if (viaCanAssign) {
    const names = [...new Set(assigners.map((h) => h.roleName))].sort().join(', ');
    return { allowed: true, via: 'canAssign', reason: `role ${names} held by ${requester.user} in the whole scope may assign role ${role} (canAssign)`, missing: [] };
  }
  if (res.unknownRole !== undefined) {
    return { allowed: false, via: null, reason: `role ${role} does not exist; only a superuser or a holder of a role whose canAssign lists it may bind it`, missing: [] };
  }
  const first = res.missing[0]!;
  return {
    allowed: false,
    via: null,
    reason: `user ${requester.user} lacks ${first.piece} ${scopeText(first.where, 'where')}${res.missing.length > 1 ? ` (and ${res.missing.length - 1} more)` : ''} of role ${role}, and holds no role whose canAssign lists ${role} in the whole scope`,
    missing: res.missing,
  };
}

/** `kubectl gatehouse can-i` and `explain`: decide() with the matching permission filled in. */
export function explain(index: PermissionIndex, request: Parameters<typeof decide>[1], now?: number) {
  return decide(index, request, { explain: true, ...(now !== undefined ? { now } : {}) });
}
