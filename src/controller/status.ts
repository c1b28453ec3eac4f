// What each object's status should be, computed from everything the informers hold: pure, so the
// rules are unit-tested without an API server. The reconciler compares the result with the status
// the object has and writes only a difference.
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
import { LABELS, usernameOf } from '../api/types.js';

/** The informers' caches, plus what only the core knows. */
export interface World {
  users: ReadonlyMap<string, User>;
  roles: ReadonlyMap<string, Role>;
  teams: ReadonlyMap<string, Team>;
  bindings: ReadonlyMap<string, RoleBinding>;
  namespaces: ReadonlyMap<string, Namespace>;
  /** Object names of the Users kept as seed admins. */
  seedUsers: ReadonlySet<string>;
  /** Why a permission string is invalid, or undefined when it is valid (the core's grammar). */
  permissionProblem(permission: string): string | undefined;
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
}

interface Ready {
  ok: boolean;
  reason: string;
  message: string;
}

function readyCondition(ready: Ready, generation: number | undefined, previous: Condition[] | undefined, now: number): Condition {
  const status = ready.ok ? 'True' : 'False';
  const old = previous?.find((c) => c.type === 'Ready');
  const cond: Condition = {
    type: 'Ready',
    status,
    reason: ready.reason,
    message: ready.message,
    // The time the status last flipped, not the time of the last write.
    lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  if (generation !== undefined) cond.observedGeneration = generation;
  return cond;
}

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();
const list = (xs: string[], max = 5): string => (xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`);

/** The namespaces a team owns now: listed in spec, and labelled iam.gatehouse.dev/team=<team>. */
export function teamNamespaces(team: Team, world: World): string[] {
  const out = [...(team.spec.namespaces ?? [])];
  for (const ns of world.namespaces.values()) {
    if (ns.metadata.labels?.[LABELS.team] === team.metadata.name) out.push(ns.metadata.name);
  }
  return sorted(out);
}

export function isExpired(binding: RoleBinding, now: number): boolean {
  if (!binding.spec.expiresAt) return false;
  const at = Date.parse(binding.spec.expiresAt);
  return Number.isFinite(at) && at <= now;
}

/** The earliest expiresAt still in the future, for the expiry timer. */
export function nextExpiry(bindings: Iterable<RoleBinding>, now: number): number | undefined {
  let next: number | undefined;
  for (const b of bindings) {
    if (!b.spec.expiresAt) continue;
    const at = Date.parse(b.spec.expiresAt);
    if (Number.isFinite(at) && at > now && (next === undefined || at < next)) next = at;
  }
  return next;
}

export function scopeLine(binding: RoleBinding): string {
  const s = binding.spec.scope ?? {};
  if (s.cluster) return 'cluster';
  if (s.teams) return `teams: ${s.teams.join(',')}`;
  if (s.namespaces) return `namespaces: ${s.namespaces.join(',')}`;
  return '';
}

function scopeEntries(binding: RoleBinding): string[] {
  const s = binding.spec.scope ?? {};
  if (s.cluster) return ['cluster'];
  if (s.teams) return s.teams.map((t) => `team:${t}`);
  return (s.namespaces ?? []).map((n) => `namespace:${n}`);
}

export function userTeams(userName: string, world: World): string[] {
  const out: string[] = [];
  for (const t of world.teams.values()) if (t.spec.members?.includes(userName)) out.push(t.metadata.name);
  return sorted(out);
}

function userStatus(user: User, world: World, now: number): StatusResult {
  const name = user.metadata.name;
  const teams = userTeams(name, world);
  const teamSet = new Set(teams);
  const roles: string[] = [];
  for (const b of world.bindings.values()) {
    if (isExpired(b, now)) continue;
    const held = (b.spec.subjects ?? []).some((s) => (s.kind === 'User' && s.name === name) || (s.kind === 'Team' && teamSet.has(s.name)));
    if (held) for (const where of scopeEntries(b)) roles.push(`${b.spec.role}@${where}`);
  }
  const seed = world.seedUsers.has(name);
  const state = user.spec.state;
  const username = usernameOf(user);
  const twins = [...world.users.values()].filter((u) => u.metadata.name !== name && usernameOf(u) === username).map((u) => u.metadata.name);
  let ready: Ready;
  if (twins.length > 0) {
    ready = { ok: false, reason: 'DuplicateUsername', message: `Users ${list(sorted([name, ...twins]))} all have username ${username}; delete or rename all but one` };
  } else if (state === 'Active') {
    ready = { ok: true, reason: seed ? 'SeedAdmin' : 'Active', message: seed ? 'Seed admin from the operator configuration; change values.yaml to change it' : 'The user is active' };
  } else if (state === 'Pending') {
    ready = { ok: false, reason: 'PendingApproval', message: 'Waiting for approval: a superuser (or a holder of iam.gatehouse.dev/users:approve) sets spec.state to Active, e.g. kubectl gatehouse user activate ' + name };
  } else if (state === 'Rejected') {
    ready = { ok: false, reason: 'Rejected', message: 'The user was rejected and is denied all access; set spec.state to Active to let them in' };
  } else {
    ready = { ok: false, reason: 'Suspended', message: 'The user is suspended and denied all access; set spec.state to Active to restore access' };
  }
  const phase = seed ? 'Seed' : state;
  const status: UserStatus = {
    phase,
    teams,
    roles: sorted(roles),
    seed,
    observedGeneration: user.metadata.generation,
    conditions: [readyCondition(ready, user.metadata.generation, user.status?.conditions, now)],
  };
  const events: StatusEvent[] = [];
  const oldPhase = user.status?.phase;
  if (oldPhase !== undefined && oldPhase !== phase) {
    if (state === 'Active') events.push({ type: 'Normal', reason: 'UserActivated', message: `User ${username} is now active (was ${oldPhase})` });
    else if (state === 'Rejected') events.push({ type: 'Normal', reason: 'UserRejected', message: `User ${username} was rejected (was ${oldPhase})` });
    else if (state === 'Suspended') events.push({ type: 'Normal', reason: 'UserSuspended', message: `User ${username} was suspended (was ${oldPhase})` });
  }
  return { status, events };
}

/** Whether following `includes` from `role` leads back to it. */
function includesItself(role: Role, world: World): boolean {
  const start = role.metadata.name;
  const seen = new Set<string>();
  const stack = [...(role.spec.includes ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (next === start) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(world.roles.get(next)?.spec.includes ?? []));
  }
  return false;
}

function effectivePermissions(role: Role, world: World): Set<string> {
  const out = new Set<string>();
  const seen = new Set<string>();
  const visit = (r: Role): void => {
    if (seen.has(r.metadata.name)) return;
    seen.add(r.metadata.name);
    for (const p of r.spec.permissions ?? []) if (!world.permissionProblem(p)) out.add(p);
    (r.spec.rules ?? []).forEach((rule) => out.add(`rule:${JSON.stringify(rule)}`));
    for (const inc of r.spec.includes ?? []) {
      const child = world.roles.get(inc);
      if (child) visit(child);
    }
  };
  visit(role);
  return out;
}

function roleStatus(role: Role, world: World, now: number): StatusResult {
  const name = role.metadata.name;
  const invalid: string[] = [];
  for (const p of role.spec.permissions ?? []) {
    const problem = world.permissionProblem(p);
    if (problem) invalid.push(`${p}: ${problem}`);
  }
  const missing = sorted((role.spec.includes ?? []).filter((r) => !world.roles.has(r)));
  let bindingCount = 0;
  for (const b of world.bindings.values()) if (b.spec.role === name) bindingCount++;
  const cycle = includesItself(role, world);
  let ready: Ready;
  if (cycle) {
    ready = { ok: false, reason: 'IncludeCycle', message: `Role ${name} includes itself through spec.includes; remove the loop (the included roles' permissions are not granted through it)` };
  } else if (invalid.length > 0) {
    ready = { ok: false, reason: 'InvalidPermissions', message: `${invalid.length} permission(s) do not parse and grant nothing: ${list(invalid, 3)}; fix them in spec.permissions` };
  } else if (missing.length > 0) {
    ready = { ok: false, reason: 'MissingIncludes', message: `Included role(s) ${list(missing)} do not exist yet; their permissions are not granted until they are created` };
  } else {
    ready = { ok: true, reason: 'Valid', message: `The role holds ${effectivePermissions(role, world).size} permission(s)` };
  }
  const status: RoleStatus = {
    permissionCount: effectivePermissions(role, world).size,
    invalidPermissions: invalid,
    missingIncludes: missing,
    bindingCount,
    observedGeneration: role.metadata.generation,
    conditions: [readyCondition(ready, role.metadata.generation, role.status?.conditions, now)],
  };
  const events: StatusEvent[] = [];
  const oldReason = role.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
  if (cycle && oldReason !== 'IncludeCycle') events.push({ type: 'Warning', reason: 'RoleIncludesItself', message: ready.message });
  return { status, events };
}

function teamStatus(team: Team, world: World, now: number): StatusResult {
  const members = team.spec.members ?? [];
  const missing = sorted(members.filter((m) => !world.users.has(m)));
  const ready: Ready =
    missing.length > 0
      ? { ok: false, reason: 'MissingMembers', message: `Member(s) ${list(missing)} have no User object yet; they get nothing through this team until their Users exist` }
      : { ok: true, reason: 'Valid', message: `The team has ${new Set(members).size} member(s)` };
  const status: TeamStatus = {
    memberCount: new Set(members).size,
    namespaces: teamNamespaces(team, world),
    missingMembers: missing,
    observedGeneration: team.metadata.generation,
    conditions: [readyCondition(ready, team.metadata.generation, team.status?.conditions, now)],
  };
  return { status, events: [] };
}

function bindingStatus(binding: RoleBinding, world: World, now: number): StatusResult {
  const spec = binding.spec;
  const roleFound = world.roles.has(spec.role);
  const unresolved = sorted(
    (spec.subjects ?? [])
      .filter((s) => (s.kind === 'User' && !world.users.has(s.name)) || (s.kind === 'Team' && !world.teams.has(s.name)))
      .map((s) => `${s.kind}/${s.name}`),
  );
  const missingTeams: string[] = [];
  let resolved: string[] = [];
  if (spec.scope?.teams) {
    for (const t of spec.scope.teams) {
      const team = world.teams.get(t);
      if (team) resolved.push(...teamNamespaces(team, world));
      else missingTeams.push(t);
    }
    resolved = sorted(resolved);
  } else if (spec.scope?.namespaces) {
    resolved = sorted(spec.scope.namespaces);
  }
  const expired = isExpired(binding, now);
  let ready: Ready;
  if (expired) {
    ready = { ok: false, reason: 'Expired', message: `The binding expired at ${spec.expiresAt} and grants nothing; extend spec.expiresAt or delete it` };
  } else if (!roleFound) {
    ready = { ok: false, reason: 'RoleNotFound', message: `Role ${spec.role} does not exist yet; the binding grants nothing until it is created` };
  } else if (missingTeams.length > 0) {
    ready = { ok: false, reason: 'ScopeTeamNotFound', message: `Scope team(s) ${list(sorted(missingTeams))} do not exist yet; the binding grants nothing in their namespaces until they are created` };
  } else if (unresolved.length > 0) {
    ready = { ok: false, reason: 'SubjectsNotFound', message: `Subject(s) ${list(unresolved)} do not exist yet; they get nothing through this binding until they are created` };
  } else {
    ready = { ok: true, reason: 'Bound', message: `Role ${spec.role} is granted to ${(spec.subjects ?? []).length} subject(s) in ${scopeLine(binding)}` };
  }
  const status: RoleBindingStatus = {
    scope: scopeLine(binding),
    subjectCount: (spec.subjects ?? []).length,
    roleFound,
    unresolvedSubjects: unresolved,
    resolvedNamespaces: resolved,
    expired,
    observedGeneration: binding.metadata.generation,
    conditions: [readyCondition(ready, binding.metadata.generation, binding.status?.conditions, now)],
  };
  const events: StatusEvent[] = [];
  if (expired && binding.status?.expired !== true) {
    events.push({ type: 'Normal', reason: 'BindingExpired', message: `Binding ${binding.metadata.name} expired at ${spec.expiresAt}; role ${spec.role} is no longer granted through it` });
  }
  return { status, events };
}

export function computeStatus(kind: GatehouseKind, obj: User | Role | Team | RoleBinding, world: World, now: number): StatusResult {
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

/** JSON with sorted keys, so two statuses compare equal whatever order their fields came in. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

export function statusEqual(a: unknown, b: unknown): boolean {
  return canonical(a ?? {}) === canonical(b ?? {});
}

/**
 * The keys whose status may change when `obj` (of `kind`) changes, from the object before and
 * after: the object itself and what refers to it or is referred to by it.
 */
export function dependents(kind: GatehouseKind | 'Namespace', objs: ReadonlyArray<User | Role | Team | RoleBinding | Namespace | undefined>, world: World): Set<string> {
  const out = new Set<string>();
  const addBindingUsers = (b: RoleBinding): void => {
    for (const s of b.spec.subjects ?? []) {
      if (s.kind === 'User') out.add(`User/${s.name}`);
      if (s.kind === 'Team') for (const m of world.teams.get(s.name)?.spec.members ?? []) out.add(`User/${m}`);
    }
  };
  for (const obj of objs) {
    if (!obj) continue;
    const name = obj.metadata.name;
    if (kind !== 'Namespace') out.add(`${kind}/${name}`);
    switch (kind) {
      case 'User': {
        const u = obj as User;
        for (const other of world.users.values()) if (usernameOf(other) === usernameOf(u)) out.add(`User/${other.metadata.name}`);
        for (const t of world.teams.values()) if (t.spec.members?.includes(name)) out.add(`Team/${t.metadata.name}`);
        for (const b of world.bindings.values()) if (b.spec.subjects?.some((s) => s.kind === 'User' && s.name === name)) out.add(`RoleBinding/${b.metadata.name}`);
        break;
      }
      case 'Role': {
        for (const b of world.bindings.values()) if (b.spec.role === name) out.add(`RoleBinding/${b.metadata.name}`);
        // Roles that include this one, directly or not (permission counts, missing includes, cycles).
        const frontier = [name];
        const seen = new Set<string>();
        while (frontier.length > 0) {
          const cur = frontier.pop()!;
          if (seen.has(cur)) continue;
          seen.add(cur);
          for (const r of world.roles.values()) {
            if (r.spec.includes?.includes(cur)) {
              out.add(`Role/${r.metadata.name}`);
              frontier.push(r.metadata.name);
            }
          }
        }
        break;
      }
      case 'Team': {
        const t = obj as Team;
        for (const m of t.spec.members ?? []) out.add(`User/${m}`);
        for (const b of world.bindings.values()) {
          const bySubject = b.spec.subjects?.some((s) => s.kind === 'Team' && s.name === name);
          if (bySubject || b.spec.scope?.teams?.includes(name)) out.add(`RoleBinding/${b.metadata.name}`);
        }
        break;
      }
      case 'RoleBinding': {
        const b = obj as RoleBinding;
        out.add(`Role/${b.spec.role}`);
        addBindingUsers(b);
        break;
      }
      case 'Namespace': {
        const teamName = obj.metadata.labels?.[LABELS.team];
        const teams = new Set<string>();
        if (teamName) teams.add(teamName);
        for (const t of world.teams.values()) if (t.spec.namespaces?.includes(name)) teams.add(t.metadata.name);
        for (const t of teams) {
          out.add(`Team/${t}`);
          for (const b of world.bindings.values()) if (b.spec.scope?.teams?.includes(t)) out.add(`RoleBinding/${b.metadata.name}`);
        }
        break;
      }
    }
  }
  return out;
}
