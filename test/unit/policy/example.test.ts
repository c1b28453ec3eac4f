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

test('test on samples/: a failing expectation exits 1 and is named; --junit XML parses with the failure in it', async () => {
  const { mkdtemp, writeFile, readFile, rm } = await import('node:fs/promises');
  const os = await import('node:os');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-policy-test-'));
  try {
    const file = path.join(dir, 'samples-test.yaml');
    await writeFile(file, [
      `from: [${JSON.stringify(path.join(ROOT, 'samples'))}]`,
      `values: ${JSON.stringify(path.join(ROOT, 'helm/gatehouse/values.yaml'))}`,
      'tests:',
      '  - {as: alice, can: create jobs.batch, namespace: vision-dev, expect: "yes"}',
      '  - {name: bob is Pending and may not list pods, as: bob, can: list pods, namespace: vision-dev, expect: "no"}',
      '  - {name: carol runs jobs (wrong on purpose), as: carol, can: create jobs.batch, namespace: vision-dev, expect: "yes"}',
      '',
    ].join('\n'));
    const junitFile = path.join(dir, 'report.xml');
    const res = await cli(['test', file, '--junit', junitFile]);
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stdout, /FAIL {2}carol runs jobs \(wrong on purpose\)\n {8}expected yes, got no: user carol is Rejected/);
    assert.match(res.stdout, /2 passed, 1 failed: carol runs jobs \(wrong on purpose\)/);
    const xml = await readFile(junitFile, 'utf8');
    // A small reading of the XML, as a CI system's: every testcase, and which carry a failure.
    const suites = [...xml.matchAll(/<testsuite name="([^"]*)" tests="(\d+)" failures="(\d+)"/g)];
    assert.equal(suites.length, 1);
    assert.deepEqual([suites[0]?.[2], suites[0]?.[3]], ['3', '1']);
    const cases = [...xml.matchAll(/<testcase classname="[^"]*" name="([^"]*)"(\/>|>\s*<failure message="([^"]*)">[^<]*<\/failure>\s*<\/testcase>)/g)];
    assert.deepEqual(cases.map((c) => [c[1], c[2] === '/>' ? 'pass' : 'fail']), [
      ['alice can create jobs.batch in vision-dev: yes', 'pass'],
      ['bob is Pending and may not list pods', 'pass'],
      ['carol runs jobs (wrong on purpose)', 'fail'],
    ]);
    assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites '));
    assert.ok(xml.trimEnd().endsWith('</testsuites>'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('lint - reads stdin (kustomize build | kubectl gatehouse lint -)', async () => {
  const { readFile } = await import('node:fs/promises');
  const policy = await Promise.all(['namespaces', 'roles', 'teams', 'users', 'bindings'].map((f) => readFile(path.join(EXAMPLE, 'policy', `${f}.yaml`), 'utf8')));
  const res = await cli(['lint', '-', '--values', 'values.yaml'], policy.join('\n---\n'));
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /16 objects in 1 file \(-\): 0 errors, 0 warnings/);
});

test('examples/fleet: its expectations hold cluster by cluster, and can-i --cluster names the cluster in its reason', async () => {
  const dir = path.join(ROOT, 'examples/fleet');
  const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig', HOME: '/nonexistent' } }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr });
      });
    });
  const t = await run(['test', 'tests/fleet.yaml']);
  assert.equal(t.code, 0, t.stdout + t.stderr);
  assert.match(t.stdout, /9 passed, 0 failed/);
  const erin = await run(['can-i', 'create', 'jobs.batch', '-n', 'vision', '--as', 'erin', '--from', 'policy', '--values', 'values.yaml', '--cluster', 'gpu-us-1', '--cluster-labels', 'region=us']);
  assert.equal(erin.code, 1, erin.stdout + erin.stderr);
  assert.match(erin.stdout, /user erin may not act on cluster gpu-us-1/);
});
