// team create|list|show|tree|quota|add|remove|delete.
import type { Team } from '../../api/types.js';
import type { CommandSpec } from '../args.js';
import { type Context, arg, str, strs, printStructured, forTable, removeObject, tryList, updateAndSay } from '../context.js';
import { applyMembership, findObject, type MembershipChange } from '../../client/edits.js';
import { usageError } from '../../client/errors.js';
import { table, details, age, list, forDisplay } from '../format.js';
import { subjectsText, expiryText } from '../../client/assignments.js';
import { scopeText } from '../../authz/scope.js';
import { treeRows, treePrefix, quotaRows } from '../../client/team-tree.js';

function changeFrom(ctx: Context, positionalsFrom: number): MembershipChange {
  const change = { members: ctx.args.slice(positionalsFrom), groups: strs(ctx, 'group'), namespaces: strs(ctx, 'namespace') };
  if (change.members.length + change.groups.length + change.namespaces.length === 0) {
    throw usageError('name at least one USER, --group GROUP or --namespace NAMESPACE');
  }
  return change;
}

/** `--quota RESOURCE=QUANTITY`, repeated: a budget in ResourceQuota's names (admission checks the quantities). */
function quotaFrom(ctx: Context): Record<string, string> | undefined {
  const items = strs(ctx, 'quota');
  if (items.length === 0) return undefined;
  const hard: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw usageError(`--quota ${JSON.stringify(item)}: expected RESOURCE=QUANTITY, e.g. requests.nvidia.com/gpu=8`);
    hard[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return hard;
}

async function create(ctx: Context): Promise<number> {
  const name = arg(ctx, 0);
  const hard = quotaFrom(ctx);
  const team: Team = {
    metadata: { name },
    spec: {
      ...(str(ctx, 'description') ? { description: str(ctx, 'description') } : {}),
      ...(str(ctx, 'parent') ? { parent: str(ctx, 'parent') } : {}),
      ...(hard ? { quota: { hard } } : {}),
      ...(strs(ctx, 'member').length ? { members: [...new Set(strs(ctx, 'member'))] } : {}),
      ...(strs(ctx, 'group').length ? { groups: [...new Set(strs(ctx, 'group'))] } : {}),
      ...(strs(ctx, 'namespace').length ? { namespaces: [...new Set(strs(ctx, 'namespace'))] } : {}),
    },
  };
  const created = await ctx.client().create('Team', team);
  if (!printStructured(ctx, forDisplay(created))) ctx.out(`team ${name} created (members ${list(created.spec.members)}; groups ${list(created.spec.groups)}; namespaces ${list(created.spec.namespaces)})\n`);
  return 0;
}

async function listTeams(ctx: Context): Promise<number> {
  const teams = forTable(ctx, await ctx.client().list('Team'), 'teams');
  if (!teams) return 0;
  ctx.out(table(
    ['NAME', 'MEMBERS', 'GROUPS', 'NAMESPACES', 'DESCRIPTION', 'AGE'],
    teams.map((t) => [t.metadata.name, list(t.spec.members), list(t.spec.groups), list(t.status?.namespaces ?? t.spec.namespaces), t.spec.description ?? '', age(t.metadata.creationTimestamp, ctx.now())]),
  ));
  return 0;
}

async function show(ctx: Context): Promise<number> {
  const team = await findObject(ctx.client(), 'Team', arg(ctx, 0));
  if (printStructured(ctx, forDisplay(team))) return 0;
  const bindings = await tryList(ctx, 'RoleBinding');
  const name = team.metadata.name;
  const inScope = bindings?.filter((b) => b.spec.scope.teams?.includes(name));
  const held = bindings?.filter((b) => b.spec.subjects.some((s) => s.kind === 'Team' && s.name === name));
  const cant = ['<you may not list role assignments>'];
  ctx.out(details([
    ['Name', name],
    ['Description', team.spec.description ?? ''],
    ['Members', team.spec.members ?? []],
    ['Groups', team.spec.groups ?? []],
    ['Namespaces', team.spec.namespaces ?? []],
    ['Namespaces (resolved)', team.status?.namespaces ?? ['<not reported: labelled namespaces are resolved by the operator>']],
    ['Missing members', team.status?.missingMembers ?? []],
    ['Roles the team holds', held ? held.map((b) => `${b.spec.role} in ${scopeText(b.spec.scope)} (${b.metadata.name})${expiryText(b.spec.expiresAt, ctx.now())}`) : cant],
    ['Assignments scoped to the team', inScope ? inScope.map((b) => `${b.spec.role} for ${subjectsText(b.spec.subjects)} (${b.metadata.name})${expiryText(b.spec.expiresAt, ctx.now())}`) : cant],
    ['Age', age(team.metadata.creationTimestamp, ctx.now())],
  ]));
  return 0;
}

async function tree(ctx: Context): Promise<number> {
  const root = ctx.args[0];
  const teams = await ctx.client().list('Team');
  const rows = treeRows(teams, root);
  if (rows === undefined) throw usageError(`team ${JSON.stringify(root)} not found (or not visible to you)`);
  if (printStructured(ctx, rows.map((r) => ({ name: r.team.metadata.name, parent: r.team.spec.parent ?? null, depth: r.depth, ...(r.note ? { note: r.note } : {}) })))) return 0;
  if (rows.length === 0) {
    ctx.err('No teams found.\n');
    return 0;
  }
  ctx.out(table(
    ['NAME', 'MEMBERS', 'NAMESPACES', 'BUDGET', 'GPU', 'NOTE'],
    rows.map((r) => {
      const t = r.team;
      const budget = Object.entries(t.spec.quota?.hard ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
      return [treePrefix(r) + t.metadata.name, String((t.spec.members ?? []).length), list(t.status?.namespaces ?? t.spec.namespaces), budget || '<none>', t.status?.gpu ?? '', r.note ?? ''];
    }),
  ));
  return 0;
}

async function quota(ctx: Context): Promise<number> {
  const team = await findObject(ctx.client(), 'Team', arg(ctx, 0));
  const teams = (await tryList(ctx, 'Team')) ?? [team];
  const rows = quotaRows(team, teams);
  if (printStructured(ctx, { team: team.metadata.name, parent: team.spec.parent ?? null, resources: rows.map((r) => ({ ...r, children: Object.fromEntries(r.children) })) })) return 0;
  ctx.out(details([
    ['Team', team.metadata.name],
    ['Parent', team.spec.parent ?? '<none>'],
  ]));
  if (rows.length === 0) {
    ctx.out('No budget: the team sets no spec.quota.hard and none is reported.\n');
    return 0;
  }
  // BUDGET is what the team sets; HARD and USED cover its subtree, as the operator last reported them.
  ctx.out(table(
    ['RESOURCE', 'BUDGET', 'HARD', 'USED', 'GIVEN TO TEAMS BELOW'],
    rows.map((r) => [r.resource, r.budget ?? '<none>', r.hard ?? '', r.used ?? '', r.children.map(([t, q]) => `${t}=${q}`).join(',') || '<none>']),
  ));
  return 0;
}

export function membership(add: boolean) {
  return async (ctx: Context): Promise<number> => {
    const change = changeFrom(ctx, 1);
    const what = [...change.members.map((m) => `user ${m}`), ...change.groups.map((g) => `group ${g}`), ...change.namespaces.map((n) => `namespace ${n}`)].join(', ');
    await updateAndSay(ctx, 'Team', arg(ctx, 0), (t) => applyMembership(t.spec, change, add), (before, after) =>
      after ? `team ${before.metadata.name}: ${add ? 'added' : 'removed'} ${what} (members now ${list(after.spec.members)})\n` : `team ${before.metadata.name} unchanged (${what} ${add ? 'already there' : 'not there'})\n`);
    return 0;
  };
}

async function remove(ctx: Context): Promise<number> {
  await removeObject(ctx, 'Team', arg(ctx, 0));
  return 0;
}

const membershipOptions = {
  group: { type: 'string', multiple: true, value: 'GROUP', description: "an identity provider's group whose members count as members" },
  namespace: { type: 'string', multiple: true, value: 'NAMESPACE', description: 'a namespace the team owns' },
} as const;

export const teamCommands: ReadonlyArray<CommandSpec<Context>> = [
  {
    path: ['team', 'create'], args: ['NAME'], summary: 'Create a Team',
    options: {
      description: { type: 'string', value: 'TEXT', description: 'what the team is' },
      member: { type: 'string', multiple: true, value: 'USER', description: 'a member (User name)' },
      parent: { type: 'string', value: 'TEAM', description: 'the team above this one (a department above its projects)' },
      quota: { type: 'string', multiple: true, value: 'RESOURCE=QUANTITY', description: 'a budget for the team and every team below it, in ResourceQuota names' },
      ...membershipOptions,
    },
    examples: ['kubectl gatehouse team create vision --member alice --member bob --group oidc:vision --namespace vision-dev',
      'kubectl gatehouse team create vision-a --parent vision --quota requests.nvidia.com/gpu=4 --namespace vision-a'],
    run: create,
  },
  { path: ['team', 'list'], args: [], summary: 'List Teams', options: {}, examples: ['kubectl gatehouse team list'], run: listTeams },
  { path: ['team', 'show'], args: ['NAME'], summary: 'Show a Team, its members and its role assignments', options: {}, examples: ['kubectl gatehouse team show vision'], run: show },
  {
    path: ['team', 'tree'], args: ['ROOT'], optionalArgs: 1, summary: 'Show the teams tree (departments and the teams below them), with budgets and GPU use',
    options: {}, examples: ['kubectl gatehouse team tree', 'kubectl gatehouse team tree research'], run: tree,
  },
  {
    path: ['team', 'quota'], args: ['NAME'], summary: "Show a Team's budget, its subtree's use and what it gives to the teams below",
    options: {}, examples: ['kubectl gatehouse team quota research'], run: quota,
  },
  {
    path: ['team', 'add'], args: ['TEAM', 'USER...'], optionalArgs: 1, summary: 'Add members (or groups, namespaces) to a Team',
    options: membershipOptions, examples: ['kubectl gatehouse team add vision carol dave', 'kubectl gatehouse team add vision --namespace vision-prod'], run: membership(true),
  },
  {
    path: ['team', 'remove'], args: ['TEAM', 'USER...'], optionalArgs: 1, summary: 'Remove members (or groups, namespaces) from a Team',
    options: membershipOptions, examples: ['kubectl gatehouse team remove vision bob'], run: membership(false),
  },
  { path: ['team', 'delete'], args: ['NAME'], summary: 'Delete a Team', options: {}, examples: ['kubectl gatehouse team delete vision'], run: remove },
];
