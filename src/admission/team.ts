// Team: names, dangling members, and no escalation through membership: whoever adds members,
// groups or namespaces must hold what the team's bindings grant there (or may assign those roles).
import type { RoleBinding, Scope, Team } from '../api/types.js';
import { beginWrite, CLUSTER, jsonEqual, privileged, readSpec, requireDelegated, requireWriteScope, warnDuplicates, type Env, type Findings, type KindWrites, validName } from './common.js';
import { scopeText } from '../authz/scope.js';
import { dns1123LabelProblem } from './names.js';
import { grantProblem } from './grants.js';
import { MAX_DESCRIPTION_LENGTH, textProblem, UNSAFE_TEXT } from '../api/username.js';
import { budgetProblems, quotaTeams, type QuotaTeam } from '../quota/allocate.js';
import { parseQuantity, QuantityError } from '../quota/quantity.js';

const TEAM_FIELDS = { description: 'string', members: 'string[]', groups: 'string[]', namespaces: 'string[]', parent: 'string', quota: 'object' } as const;

/** The tree's default depth bound (config teams.maxDepth). */
export const DEFAULT_MAX_DEPTH = 6;

function readTeam(f: Findings, obj: unknown, which: 'object' | 'oldObject'): Team | undefined {
  const read = readSpec(f, obj, which, false, TEAM_FIELDS);
  if (!read) return undefined;
  return { metadata: read.metadata, spec: read.spec as Team['spec'] };
}

export function isLive(binding: RoleBinding, now: number): boolean {
  if (!binding.spec.expiresAt) return true;
  const t = Date.parse(binding.spec.expiresAt);
  return Number.isNaN(t) || t > now;
}

function checkSemantics(env: Env, team: Team): void {
  const { f, view } = env;
  const name = team.metadata.name;
  validName(f, 'metadata.name', name);
  // Administrators read the description in `team show` and `team list`: no forged lines.
  const description = team.spec.description;
  const descriptionProblem = description === undefined ? undefined : textProblem(description, MAX_DESCRIPTION_LENGTH);
  if (descriptionProblem) f.deny('spec.description', 'invalid-field', descriptionProblem);
  for (const [i, member] of (team.spec.members ?? []).entries()) {
    if (validName(f, `spec.members[${i}]`, member, undefined, ' (members are User names)') && !view.user(member)) f.warn(`spec.members[${i}]: User ${member} does not exist yet`);
  }
  for (const [i, group] of (team.spec.groups ?? []).entries()) {
    if (group.trim() === '') f.deny(`spec.groups[${i}]`, 'invalid-field', 'must not be blank');
    // A group is matched exactly as the authenticator reports it; a padded or control-laden one
    // matches nobody and prints as something else.
    else if (group !== group.trim() || UNSAFE_TEXT.test(group)) f.deny(`spec.groups[${i}]`, 'invalid-field', 'must not have leading or trailing spaces or control characters');
  }
  for (const [i, ns] of (team.spec.namespaces ?? []).entries()) validName(f, `spec.namespaces[${i}]`, ns, dns1123LabelProblem);
  warnDuplicates(f, team.spec.members ?? [], 'spec.members');
  warnDuplicates(f, team.spec.groups ?? [], 'spec.groups');
  warnDuplicates(f, team.spec.namespaces ?? [], 'spec.namespaces');
  checkTree(env, team);
  checkQuota(env, team);
}

/**
 * The tree: a parent is a valid name other than the team itself; a parent that does not exist yet is
 * a warning (objects arrive in any order from Git); a cycle is refused, and so is a tree deeper than
 * teams.maxDepth (counting the team's own subtree, which moves with it).
 */
function checkTree(env: Env, team: Team): void {
  const { f, view } = env;
  const name = team.metadata.name;
  const parent = team.spec.parent;
  if (parent === undefined) return;
  if (!validName(f, 'spec.parent', parent, undefined, ' (a parent is a Team name)')) return;
  if (parent === name) {
    f.deny('spec.parent', 'team-tree', `Team ${name} cannot be its own parent`);
    return;
  }
  if (!view.team(parent)) f.warn(`spec.parent: Team ${parent} does not exist (yet); until it does, Team ${name} is reported ParentMissing`);
  const above = view.teamAncestorsOrSelf(parent);
  if (above.includes(name)) {
    f.deny('spec.parent', 'team-tree', `parent ${parent} would make a cycle: ${[name, ...above.slice(0, above.indexOf(name) + 1)].join(' -> ')}`);
    return;
  }
  const max = env.ctx.config.teams?.maxDepth ?? DEFAULT_MAX_DEPTH;
  const depth = above.length + heightBelow(env, name);
  if (depth > max) f.deny('spec.parent', 'team-tree', `under ${parent} the tree would be ${depth} teams deep (${[...above].reverse().join(' -> ')} -> ${name}${depth > above.length + 1 ? ' and its subtree' : ''}); at most ${max} (teams.maxDepth)`);
}

/** How many levels `team` and the teams below it span (1: no children). */
function heightBelow(env: Env, team: string): number {
  let best = 1;
  const walk = (t: string, level: number, path: Set<string>): void => {
    if (level > best) best = level;
    if (level > 64) return;
    for (const c of env.view.teamChildren(t)) if (!path.has(c)) walk(c, level + 1, new Set([...path, c]));
  };
  walk(team, 1, new Set([team]));
  return best;
}

/** ResourceQuota resource names Kubernetes accepts in spec.hard (extended resources only as requests.*). */
const QUOTA_NAMES = new Set([
  'cpu', 'memory', 'ephemeral-storage', 'pods', 'services', 'services.nodeports', 'services.loadbalancers', 'replicationcontrollers',
  'resourcequotas', 'secrets', 'configmaps', 'persistentvolumeclaims', 'requests.storage',
]);
export function quotaResourceProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 253 || !/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(name)) return 'is not a resource name';
  if (QUOTA_NAMES.has(name) || name.startsWith('requests.') || name.startsWith('limits.') || name.startsWith('count/') || name.includes('.storageclass.storage.k8s.io/')) return undefined;
  return 'is not a ResourceQuota resource name (requests.cpu, limits.memory, requests.nvidia.com/gpu, pods, persistentvolumeclaims, requests.storage, count/<resource>, ...)';
}

/** spec.quota.hard as the allocation reads it; undefined (with findings) when malformed. */
export function readQuota(env: Pick<Env, 'f'>, team: Team): Map<string, bigint> | undefined {
  const quota = team.spec.quota as unknown;
  if (quota === undefined || quota === null) return new Map();
  const hard = (quota as { hard?: unknown }).hard;
  if (hard === undefined || hard === null) return new Map();
  if (typeof hard !== 'object' || Array.isArray(hard)) {
    env.f.deny('spec.quota.hard', 'malformed-object', 'must be a map of resource names to quantities');
    return undefined;
  }
  const out = new Map<string, bigint>();
  for (const [k, v] of Object.entries(hard as Record<string, unknown>)) {
    const problem = quotaResourceProblem(k);
    if (problem) {
      env.f.deny(`spec.quota.hard[${k}]`, 'invalid-field', `${JSON.stringify(k)} ${problem}`);
      continue;
    }
    if (typeof v !== 'string' && typeof v !== 'number') {
      env.f.deny(`spec.quota.hard[${k}]`, 'invalid-field', 'must be a quantity (8, 500m, 16Gi)');
      continue;
    }
    try {
      out.set(k, parseQuantity(v));
    } catch (err) {
      if (!(err instanceof QuantityError)) throw err;
      env.f.deny(`spec.quota.hard[${k}]`, 'invalid-field', err.message);
    }
  }
  return env.f.ok ? out : undefined;
}

/** A child's budget fits what its parent has left, and the team's own children fit it (with figures). */
function checkQuota(env: Env, team: Team): void {
  const hard = readQuota(env, team);
  if (hard === undefined) return;
  const teams = quotaTeams(env.view.listTeams());
  const me: QuotaTeam = { name: team.metadata.name, parent: team.spec.parent, hard };
  teams.set(me.name, me);
  for (const problem of budgetProblems(teams, me)) env.f.deny('spec.quota.hard', 'quota-budget', problem);
}

function added(before: readonly string[] | undefined, after: readonly string[] | undefined): Array<[number, string]> {
  const old = new Set(before ?? []);
  return (after ?? []).map((v, i) => [i, v] as [number, string]).filter(([, v]) => !old.has(v));
}

/**
 * Why the requester may not extend what Role `role` (from `source`) grants to `scope` until `until`
 * (undefined: they may): the one rule (grants.ts), with a Role that does not exist (yet) counting as
 * granting everything (issue 32, item 9): it may arrive later, in any order, and nobody could show
 * they hold what it will grant.
 */
export function mayExtend(env: Env, role: string, source: string, scope: Scope, until: string | undefined): string | undefined {
  const problem = grantProblem(env, role, scope, until, { missingRole: 'refuse' });
  if (problem === undefined) return undefined;
  const { view, who } = env;
  const lack = problem.why === 'assign' ? view.missingRolePermissions(who.requester, role, scope) : [];
  const why = lack.length > 0 ? `${who.label} lacks ${lack.slice(0, 5).join(', ')}${lack.length > 5 ? ` and ${lack.length - 5} more` : ''}` : problem.message;
  return `role ${role} (${source}) in ${scopeText(scope, 'noun')}, and ${why}`;
}

/**
 * The escalation check for a team's membership and namespaces: additions only (removing grants
 * nothing). Every grant that flows from the team is covered (issue 32, item 5): bindings naming the
 * team as a subject (for new members and groups), bindings scoped to the team and, for the
 * configured default team, the default role every Active user holds there (for new namespaces).
 * Also used by the Namespace validator for the team label.
 */
export function checkTeamGrowth(env: Env, teamName: string, newMembers: Array<[number, string, string]>, newNamespaces: Array<[number, string]>, nsPath: (i: number) => string, parent?: string): void {
  const { f, view, ctx } = env;
  if (privileged(env)) return;
  const now = ctx.now();
  const live = view.listBindings().filter((b) => isLive(b, now));
  const first = newMembers[0];
  if (first) {
    for (const b of live) {
      if (!b.spec.subjects.some((s) => s.kind === 'Team' && s.name === teamName)) continue;
      const problem = mayExtend(env, b.spec.role, `binding ${b.metadata.name}`, b.spec.scope, b.spec.expiresAt);
      if (problem) {
        f.deny(first[2], 'no-escalation', `adding ${first[1]} to Team ${teamName} would give them ${problem}`);
        return;
      }
    }
  }
  const firstNs = newNamespaces[0];
  if (firstNs) {
    const scope = { namespaces: newNamespaces.map(([, ns]) => ns) };
    // A teams scope reaches the namespaces of every team below it: the team's ancestors' bindings flow too.
    const scopeTeams = new Set([teamName, ...(parent !== undefined ? view.teamAncestorsOrSelf(parent) : view.teamAncestorsOrSelf(teamName))]);
    const flows: Array<{ role: string; source: string; until: string | undefined }> = live
      .filter((b) => (b.spec.scope.teams ?? []).some((t) => scopeTeams.has(t)))
      .map((b) => ({ role: b.spec.role, source: `binding ${b.metadata.name}`, until: b.spec.expiresAt }));
    const defaults = ctx.config.defaults;
    if (defaults.team === teamName && defaults.role !== undefined) {
      flows.push({ role: defaults.role, source: `the default role every Active user holds in Team ${teamName}`, until: undefined });
    }
    for (const flow of flows) {
      const problem = mayExtend(env, flow.role, flow.source, scope, flow.until);
      if (problem) {
        f.deny(nsPath(firstNs[0]), 'no-escalation', `adding namespace ${firstNs[1]} to Team ${teamName} would extend ${problem}`);
        return;
      }
    }
  }
}

/** Every live binding scoped to one of `teams` must be the requester's to extend to `namespaces`. */
function checkScopeFlows(env: Env, teams: readonly string[], namespaces: readonly string[], path: string, say: (problem: string) => string): void {
  if (teams.length === 0) return;
  const now = env.ctx.now();
  const wanted = new Set(teams);
  for (const b of env.view.listBindings()) {
    if (!isLive(b, now) || !(b.spec.scope.teams ?? []).some((t) => wanted.has(t))) continue;
    const problem = mayExtend(env, b.spec.role, `binding ${b.metadata.name}`, { namespaces: [...namespaces] }, b.spec.expiresAt);
    if (problem) {
      env.f.deny(path, 'no-escalation', say(problem));
      return;
    }
  }
}

/** Whether the requester may update Team `teamName` at all (delegated teams:update in the team). */
export function mayUpdateTeam(env: Env, teamName: string): boolean {
  if (privileged(env)) return true;
  const held = env.view.scopesHolding(env.who.requester, { group: 'iam.gatehouse.dev', resource: 'teams', verb: 'update' });
  return held.cluster || held.teams.includes(teamName);
}

/** A write to a Team lies in the team's own scope. */
const TEAMS: KindWrites<Team> = { kind: 'Team', resource: 'teams', read: readTeam, scope: (t) => ({ teams: [t.metadata.name] }), path: 'metadata.name' };

/**
 * Delegation bounded to a subtree: a write that places a team under `parent` lies in the parent's
 * scope (whoever holds teams:create or teams:update in team d's scope holds it in every team below
 * d, authz/queries.ts); a team's budget is set from above it (the parent's scope, or the cluster for
 * a root), so nobody raises their own; and a move out of a subtree needs the old parent's scope too.
 */
function checkPlacement(env: Env, team: Team, old: Team | undefined): boolean {
  const name = team.metadata.name;
  const verb = old === undefined ? 'create' : 'update';
  const above = (parent: string | undefined): Scope => (parent !== undefined ? { teams: [parent] } : CLUSTER);
  const moved = old !== undefined && (old.spec.parent ?? undefined) !== (team.spec.parent ?? undefined);
  if (old === undefined && team.spec.parent !== undefined) {
    // Creating under a parent: the parent's scope, instead of the new team's own (not in any tree yet).
    if (!requireDelegated(env, 'teams', 'create', above(team.spec.parent), 'spec.parent', `creating Team ${name} under ${team.spec.parent}`)) return false;
  } else if (!requireWriteScope(env, TEAMS, team)) return false;
  if (moved) {
    if (!requireDelegated(env, 'teams', 'update', above(old.spec.parent), 'spec.parent', `moving Team ${name} out of ${old.spec.parent ?? 'the root'}`)) return false;
    if (!requireDelegated(env, 'teams', 'update', above(team.spec.parent), 'spec.parent', `moving Team ${name} under ${team.spec.parent ?? 'the root'}`)) return false;
  }
  const quotaChanged = !jsonEqual(old?.spec.quota ?? {}, team.spec.quota ?? {});
  if (quotaChanged || (moved && team.spec.quota?.hard !== undefined)) {
    if (!requireDelegated(env, 'teams', verb, above(team.spec.parent), 'spec.quota', `setting the budget of Team ${name}`)) return false;
  }
  return true;
}

export function validateTeam(env: Env): void {
  const write = beginWrite(env, TEAMS);
  if (!write) return;
  const { object: newTeam, old: oldTeam } = write;
  checkSemantics(env, newTeam);
  if (privileged(env)) return;
  const name = newTeam.metadata.name;
  if (!env.f.ok || !checkPlacement(env, newTeam, oldTeam)) return;
  const members: Array<[number, string, string]> = [
    ...added(oldTeam?.spec.members, newTeam.spec.members).map(([i, m]) => [i, `User ${m}`, `spec.members[${i}]`] as [number, string, string]),
    ...added(oldTeam?.spec.groups, newTeam.spec.groups).map(([i, g]) => [i, `group ${g}`, `spec.groups[${i}]`] as [number, string, string]),
  ];
  checkTeamGrowth(env, name, members, added(oldTeam?.spec.namespaces, newTeam.spec.namespaces), (i) => `spec.namespaces[${i}]`, newTeam.spec.parent);
  // Under a new parent, every binding scoped to the new ancestors reaches the team's whole subtree.
  if ((oldTeam?.spec.parent ?? undefined) !== (newTeam.spec.parent ?? undefined) && newTeam.spec.parent !== undefined && env.f.ok) {
    const before = new Set(oldTeam?.spec.parent !== undefined ? env.view.teamAncestorsOrSelf(oldTeam.spec.parent) : []);
    const gained = env.view.teamAncestorsOrSelf(newTeam.spec.parent).filter((t) => !before.has(t));
    const namespaces = [...new Set([...env.view.subtreeNamespaces(name), ...(newTeam.spec.namespaces ?? [])])].sort();
    if (namespaces.length > 0) checkScopeFlows(env, gained, namespaces, 'spec.parent', (problem) => `placing Team ${name} under ${newTeam.spec.parent} would extend ${problem}`);
  }
}
