// Policy as code (issue 25): lint, test and diff over policy files, and `--from` for can-i,
// explain, who-can and role assignment list. Nothing here makes a client: no cluster is contacted.
import path from 'node:path';
import type { CommandSpec, OptionSpec } from '../args.js';
import { type Context, str, strs, flag, printStructured } from '../context.js';
import { EXIT } from '../errors.js';
import { usageError } from '../../client/errors.js';
import { collect, type Snapshot } from '../../client/world.js';
import { loadPolicySet, type PolicyIO, type PolicySet } from '../../policy/sources.js';
import { formatMessage, lint } from '../../policy/lint.js';
import { junit, parseExpectations, runExpectations, type TestResult } from '../../policy/expectations.js';
import { accessDiff, diffMarkdown } from '../../policy/diff.js';
import { ClusterLabelsError, parseClusterLabels, type ClusterIdentity } from '../../fleet/cluster.js';
import { checkedIdentity, ClusterIdentityError, clusterNameShapeProblem } from '../../fleet/identity.js';

/** The flags every offline answer takes. */
export const FROM_OPTIONS: Record<string, OptionSpec> = {
  from: { type: 'string', multiple: true, value: 'PATH', description: 'answer from policy files instead of the cluster: a file, a folder (its .yaml/.yml/.json, recursively) or - for stdin; no cluster is contacted' },
  values: { type: 'string', multiple: true, value: 'FILE', description: "with --from: the chart's values (seed admins, defaults, projects, presets); several merge as helm -f does: give the chart's values.yaml first when yours only overrides" },
};

/** Offline answers for one cluster of a fleet (issue 30): what `cluster: {name, labels}` in its values says. */
export const CLUSTER_OPTIONS: Record<string, OptionSpec> = {
  cluster: { type: 'string', value: 'NAME', description: "with --from: answer as the cluster NAME would (objects whose spec.clusters does not select it are not in force); overrides the values' cluster" },
  'cluster-labels': { type: 'string', value: 'K=V,...', description: 'with --cluster: its labels, e.g. region=eu,tier=prod' },
};

/** `--cluster NAME [--cluster-labels k=v,...]`, or undefined; bad input is a usage error. */
export function clusterOf(ctx: Context): ClusterIdentity | undefined {
  const name = str(ctx, 'cluster');
  const labels = str(ctx, 'cluster-labels');
  if (name === undefined) {
    if (labels !== undefined) throw usageError('--cluster-labels goes with --cluster NAME (the labels of which cluster?)');
    return undefined;
  }
  const problem = clusterNameShapeProblem(name);
  if (problem) throw usageError(`--cluster ${JSON.stringify(name)}: the name ${problem}`);
  try {
    return checkedIdentity({ name, labels: parseClusterLabels(labels ?? '') }, '--cluster');
  } catch (err) {
    if (err instanceof ClusterLabelsError) throw usageError(`--cluster-labels: ${err.message} (write k=v,k2=v2)`);
    if (err instanceof ClusterIdentityError) throw usageError(err.message);
    throw err;
  }
}

/** --cluster and --cluster-labels answer from files: without --from they are a usage error. */
export function clusterFlagsNeedFrom(ctx: Context): void {
  if (strs(ctx, 'from').length > 0 || (str(ctx, 'cluster') === undefined && str(ctx, 'cluster-labels') === undefined)) return;
  clusterOf(ctx);
  throw usageError('--cluster goes with --from (a live cluster says who it is; to ask several: --contexts or --all-contexts)');
}

/** The set as the cluster `cluster` holds it: its configuration names that cluster (undefined: as it is). */
export function withCluster(set: PolicySet, cluster: ClusterIdentity | undefined): PolicySet {
  return cluster ? { ...set, config: { ...set.config, cluster } } : set;
}

function io(ctx: Context): PolicyIO {
  return { readFile: ctx.readFile, ...(ctx.listDir ? { listDir: ctx.listDir } : {}) };
}

/** The files at `paths` as the cluster of --cluster would hold them (without it: the values' own cluster, if any). */
function setOf(ctx: Context, paths: readonly string[], values: readonly string[] = strs(ctx, 'values')): PolicySet {
  return withCluster(loadPolicySet(paths, { values, ...(str(ctx, 'config') ? { config: str(ctx, 'config') } : {}) }, io(ctx)), clusterOf(ctx));
}

/** The policy set named by --from, or undefined when the answer is the live cluster's. */
export function fromSet(ctx: Context): PolicySet | undefined {
  const from = strs(ctx, 'from');
  if (from.length === 0) {
    if (strs(ctx, 'values').length) throw usageError('--values goes with --from (the live cluster answers with the operator\'s own configuration; use --config for a local answer)');
    clusterFlagsNeedFrom(ctx);
    return undefined;
  }
  if (flag(ctx, 'ask-apiserver')) throw usageError('--from answers from files; --ask-apiserver asks a cluster: use one or the other');
  const set = setOf(ctx, from);
  wholeOrNothing(set);
  return set;
}

/** The snapshot (index and counts) of a --from set, as the live path builds it. */
export async function offlineSnapshot(ctx: Context, set: PolicySet): Promise<Snapshot> {
  wholeOrNothing(set);
  const snap = await collect({ load: async () => ({ world: set.world, unreadable: [] }) }, set.config, set.configSource, ctx.now);
  return { ...snap, files: set.describe };
}

/** An answer over part of the files could allow what the whole would not: never a partial world. */
export function wholeOrNothing(set: PolicySet): void {
  const p = set.problems[0];
  if (p) throw usageError(`${p.file}${p.index >= 0 ? `#${p.index}` : ''}: ${p.message} (kubectl gatehouse lint shows every problem)`);
  const r = set.refused[0];
  if (r) throw usageError(`${r.file}#${r.index}: ${r.kind} ${r.name} would be refused by the API server (its schema or name); kubectl gatehouse lint says why`);
}

function requester(ctx: Context): { user: string; groups: string[] } | undefined {
  const as = str(ctx, 'as');
  if (!as) {
    if (strs(ctx, 'as-group').length) throw usageError('--as-group goes with --as');
    return undefined;
  }
  return { user: as, groups: [...strs(ctx, 'as-group'), 'system:authenticated'] };
}

async function lintCmd(ctx: Context): Promise<number> {
  const set = setOf(ctx, ctx.args);
  const as = requester(ctx);
  const basePaths = strs(ctx, 'base');
  if (basePaths.length && !as) throw usageError('--base goes with --as USER (the change is checked as that user makes it)');
  const base = basePaths.length ? setOf(ctx, basePaths) : undefined;
  const messages = lint(set, { now: ctx.now(), ...(as ? { as } : {}), ...(base ? { base } : {}) });
  const errors = messages.filter((m) => m.severity === 'error').length;
  const warnings = messages.length - errors;
  const failed = errors > 0 || (flag(ctx, 'strict') && warnings > 0);
  if (printStructured(ctx, { errors, warnings, messages })) return failed ? EXIT.no : EXIT.ok;
  for (const m of messages) ctx.out(formatMessage(m) + '\n');
  const objects = set.docs.filter((d) => d.kind).length;
  ctx.out(`${objects} object${objects === 1 ? '' : 's'} in ${set.describe}: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}${as ? ` (the change checked as ${as.user}${base ? ` against ${base.describe}` : ', every object new'})` : ''}\n`);
  return failed ? EXIT.no : EXIT.ok;
}

async function testCmd(ctx: Context): Promise<number> {
  const suites: Array<{ file: string; results: TestResult[] }> = [];
  const from = strs(ctx, 'from');
  for (const file of ctx.args) {
    let text: string;
    try {
      text = ctx.readFile(file);
    } catch (err) {
      throw usageError(`${file}: cannot read: ${(err as Error).message}`);
    }
    const ef = parseExpectations(text, file);
    const rel = (p: string): string => (path.isAbsolute(p) || file === '-' ? p : path.join(path.dirname(file), p));
    const paths = from.length ? from : ef.from.map(rel);
    if (paths.length === 0) throw usageError(`${file}: say which policy files to test: --from PATH, or from: [PATH] in the file`);
    const values = strs(ctx, 'values').length ? strs(ctx, 'values') : ef.values.map(rel);
    const set = setOf(ctx, paths, values);
    // A case's own cluster, else --cluster, else the file's, else the values' (issue 30).
    const cluster = clusterOf(ctx) ?? ef.cluster;
    suites.push({ file, results: runExpectations(ef.tests, withCluster(set, cluster), ctx.now()) });
  }
  const all = suites.flatMap((s) => s.results);
  const failed = all.filter((r) => !r.passed);
  const junitFile = str(ctx, 'junit');
  if (junitFile) ctx.writeFile(junitFile, junit(suites));
  if (printStructured(ctx, { passed: all.length - failed.length, failed: failed.length, suites })) return failed.length ? EXIT.no : EXIT.ok;
  for (const s of suites) {
    ctx.out(`${s.file}\n`);
    for (const r of s.results) ctx.out(`  ${r.passed ? 'PASS' : 'FAIL'}  ${r.name}${r.passed && !flag(ctx, 'verbose') ? '' : `\n        ${r.detail}`}\n`);
  }
  ctx.out(`${all.length - failed.length} passed, ${failed.length} failed${failed.length ? `: ${failed.map((r) => r.name).join('; ')}` : ''}\n`);
  return failed.length ? EXIT.no : EXIT.ok;
}

async function diffCmd(ctx: Context): Promise<number> {
  const basePaths = strs(ctx, 'base');
  const from = strs(ctx, 'from');
  if (!basePaths.length || !from.length) throw usageError('diff needs --base PATH (before the change) and --from PATH (after it)');
  const head = setOf(ctx, from);
  const base = setOf(ctx, basePaths, strs(ctx, 'base-values').length ? strs(ctx, 'base-values') : strs(ctx, 'values'));
  wholeOrNothing(head);
  wholeOrNothing(base);
  const diffs = accessDiff(base, head, ctx.now());
  const changed = flag(ctx, 'exit-code') && diffs.length > 0;
  if (printStructured(ctx, { users: diffs })) return changed ? EXIT.no : EXIT.ok;
  if (flag(ctx, 'markdown')) ctx.out(diffMarkdown(diffs));
  else if (diffs.length === 0) ctx.out('no user gains or loses access\n');
  else {
    for (const d of diffs) {
      ctx.out(`${d.user}\n`);
      for (const g of d.gained) ctx.out(`  + ${g}\n`);
      for (const l of d.lost) ctx.out(`  - ${l}\n`);
    }
    ctx.out(`${diffs.length} user${diffs.length === 1 ? '' : 's'} with changed access (${base.describe} -> ${head.describe})\n`);
  }
  return changed ? EXIT.no : EXIT.ok;
}

const CONFIG_OPTION: Record<string, OptionSpec> = {
  values: FROM_OPTIONS['values'] as OptionSpec,
  config: { type: 'string', value: 'FILE', description: "the operator's configuration file instead of --values" },
};

export const policyCommands: ReadonlyArray<CommandSpec<Context>> = [
  {
    path: ['lint'], args: ['PATH...'], summary: 'Check policy files as the admission webhook would on create: errors with rule ids, dangling references as warnings (exit 1 on an error)',
    description: 'PATH is a file, a folder (recursively) or - for stdin (kustomize build | kubectl gatehouse lint -). Each object goes through the webhook\'s own checks, as a GitOps controller creating it (Gatehouse leaves its privilege to RBAC); the whole set must keep an Active superuser. With --as USER the change from --base to PATH is also checked as USER makes it: the escalation and delegation rules apply. No cluster is contacted.',
    options: {
      ...CONFIG_OPTION,
      ...CLUSTER_OPTIONS,
      base: { type: 'string', multiple: true, value: 'PATH', description: "with --as: the objects before the change (a pull request's base checkout)" },
      strict: { type: 'boolean', description: 'warnings fail too' },
    },
    examples: ['kubectl gatehouse lint policy/ --values values.yaml', 'kubectl gatehouse lint - --values values.yaml', 'kubectl gatehouse lint head/policy --as alice --base base/policy'],
    run: lintCmd,
  },
  {
    path: ['test'], args: ['FILE...'], summary: 'Run a YAML of expectations (can, who-can, lint) against policy files (exit 1 when one fails)',
    description: 'Each FILE holds `tests:` (and optionally `from:` and `values:`, relative to it): `- {as: alice, can: create jobs.batch, namespace: vision-dev, expect: yes}`, `- {who-can: delete pods, namespace: prod, expect: [User root, Team sre]}` (or {includes, excludes}), `- {lint: clean}`. `cluster: {name, labels}` (at the top, or on a case) asks as that cluster would answer (issue 30); a case\'s own wins, then --cluster, then the file\'s, then the values\'.',
    options: {
      ...FROM_OPTIONS,
      ...CLUSTER_OPTIONS,
      config: CONFIG_OPTION['config'] as OptionSpec,
      junit: { type: 'string', value: 'FILE', description: 'also write the results as JUnit XML' },
      verbose: { type: 'boolean', short: 'v', description: 'say why each expectation passed too' },
    },
    examples: ['kubectl gatehouse test tests/access.yaml', 'kubectl gatehouse test tests/*.yaml --from policy/ --values values.yaml --junit report.xml', 'kubectl gatehouse test tests/eu.yaml --cluster eu-1 --cluster-labels region=eu,tier=prod'],
    run: testCmd,
  },
  {
    path: ['diff'], args: [], summary: 'What a change grants and takes away, per user: effective access before (--base) and after (--from)',
    options: {
      ...FROM_OPTIONS,
      ...CLUSTER_OPTIONS,
      config: CONFIG_OPTION['config'] as OptionSpec,
      base: { type: 'string', multiple: true, value: 'PATH', description: 'the policy files before the change' },
      'base-values': { type: 'string', multiple: true, value: 'FILE', description: 'the values before the change (default: --values)' },
      markdown: { type: 'boolean', description: 'print a pull request comment' },
      'exit-code': { type: 'boolean', description: 'exit 1 when some user\'s access changes' },
    },
    examples: ['kubectl gatehouse diff --base base/policy --from policy/ --values values.yaml --markdown'],
    run: diffCmd,
  },
];
