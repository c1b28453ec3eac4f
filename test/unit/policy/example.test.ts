// examples/gitops stays true: its policy lints clean and its expectations hold, through the real
// plugin binary with a kubeconfig that points nowhere (no cluster could answer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const EXAMPLE = path.join(ROOT, 'examples/gitops');

function cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd: EXAMPLE, env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig', HOME: '/nonexistent' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

test('examples/gitops: lint is clean and every expectation holds, with no cluster anywhere', async () => {
  const lint = await cli(['lint', 'policy', '--values', 'values.yaml']);
  assert.equal(lint.code, 0, lint.stdout + lint.stderr);
  assert.match(lint.stdout, /0 errors, 0 warnings/);
  const t = await cli(['test', 'tests/access.yaml']);
  assert.equal(t.code, 0, t.stdout + t.stderr);
  assert.match(t.stdout, /\d+ passed, 0 failed/);
  const can = await cli(['can-i', 'create', 'jobs.batch', '-n', 'vision-dev', '--as', 'alice', '--from', 'policy', '--values', 'values.yaml']);
  assert.equal(can.code, 0, can.stdout + can.stderr);
  assert.match(can.stdout, /no cluster contacted/);
});

test('examples/gitops: the CI job runs lint, test and diff', async () => {
  const { readFile } = await import('node:fs/promises');
  const job = await readFile(path.join(EXAMPLE, 'ci/gatehouse-policy.yml'), 'utf8');
  for (const verb of ['lint', 'test', 'diff']) assert.match(job, new RegExp(`kubectl gatehouse ${verb} `));
  const app = await readFile(path.join(EXAMPLE, 'argocd/application.yaml'), 'utf8');
  assert.match(app, /kind: Application/);
});
