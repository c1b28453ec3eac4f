// What each object's status should be, computed from the object and the permission index: pure, so
// the rules are unit-tested without an API server. The reconciler compares the result with the
// status the object has and writes only a difference, and looks again at recheckAt (an expiry).
// dependents() says which statuses a change may move, through the index's reverse lookups.
import type {
  Condition,
  GatehouseKind,
  Namespace,
  Role,
  RoleBinding,
  RoleBindingStatus,
  RoleStatus,
  Team,
  TeamStatus,
  User,
  UserStatus,
} from '../api/types.js';
import { LABELS } from '../api/types.js';
import { canonical } from '../api/canonical.js';
import type { CompiledBinding, PermissionIndex } from '../authz/index.js';
import { isLive, usernameOf } from '../authz/rules.js';
import { scopeParts, scopeText } from '../authz/scope.js';
import type { AuthorizationMode } from '../config.js';
import { bindingDiagnostics, roleDiagnostics, teamDiagnostics, userDiagnostics } from './diagnostics.js';
import type { ClusterSelector } from '../api/types.js';
import { selectsCluster, selectsSome, describeSelector } from '../fleet/cluster.js';
import { clusterPhrase, whyNotHere } from '../fleet/identity.js';

/**
 * What status needs: the permission index (the core's diagnostics, so status says exactly what
 * decide() does, and its reverse lookups for dependents).
 */
export interface StatusWorld {
  index: PermissionIndex;
  /** How grants reach the API server (authorization.mode); undefined reads as webhook. */
  mode?: AuthorizationMode;
  /** Modes rbac and both: binding objects naming a username, per the last RBAC compile. */
  rbacCount?: (username: string) => number | undefined;
  /** A team's budget and use over its subtree, per the quota applier's last round (src/quota/). */
  teamQuota?: (team: string) => { hard: Record<string, string>; used: Record<string, string>; gpu?: string } | undefined;
}

/** The Ready message's note on how a grant is in force, for modes other than the webhook alone. */
export function modeNote(mode: AuthorizationMode | undefined): string {
  if (mode === 'rbac') return '; in force through native RBAC objects (authorization mode rbac; Gatehouse does not see requests, so lastUsedAt is not recorded)';
  if (mode === 'both') return '; in force through the authorization webhook and native RBAC objects (authorization mode both)';
  return '';
}

export type AnyStatus = UserStatus | RoleStatus | TeamStatus | RoleBindingStatus;

export interface StatusEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface StatusResult {
  status: AnyStatus;
  /** Transitions a person cares about, found by comparing with the status the object had. */
  events: StatusEvent[];
  /**
   * When this status changes by time alone (ms since the epoch): the earliest expiresAt after now
   * of the bindings it was computed from; null when nothing it reads expires. The reconciler looks
   * again then (RequeueAfter), so nothing polls and no unchanged object is re-applied.
   */
  recheckAt: number | null;
}

/** The earlier of `at` and the binding's expiresAt, when that is still ahead of `now`. */
function earlierExpiry(at: number | null, b: CompiledBinding, now: number): number | null {
  const t = b.expiresAt;
  return t !== null && t > now && (at === null || t < at) ? t : at;
}

interface Ready {
  ok: boolean;
  reason: string;
  message: string;
}

function condition(type: string, ready: Ready, generation: number | undefined, previous: Condition[] | undefined, now: number): Condition {
  const status = ready.ok ? 'True' : 'False';
  const old = previous?.find((c) => c.type === type);
  const cond: Condition = {
    type,
    status,
    reason: ready.reason,
    message: ready.message,
    // The time the status last flipped, not the time of the last write.
    lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  if (generation !== undefined) cond.observedGeneration = generation;
  return cond;
}

function readyCondition(ready: Ready, generation: number | undefined, previous: Condition[] | undefined, now: number): Condition {
  return condition('Ready', ready, generation, previous, now);
}

/** The condition type that says whether a RoleBinding or User is in force on this cluster (issue 30). */
export const IN_EFFECT = 'InEffect';

/**
 * Whether an object with this spec.clusters is in force here, by the one rule (src/fleet/cluster.ts)
 * the index applies. True: AllClusters (no selector) or SelectedCluster; False: OtherCluster, or
 * ClusterUnnamed when the object selects clusters and this one was given no name (fail closed).
 * Either way the object is as Git says, so Ready does not move with it.
 */
export function inEffect(sel: ClusterSelector | undefined, world: StatusWorld, what: string, seed = false): Ready {
  const cluster = world.index.cluster;
  if (seed) return { ok: true, reason: 'SeedAdmin', message: `A seed admin of ${clusterPhrase(cluster)}'s own configuration: never limited to other clusters` };
  if (!selectsSome(sel)) return { ok: true, reason: 'AllClusters', message: `In force on every cluster (no spec.clusters), ${clusterPhrase(cluster)} included` };
  if (selectsCluster(sel, cluster)) return { ok: true, reason: 'SelectedCluster', message: `In force on ${clusterPhrase(cluster)}: spec.clusters selects ${describeSelector(sel)}` };
  return {
    ok: false,
    reason: cluster.name === '' ? 'ClusterUnnamed' : 'OtherCluster',
    message: `Not in force on ${clusterPhrase(cluster)}, as written: ${whyNotHere(sel, cluster)}; ${what}`,
  };
}

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();
const list = (xs: string[], max = 5): string => (xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`);

function userStatus(user: User, world: StatusWorld, now: number): StatusResult {
  const name = user.metadata.name;
  const diag = userDiagnostics(world.index, name, now);
  const username = usernameOf(user);
  // Roles as role@scope (the CRD's printer-friendly form), from the same live bindings the
  // core's diagnostics count.
  const roles: string[] = [];
  let recheckAt: number | null = null;
  const consider = (set: ReadonlySet<CompiledBinding>): void => {
    for (const b of set) {
      recheckAt = earlierExpiry(recheckAt, b, now);
      if (isLive(b, now)) for (const part of scopeParts(b.scope)) roles.push(`${b.role}@${scopeText(part, 'flag')}`);
    }
  };
  for (const a of diag?.aliases ?? [name]) consider(world.index.bindingsForSubject('User', a));
  for (const t of diag?.teams ?? []) consider(world.index.bindingsForSubject('Team', t));
  const seed = diag?.seed ?? false;
  const state = user.spec.state;
  const twins = diag?.duplicateUsernameOf ?? [];
  // The core lets the lexicographically first object name win; the others are not in effect.
  const winner = sorted([name, ...twins])[0];
  // Ready: whether the User is reconciled and in effect as written. A user kept Pending, Rejected
  // or Suspended is exactly as intended (GitOps), so the state has its own condition, Active.
  const ready: Ready = twins.length > 0 && winner !== name
    ? { ok: false, reason: 'DuplicateUsername', message: `User ${winner} has the same username ${username} and takes precedence; this User is ignored: delete it or change spec.username` }
    : { ok: true, reason: 'Reconciled', message: twins.length > 0 ? `In effect (state ${seed ? 'Active, seed admin' : state}); User(s) ${list(twins)} have the same username and are ignored` : `In effect (state ${seed ? 'Active, seed admin' : state})` };
  let active: Ready;
  if (seed) {
    active = { ok: true, reason: 'SeedAdmin', message: 'Seed admin from the operator configuration (an Active superuser); change the configuration (Helm values seedAdmins) to change it' };
  } else if (state === 'Active') {
    active = { ok: true, reason: 'Active', message: `The user is active${modeNote(world.mode)}` };
  } else if (state === 'Pending') {
    active = { ok: false, reason: 'PendingApproval', message: `Waiting for approval: a superuser (or a holder of iam.gatehouse.dev/users:approve) sets spec.state to Active, e.g. kubectl gatehouse user activate ${name}` };
  } else if (state === 'Rejected') {
    active = { ok: false, reason: 'Rejected', message: 'The user was rejected and is denied all access; set spec.state to Active to let them in' };
  } else {
    active = { ok: false, reason: 'Suspended', message: 'The user is suspended and denied all access; set spec.state to Active to restore access' };
  }
  // Active says whether the user may act, here: an Active user limited to other clusters may not.
  const here = inEffect(user.spec.clusters, world, 'the user may not act here: every request is denied', seed);
  if (active.ok && !here.ok) {
    active = { ok: false, reason: here.reason, message: `The user is Active but may not act on ${clusterPhrase(world.index.cluster)} (spec.clusters; see the InEffect condition): every request here is denied` };
  }
  if (!active.ok && world.mode === 'rbac' && world.index.config.authorization.denyInactiveUsers) {
    // RBAC only adds grants: say what is and is not withdrawn (docs/rbac.md).
    active = { ...active, message: `${active.message}. Authorization mode rbac: Gatehouse's own grants are withdrawn, but denyInactiveUsers is not enforced, so RBAC grants made outside Gatehouse still apply` };
  }
  const phase = seed ? 'Seed' : state;
  const generation = user.metadata.generation;
  const previous = user.status?.conditions;
  const status: UserStatus = {
    phase,
    teams: diag?.teams ?? [],
    roles: sorted(roles),
    seed,
    ...(world.mode !== undefined && world.mode !== 'webhook' ? { rbacObjects: world.rbacCount?.(username) ?? 0 } : {}),
    // Written by the usage sync (src/review/usage-sync.ts), kept as it is here.
    ...(user.status?.lastUsedAt ? { lastUsedAt: user.status.lastUsedAt } : {}),
    observedGeneration: generation,
    conditions: [readyCondition(ready, generation, previous, now), condition('Active', active, generation, previous, now), condition(IN_EFFECT, here, generation, previous, now)],
  };
  const events: StatusEvent[] = [];
  const oldPhase = user.status?.phase;
  if (oldPhase !== undefined && oldPhase !== phase) {
    if (phase === 'Active') events.push({ type: 'Normal', reason: 'UserActivated', message: `User ${username} is now active (was ${oldPhase})` });
    else if (phase === 'Rejected') events.push({ type: 'Normal', reason: 'UserRejected', message: `User ${username} was rejected (was ${oldPhase})` });
    else if (phase === 'Suspended') events.push({ type: 'Normal', reason: 'UserSuspended', message: `User ${username} was suspended (was ${oldPhase})` });
  }
  return { status, events, recheckAt };
}

function roleStatus(role: Role, world: StatusWorld, now: number): StatusResult {
  const name = role.metadata.name;
  const diag = roleDiagnostics(world.index, name);
  const problems = diag?.problems ?? [];
  const missing = diag?.missingIncludes ?? [];
  const cycle = diag?.cycle ?? null;
  let ready: Ready;
  if (cycle) {
    ready = { ok: false, reason: 'IncludeCycle', message: `Role ${name} includes itself (${cycle.join(' -> ')}); remove the loop from spec.includes` };
  } else if (problems.length > 0) {
    ready = { ok: false, reason: 'InvalidPermissions', message: `${problems.length} permission(s) do not parse and grant nothing: ${list(problems, 3)}; fix them in spec.permissions` };
  } else if (missing.length > 0) {
    ready = { ok: false, reason: 'MissingIncludes', message: `Included role(s) ${list(missing)} do not exist yet; their permissions are not granted until they are created` };
  } else {
    ready = { ok: true, reason: 'Valid', message: `The role holds ${diag?.permissionCount ?? 0} permission(s)` };
  }
  const status: RoleStatus = {
    permissionCount: diag?.permissionCount ?? 0,
    invalidPermissions: problems,
    missingIncludes: missing,
    bindingCount: diag?.bindingCount ?? 0,
    observedGeneration: role.metadata.generation,
    conditions: [readyCondition(ready, role.metadata.generation, role.status?.conditions, now)],
  };
  const events: StatusEvent[] = [];
  const oldReason = role.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
  if (cycle && oldReason !== 'IncludeCycle') events.push({ type: 'Warning', reason: 'RoleIncludesItself', message: ready.message });
  return { status, events, recheckAt: null };
}

function teamStatus(team: Team, world: StatusWorld, now: number): StatusResult {
  const diag = teamDiagnostics(world.index, team.metadata.name);
  const missing = diag?.missingMembers ?? [];
  const parent = team.spec.parent;
  const parentMissing = parent !== undefined && !world.index.getTeam(parent);
  const ready: Ready =
    missing.length > 0
      ? { ok: false, reason: 'MissingMembers', message: `Member(s) ${list(missing)} have no User object yet; they get nothing through this team until their Users exist` }
      : parentMissing
        ? { ok: false, reason: 'ParentMissing', message: `Parent Team ${parent} does not exist yet; the team is a root of the tree (and its budget is its own) until it does` }
        : { ok: true, reason: 'Valid', message: `The team has ${diag?.memberCount ?? 0} member(s) and ${diag?.namespaces.length ?? 0} namespace(s)` };
  const quota = world.teamQuota?.(team.metadata.name);
  const status: TeamStatus = {
    memberCount: diag?.memberCount ?? 0,
    namespaces: diag?.namespaces ?? [],
    missingMembers: missing,
    ...(parent !== undefined ? { parent } : {}),
    ...(quota ? { quota: { hard: quota.hard, used: quota.used }, ...(quota.gpu !== undefined ? { gpu: quota.gpu } : {}) } : {}),
    observedGeneration: team.metadata.generation,
    conditions: [readyCondition(ready, team.metadata.generation, team.status?.conditions, now)],
  };
  return { status, events: [], recheckAt: null };
}

function bindingStatus(binding: RoleBinding, world: StatusWorld, now: number): StatusResult {
  const spec = binding.spec;
  const here = inEffect(spec.clusters, world, 'the binding grants nothing here');
  // Set aside by the index (never placed): as Git says, so Ready, with the reason in InEffect.
  if (!here.ok) return notInForceBindingStatus(binding, world, here, now);
  const diag = bindingDiagnostics(world.index, binding.metadata.name, now);
  const unresolved = diag?.unresolvedSubjects ?? [];
  const missingTeams = sorted((spec.scope?.teams ?? []).filter((t) => !world.index.getTeam(t)));
  const expired = diag?.expired ?? false;
  let ready: Ready;
  if (diag?.invalidExpiresAt) {
    ready = { ok: false, reason: 'InvalidExpiresAt', message: `spec.expiresAt ${JSON.stringify(spec.expiresAt)} is not an RFC 3339 time, so the binding counts as expired; fix it` };
  } else if (expired) {
    ready = { ok: false, reason: 'Expired', message: `The binding expired at ${spec.expiresAt} and grants nothing; extend spec.expiresAt or delete it` };
  } else if (!diag?.roleFound) {
    ready = { ok: false, reason: 'RoleNotFound', message: `Role ${spec.role} does not exist yet; the binding grants nothing until it is created` };
  } else if (missingTeams.length > 0) {
    ready = { ok: false, reason: 'ScopeTeamNotFound', message: `Scope team(s) ${list(missingTeams)} do not exist yet; the binding grants nothing in their namespaces until they are created` };
  } else if (unresolved.length > 0) {
    ready = { ok: false, reason: 'SubjectsNotFound', message: `Subject(s) ${list(unresolved)} do not exist yet; they get nothing through this binding until they are created` };
  } else {
    ready = { ok: true, reason: 'Bound', message: `Role ${spec.role} is granted to ${diag.subjectCount} subject(s) in ${diag.scope}${spec.expiresAt ? ` until ${spec.expiresAt}` : ''}${modeNote(world.mode)}` };
  }
  const status: RoleBindingStatus = {
    scope: diag?.scope ?? '',
    subjectCount: diag?.subjectCount ?? (spec.subjects ?? []).length,
    roleFound: diag?.roleFound ?? false,
    unresolvedSubjects: unresolved,
    resolvedNamespaces: diag?.resolvedNamespaces ?? [],
    expired,
    // Written by the usage sync (src/review/usage-sync.ts), kept as it is here.
    ...(binding.status?.lastUsedAt ? { lastUsedAt: binding.status.lastUsedAt } : {}),
    observedGeneration: binding.metadata.generation,
    conditions: [readyCondition(ready, binding.metadata.generation, binding.status?.conditions, now), condition(IN_EFFECT, here, binding.metadata.generation, binding.status?.conditions, now)],
  };
  const events: StatusEvent[] = [];
  if (expired && binding.status?.expired !== true) {
    events.push({ type: 'Normal', reason: 'BindingExpired', message: `Binding ${binding.metadata.name} expired at ${spec.expiresAt}; role ${spec.role} is no longer granted through it` });
  }
  const compiled = world.index.compiledBinding(binding.metadata.name);
  return { status, events, recheckAt: compiled ? earlierExpiry(null, compiled, now) : null };
}

/** A binding whose spec.clusters does not select this cluster: what it says, and that it is not in force here. */
function notInForceBindingStatus(binding: RoleBinding, world: StatusWorld, here: Ready, now: number): StatusResult {
  const spec = binding.spec;
  const generation = binding.metadata.generation;
  const previous = binding.status?.conditions;
  const ready: Ready = { ok: true, reason: 'NotInForceHere', message: `As written; not in force on ${clusterPhrase(world.index.cluster)} (see the InEffect condition)` };
  const status: RoleBindingStatus = {
    scope: spec.scope ? scopeText(spec.scope) : '',
    subjectCount: (spec.subjects ?? []).length,
    roleFound: world.index.hasRole(spec.role),
    unresolvedSubjects: [],
    resolvedNamespaces: [],
    expired: false,
    ...(binding.status?.lastUsedAt ? { lastUsedAt: binding.status.lastUsedAt } : {}),
    observedGeneration: generation,
    conditions: [readyCondition(ready, generation, previous, now), condition(IN_EFFECT, here, generation, previous, now)],
  };
  const events: StatusEvent[] = [];
  if (previous?.find((c) => c.type === IN_EFFECT)?.status === 'True') {
    events.push({ type: 'Normal', reason: 'BindingNotInForceHere', message: `Binding ${binding.metadata.name}: ${here.message}` });
  }
  return { status, events, recheckAt: null };
}

export function computeStatus(kind: GatehouseKind, obj: User | Role | Team | RoleBinding, world: StatusWorld, now: number): StatusResult {
  switch (kind) {
    case 'User':
      return userStatus(obj as User, world, now);
    case 'Role':
      return roleStatus(obj as Role, world, now);
    case 'Team':
      return teamStatus(obj as Team, world, now);
    case 'RoleBinding':
      return bindingStatus(obj as RoleBinding, world, now);
  }
}

/** Statuses compare as canonical JSON (src/api/canonical.ts), whatever order their fields came in. */
export { canonical };

export function statusEqual(a: unknown, b: unknown): boolean {
  return canonical(a ?? {}) === canonical(b ?? {});
}

/**
 * The keys whose status may change when an object (of `kind`) changes, from the object before and
 * after: the object itself and what refers to it or is referred to by it. What the objects say
 * comes from the objects (the old one is no longer in the index); what refers to them comes from
 * the index's reverse lookups, which hold the state after the change.
 */
export function dependents(kind: GatehouseKind | 'Namespace', objs: ReadonlyArray<User | Role | Team | RoleBinding | Namespace | undefined>, world: StatusWorld): Set<string> {
  const index = world.index;
  const out = new Set<string>();
  // A User subject or a team member names a User by object name or by username (the core's rule).
  const addUser = (nameOrUsername: string): void => {
    out.add(`User/${nameOrUsername}`);
    const byUsername = index.getUserByUsername(nameOrUsername);
    if (byUsername) out.add(`User/${byUsername.metadata.name}`);
  };
  const addBindings = (names: Iterable<string>): void => {
    for (const b of names) out.add(`RoleBinding/${b}`);
  };
  const bindingNames = (set: Iterable<{ name: string }>): string[] => [...set].map((b) => b.name);
  for (const obj of objs) {
    if (!obj) continue;
    const name = obj.metadata.name;
    if (kind !== 'Namespace') out.add(`${kind}/${name}`);
    switch (kind) {
      case 'User': {
        const username = usernameOf(obj as User);
        for (const other of index.userNamesWithUsername(username)) out.add(`User/${other}`);
        for (const id of new Set([name, username])) {
          for (const t of index.teamsWithMember(id)) out.add(`Team/${t}`);
          addBindings(bindingNames(index.bindingsForSubject('User', id)));
        }
        break;
      }
      case 'Role': {
        addBindings(index.bindingsForRole(name));
        // Roles that include this one, directly or not (permission counts, missing includes, cycles).
        for (const r of index.rolesIncluding(name)) out.add(`Role/${r}`);
        break;
      }
      case 'Team': {
        for (const m of (obj as Team).spec.members ?? []) addUser(m);
        addBindings(bindingNames(index.bindingsForSubject('Team', name)));
        addBindings(index.bindingsScopedToTeam(name));
        break;
      }
      case 'RoleBinding': {
        const b = obj as RoleBinding;
        out.add(`Role/${b.spec.role}`);
        for (const s of b.spec.subjects ?? []) {
          if (s.kind === 'User') addUser(s.name);
          if (s.kind === 'Team') for (const m of index.getTeam(s.name)?.spec.members ?? []) addUser(m);
        }
        break;
      }
      case 'Namespace': {
        const teams = new Set<string>(index.namespaceSpecTeams(name) ?? []);
        const label = obj.metadata.labels?.[LABELS.team];
        if (label) teams.add(label);
        for (const t of teams) {
          out.add(`Team/${t}`);
          addBindings(index.bindingsScopedToTeam(t));
        }
        break;
      }
    }
  }
  return out;
}
