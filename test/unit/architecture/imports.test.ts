// The source tree's import rules (issue 21, docs/architecture.md "Rooms and who may import whom"):
//   - the console (src/console/) imports nothing from the kubectl plugin (src/cli/): both faces
//     stand on the client core (src/client/), and a change to a command's argument handling cannot
//     break a page;
//   - the operator process (everything src/main.ts and src/operator.ts reach) reaches nothing in
//     src/cli/;
//   - the client core imports neither face, and has no import circle;
//   - src/authz/ has no import circle (type imports count: the index's parts take their shared
//     types from index-types.ts, which imports none of them).
// Read from the TypeScript sources, so a violating import fails here before anything runs.
import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { localImportsOf, sourceFiles } from '../../support/source-imports.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/test/unit/architecture -> the repository root.
const root = resolve(here, '../../../..');

type Graph = ReadonlyMap<string, readonly { to: string; text: string }[]>;

function sourceGraph(): Graph {
  const graph = new Map<string, { to: string; text: string }[]>();
  for (const file of sourceFiles(root, 'src')) graph.set(file, localImportsOf(root, file));
  return graph;
}

/** Imports from a file under `from` to a file under `to`, as "file: statement". */
export function directImports(graph: Graph, from: string, to: string): string[] {
  const out: string[] = [];
  for (const [file, imports] of graph) {
    if (!file.startsWith(from)) continue;
    for (const i of imports) if (i.to.startsWith(to)) out.push(`${file}: ${i.text}`);
  }
  return out;
}

/** The files under `forbidden` reachable from `entries`, each with the chain that reaches it. */
export function reachable(graph: Graph, entries: readonly string[], forbidden: string): string[] {
  const via = new Map<string, string[]>();
  const queue = entries.map((e) => [e]);
  for (const e of entries) via.set(e, [e]);
  const out: string[] = [];
  while (queue.length > 0) {
    const chain = queue.shift()!;
    const file = chain[chain.length - 1]!;
    if (file.startsWith(forbidden)) {
      out.push(chain.join(' -> '));
      continue;
    }
    for (const i of graph.get(file) ?? []) {
      if (via.has(i.to)) continue;
      const next = [...chain, i.to];
      via.set(i.to, next);
      queue.push(next);
    }
  }
  return out;
}

/** Import circles among the files under `dir`: each as "a -> b -> ... -> a". */
export function circles(graph: Graph, dir: string): string[] {
  const out: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const i of graph.get(file) ?? []) {
      if (!i.to.startsWith(dir)) continue;
      const s = state.get(i.to);
      if (s === 'open') out.push([...stack.slice(stack.indexOf(i.to)), i.to].join(' -> '));
      else if (s === undefined) visit(i.to);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].filter((f) => f.startsWith(dir)).sort()) if (!state.has(file)) visit(file);
  return out;
}

describe('import rules of the source tree', () => {
  const graph = sourceGraph();

  it('reads the tree (the reader finds files and imports)', () => {
    assert.ok(graph.size > 50, `only ${graph.size} files under src/`);
    assert.ok((graph.get('src/operator.ts') ?? []).length > 5, 'src/operator.ts: no imports found; the reader is broken');
    assert.ok(graph.has('src/authz/index-types.ts'));
  });

  it('src/console/ imports nothing from src/cli/', () => {
    assert.deepEqual(directImports(graph, 'src/console/', 'src/cli/'), []);
  });

  it('the operator process (src/main.ts, src/operator.ts) reaches nothing in src/cli/', () => {
    assert.deepEqual(reachable(graph, ['src/main.ts', 'src/operator.ts'], 'src/cli/'), []);
  });

  it('the client core (src/client/) imports neither face', () => {
    assert.ok([...graph.keys()].some((f) => f.startsWith('src/client/')), 'src/client/ is missing');
    assert.deepEqual(directImports(graph, 'src/client/', 'src/cli/'), []);
    assert.deepEqual(directImports(graph, 'src/client/', 'src/console/'), []);
  });

  it('src/authz/ has no import circle', () => {
    assert.deepEqual(circles(graph, 'src/authz/'), []);
  });

  it('src/client/ has no import circle', () => {
    assert.deepEqual(circles(graph, 'src/client/'), []);
  });

  it('index-types.ts imports none of the index parts', () => {
    const parts = ['index', 'placement', 'memberships', 'role-table', 'user-records'].map((p) => `src/authz/${p}.ts`);
    assert.deepEqual((graph.get('src/authz/index-types.ts') ?? []).filter((i) => parts.includes(i.to)).map((i) => i.text), []);
  });

  it('the checks catch violations (synthetic tree)', () => {
    const g: Graph = new Map([
      ['src/console/api.ts', [{ to: 'src/cli/kube.ts', text: "import { x } from '../cli/kube.js'" }]],
      ['src/main.ts', [{ to: 'src/operator.ts', text: '' }]],
      ['src/operator.ts', [{ to: 'src/console/api.ts', text: '' }]],
      ['src/cli/kube.ts', []],
      ['src/authz/a.ts', [{ to: 'src/authz/b.ts', text: '' }]],
      ['src/authz/b.ts', [{ to: 'src/authz/a.ts', text: '' }]],
    ]);
    assert.deepEqual(directImports(g, 'src/console/', 'src/cli/'), ["src/console/api.ts: import { x } from '../cli/kube.js'"]);
    assert.deepEqual(reachable(g, ['src/main.ts'], 'src/cli/'), ['src/main.ts -> src/operator.ts -> src/console/api.ts -> src/cli/kube.ts']);
    assert.deepEqual(circles(g, 'src/authz/'), ['src/authz/a.ts -> src/authz/b.ts -> src/authz/a.ts']);
  });
});
