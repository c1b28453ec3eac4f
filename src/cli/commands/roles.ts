// role create|list|show|delete, role assign, role assignment list|delete.
import type { Role, RoleBinding } from '../../api/types.js';
import { scopeText } from '../../authz/scope.js';
import type { CommandSpec } from '../args.js';
import { type Context, arg, str, strs, printStructured, forTable, removeObject, tryList } from '../context.js';
import { findObject } from '../../client/edits.js';
import { FROM_OPTIONS, fromSet } from './policy.js';
import { bindingName, expiryText, filterBindings, parseExpiry, parseScopes, subjectsFrom, subjectsText, userFilter } from '../../client/assignments.js';
import { ClientError, usageError } from '../../client/errors.js';
import { table, details, age, list, forDisplay } from '../format.js';
import { normalizePermission } from '../../client/permissions.js';

async function create(ctx: Context): Promise<number> {
  const name = arg(ctx, 0);
  const raw = strs(ctx, 'permission');
  if (raw.length === 0 && strs(ctx, 'include').length === 0) throw usageError('give at least one -p PERMISSION (e.g. -p read -p jobs:write) or --include ROLE');
  const permissions: string[] = [];
  for (const p of raw) {
    try {
      permissions.push(normalizePermission(p));
    } catch (err) {
      throw usageError((err as Error).message);
    }
  }
  const role: Role = {
    metadata: { name },
    spec: {
      ...(str(ctx, 'description') ? { description: str(ctx, 'description') } : {}),
      permissions: [...new Set(permissions)],
      ...(strs(ctx, 'include').length ? { includes: strs(ctx, 'include') } : {}),
      ...(strs(ctx, 'can-assign').length ? { canAssign: strs(ctx, 'can-assign') } : {}),
    },
  };
  const created = await ctx.client().create('Role', role);
  if (!printStructured(ctx, forDisplay(created))) ctx.out(`role ${name} created with permissions ${list(created.spec.permissions)}\n`);
  return 0;
}

async function listRoles(ctx: Context): Promise<number> {
  const roles = forTable(ctx, await ctx.client().list('Role'), 'roles');
  if (!roles) return 0;
  const bindings = await tryList(ctx, 'RoleBinding');
  ctx.out(table(
    ['NAME', 'PERMISSIONS', 'INCLUDES', 'ASSIGNMENTS', 'DESCRIPTION', 'AGE'],
    roles.map((r) => [
      r.metadata.name,
      list(r.spec.permissions) + (r.spec.rules?.length ? ` +${r.spec.rules.length} rules` : ''),
      list(r.spec.includes),
      bindings ? String(bindings.filter((b) => b.spec.role === r.metadata.name).length) : '?',
      r.spec.description ?? '',
      age(r.metadata.creationTimestamp, ctx.now()),
    ]),
  ));
  return 0;
}

async function show(ctx: Context): Promise<number> {
  const role = await findObject(ctx.client(), 'Role', arg(ctx, 0));
  if (printStructured(ctx, forDisplay(role))) return 0;
  const bindings = await tryList(ctx, 'RoleBinding');
  const mine = bindings?.filter((b) => b.spec.role === role.metadata.name);
  ctx.out(details([
    ['Name', role.metadata.name],
    ['Description', role.spec.description ?? ''],
    ['Permissions', role.spec.permissions ?? []],
    ['Rules', (role.spec.rules ?? []).map((r) => r.nonResourceURLs?.length
      ? `nonResourceURLs ${r.nonResourceURLs.join(',')}: ${r.verbs.join(',')}`
      : `apiGroups ${list(r.apiGroups?.map((g) => g || '""'))} resources ${list(r.resources)}${r.resourceNames?.length ? ` names ${r.resourceNames.join(',')}` : ''}: ${r.verbs.join(',')}`)],
    ['Includes', role.spec.includes ?? []],
    ['Can assign', role.spec.canAssign ?? []],
    ['Invalid permissions', role.status?.invalidPermissions ?? []],
    ['Assignments', mine ? mine.map((b) => `${b.metadata.name}: ${subjectsText(b.spec.subjects)} in ${scopeText(b.spec.scope)}${expiryText(b.spec.expiresAt, ctx.now())}`) : ['<you may not list role assignments>']],
    ['Age', age(role.metadata.creationTimestamp, ctx.now())],
  ]));
  return 0;
}

async function removeRole(ctx: Context): Promise<number> {
  const role = await removeObject(ctx, 'Role', arg(ctx, 0));
  const left = (await tryList(ctx, 'RoleBinding'))?.filter((b) => b.spec.role === role.metadata.name);
  if (left?.length) ctx.err(`note: ${left.length} role assignment(s) still name it and now grant nothing: ${left.map((b) => b.metadata.name).join(', ')}\n`);
  return 0;
}

export async function assign(ctx: Context): Promise<number> {
  const role = arg(ctx, 0);
  const subjects = subjectsFrom(strs(ctx, 'user'), strs(ctx, 'team'), strs(ctx, 'group'));
  if (subjects.length === 0) throw usageError('say to whom: --user NAME, --team NAME or --group NAME');
  const scope = parseScopes(strs(ctx, 'scope'));
  let expiresAt: string | undefined;
  const expires = str(ctx, 'expires');
  if (expires !== undefined) {
    try {
      expiresAt = parseExpiry(expires, ctx.now());
    } catch (err) {
      throw usageError((err as Error).message);
    }
  }
  const name = str(ctx, 'name') ?? bindingName(role, subjects, scope);
  const binding: RoleBinding = { metadata: { name }, spec: { role, subjects, scope, ...(expiresAt ? { expiresAt } : {}) } };
  // Git applies in any order, so a missing role is allowed; say so, since it grants nothing yet.
  try {
    await ctx.client().get('Role', role);
  } catch (err) {
    if (err instanceof ClientError && err.details['notFound']) ctx.err(`warning: role ${role} does not exist (yet); this assignment grants nothing until it does\n`);
  }
  let created: RoleBinding;
  try {
    created = await ctx.client().create('RoleBinding', binding);
  } catch (err) {
    if (err instanceof ClientError && err.details['alreadyExists']) {
      throw new ClientError(err.code, `role ${role} is already assigned to ${subjectsText(subjects)} in ${scopeText(scope)} (role assignment ${name}); delete it first to change it: kubectl gatehouse role assignment delete ${name}`, { alreadyExists: true });
    }
    throw err;
  }
  if (!printStructured(ctx, forDisplay(created))) {
    ctx.out(`role ${role} assigned to ${subjectsText(subjects)} in ${scopeText(scope)}${expiryText(expiresAt, ctx.now())} (role assignment ${name})\n`);
  }
  return 0;
}

async function listAssignments(ctx: Context): Promise<number> {
  const user = str(ctx, 'user');
  // --from (issue 25): the assignments in policy files; no cluster is contacted.
  const files = fromSet(ctx)?.world;
  const filter = {
    ...(user ? userFilter(user, files ? files.users : (await tryList(ctx, 'User')) ?? [], files ? files.teams : (await tryList(ctx, 'Team')) ?? []) : {}),
    ...(str(ctx, 'team') ? { team: str(ctx, 'team') } : {}),
    ...(str(ctx, 'group') ? { group: str(ctx, 'group') } : {}),
    ...(str(ctx, 'role') ? { role: str(ctx, 'role') } : {}),
  };
  const all = files ? [...files.bindings] : await ctx.client().list('RoleBinding');
  const shown = forTable(ctx, filterBindings(all, filter), 'role assignments');
  if (!shown) return 0;
  const now = ctx.now();
  ctx.out(table(
    ['NAME', 'ROLE', 'SUBJECTS', 'SCOPE', 'EXPIRES', 'AGE'],
    shown.map((b) => [
      b.metadata.name,
      b.spec.role,
      subjectsText(b.spec.subjects),
      scopeText(b.spec.scope),
      b.spec.expiresAt ? (Date.parse(b.spec.expiresAt) <= now ? `${b.spec.expiresAt} (expired)` : b.spec.expiresAt) : '<never>',
      age(b.metadata.creationTimestamp, now),
    ]),
  ));
  return 0;
}

async function removeAssignment(ctx: Context): Promise<number> {
  await removeObject(ctx, 'RoleBinding', arg(ctx, 0), (b) => ` (role ${b.spec.role} for ${subjectsText(b.spec.subjects)} in ${scopeText(b.spec.scope)})`);
  return 0;
}

export const roleCommands: ReadonlyArray<CommandSpec<Context>> = [
  {
    path: ['role', 'create'], args: ['NAME'], summary: 'Create a Role from permissions',
    description: 'A permission is [group/]resource[/subresource]:action (see `kubectl gatehouse permission list`). A bare alias such as `read` means `*:read`, as in `zenml role create -p read`.',
    options: {
      permission: { type: 'string', short: 'p', multiple: true, value: 'PERMISSION', description: 'a permission, e.g. jobs:write, projects:read, read, me' },
      description: { type: 'string', value: 'TEXT', description: 'what the role is for' },
      include: { type: 'string', multiple: true, value: 'ROLE', description: "also hold this role's permissions" },
      'can-assign': { type: 'string', multiple: true, value: 'ROLE', description: 'holders may assign this role inside their own scope' },
    },
    examples: ['kubectl gatehouse role create researcher -p jobs:* -p projects:read -p me --description "Can submit ML workloads"', 'kubectl gatehouse role create auditor -p read'],
    run: create,
  },
  { path: ['role', 'list'], args: [], summary: 'List Roles with their permissions', options: {}, examples: ['kubectl gatehouse role list'], run: listRoles },
  { path: ['role', 'show'], args: ['NAME'], summary: 'Show a Role and who holds it where', options: {}, examples: ['kubectl gatehouse role show researcher'], run: show },
  { path: ['role', 'delete'], args: ['NAME'], summary: 'Delete a Role', options: {}, examples: ['kubectl gatehouse role delete auditor'], run: removeRole },
  {
    path: ['role', 'assign'], args: ['ROLE'], summary: 'Assign a role to users, teams or groups in a scope (creates a RoleBinding)',
    description: 'The RoleBinding gets a readable name, <role>-<subject>-<hash of the assignment>, unless --name is given; assigning the same thing twice reports the existing one.',
    options: {
      user: { type: 'string', multiple: true, value: 'USER', description: 'a User (by name)' },
      team: { type: 'string', multiple: true, value: 'TEAM', description: 'a Team' },
      group: { type: 'string', multiple: true, value: 'GROUP', description: "an identity provider's group" },
      scope: { type: 'string', multiple: true, value: 'SCOPE', description: 'cluster | team:NAME | namespace:NAME (one kind per assignment)' },
      expires: { type: 'string', value: 'WHEN', description: 'a duration from now (90m, 24h, 7d) or an RFC 3339 time' },
      name: { type: 'string', value: 'NAME', description: 'the RoleBinding name (default: generated)' },
    },
    examples: [
      'kubectl gatehouse role assign researcher --team vision --scope namespace:vision-dev',
      'kubectl gatehouse role assign admin --user alice --scope cluster --expires 24h',
    ],
    run: assign,
  },
  {
    path: ['role', 'assignment', 'list'], args: [], summary: 'List role assignments (RoleBindings), filtered by user, team, group or role',
    options: {
      user: { type: 'string', value: 'USER', description: "assignments of this user, directly or through the user's teams" },
      team: { type: 'string', value: 'TEAM', description: 'assignments naming this team' },
      group: { type: 'string', value: 'GROUP', description: 'assignments naming this group' },
      role: { type: 'string', value: 'ROLE', description: 'assignments of this role' },
      ...FROM_OPTIONS,
    },
    examples: ['kubectl gatehouse role assignment list --user alice', 'kubectl gatehouse role assignment list --from policy/ --user alice', 'kubectl gatehouse role assignment list --role researcher -o yaml'],
    run: listAssignments,
  },
  { path: ['role', 'assignment', 'delete'], args: ['NAME'], summary: 'Delete a role assignment', options: {}, examples: ['kubectl gatehouse role assignment delete researcher-vision-3f9a1c'], run: removeAssignment },
];
