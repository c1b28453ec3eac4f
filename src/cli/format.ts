// Pure output helpers for the kubectl plugin: tables, YAML/JSON, ages, durations, names.
import { createHash } from 'node:crypto';
import yaml from 'js-yaml';

export type OutputFormat = 'table' | 'yaml' | 'json';

// Control characters (ESC, BEL, CR, LF...), DEL, C1, bidirectional overrides, embeddings,
// isolates and marks, and the Unicode line and paragraph separators: what lets a field of an
// object rewrite the administrator's terminal (erase a row, forge one, make a hyperlink).
const TERMINAL_UNSAFE = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/gu;

/**
 * The plugin's one escape for what reaches a terminal: every character above becomes `\uXXXX`
 * (the same escape JSON uses, so `-o json` stays valid JSON that decodes to the same string).
 * `keepNewlines` keeps the line breaks the printer itself writes; cells of tables and `key: value`
 * lines escape them too, so a field can never start a line. Every output of the plugin passes
 * through this (src/cli/run.ts wraps stdout and stderr), and table() and details() apply it per field.
 */
export function escapeControls(text: string, keepNewlines = false): string {
  return text.replace(TERMINAL_UNSAFE, (c) => (keepNewlines && c === '\n' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** Left-aligned columns separated by three spaces, like kubectl's tables. */
export function table(rawHeaders: readonly string[], rawRows: ReadonlyArray<readonly string[]>): string {
  const headers = rawHeaders.map((h) => escapeControls(h));
  const rows = rawRows.map((r) => r.map((c) => escapeControls(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('   ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** `key: value` lines with aligned values; nested lists are indented under their key. */
export function details(rawPairs: ReadonlyArray<readonly [string, string | readonly string[]]>, minWidth = 0): string {
  const pairs = rawPairs.map(([k, v]) => [escapeControls(k), typeof v === 'string' ? escapeControls(v) : v.map((x) => escapeControls(x))] as const);
  const width = Math.max(minWidth, ...pairs.map(([k]) => k.length + 1));
  const out: string[] = [];
  for (const [key, value] of pairs) {
    if (typeof value === 'string') {
      out.push(`${(key + ':').padEnd(width)}  ${value}`);
    } else if (value.length === 0) {
      out.push(`${(key + ':').padEnd(width)}  <none>`);
    } else {
      out.push(`${key}:`);
      for (const v of value) out.push(`  ${v}`);
    }
  }
  return out.join('\n') + '\n';
}

export function render(value: unknown, format: 'yaml' | 'json'): string {
  if (format === 'json') return JSON.stringify(value, null, 2) + '\n';
  return yaml.dump(value, { noRefs: true, lineWidth: 120 });
}

/** Drops server-managed noise so `-o yaml` output can be re-applied. */
export function forDisplay<T extends object>(obj: T): T {
  const meta = (obj as { metadata?: Record<string, unknown> }).metadata;
  if (!meta || !('managedFields' in meta)) return obj;
  const { managedFields: _dropped, ...metadata } = meta;
  return { ...obj, metadata } as T;
}

/** kubectl's AGE column: 45s, 12m, 5h, 3d, 2y. */
export function age(timestamp: string | undefined, now: number): string {
  if (!timestamp) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (Number.isNaN(seconds)) return '<unknown>';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 730) return `${days}d`;
  return `${Math.floor(days / 365)}y`;
}

export function list(values: readonly string[] | undefined, empty = '<none>'): string {
  return values && values.length > 0 ? values.join(',') : empty;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `--expires`: a duration from now (`90m`, `24h`, `7d`, `1d12h`) or an RFC 3339 time. Returns the
 * time as RFC 3339 in UTC, or throws a message a person can act on.
 */
export function parseExpiry(text: string, now: number): string {
  const trimmed = text.trim();
  if (/^(\d+[smhdw])+$/.test(trimmed)) {
    let ms = 0;
    for (const m of trimmed.matchAll(/(\d+)([smhdw])/g)) ms += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 0);
    if (ms <= 0) throw new Error(`--expires ${JSON.stringify(text)} must be a positive duration`);
    return new Date(now + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(trimmed)) {
    const t = Date.parse(trimmed);
    if (!Number.isNaN(t)) {
      if (t <= now) throw new Error(`--expires ${trimmed} is in the past`);
      return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
  }
  throw new Error(`--expires ${JSON.stringify(text)} is neither a duration (90m, 24h, 7d) nor an RFC 3339 time (2026-12-31T00:00:00Z)`);
}

/** Levenshtein distance; small inputs only (names). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** Up to `max` candidates close to `wanted`, nearest first; "close" grows with the name's length. */
export function nearestNames(wanted: string, candidates: readonly string[], max = 3): string[] {
  const limit = Math.max(2, Math.ceil(wanted.length / 3));
  return [...new Set(candidates)]
    .map((name) => {
      const d = editDistance(wanted.toLowerCase(), name.toLowerCase());
      // A prefix or substring match counts as close even when the edit distance is large.
      const contains = name.toLowerCase().includes(wanted.toLowerCase()) || wanted.toLowerCase().includes(name.toLowerCase());
      return { name, d: contains ? Math.min(d, limit) : d };
    })
    .filter((c) => c.d <= limit)
    .sort((x, y) => x.d - y.d || x.name.localeCompare(y.name))
    .slice(0, max)
    .map((c) => c.name);
}

/** A DNS-1123 label-ish fragment: lowercase letters, digits and dashes. */
export function nameFragment(text: string, max = 40): string {
  const s = text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return (s.slice(0, max).replace(/-+$/g, '') || 'x');
}

/**
 * A readable, deterministic RoleBinding name: `<role>-<subject>-<hash>`, where the hash covers the
 * role, every subject and the scope, so the same assignment always gets the same name (creating it
 * twice is an AlreadyExists, not a duplicate) and different scopes never collide.
 */
export function bindingName(role: string, subjects: ReadonlyArray<{ kind: string; name: string }>, scope: unknown): string {
  const first = subjects[0];
  const who = first ? nameFragment(first.name, 30) + (subjects.length > 1 ? `-and-${subjects.length - 1}` : '') : 'nobody';
  const hash = createHash('sha256')
    .update(JSON.stringify({ role, subjects: subjects.map((s) => `${s.kind}:${s.name}`).sort(), scope }))
    .digest('hex')
    .slice(0, 6);
  return `${nameFragment(role, 40)}-${who}-${hash}`;
}
