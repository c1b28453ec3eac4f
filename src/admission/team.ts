// Team: names, dangling members, and no escalation through membership: whoever adds members,
// groups or namespaces must hold what the team's bindings grant there (or may assign those roles).
import type { RoleBinding, Scope, Team } from '../api/types.js';
import { beginWrite, privileged, readSpec, requireWriteScope, warnDuplicates, type Env, type Findings, type KindWrites, validName } from './common.js';
import { scopeText } from '../authz/scope.js';
import { dns1123LabelProblem } from './names.js';
import { MAX_DESCRIPTION_LENGTH, textProblem, UNSAFE_TEXT } from '../api/username.js';

const TEAM_FIELDS = { description: 'string', members: 'string[]', groups: 'string[]', namespaces: 'string[]' } as const;

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
}

function added(before: readonly string[] | undefined, after: readonly string[] | undefined): Array<[number, string]> {
  const old = new Set(before ?? []);
  return (after ?? []).map((v, i) => [i, v] as [number, string]).filter(([, v]) => !old.has(v));
}

/**
 * Whether the requester may extend what `binding` grants to `scope`: they hold the role's
 * permissions there, or their role lists it in canAssign there. A binding to a role that does not
 * exist grants nothing yet (whoever creates the role must hold it cluster-wide).
 */
export function mayExtend(env: Env, binding: RoleBinding, scope: Scope): string | undefined {
  const { view, who } = env;
  if (!view.role(binding.spec.role)) return undefined;
  const missing = view.missingRolePermissions(who.requester, binding.spec.role, scope);
  if (missing.length === 0 || view.canAssign(who.requester, binding.spec.role, scope)) return undefined;
  return `role ${binding.spec.role} (binding ${binding.metadata.name}) in ${scopeText(scope, 'noun')}, and ${who.label} lacks ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`;
}

/**
 * The escalation check for a team's membership and namespaces: additions only (removing grants
 * nothing). Also used by the Namespace validator for the team label.
 */
export function checkTeamGrowth(env: Env, teamName: string, newMembers: Array<[number, string, string]>, newNamespaces: Array<[number, string]>, nsPath: (i: number) => string): void {
  const { f, view, ctx } = env;
  const now = ctx.now();
  const live = view.listBindings().filter((b) => isLive(b, now));
  const first = newMembers[0];
  if (first) {
    for (const b of live) {
      if (!b.spec.subjects.some((s) => s.kind === 'Team' && s.name === teamName)) continue;
      const problem = mayExtend(env, b, b.spec.scope);
      if (problem) {
        f.deny(first[2], 'no-escalation', `adding ${first[1]} to Team ${teamName} would give them ${problem}`);
        return;
      }
    }
  }
  const firstNs = newNamespaces[0];
  if (firstNs) {
    const namespaces = newNamespaces.map(([, ns]) => ns);
    for (const b of live) {
      if (!(b.spec.scope.teams ?? []).includes(teamName)) continue;
      const problem = mayExtend(env, b, { namespaces });
      if (problem) {
        f.deny(nsPath(firstNs[0]), 'no-escalation', `adding namespace ${firstNs[1]} to Team ${teamName} would extend ${problem}`);
        return;
      }
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

export function validateTeam(env: Env): void {
  const write = beginWrite(env, TEAMS);
  if (!write) return;
  const { object: newTeam, old: oldTeam } = write;
  checkSemantics(env, newTeam);
  if (privileged(env)) return;
  const name = newTeam.metadata.name;
  if (!requireWriteScope(env, TEAMS, newTeam)) return;
  const members: Array<[number, string, string]> = [
    ...added(oldTeam?.spec.members, newTeam.spec.members).map(([i, m]) => [i, `User ${m}`, `spec.members[${i}]`] as [number, string, string]),
    ...added(oldTeam?.spec.groups, newTeam.spec.groups).map(([i, g]) => [i, `group ${g}`, `spec.groups[${i}]`] as [number, string, string]),
  ];
  checkTeamGrowth(env, name, members, added(oldTeam?.spec.namespaces, newTeam.spec.namespaces), (i) => `spec.namespaces[${i}]`);
}
