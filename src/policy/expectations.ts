// `kubectl gatehouse test` (issue 25): a YAML of expectations checked against a policy set with
// the operator's own decide(), whoCan() and the lint above. Pure: (text, set) -> results; the
// report as text for people and as JUnit XML for CI systems.
import yaml from 'js-yaml';
import { decide } from '../authz/decide.js';
import { whoCan, type WhoCanEntry } from '../authz/queries.js';
import { PermissionIndex } from '../authz/index.js';
import { usageError } from '../client/errors.js';
import { accessRequest, resolveUsername } from '../client/access.js';
import { describeRequest, parseTarget, type Target } from '../client/target.js';
import { lint, formatMessage, type LintMessage } from './lint.js';
import type { PolicySet } from './sources.js';
import type { ClusterIdentity } from '../fleet/cluster.js';
import { ClusterIdentityError, clusterKey, describeCluster, parseClusterIdentity } from '../fleet/identity.js';

/** One expectation as written; exactly one of can, who-can, lint. */
export interface Expectation {
  name: string;
  /** `as` + `can`: `can: create jobs.batch` (VERB RESOURCE, as can-i takes them). */
  as?: string;
  groups?: string[];
  can?: string;
  whoCan?: string;
  namespace?: string;
  subresource?: string;
  /** can: yes|no; who-can: a list (exactly these) or {includes, excludes}; lint: see LintExpect. */
  expect: unknown;
  lint?: LintExpect;
  /** The cluster this case is asked on (issue 30); unset: the file's, --cluster's or the values'. */
  cluster?: ClusterIdentity;
}

/** `lint: clean` (no errors), or counts and rules: `{errors: 0, warnings: 2, rules: [permission-syntax]}`. */
export interface LintExpect {
  errors?: number;
  warnings?: number;
  /** Each of these rule ids is among the errors. */
  rules?: string[];
}

export interface ExpectationFile {
  /** Paths (relative to the file) the tests run against when no --from is given. */
  from: string[];
  /** Values files, merged in order (as helm -f). */
  values: string[];
  /** `cluster: {name, labels}` for every case that names none (issue 30). */
  cluster?: ClusterIdentity;
  tests: Expectation[];
}

export interface TestResult {
  name: string;
  passed: boolean;
  /** What was found, in a line (`got no: alice holds no role ...`). */
  detail: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strList(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  throw usageError(`${where}: must be a string or a list of strings`);
}

/** Reads an expectations file; a malformed one is a usage error naming the entry. */
export function parseExpectations(text: string, file: string): ExpectationFile {
  let raw: unknown;
  try {
    raw = yaml.load(text);
  } catch (err) {
    throw usageError(`${file}: not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const top = Array.isArray(raw) ? { tests: raw } : raw;
  if (!isRecord(top) || !Array.isArray(top['tests'])) throw usageError(`${file}: expected a list of expectations, or a mapping with tests: [...]`);
  const from = strList(top['from'], `${file}: from`);
  const values = strList(top['values'], `${file}: values`);
  const fileCluster = clusterField(top['cluster'], `${file}: cluster`);
  const tests = top['tests'].map((t, i): Expectation => {
    const at = `${file}: tests[${i}]`;
    if (!isRecord(t)) throw usageError(`${at}: must be a mapping`);
    const known = new Set(['name', 'as', 'groups', 'can', 'who-can', 'namespace', 'subresource', 'expect', 'lint', 'cluster']);
    for (const k of Object.keys(t)) if (!known.has(k)) throw usageError(`${at}: unknown key ${JSON.stringify(k)} (use ${[...known].join(', ')})`);
    const kinds = ['can', 'who-can', 'lint'].filter((k) => t[k] !== undefined);
    if (kinds.length !== 1) throw usageError(`${at}: give exactly one of can (with as), who-can, lint`);
    const str = (k: string): string | undefined => {
      const v = t[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v === '') throw usageError(`${at}: ${k} must be a non-empty string`);
      return v;
    };
    const e: Expectation = { name: '', expect: t['expect'] };
    const cluster = clusterField(t['cluster'], `${at}: cluster`);
    if (cluster) e.cluster = cluster;
    // Default names say the cluster, so the same question on two clusters reads as two cases.
    const on = cluster ? ` on cluster ${cluster.name}` : '';
    const ns = str('namespace');
    if (ns) e.namespace = ns;
    const sub = str('subresource');
    if (sub) e.subresource = sub;
    if (t['can'] !== undefined) {
      e.can = str('can') as string;
      const as = str('as');
      if (!as) throw usageError(`${at}: can needs as: USER`);
      e.as = as;
      e.groups = strList(t['groups'], `${at}: groups`);
      // YAML 1.1 readers turn a bare yes/no into booleans; js-yaml keeps them strings: take both.
      const ex = e.expect === true ? 'yes' : e.expect === false ? 'no' : e.expect;
      if (ex !== 'yes' && ex !== 'no') throw usageError(`${at}: expect must be yes or no`);
      e.expect = ex;
      e.name = str('name') ?? `${as} can ${e.can}${ns ? ` in ${ns}` : ''}${on}: ${ex}`;
    } else if (t['who-can'] !== undefined) {
      e.whoCan = str('who-can') as string;
      if (!Array.isArray(e.expect) && !isRecord(e.expect)) throw usageError(`${at}: expect must be a list of subjects (exactly these) or {includes: [...], excludes: [...]}`);
      e.name = str('name') ?? `who can ${e.whoCan}${ns ? ` in ${ns}` : ''}${on}`;
    } else {
      const l = t['lint'];
      if (l === 'clean') e.lint = { errors: 0 };
      else if (isRecord(l)) {
        const le: LintExpect = {};
        for (const k of ['errors', 'warnings'] as const) {
          if (l[k] === undefined) continue;
          if (typeof l[k] !== 'number' || !Number.isInteger(l[k]) || (l[k] as number) < 0) throw usageError(`${at}: lint.${k} must be a count`);
          le[k] = l[k] as number;
        }
        if (l['rules'] !== undefined) le.rules = strList(l['rules'], `${at}: lint.rules`);
        e.lint = le;
      } else throw usageError(`${at}: lint must be clean or {errors, warnings, rules}`);
      e.name = str('name') ?? `lint ${l === 'clean' ? 'clean' : JSON.stringify(l)}${on}`;
    }
    return e;
  });
  return { from, values, ...(fileCluster ? { cluster: fileCluster } : {}), tests };
}

/** `cluster:` of a file or a case: a name or {name, labels}; absent: undefined. */
function clusterField(raw: unknown, where: string): ClusterIdentity | undefined {
  if (raw === undefined || raw === null) return undefined;
  try {
    return parseClusterIdentity(raw, where);
  } catch (err) {
    if (err instanceof ClusterIdentityError) throw usageError(err.message);
    throw err;
  }
}

/**
 * The permission index a case is asked over: the set's, as the case's cluster holds it. Cached
 * per distinct cluster, so a file of a hundred cases on three clusters builds three indexes.
 */
export function indexCache(set: PolicySet, now: number): (cluster: ClusterIdentity | undefined) => PermissionIndex {
  const cache = new Map<string, PermissionIndex>();
  return (cluster) => {
    const effective = cluster ?? set.config.cluster;
    const key = clusterKey(effective);
    let index = cache.get(key);
    if (!index) {
      index = PermissionIndex.build(set.world, effective ? { ...set.config, cluster: effective } : set.config, () => now);
      cache.set(key, index);
    }
    return index;
  };
}

function target(words: string, e: Expectation): Target {
  const parts = words.trim().split(/\s+/);
  if (parts.length !== 2) throw usageError(`${e.name}: write VERB RESOURCE (e.g. create jobs.batch), got ${JSON.stringify(words)}`);
  return parseTarget({ verb: parts[0] ?? '', resource: parts[1] ?? '', ...(e.namespace ? { namespace: e.namespace } : {}), ...(e.subresource ? { subresource: e.subresource } : {}) });
}

/** `User alice`, `Team vision`, `Group oidc:ml`, `AllActiveUsers` - how who-can names its subjects. */
export function subjectText(e: WhoCanEntry): string {
  return e.subject.kind === 'AllActiveUsers' ? 'AllActiveUsers' : `${e.subject.kind} ${e.subject.name}`;
}

/**
 * Runs each case over the set as its cluster holds it: the case's `cluster`, else the set's
 * configuration's (--cluster, the file's `cluster:` or the values'; see the CLI's test command).
 */
export function runExpectations(tests: readonly Expectation[], set: PolicySet, now: number): TestResult[] {
  const indexFor = indexCache(set, now);
  const lintCache = new Map<string, LintMessage[]>();
  return tests.map((e): TestResult => {
    try {
      const index = indexFor(e.cluster);
      const where = e.cluster ?? set.config.cluster;
      const onCluster = where ? ` [cluster ${describeCluster(where)}]` : '';
      if (e.can !== undefined) {
        const t = target(e.can, e);
        const req = resolveUsername(index, accessRequest({ user: e.as ?? '', groups: e.groups ?? [] }, t)).req;
        const d = decide(index, req, { now, explain: true });
        const got = d.verdict === 'allow' ? 'yes' : 'no';
        return { name: e.name, passed: got === e.expect, detail: `expected ${String(e.expect)}, got ${got}: ${d.reason} (${d.code})${onCluster}` };
      }
      if (e.whoCan !== undefined) {
        const t = target(e.whoCan, e);
        const got = [...new Set(whoCan(index, t.resource ?? { nonResource: t.nonResource }, now).map(subjectText))].sort();
        const has = new Set(got);
        if (Array.isArray(e.expect)) {
          const want = [...new Set(e.expect.map(String))].sort();
          const missing = want.filter((w) => !has.has(w));
          const extra = got.filter((g) => !want.includes(g));
          return { name: e.name, passed: missing.length === 0 && extra.length === 0, detail: `who may ${describeRequest(t)}: ${got.join(', ') || 'nobody'}${missing.length ? `; missing ${missing.join(', ')}` : ''}${extra.length ? `; not expected ${extra.join(', ')}` : ''}${onCluster}` };
        }
        const ex = e.expect as Record<string, unknown>;
        const inc = strList(ex['includes'], `${e.name}: includes`);
        const exc = strList(ex['excludes'], `${e.name}: excludes`);
        const missing = inc.filter((w) => !has.has(w));
        const present = exc.filter((w) => has.has(w));
        return { name: e.name, passed: missing.length === 0 && present.length === 0, detail: `who may ${describeRequest(t)}: ${got.join(', ') || 'nobody'}${missing.length ? `; missing ${missing.join(', ')}` : ''}${present.length ? `; should not be there: ${present.join(', ')}` : ''}${onCluster}` };
      }
      const l = e.lint ?? {};
      const key = clusterKey(where);
      let messages = lintCache.get(key);
      if (!messages) {
        messages = lint(e.cluster ? { ...set, config: { ...set.config, cluster: e.cluster } } : set, { now });
        lintCache.set(key, messages);
      }
      const errors = messages.filter((m) => m.severity === 'error');
      const warnings = messages.filter((m) => m.severity === 'warning');
      const problems: string[] = [];
      if (l.errors !== undefined && errors.length !== l.errors) problems.push(`${errors.length} errors, expected ${l.errors}`);
      if (l.warnings !== undefined && warnings.length !== l.warnings) problems.push(`${warnings.length} warnings, expected ${l.warnings}`);
      for (const r of l.rules ?? []) if (!errors.some((m) => m.rule === r)) problems.push(`no error with rule ${r}`);
      const first = errors.slice(0, 3).map(formatMessage);
      return { name: e.name, passed: problems.length === 0, detail: problems.length ? `${problems.join('; ')}${first.length ? ` (${first.join(' | ')})` : ''}` : `${errors.length} errors, ${warnings.length} warnings` };
    } catch (err) {
      return { name: e.name, passed: false, detail: `could not run: ${(err as Error).message}` };
    }
  });
}

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
  // XML 1.0 has no place for most control characters, even escaped.
  // eslint-disable-next-line no-control-regex
  .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

/** JUnit XML (the subset CI systems read): one testsuite per expectations file. */
export function junit(suites: ReadonlyArray<{ file: string; results: readonly TestResult[] }>): string {
  const total = suites.reduce((n, s) => n + s.results.length, 0);
  const failures = suites.reduce((n, s) => n + s.results.filter((r) => !r.passed).length, 0);
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="gatehouse policy" tests="${total}" failures="${failures}">`];
  for (const s of suites) {
    const f = s.results.filter((r) => !r.passed).length;
    lines.push(`  <testsuite name="${xmlEscape(s.file)}" tests="${s.results.length}" failures="${f}" errors="0">`);
    for (const r of s.results) {
      const head = `    <testcase classname="${xmlEscape(s.file)}" name="${xmlEscape(r.name)}"`;
      if (r.passed) lines.push(`${head}/>`);
      else lines.push(`${head}>`, `      <failure message="${xmlEscape(r.detail)}">${xmlEscape(r.detail)}</failure>`, '    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}
