// Reading import statements out of TypeScript/JavaScript source text, for the tests that hold the
// source tree to its import rules (test/unit/architecture/imports.test.ts, the reference
// evaluator's test/unit/authz/oracle-imports.test.ts). A regular expression, not a parser: the
// project's files write one import per statement, and the tests check that the reader finds some.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';

export interface SourceImport {
  /** The statement as written. */
  text: string;
  /** The module specifier. */
  from: string;
  /** `import type` / `export type`, or every name in braces marked `type`. */
  typeOnly: boolean;
}

/** Every import/export-from statement and dynamic import() of a source: its text and module. */
export function importsOf(source: string): SourceImport[] {
  const out: SourceImport[] = [];
  const re = /^\s*(import|export)\s+([\s\S]*?)\s+from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of source.matchAll(re)) {
    const from = m[3] ?? m[4] ?? m[5]!;
    const clause = m[2] ?? '';
    // `import type {..}` / `export type {..}`; a clause whose every name is `type X` is type-only too.
    const names = clause.replace(/^type\s+/, '').replace(/[{}]/g, '').split(',').map((x) => x.trim()).filter(Boolean);
    const typeOnly = m[1] !== undefined && (/^type\s/.test(clause) || (clause.startsWith('{') && names.length > 0 && clause.replace(/[{}]/g, '').split(',').every((x) => /^\s*type\s/.test(x) || x.trim() === '')));
    out.push({ text: m[0].trim(), from, typeOnly });
  }
  return out;
}

/** The .ts files under `dir` (recursively), as paths relative to `root` with forward slashes. */
export function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(relative(root, p).split('\\').join('/'));
    }
  };
  walk(join(root, dir));
  return out.sort();
}

/**
 * The project files a source file imports (relative specifiers only, `.js` mapped back to `.ts`),
 * as root-relative paths; packages are left out.
 */
export function localImportsOf(root: string, file: string): { to: string; text: string }[] {
  const source = readFileSync(join(root, file), 'utf8');
  return importsOf(source)
    .filter((i) => i.from.startsWith('.'))
    .map((i) => ({ to: posix.normalize(posix.join(posix.dirname(file), i.from)).replace(/\.js$/, '.ts'), text: i.text }));
}
