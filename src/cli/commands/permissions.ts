// permission list: the grammar, the aliases, and every permission the installed roles use.
import type { Role } from '../../api/types.js';
import type { CommandSpec } from '../args.js';
import { type Context, printStructured } from '../context.js';
import { table } from '../format.js';
import { PERMISSION_ALIASES } from '../../client/permissions.js';

export const GRAMMAR = [
  'A permission is [group/]resource[/subresource]:action, or the word me.',
  '  resource      the plural resource name (pods, jobs, notebooks); * matches every resource',
  '  group         optional API group (kubeflow.org/notebooks:create); without it, any group matches',
  '  subresource   pods/log:get; pods does not match pods/log',
  '  action        a Kubernetes verb (get list watch create update patch delete deletecollection),',
  '                a custom verb (adapt), or an alias below',
  '  me            read your own User and change its displayName and email, nothing else',
  "Gatehouse's own kinds are resources like any other: iam.gatehouse.dev/users:update.",
  'In `role create -p`, a bare action means it on every resource: -p read is *:read.',
];

/** permission -> the roles that list it, sorted. */
export function permissionsInUse(roles: readonly Role[]): Array<{ permission: string; roles: string[] }> {
  const by = new Map<string, Set<string>>();
  for (const r of roles) {
    for (const p of r.spec.permissions ?? []) {
      let set = by.get(p);
      if (!set) by.set(p, (set = new Set()));
      set.add(r.metadata.name);
    }
  }
  return [...by.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([permission, rs]) => ({ permission, roles: [...rs].sort() }));
}

async function listPermissions(ctx: Context): Promise<number> {
  const roles = await ctx.client().list('Role');
  const used = permissionsInUse(roles);
  const aliases = Object.entries(PERMISSION_ALIASES).map(([alias, verbs]) => ({ alias, verbs: [...verbs] }));
  if (printStructured(ctx, { grammar: GRAMMAR.join('\n'), aliases, permissions: used })) return 0;
  ctx.out(`${GRAMMAR.join('\n')}\n\nAliases:\n`);
  ctx.out(table(['ALIAS', 'VERBS'], aliases.map((a) => [a.alias, a.verbs.join(', ')])).replace(/^/gm, '  ').replace(/ +$/, ''));
  ctx.out(`\nPermissions used by the ${roles.length} installed role${roles.length === 1 ? '' : 's'}:\n`);
  if (used.length === 0) ctx.out('  <none>\n');
  else ctx.out(table(['PERMISSION', 'ROLES'], used.map((u) => [u.permission, u.roles.join(', ')])).replace(/^(?=.)/gm, '  '));
  return 0;
}

export const permissionCommands: ReadonlyArray<CommandSpec<Context>> = [
  {
    path: ['permission', 'list'], args: [], summary: 'Show the permission grammar, the aliases and every permission the installed roles use',
    options: {}, examples: ['kubectl gatehouse permission list', 'kubectl gatehouse permission list -o json'], run: listPermissions,
  },
];
