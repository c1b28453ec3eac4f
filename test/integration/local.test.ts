// `npm run local -- --detach` on a fresh state dir: the samples are in, a sample user's request
// goes through the real API server to the operator, and `--down` leaves no process behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCommand } from '../../src/controlplane/controlplane.js';
import { controlPlaneEnv } from '../../src/config.js';
import { repoRoot } from '../support/helm.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('npm run local -- --detach, act as sample users, then --down stops everything', { timeout: 300_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-local-'));
  const env = { ...process.env, GATEHOUSE_SKIP_SETUP: '1' };
  const npm = (args: string[]) => runCommand('npm', ['run', '--silent', 'local', '--', ...args, '--dir', dir], { env, timeoutMs: 240_000, cwd: repoRoot() });
  let pids: number[] = [];
  try {
    const up = await npm(['--detach']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /--as alice get pods -n vision-dev/);
    const state = JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as { supervisorPid: number; pids: number[]; kubeconfig: string };
    pids = [state.supervisorPid, ...state.pids];
    assert.equal(pids.length, 4, 'supervisor, etcd, kube-apiserver, operator');
    assert.ok(pids.every(alive));

    const kubectl = (args: string[]) => runCommand(controlPlaneEnv().kubectl, ['--kubeconfig', state.kubeconfig, ...args]);
    const alice = await kubectl(['--as', 'alice', 'get', 'pods', '-n', 'vision-dev']);
    assert.equal(alice.code, 0, alice.stderr);
    const aliceElsewhere = await kubectl(['--as', 'alice', 'get', 'pods', '-n', 'nlp-dev']);
    assert.match(aliceElsewhere.stderr, /Forbidden.*no Gatehouse role grants list pods in namespace nlp-dev to user alice/);
    const bob = await kubectl(['--as', 'bob', 'get', 'pods', '-n', 'vision-dev']);
    assert.match(bob.stderr, /Forbidden.*user bob is Pending/);
    const presets = await kubectl(['get', 'ghrole', '-l', 'iam.gatehouse.dev/preset=runai', '-o', 'name']);
    assert.equal(presets.stdout.trim().split('\n').length, 7, 'the seven Run:ai preset roles');
  } finally {
    const down = await npm(['--down']);
    assert.equal(down.code, 0, down.stderr);
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(pids.filter(alive), [], 'no process left behind');
});
