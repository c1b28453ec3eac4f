// Pure output helpers for the kubectl plugin: tables, YAML/JSON, ages, durations, names.
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
