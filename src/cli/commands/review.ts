// kubectl gatehouse review: every grant with its subjects, scope, expiry and last use, filtered;
// --revoke-unused deletes the unused RoleBindings as the caller (admission checks each delete).
// kubectl gatehouse history: who changed access, from the Events the operator records.
import type { CommandSpec } from '../args.js';
import { type Context, str, flag, printStructured } from '../context.js';
import { table, age } from '../format.js';
import { usageError, ClientError } from '../../client/errors.js';
import { listWorld } from '../../client/world.js';
import { EXIT } from '../errors.js';
import {
  grantRows, filterRows, revocable, parseReviewDuration, toCsv, historyEntries, filterHistory,
  HISTORY_RETENTION_NOTE, RBAC_MODE_NOTE, usageNotSeen, type GrantRow, type ReviewFilters,
} from '../../client/review.js';

const HEADERS = ['KIND', 'NAME', 'ROLE', 'SUBJECTS', 'SCOPE', 'EXPIRES', 'LAST USED', 'AGE'];

function filtersOf(ctx: Context): ReviewFilters {
  const unused = str(ctx, 'unused');
  const expiring = str(ctx, 'expiring');
  const user = str(ctx, 'user');
  const team = str(ctx, 'team');
  return {
    ...(unused ? { unusedMs: parseReviewDuration(unused, '--unused') } : {}),
    ...(flag(ctx, 'never-used') ? { neverUsed: true } : {}),
    ...(flag(ctx, 'superusers') ? { superusers: true } : {}),
    ...(expiring ? { expiringMs: parseReviewDuration(expiring, '--expiring') } : {}),
    ...(user ? { user } : {}),
    ...(team ? { team } : {}),
  };
}

function cells(r: GrantRow, now: number): string[] {
  return [r.kind, r.name, r.role, r.subjects.join(','), r.scope, r.expiresAt ?? '<never>', r.lastUsedAt ? `${r.lastUsedAt} (${age(r.lastUsedAt, now)} ago)` : '<never>', age(r.createdAt ?? undefined, now)];
}

function print(ctx: Context, rows: GrantRow[]): void {
  const output = str(ctx, 'output') ?? 'table';
  const now = ctx.now();
  if (output === 'csv') {
    ctx.out(toCsv(['kind', 'name', 'role', 'subjects', 'scope', 'expiresAt', 'lastUsedAt', 'createdAt'], rows.map((r) => [r.kind, r.name, r.role, r.subjects.join(' '), r.scope, r.expiresAt ?? '', r.lastUsedAt ?? '', r.createdAt ?? ''])));
    return;
  }
  if (printStructured(ctx, { grants: rows })) return;
  if (rows.length === 0) {
    ctx.err('No grants match.\n');
    return;
  }
  ctx.out(table(HEADERS, rows.map((r) => cells(r, now))));
}

async function review(ctx: Context): Promise<number> {
  const filters = filtersOf(ctx);
  const revokeText = str(ctx, 'revoke-unused');
  const { world, unreadable } = await listWorld(ctx.client(), ['users', 'teams', 'rolebindings']);
  for (const u of unreadable) ctx.err(`note: you may not list ${u.what}: the report leaves them out (${u.why})\n`);
  if (usageNotSeen(world.bindings)) ctx.err(`note: ${RBAC_MODE_NOTE}\n`);
  ctx.err('note: last use is what the authorization webhook saw (status.lastUsedAt, written at most once per review.flushInterval); in authorization mode rbac Gatehouse does not see requests and LAST USED stays empty\n');
  const now = ctx.now();
  const rows = filterRows(grantRows(world), filters, now, world);
  if (revokeText === undefined) {
    print(ctx, rows);
    return EXIT.ok;
  }
  const unusedMs = parseReviewDuration(revokeText, '--revoke-unused');
  const { revoke, tooYoung } = revocable(rows, unusedMs, now);
  for (const r of tooYoung) ctx.err(`kept ${r.name}: younger than ${revokeText}, it has not had that long to be used\n`);
  if (flag(ctx, 'dry-run')) {
    for (const r of revoke) ctx.out(`would delete rolebinding ${r.name} (role ${r.role} for ${r.subjects.join(',')}; last used ${r.lastUsedAt ?? 'never'})\n`);
    if (revoke.length === 0) ctx.out('nothing to revoke\n');
    return EXIT.ok;
  }
  let failed = 0;
  for (const r of revoke) {
    try {
      await ctx.client().delete('RoleBinding', r.name);
      ctx.out(`deleted rolebinding ${r.name} (last used ${r.lastUsedAt ?? 'never'})\n`);
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      failed++;
      ctx.err(`not deleted: rolebinding ${r.name}: ${err.message}\n`);
    }
  }
  if (revoke.length === 0) ctx.out('nothing to revoke\n');
  return failed > 0 ? EXIT.api : EXIT.ok;
}

async function history(ctx: Context): Promise<number> {
  const client = ctx.client();
  if (!client.listEvents) throw usageError('reading Events is not available here');
  const namespace = str(ctx, 'namespace') ?? 'gatehouse-system';
  const since = str(ctx, 'since');
  const user = str(ctx, 'user');
  const team = str(ctx, 'team');
  const role = str(ctx, 'role');
  if ([user, team, role].filter((x) => x !== undefined).length > 1) throw usageError('give at most one of --user, --team and --role');
  const f = { ...(user ? { user } : {}), ...(team ? { team } : {}), ...(role ? { role } : {}), ...(since ? { sinceMs: parseReviewDuration(since, '--since') } : {}) };
  const entries = filterHistory(historyEntries(await client.listEvents(namespace)), f, ctx.now());
  ctx.err(`note: ${HISTORY_RETENTION_NOTE}\n`);
  if (printStructured(ctx, { changes: entries })) return EXIT.ok;
  if (entries.length === 0) {
    ctx.err('No changes found.\n');
    return EXIT.ok;
  }
  ctx.out(table(['TIME', 'ACTOR', 'CHANGE', 'OBJECT', 'DETAIL'], entries.map((e) => [e.time, e.actor, e.change, `${e.kind}/${e.name}`, e.message])));
  return EXIT.ok;
}

export const reviewCommands: ReadonlyArray<CommandSpec<Context>> = [
  {
    path: ['review'],
    args: [],
    summary: 'Every grant with its subjects, scope, expiry and last use (an access review)',
    description: 'Lists RoleBindings and superusers. LAST USED is status.lastUsedAt, which the operator writes at most once per review.flushInterval (default 10m) from what its authorization webhook saw; in authorization mode rbac Gatehouse does not see requests and it stays empty. --revoke-unused deletes, as you, the RoleBindings unused for that long and older than that (admission checks each delete); try --dry-run first.',
    options: {
      unused: { type: 'string', value: 'D', description: 'only grants not used in the last D (e.g. 90d; never used ones included)' },
      'never-used': { type: 'boolean', description: 'only grants never used' },
      superusers: { type: 'boolean', description: 'only superusers' },
      expiring: { type: 'string', value: 'D', description: 'only grants that end within D (e.g. 7d)' },
      user: { type: 'string', value: 'USER', description: "only grants naming USER or one of USER's teams" },
      team: { type: 'string', value: 'TEAM', description: 'only grants naming TEAM' },
      'revoke-unused': { type: 'string', value: 'D', description: 'delete the RoleBindings (among those shown) unused in the last D' },
      'dry-run': { type: 'boolean', description: 'with --revoke-unused: list what would be deleted' },
    },
    examples: ['kubectl gatehouse review --unused 90d', 'kubectl gatehouse review --never-used -o csv', 'kubectl gatehouse review --revoke-unused 90d --dry-run'],
    run: review,
  },
  {
    path: ['history'],
    args: [],
    summary: 'Who changed access: users, roles, teams and role bindings (from Events)',
    description: HISTORY_RETENTION_NOTE,
    options: {
      user: { type: 'string', value: 'USER', description: 'only changes about USER' },
      team: { type: 'string', value: 'TEAM', description: 'only changes about TEAM' },
      role: { type: 'string', value: 'ROLE', description: 'only changes about ROLE' },
      since: { type: 'string', value: 'D', description: 'only changes in the last D (e.g. 7d)' },
      namespace: { type: 'string', short: 'n', value: 'NAMESPACE', description: "the operator's namespace (default gatehouse-system)" },
    },
    examples: ['kubectl gatehouse history --team vision --since 1h'],
    run: history,
  },
];
