// request ROLE, request list [--mine|--to-approve], request approve|deny|revoke NAME (issue 23).
import type { CommandSpec } from '../args.js';
import { type Context, arg, str, strs, flag, printStructured, asList } from '../context.js';
import { usageError } from '../../client/errors.js';
import { table, age, forDisplay } from '../format.js';
import { decideRequest, listRequests, makeRequest, mine, scopeOf, toApprove } from '../../client/requests.js';
import type { AccessRequestObject, DecisionAction } from '../../requests/types.js';
import { scopeFlags } from '../../requests/types.js';

async function me(ctx: Context): Promise<string> {
  const as = str(ctx, 'as');
  if (as) return as;
  const who = await ctx.client().whoAmI();
  if (!who) throw usageError('the cluster cannot say who you are (SelfSubjectReview needs Kubernetes 1.27+); pass --as USER');
  return who.user;
}

async function ask(ctx: Context): Promise<number> {
  const role = arg(ctx, 0);
  const scope = scopeOf({ teams: strs(ctx, 'team'), namespaces: strs(ctx, 'namespace'), cluster: flag(ctx, 'cluster') });
  const created = await makeRequest(ctx.client(), { role, scope, duration: str(ctx, 'for') ?? '', reason: str(ctx, 'reason') ?? '' });
  if (!printStructured(ctx, forDisplay(created))) {
    ctx.out(`access request ${created.metadata.name} made: role ${role} ${scopeFlags(scope)} for ${created.spec.duration}; waiting for approval\n`);
    ctx.out(`(kubectl gatehouse request list --mine shows its state)\n`);
  }
  return 0;
}

function rows(items: readonly AccessRequestObject[], now: number): string[][] {
  return items.map((r) => [
    r.metadata.name, r.spec.requester ?? '', r.spec.role, scopeFlags(r.spec.scope), r.spec.duration, r.status?.phase ?? 'Pending',
    r.status?.expiresAt ?? '', r.spec.reason, age(r.metadata.creationTimestamp, now),
  ]);
}

async function listCmd(ctx: Context): Promise<number> {
  let items = await listRequests(ctx.client());
  if (flag(ctx, 'mine') && flag(ctx, 'to-approve')) throw usageError('--mine and --to-approve: pick one');
  if (flag(ctx, 'mine')) items = mine(items, await me(ctx));
  else if (flag(ctx, 'to-approve')) items = toApprove(items, await me(ctx));
  items.sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
  if (printStructured(ctx, asList(items.map(forDisplay)))) return 0;
  if (items.length === 0) {
    ctx.out('no access requests\n');
    return 0;
  }
  ctx.out(table(['NAME', 'REQUESTER', 'ROLE', 'SCOPE', 'FOR', 'PHASE', 'EXPIRES', 'REASON', 'AGE'], rows(items, ctx.now())));
  return 0;
}

function decision(action: DecisionAction) {
  return async (ctx: Context): Promise<number> => {
    const name = arg(ctx, 0);
    const after = await decideRequest(ctx.client(), name, action, str(ctx, 'comment'));
    if (!printStructured(ctx, forDisplay(after))) ctx.out(`access request ${name}: ${action.toLowerCase()} recorded (the operator updates its phase)\n`);
    return 0;
  };
}

const COMMENT = { comment: { type: 'string', value: 'TEXT', description: 'a comment the requester sees' } } as const;

export const requestCommands: ReadonlyArray<CommandSpec<Context>> = [
  {
    path: ['request'],
    args: ['ROLE'],
    summary: 'ask for a requestable role for a while',
    description: 'Makes an AccessRequest; an approver approves it (request approve) and the operator grants the role as a RoleBinding that ends after --for.',
    options: {
      team: { type: 'string', multiple: true, value: 'TEAM', description: "in the team's namespaces" },
      namespace: { type: 'string', multiple: true, value: 'NAMESPACE', description: 'in this namespace' },
      cluster: { type: 'boolean', description: 'in the whole cluster' },
      for: { type: 'string', value: 'DURATION', description: "how long: 30m, 4h, 1d (at most the role's maxDuration)" },
      reason: { type: 'string', value: 'TEXT', description: 'why, for the approvers' },
    },
    examples: ['kubectl gatehouse request researcher --team vision --for 4h --reason "debug the training job"'],
    run: ask,
  },
  {
    path: ['request', 'list'],
    args: [],
    summary: 'list access requests',
    options: {
      mine: { type: 'boolean', description: 'only your own' },
      'to-approve': { type: 'boolean', description: 'only Pending ones of others you have not decided' },
    },
    examples: ['kubectl gatehouse request list --to-approve'],
    run: listCmd,
  },
  { path: ['request', 'approve'], args: ['NAME'], summary: 'approve an access request', options: COMMENT, examples: ['kubectl gatehouse request approve researcher-x2f4k --comment ok'], run: decision('Approve') },
  { path: ['request', 'deny'], args: ['NAME'], summary: 'deny an access request', options: COMMENT, examples: ['kubectl gatehouse request deny researcher-x2f4k --comment "use the staging cluster"'], run: decision('Deny') },
  { path: ['request', 'revoke'], args: ['NAME'], summary: 'end an access request (and its grant) now', options: COMMENT, examples: ['kubectl gatehouse request revoke researcher-x2f4k'], run: decision('Revoke') },
];
