// `npm run local -- --detach` on a fresh state dir: the samples are in, a sample user's request
// goes through the real API server to the operator, and `--down` leaves no process behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
    assert.equal(pids.length, 5, 'supervisor, etcd, kube-apiserver, kube-controller-manager, operator');
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

// Issue 19, finding 9: `--values` with credentials used to be dropped without a word. Now every
// chart value reaches the local operator or is refused by name, the local API server calls the
// token webhook, and the printed invite -> activate -> proxy path works as printed.
test('npm run local -- --values with credentials: invite, activate and kubectl through the proxy as printed; a deployment value is refused by name', { timeout: 300_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-local-cred-'));
  const env = { ...process.env, GATEHOUSE_SKIP_SETUP: '1' };
  const root = repoRoot();
  const npm = (args: string[]) => runCommand('npm', ['run', '--silent', 'local', '--', ...args, '--dir', dir], { env, timeoutMs: 240_000, cwd: root });
  const valuesFile = path.join(dir, 'values.yaml');
  const badFile = path.join(dir, 'bad.yaml');
  await mkdir(dir, { recursive: true });
  await writeFile(valuesFile, 'credentials: {enabled: true, invitationTTLSeconds: 600}\nconsole: {enabled: true}\nreplicas: 2\n');
  await writeFile(badFile, 'credentials: {enabled: true}\nreplicas: 3\nimage: {tag: v9}\nproxyService: {type: LoadBalancer}\n');
  let pids: number[] = [];
  try {
    const refused = await npm(['--detach', '--values', badFile]);
    assert.notEqual(refused.code, 0, 'a values file with deployment settings is refused');
    assert.match(refused.stderr, /cannot apply replicas, image\.tag, proxyService\.type/);

    const up = await npm(['--detach', '--values', valuesFile]);
    assert.equal(up.code, 0, up.stderr);
    const state = JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as { supervisorPid: number; pids: number[]; kubeconfig: string };
    pids = [state.supervisorPid, ...state.pids];
    const config = await readFile(path.join(dir, 'config.yaml'), 'utf8');
    assert.match(config, /invitationTTLSeconds: 600/, 'credentials settings reach the operator');
    assert.match(config, /console:\n\s+enabled: true/);

    // The printed lines, run as printed (from the repository root, where npm runs).
    const invite = /^\s*(node \S+ --kubeconfig \S+ user invite alice)\b/m.exec(up.stdout)?.[1];
    assert.ok(invite, `no invite line in:\n${up.stdout}`);
    const [cmd, ...args] = invite.split(' ');
    const invited = await runCommand(cmd!, args, { cwd: root, env });
    assert.equal(invited.code, 0, invited.stderr);
    const act = /kubectl gatehouse activate (gatehouse_inv_\S+) --server (\S+) --certificate-authority-data (\S+)/.exec(invited.stdout);
    assert.ok(act, invited.stdout);
    const activateLine = /^\s*(node \S+) activate <gatehouse_inv_\.\.\.> .* --kubeconfig (\S+)/m.exec(up.stdout);
    assert.ok(activateLine, up.stdout);
    const [node, cli] = activateLine[1]!.split(' ');
    const aliceCfg = activateLine[2]!;
    const activated = await runCommand(node!, [cli!, 'activate', act[1]!, '--server', act[2]!, '--certificate-authority-data', act[3]!, '--kubeconfig', aliceCfg], { cwd: root, env });
    assert.equal(activated.code, 0, activated.stdout + activated.stderr);

    const kubectl = (args: string[]) => runCommand(controlPlaneEnv().kubectl, args, { cwd: root });
    const mine = await kubectl(['--kubeconfig', aliceCfg, 'get', 'pods', '-n', 'vision-dev']);
    assert.equal(mine.code, 0, `as alice through the proxy: ${mine.stderr}`);
    const notMine = await kubectl(['--kubeconfig', aliceCfg, 'get', 'pods', '-n', 'nlp-dev']);
    assert.match(notMine.stderr, /User "alice" cannot list resource "pods"/);
    // The same token straight at the local API server: the token webhook is wired.
    const token = /token: (gatehouse_usr_\S+)/.exec(await readFile(path.resolve(root, aliceCfg), 'utf8'))?.[1];
    assert.ok(token);
    const direct = await kubectl(['--kubeconfig', state.kubeconfig, '--token', token, 'get', 'pods', '-n', 'vision-dev']);
    assert.equal(direct.code, 0, `alice's token at the API server: ${direct.stderr}`);
    assert.match(up.stdout, /Console \(console\.enabled\): http:\/\/127\.0\.0\.1:\d+\//);
  } finally {
    const down = await npm(['--down']);
    assert.equal(down.code, 0, down.stderr);
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(pids.filter(alive), [], 'no process left behind');
});
