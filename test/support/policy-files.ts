// Runs the plugin in-process over policy files held in memory (issue 25): `readFile` and `listDir`
// read a map of paths, and `makeClient` throws, so a command that tried to reach a cluster fails.
import path from 'node:path';
import { run } from '../../src/cli/run.js';

export interface FilesRun {
  code: number;
  stdout: string;
  stderr: string;
  written: Map<string, string>;
}

export async function runFiles(argv: string[], files: Record<string, string>, opts: { now?: number; stdin?: string } = {}): Promise<FilesRun> {
  let stdout = '';
  let stderr = '';
  const written = new Map<string, string>();
  const norm = (p: string) => path.normalize(p);
  const table = new Map(Object.entries(files).map(([k, v]) => [norm(k), v]));
  const code = await run(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    now: () => opts.now ?? Date.parse('2026-06-01T00:00:00Z'),
    readFile: (f) => {
      if (f === '-' && opts.stdin !== undefined) return opts.stdin;
      const t = table.get(norm(f));
      if (t === undefined) throw new Error(`ENOENT: no such file ${f}`);
      return t;
    },
    listDir: (d) => {
      const dir = norm(d);
      if (table.has(dir)) return undefined;
      const names = new Set<string>();
      for (const k of table.keys()) {
        const rel = path.relative(dir, k);
        if (!rel.startsWith('..') && rel !== '' && !path.isAbsolute(rel)) names.add(rel.split(path.sep)[0] ?? '');
      }
      return names.size ? [...names] : undefined;
    },
    writeFile: (f, t) => void written.set(f, t),
    makeClient: () => {
      throw new Error('a cluster was contacted');
    },
  });
  return { code, stdout, stderr, written };
}

const G = 'apiVersion: iam.gatehouse.dev/v1alpha1';
export const doc = {
  user: (name: string, spec = '{state: Active}') => `${G}\nkind: User\nmetadata: {name: ${name}}\nspec: ${spec}`,
  role: (name: string, permissions: string[], extra = '') => `${G}\nkind: Role\nmetadata: {name: ${name}}\nspec: {permissions: ${JSON.stringify(permissions)}${extra}}`,
  team: (name: string, members: string[], extra = '') => `${G}\nkind: Team\nmetadata: {name: ${name}}\nspec: {members: ${JSON.stringify(members)}${extra}}`,
  binding: (name: string, role: string, subjects: Array<{ kind: string; name: string }>, scope: unknown) =>
    `${G}\nkind: RoleBinding\nmetadata: {name: ${name}}\nspec: {role: ${role}, subjects: ${JSON.stringify(subjects)}, scope: ${JSON.stringify(scope)}}`,
  namespace: (name: string, labels: Record<string, string> = {}) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}, labels: ${JSON.stringify(labels)}}`,
};

export const join = (...docs: string[]): string => docs.join('\n---\n') + '\n';
