// Team: names, dangling members, and no escalation through membership: whoever adds members,
// groups or namespaces must hold what the team's bindings grant there (or may assign those roles).
import type { RoleBinding, Scope, Team } from '../api/types.js';
import { beginWrite, privileged, readSpec, requireWriteScope, warnDuplicates, type Env, type Findings, type KindWrites, validName } from './common.js';
import { scopeText } from '../authz/scope.js';
import { dns1123LabelProblem } from './names.js';
import { grantProblem } from './grants.js';
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
export function checkTeamGrowth(env: Env, teamName: string, newMembers: Array<[number, string, string]>, newNamespaces: Array<[number, string]>, nsPath: (i: number) => string): void {
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
    const flows: Array<{ role: string; source: string; until: string | undefined }> = live
      .filter((b) => (b.spec.scope.teams ?? []).includes(teamName))
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
