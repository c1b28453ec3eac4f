// The syntax of what names a cluster (issue 30): a cluster's name, its labels, and `spec.clusters`
// on a RoleBinding or User. Pure, no I/O: the configuration (src/config.ts) checks this cluster's
// own identity with it, admission (src/admission/) checks every object's selector, and both report
// the same words. The meaning of a selector is src/fleet/cluster.ts.
import { dns1123LabelProblem, dns1123SubdomainProblem } from '../admission/names.js';

/** Bounds on a selector, so an object cannot make the index or a message arbitrarily large. */
export const SELECTOR_LIMITS = Object.freeze({ names: 64, matchLabels: 32, matchExpressions: 32, values: 64 });

/** The four LabelSelector operators, as Kubernetes spells them. */
export const SELECTOR_OPERATORS = Object.freeze(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const);

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * A cluster's name: a DNS-1123 label (lower-case letters, digits and '-', at most 63), the form
 * Argo CD's and Flux's cluster names usually take and one that reads well in a message or a column.
 */
export function clusterNameProblem(name: string): string | undefined {
  return dns1123LabelProblem(name);
}

/** A Kubernetes label key: an optional DNS-subdomain prefix and '/', then a name of at most 63. */
export function labelKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'must not be empty';
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (dns1123SubdomainProblem(prefix) !== undefined) {
      return "has a prefix that is not a DNS subdomain (lower-case letters, digits, '-' and '.', at most 253)";
    }
  }
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
    return "must be a label name (letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63), with an optional DNS-subdomain prefix and '/'";
  }
  return undefined;
}

/** A Kubernetes label value: empty, or a label name of at most 63. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > 63) return 'must be at most 63 characters';
  if (!LABEL_NAME.test(value)) return "must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit";
  return undefined;
}

/** One thing wrong with a selector: `path` below `spec.clusters` ('' is the selector itself). */
export interface SelectorProblem {
  path: string;
  message: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const KNOWN = new Set(['names', 'matchLabels', 'matchExpressions']);
const EXPRESSION_KEYS = new Set(['key', 'operator', 'values']);

/**
 * Everything wrong with a `spec.clusters` value as it arrived (any JSON), each with its path below
 * `spec.clusters` (e.g. `.names[1]`, `.matchLabels[region]`, `.matchExpressions[0].values`).
 * Absent (undefined or null) is fine: every cluster. Empty lists and maps are fine too (the same).
 */
export function clusterSelectorProblems(sel: unknown): SelectorProblem[] {
  const out: SelectorProblem[] = [];
  if (sel === undefined || sel === null) return out;
  if (!isRecord(sel)) return [{ path: '', message: 'must be an object with names, matchLabels and/or matchExpressions' }];
  for (const k of Object.keys(sel)) if (!KNOWN.has(k)) out.push({ path: `.${k}`, message: 'is not a field of spec.clusters (names, matchLabels, matchExpressions)' });
  const names = sel['names'];
  if (names !== undefined && names !== null) {
    if (!Array.isArray(names)) out.push({ path: '.names', message: 'must be a list of cluster names' });
    else {
      if (names.length > SELECTOR_LIMITS.names) out.push({ path: '.names', message: `must list at most ${SELECTOR_LIMITS.names} clusters` });
      const seen = new Map<string, number>();
      for (const [i, n] of names.entries()) {
        if (typeof n !== 'string') {
          out.push({ path: `.names[${i}]`, message: 'must be a string' });
          continue;
        }
        const problem = clusterNameProblem(n);
        if (problem) out.push({ path: `.names[${i}]`, message: `${JSON.stringify(n)} ${problem}` });
        const before = seen.get(n);
        if (before !== undefined) out.push({ path: `.names[${i}]`, message: `${JSON.stringify(n)} is already listed at names[${before}]` });
        else seen.set(n, i);
      }
    }
  }
  const labels = sel['matchLabels'];
  if (labels !== undefined && labels !== null) {
    if (!isRecord(labels)) out.push({ path: '.matchLabels', message: 'must be a map of label keys to values' });
    else {
      const entries = Object.entries(labels);
      if (entries.length > SELECTOR_LIMITS.matchLabels) out.push({ path: '.matchLabels', message: `must hold at most ${SELECTOR_LIMITS.matchLabels} labels` });
      for (const [k, v] of entries) {
        const keyProblem = labelKeyProblem(k);
        if (keyProblem) out.push({ path: `.matchLabels[${k}]`, message: `key ${JSON.stringify(k)} ${keyProblem}` });
        if (typeof v !== 'string') out.push({ path: `.matchLabels[${k}]`, message: 'must be a string' });
        else {
          const valueProblem = labelValueProblem(v);
          if (valueProblem) out.push({ path: `.matchLabels[${k}]`, message: `value ${JSON.stringify(v)} ${valueProblem}` });
        }
      }
    }
  }
  const exprs = sel['matchExpressions'];
  if (exprs !== undefined && exprs !== null) {
    if (!Array.isArray(exprs)) out.push({ path: '.matchExpressions', message: 'must be a list of {key, operator, values}' });
    else {
      if (exprs.length > SELECTOR_LIMITS.matchExpressions) out.push({ path: '.matchExpressions', message: `must hold at most ${SELECTOR_LIMITS.matchExpressions} expressions` });
      for (const [i, e] of exprs.entries()) out.push(...expressionProblems(e, `.matchExpressions[${i}]`));
    }
  }
  return out;
}

function expressionProblems(e: unknown, path: string): SelectorProblem[] {
  if (!isRecord(e)) return [{ path, message: 'must be an object {key, operator, values}' }];
  const out: SelectorProblem[] = [];
  for (const k of Object.keys(e)) if (!EXPRESSION_KEYS.has(k)) out.push({ path: `${path}.${k}`, message: 'is not a field of a label selector requirement (key, operator, values)' });
  const key = e['key'];
  if (typeof key !== 'string') out.push({ path: `${path}.key`, message: 'is required (a label key)' });
  else {
    const problem = labelKeyProblem(key);
    if (problem) out.push({ path: `${path}.key`, message: `${JSON.stringify(key)} ${problem}` });
  }
  const op = e['operator'];
  if (typeof op !== 'string' || !(SELECTOR_OPERATORS as readonly string[]).includes(op)) {
    out.push({ path: `${path}.operator`, message: `must be one of ${SELECTOR_OPERATORS.join(', ')}, got ${JSON.stringify(op ?? null)}` });
  }
  const values = e['values'];
  const hasValues = values !== undefined && values !== null;
  if (hasValues && !Array.isArray(values)) {
    out.push({ path: `${path}.values`, message: 'must be a list of label values' });
    return out;
  }
  const list = (hasValues ? values : []) as unknown[];
  if (op === 'In' || op === 'NotIn') {
    if (list.length === 0) out.push({ path: `${path}.values`, message: `must list at least one value for operator ${op}` });
  } else if ((op === 'Exists' || op === 'DoesNotExist') && list.length > 0) {
    out.push({ path: `${path}.values`, message: `must be empty for operator ${op}` });
  }
  if (list.length > SELECTOR_LIMITS.values) out.push({ path: `${path}.values`, message: `must list at most ${SELECTOR_LIMITS.values} values` });
  for (const [i, v] of list.entries()) {
    if (typeof v !== 'string') {
      out.push({ path: `${path}.values[${i}]`, message: 'must be a string' });
      continue;
    }
    const problem = labelValueProblem(v);
    if (problem) out.push({ path: `${path}.values[${i}]`, message: `${JSON.stringify(v)} ${problem}` });
  }
  return out;
}

/** Problems with a cluster's own identity (the configuration's `cluster`), as `cluster.<path>: message`. */
export function clusterIdentityProblems(identity: { name: string; labels: Readonly<Record<string, unknown>> }): string[] {
  const out: string[] = [];
  if (identity.name !== '') {
    const p = clusterNameProblem(identity.name);
    if (p) out.push(`cluster.name ${JSON.stringify(identity.name)} ${p}`);
  }
  const entries = Object.entries(identity.labels);
  if (entries.length > SELECTOR_LIMITS.matchLabels) out.push(`cluster.labels must hold at most ${SELECTOR_LIMITS.matchLabels} labels`);
  for (const [k, v] of entries) {
    const kp = labelKeyProblem(k);
    if (kp) out.push(`cluster.labels key ${JSON.stringify(k)} ${kp}`);
    const vp = typeof v === 'string' ? labelValueProblem(v) : 'must be a string';
    if (vp) out.push(`cluster.labels[${k}] value ${JSON.stringify(v)} ${vp}`);
  }
  return out;
}
