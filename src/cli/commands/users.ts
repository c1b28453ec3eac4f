// user create|list|show|activate|reject|suspend|delete and superuser grant|revoke.
import { usernameOf } from '../../authz/rules.js';
import { USER_STATES, type User, type UserState } from '../../api/types.js';
import type { CommandSpec } from '../args.js';
import { type Context, arg, str, strs, flag, printStructured, forTable, removeObject, tryList, updateAndSay } from '../context.js';
import { findObject } from '../../client/edits.js';
import { bindingsOfUser, expiryText, subjectsText, teamsOfUser } from '../../client/assignments.js';
import { ClientError, usageError } from '../../client/errors.js';
import { table, details, age, list, forDisplay } from '../format.js';
import { assign } from './roles.js';
import { scopeText } from '../../authz/scope.js';
import { membership } from './teams.js';
import { inviteUser, INVITE_OPTIONS } from './credentials.js';
import { readClusterIdentity, seenCluster } from '../../client/cluster.js';
import { FLEET_EXIT_HELP, FLEET_OPTIONS, fleetOptionsOf, runFleet, type ContextAnswer } from '../fleet.js';
import type { KubeContextInfo } from '../../client/kube.js';

/**
 * The condition the operator sets on every object to say whether it is in force on this cluster
 * (issue 30; `False` with reason OtherCluster where `spec.clusters` does not select it).
 */
const IN_EFFECT = 'InEffect';

/** One cluster's row of `user show --contexts`: found or not, and the user's standing there. */
async function showOnCluster(ctx: Context, info: KubeContextInfo, name: string): Promise<ContextAnswer> {
  const client = ctx.client();
  const own = readClusterIdentity(client);
  let user: User;
  try {
    user = await findObject(client, 'User', name);
  } catch (err) {
    // Not found is that cluster's answer; anything else (unreachable, forbidden) is not.
    if (err instanceof ClientError && err.details['notFound'] === true) {
      const id = await own;
      return { answer: 'not found', detail: err.message, negative: true, ...(id ? { cluster: seenCluster(id, info.cluster) } : {}), result: null };
    }
    throw err;
  }
  const [teams, bindings, id] = await Promise.all([tryList(ctx, 'Team'), tryList(ctx, 'RoleBinding'), own]);
  const myTeams = teams ? teamsOfUser(user, teams) : undefined;
  const myBindings = bindings && myTeams ? bindingsOfUser(user, myTeams, bindings) : undefined;
  const inEffect = user.status?.conditions?.find((c) => c.type === IN_EFFECT);
  const parts = [
    `superuser ${user.spec.superuser ? 'yes' : 'no'}`,
    `teams ${myTeams ? list(myTeams) : '?'}`,
    `${myBindings ? myBindings.length : '?'} role assignment${myBindings?.length === 1 ? '' : 's'}`,
    ...(inEffect ? [`in effect here: ${inEffect.status === 'True' ? 'yes' : `no (${inEffect.reason}${inEffect.message ? `: ${inEffect.message}` : ''})`}`] : []),
  ];
  return { answer: user.spec.state, detail: parts.join('; '), negative: false, ...(id ? { cluster: seenCluster(id, info.cluster) } : {}), result: forDisplay(user) };
}

function stateOf(value: string | undefined, allowed: readonly UserState[]): UserState | undefined {
  if (value === undefined) return undefined;
  const match = allowed.find((s) => s.toLowerCase() === value.toLowerCase());
  if (!match) throw usageError(`--state must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return match;
}

async function create(ctx: Context): Promise<number> {
  const name = arg(ctx, 0);
  const state = stateOf(str(ctx, 'state'), USER_STATES) ?? 'Active';
  const user: User = {
    metadata: { name },
    spec: {
      state,
      ...(str(ctx, 'username') ? { username: str(ctx, 'username') } : {}),
      ...(str(ctx, 'email') ? { email: str(ctx, 'email') } : {}),
      ...(str(ctx, 'display-name') ? { displayName: str(ctx, 'display-name') } : {}),
      ...(flag(ctx, 'superuser') ? { superuser: true } : {}),
    },
  };
  const role = str(ctx, 'role');
  const scope = str(ctx, 'scope');
  if ((role === undefined) !== (scope === undefined)) throw usageError('--role and --scope go together');
  const created = await ctx.client().create('User', user);
  if (!printStructured(ctx, forDisplay(created))) ctx.out(`user ${name} created (state ${created.spec.state}${created.spec.superuser ? ', superuser' : ''})\n`);
  // The same handlers as `team add` and `role assign`, so the same checks and messages.
  for (const team of strs(ctx, 'team')) await membership(true)({ ...ctx, args: [team, name], values: {} });
  if (role !== undefined && scope !== undefined) await assign({ ...ctx, args: [role], values: { user: [name], scope: [scope] } });
  if (!flag(ctx, 'no-invite')) await inviteUser(ctx, name, true);
  return 0;
}

async function listUsers(ctx: Context): Promise<number> {
  const wanted = stateOf(str(ctx, 'state'), USER_STATES);
  const users = forTable(ctx, (await ctx.client().list('User')).filter((u) => !wanted || u.spec.state === wanted), wanted ? `${wanted} users` : 'users');
  if (!users) return 0;
  const teams = await tryList(ctx, 'Team');
  const rows = users.map((u) => [
    u.metadata.name,
    usernameOf(u),
    u.spec.email ?? '',
    u.spec.state,
    u.spec.superuser ? 'yes' : 'no',
    list(u.status?.teams ?? (teams ? teamsOfUser(u, teams) : undefined), teams ? '<none>' : '?'),
    age(u.metadata.creationTimestamp, ctx.now()),
  ]);
  ctx.out(table(['NAME', 'USERNAME', 'EMAIL', 'STATE', 'SUPERUSER', 'TEAMS', 'AGE'], rows));
  return 0;
}

async function show(ctx: Context): Promise<number> {
  const fleet = fleetOptionsOf(ctx.values);
  if (fleet) {
    const name = arg(ctx, 0);
    return runFleet(ctx, fleet, 'user show', 'DETAILS', (sub, info) => showOnCluster(sub, info, name));
  }
  const user = await findObject(ctx.client(), 'User', arg(ctx, 0));
  if (printStructured(ctx, forDisplay(user))) return 0;
  const [teams, bindings] = [await tryList(ctx, 'Team'), await tryList(ctx, 'RoleBinding')];
  const myTeams = teams ? teamsOfUser(user, teams) : undefined;
  const myBindings = bindings && myTeams ? bindingsOfUser(user, myTeams, bindings) : undefined;
  const cond = (type: string): string | undefined => {
    const c = user.status?.conditions?.find((x) => x.type === type);
    return c ? `${c.status} (${c.reason}: ${c.message})` : undefined;
  };
  ctx.out(details([
    ['Name', user.metadata.name],
    ['Username', usernameOf(user)],
    ['Email', user.spec.email ?? ''],
    ['Display name', user.spec.displayName ?? ''],
    ['State', user.spec.state],
    ['Superuser', user.spec.superuser ? 'yes' : 'no'],
    ['Seed admin', user.status?.seed ? 'yes (change it in the Helm values, not here)' : 'no'],
    ['Ready', cond('Ready') ?? '<not reported: is the operator running?>'],
    ['Active', cond('Active') ?? '<not reported>'],
    ['Teams', myTeams ?? ['<you may not list teams>']],
    ['Role assignments', myBindings ? myBindings.map((b) => `${b.metadata.name}: role ${b.spec.role} for ${subjectsText(b.spec.subjects)} in ${scopeText(b.spec.scope)}${expiryText(b.spec.expiresAt, ctx.now())}`) : ['<you may not list role assignments>']],
    ['Age', age(user.metadata.creationTimestamp, ctx.now())],
  ]));
  return 0;
}

function setState(state: UserState, verb: string) {
  return async (ctx: Context): Promise<number> => {
    await updateAndSay(ctx, 'User', arg(ctx, 0), (u) => (u.spec.state === state ? undefined : { state }), (before, after) =>
      after ? `user ${before.metadata.name} ${verb}: state ${before.spec.state} -> ${after.spec.state}\n` : `user ${before.metadata.name} is already ${state} (unchanged)\n`);
    return 0;
  };
}

async function remove(ctx: Context): Promise<number> {
  await removeObject(ctx, 'User', arg(ctx, 0));
  return 0;
}

function superuser(grant: boolean) {
  return async (ctx: Context): Promise<number> => {
    await updateAndSay(ctx, 'User', arg(ctx, 0), (u) => (Boolean(u.spec.superuser) === grant ? undefined : { superuser: grant }), (before, after) => {
      const name = before.metadata.name;
      if (!after) return `user ${name} ${grant ? 'is already' : 'is not'} a superuser (unchanged)\n`;
      if (grant && after.spec.state !== 'Active') ctx.err(`note: ${name} is ${after.spec.state}; a superuser who is not Active is still denied (kubectl gatehouse user activate ${name})\n`);
      return grant ? `user ${name} is now a superuser\n` : `user ${name} is no longer a superuser\n`;
    });
    return 0;
  };
}

export const userCommands: ReadonlyArray<CommandSpec<Context>> = [
  {
    path: ['user', 'create'], args: ['NAME'], summary: 'Create a User',
    description: 'NAME is the object name; --username is the identity the API server reports (defaults to NAME). When Gatehouse credentials are on (docs/credentials.md), also makes a single-use invitation and prints the command that redeems it.',
    options: {
      username: { type: 'string', value: 'USERNAME', description: 'identity as the authenticator reports it (default: NAME)' },
      email: { type: 'string', value: 'EMAIL', description: 'e-mail address' },
      'display-name': { type: 'string', value: 'TEXT', description: 'a readable name' },
      state: { type: 'string', value: 'STATE', description: 'Pending | Active (default) | Rejected | Suspended' },
      superuser: { type: 'boolean', description: 'make the user a superuser (superusers only)' },
      team: { type: 'string', multiple: true, value: 'TEAM', description: 'add the user to this team' },
      role: { type: 'string', value: 'ROLE', description: 'assign this role (with --scope)' },
      scope: { type: 'string', value: 'SCOPE', description: 'cluster | team:NAME | namespace:NAME, for --role' },
      'no-invite': { type: 'boolean', description: 'no invitation, even when Gatehouse credentials are on' },
      ...INVITE_OPTIONS,
    },
    examples: [
      'kubectl gatehouse user create alice --username alice@example.com --email alice@example.com --display-name Alice',
      'kubectl gatehouse user create bob --team vision --role researcher --scope team:vision   # prints an invitation when credentials are on',
    ],
    run: create,
  },
  {
    path: ['user', 'list'], args: [], summary: 'List Users with their state, superuser flag and teams',
    options: { state: { type: 'string', value: 'STATE', description: 'only users in this state (Pending, Active, Rejected, Suspended)' } },
    examples: ['kubectl gatehouse user list --state Pending'],
    run: listUsers,
  },
  {
    path: ['user', 'show'], args: ['NAME'], summary: "Show a User, its teams and its role assignments",
    description: 'With --contexts/--all-contexts: one row per cluster with the user\'s state there (or not found), superuser flag, teams, role assignments and whether the User is in effect on that cluster.\n' + FLEET_EXIT_HELP,
    options: { ...FLEET_OPTIONS }, examples: ['kubectl gatehouse user show alice', 'kubectl gatehouse user show alice@example.com -o yaml', 'kubectl gatehouse user show alice --all-contexts'], run: show,
  },
  { path: ['user', 'activate'], args: ['NAME'], summary: 'Set a User Active (Polyaxon accept)', options: {}, examples: ['kubectl gatehouse user activate alice'], run: setState('Active', 'activated') },
  { path: ['user', 'reject'], args: ['NAME'], summary: 'Set a User Rejected', options: {}, examples: ['kubectl gatehouse user reject mallory'], run: setState('Rejected', 'rejected') },
  { path: ['user', 'suspend'], args: ['NAME'], summary: 'Set a User Suspended (every request denied until activated again)', options: {}, examples: ['kubectl gatehouse user suspend bob'], run: setState('Suspended', 'suspended') },
  { path: ['user', 'delete'], args: ['NAME'], summary: 'Delete a User', options: {}, examples: ['kubectl gatehouse user delete bob'], run: remove },
  { path: ['superuser', 'grant'], args: ['USER'], summary: 'Make a User a superuser (superusers only)', options: {}, examples: ['kubectl gatehouse superuser grant alice'], run: superuser(true) },
  { path: ['superuser', 'revoke'], args: ['USER'], summary: 'Take the superuser flag from a User (the last Active superuser is protected)', options: {}, examples: ['kubectl gatehouse superuser revoke alice'], run: superuser(false) },
];


