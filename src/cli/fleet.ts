// The plugin's side of fleet questions (issue 30): `--contexts a,b` / `--all-contexts` on can-i,
// explain, who-can and user show. The flags (pure), the exit code (pure), the table and JSON
// (pure), and a thin adapter that asks each kubeconfig context through the fan-out core
// (src/fleet/fanout.ts) with a client of its own. An unreachable cluster is a row that says so,
// never a "no".
import type { OptionSpec, OptionValues } from './args.js';
import type { Context } from './context.js';
import { EXIT } from './errors.js';
import { table, render } from './format.js';
import { ClientError, usageError } from '../client/errors.js';
import { errorMessage } from '../errors.js';
import type { KubeContextInfo } from '../client/kube.js';
import { seenCluster, type SeenCluster } from '../client/cluster.js';
import { fanOut, formatMs, FanOutTimeout, type FanOutResult } from '../fleet/fanout.js';

export const DEFAULT_MAX_PARALLEL = 8;
export const DEFAULT_CLUSTER_TIMEOUT_MS = 10_000;

export const FLEET_OPTIONS: Readonly<Record<string, OptionSpec>> = Object.freeze({
  contexts: { type: 'string', multiple: true, value: 'A,B', description: 'ask each of these kubeconfig contexts (comma-separated), one row per cluster; exit 3 if one cannot be reached' },
  'all-contexts': { type: 'boolean', description: "ask every context of the kubeconfig, one row per cluster" },
  'max-parallel': { type: 'string', value: 'N', description: `with --contexts/--all-contexts: ask at most N clusters at once (default ${DEFAULT_MAX_PARALLEL})` },
  'cluster-timeout': { type: 'string', value: 'DURATION', description: `with --contexts/--all-contexts: a cluster that has not answered within DURATION (10s, 500ms, 1m) is unreachable (default ${formatMs(DEFAULT_CLUSTER_TIMEOUT_MS)})` },
});

/** The help text's paragraph on fleet exit codes, shared by the four commands. */
export const FLEET_EXIT_HELP =
  'With --contexts or --all-contexts: exit 0 when every cluster answered (can-i, explain: yes; user show: found), ' +
  '1 when every cluster answered and one said no (user show: not found), 3 when one could not be asked (unreachable, timed out, ' +
  'refused the plugin\'s own reads): an unreachable cluster is never counted as a no.';

export interface FleetOptions {
  /** The context names asked for (--contexts), or 'all'. */
  contexts: string[] | 'all';
  maxParallel: number;
  timeoutMs: number;
}

/** `10s`, `1.5s`, `500ms`, `2m`, or bare seconds (`10`). */
export function parseDurationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  return Number.isFinite(ms) && ms >= 1 ? Math.round(ms) : undefined;
}

function str(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function strs(values: OptionValues, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/**
 * The fleet flags of a command's values, or undefined when none asks for a fleet. Every
 * combination that cannot mean one thing is a usage error (exit 2) before any cluster is asked.
 */
export function fleetOptionsOf(values: OptionValues): FleetOptions | undefined {
  const listed = strs(values, 'contexts').flatMap((c) => c.split(',')).map((c) => c.trim());
  const all = values['all-contexts'] === true;
  const given = strs(values, 'contexts').length > 0;
  const maxText = str(values, 'max-parallel');
  const timeoutText = str(values, 'cluster-timeout');
  if (!given && !all) {
    if (maxText !== undefined || timeoutText !== undefined) throw usageError('--max-parallel and --cluster-timeout go with --contexts or --all-contexts');
    return undefined;
  }
  if (given && all) throw usageError('give --contexts A,B or --all-contexts, not both');
  if (str(values, 'context') !== undefined) throw usageError('--context names one cluster; --contexts and --all-contexts ask several: use one or the other');
  if (strs(values, 'from').length) throw usageError('--from answers from files, --contexts/--all-contexts ask clusters: use one or the other');
  if (str(values, 'cluster') !== undefined || str(values, 'cluster-labels') !== undefined) throw usageError('--cluster and --cluster-labels go with --from; a live cluster says who it is');
  if (given && listed.some((c) => c === '')) throw usageError('--contexts: an empty context name (write --contexts a,b)');
  let maxParallel = DEFAULT_MAX_PARALLEL;
  if (maxText !== undefined) {
    if (!/^\d+$/.test(maxText.trim()) || Number(maxText) < 1) throw usageError(`--max-parallel ${JSON.stringify(maxText)}: a whole number of at least 1`);
    maxParallel = Number(maxText);
  }
  let timeoutMs = DEFAULT_CLUSTER_TIMEOUT_MS;
  if (timeoutText !== undefined) {
    const ms = parseDurationMs(timeoutText);
    if (ms === undefined) throw usageError(`--cluster-timeout ${JSON.stringify(timeoutText)}: a duration like 10s, 500ms or 1m`);
    timeoutMs = ms;
  }
  return { contexts: all ? 'all' : [...new Set(listed)], maxParallel, timeoutMs };
}

/** The contexts to ask, in the order given (--contexts) or the kubeconfig's (--all-contexts). */
export function selectContexts(opts: FleetOptions, known: readonly KubeContextInfo[]): KubeContextInfo[] {
  if (known.length === 0) throw usageError('the kubeconfig has no contexts');
  if (opts.contexts === 'all') return [...known];
  const byName = new Map(known.map((k) => [k.name, k]));
  const missing = opts.contexts.filter((c) => !byName.has(c));
  if (missing.length) throw usageError(`context${missing.length === 1 ? '' : 's'} ${missing.map((m) => JSON.stringify(m)).join(', ')} not found in kubeconfig (contexts: ${known.map((k) => k.name).join(', ')})`);
  return opts.contexts.map((c) => byName.get(c) as KubeContextInfo);
}

/** What a command answers for one cluster. */
export interface ContextAnswer {
  /** The ANSWER column: yes, no, 3 subjects, Active, not found. */
  answer: string;
  /** The last column: the reason, the subjects, the user's details. */
  detail: string;
  /** Counts as a no for the exit code (can-i, explain: not allowed; user show: not found). */
  negative: boolean;
  /** The cluster's own identity when it said one (the command read it to build its answer). */
  cluster?: SeenCluster;
  /** The command's own -o json for this cluster, as it prints it for one cluster. */
  result: unknown;
}

export type RowStatus = 'answered' | 'unreachable' | 'error';

export interface FleetRow {
  context: string;
  server: string;
  cluster: SeenCluster;
  /** answered; unreachable (the cluster could not be asked: network, TLS, timeout, 401/403); error (the question could not be put there, e.g. who you are). */
  status: RowStatus;
  answer?: string;
  detail?: string;
  negative?: boolean;
  error?: string;
  /** Notes and warnings the command had for this cluster. */
  warnings: string[];
  ms: number;
  result?: unknown;
}

/** A fan-out result as a row: a timeout or a failure of the API server is `unreachable`. */
export function rowOf(info: KubeContextInfo, r: FanOutResult<ContextAnswer>, warnings: string[]): FleetRow {
  const base = { context: info.name, server: info.server, warnings, ms: r.ms };
  if (r.ok) {
    const a = r.value;
    return { ...base, cluster: a.cluster ?? seenCluster(undefined, info.cluster), status: 'answered', answer: a.answer, detail: a.detail, negative: a.negative, result: a.result };
  }
  const cluster = seenCluster(undefined, info.cluster);
  if (r.error instanceof FanOutTimeout) return { ...base, cluster, status: 'unreachable', error: `${r.error.message} (--cluster-timeout)` };
  if (r.error instanceof ClientError && r.error.code === 'GH_CLI_USAGE') return { ...base, cluster, status: 'error', error: r.error.message };
  // The API server's refusals and failures, and anything else that kept the plugin from the answer.
  return { ...base, cluster, status: 'unreachable', error: errorMessage(r.error) };
}

/** 0: every cluster answered and none said no; 1: every cluster answered and one said no; 3: one could not be asked. */
export function fleetExitCode(rows: readonly FleetRow[]): number {
  if (rows.some((r) => r.status !== 'answered')) return EXIT.api;
  if (rows.some((r) => r.negative)) return EXIT.no;
  return EXIT.ok;
}

function clusterCell(c: SeenCluster): string {
  return c.from === 'kubeconfig' ? `${c.name}*` : c.name;
}

/** The table: CONTEXT, CLUSTER, ANSWER and the command's last column; then a footnote and a count. */
export function fleetTable(lastHeader: string, rows: readonly FleetRow[]): string {
  const body = table(
    ['CONTEXT', 'CLUSTER', 'ANSWER', lastHeader],
    rows.map((r) => [r.context, clusterCell(r.cluster), r.status === 'answered' ? r.answer ?? '' : r.status, r.status === 'answered' ? r.detail ?? '' : r.error ?? '']),
  );
  const notes: string[] = [];
  if (rows.some((r) => r.cluster.from === 'kubeconfig')) notes.push('* the kubeconfig\'s name for the cluster: the cluster did not say its own');
  const answered = rows.filter((r) => r.status === 'answered');
  const negative = answered.filter((r) => r.negative).length;
  const unreachable = rows.filter((r) => r.status === 'unreachable').length;
  const failed = rows.filter((r) => r.status === 'error').length;
  const parts = [`${answered.length} answered${negative ? ` (${negative} no)` : ''}`];
  if (unreachable) parts.push(`${unreachable} unreachable`);
  if (failed) parts.push(`${failed} could not be asked`);
  notes.push(`${rows.length} context${rows.length === 1 ? '' : 's'}: ${parts.join(', ')}`);
  return body + notes.join('\n') + '\n';
}

/** `-o json|yaml`: the command, its exit code, and one object per cluster in the contexts' order. */
export function fleetDocument(command: string, rows: readonly FleetRow[]): Record<string, unknown> {
  return {
    command,
    exitCode: fleetExitCode(rows),
    clusters: rows.map((r) => ({
      context: r.context,
      server: r.server,
      cluster: r.cluster,
      status: r.status,
      ...(r.status === 'answered' ? { answer: r.answer, detail: r.detail } : { error: r.error }),
      ...(r.warnings.length ? { warnings: r.warnings } : {}),
      ms: r.ms,
      ...(r.result !== undefined ? { result: r.result } : {}),
    })),
  };
}

/**
 * Asks `perContext` once per selected context, each with a Context whose client is that
 * context's (its notes and warnings are kept for its row), and prints the rows. Returns the exit
 * code. `perContext` throwing is the row's failure; it never stops the other clusters.
 */
export async function runFleet(ctx: Context, fleet: FleetOptions, command: string, lastHeader: string, perContext: (sub: Context, info: KubeContextInfo) => Promise<ContextAnswer>): Promise<number> {
  if (!ctx.kubeContexts || !ctx.clientFor) throw usageError('asking several contexts is not available here');
  const contexts = selectContexts(fleet, ctx.kubeContexts());
  const notes = new Map<string, string[]>(contexts.map((c) => [c.name, []]));
  const byName = new Map(contexts.map((c) => [c.name, c]));
  const clientFor = ctx.clientFor;
  const results = await fanOut(
    contexts.map((c) => c.name),
    async (name) => {
      const info = byName.get(name) as KubeContextInfo;
      const mine = notes.get(name) as string[];
      let client: ReturnType<typeof clientFor> | undefined;
      const sub: Context = {
        ...ctx,
        client: () => (client ??= clientFor(name)),
        out: () => undefined,
        err: (t) => {
          for (const line of t.split('\n')) if (line.trim()) mine.push(line);
        },
      };
      return perContext(sub, info);
    },
    { maxParallel: fleet.maxParallel, timeoutMs: fleet.timeoutMs, now: ctx.now },
  );
  const rows = results.map((r, i) => rowOf(contexts[i] as KubeContextInfo, r, notes.get(r.target) ?? []));
  if (ctx.format !== 'table') ctx.out(render(fleetDocument(command, rows), ctx.format));
  else ctx.out(fleetTable(lastHeader, rows));
  for (const r of rows) for (const w of r.warnings) ctx.err(`context ${r.context}: ${w}\n`);
  return fleetExitCode(rows);
}
