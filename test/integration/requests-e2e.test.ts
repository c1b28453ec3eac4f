// Issue 23, access requests, end to end through the real API server as the users, in both
// authorization modes: the refusal that names the role to request (kubectl auth can-i in webhook
// mode, kubectl gatehouse explain in both), a request, each refusal the issue lists (a duration over
// maxDuration, a role that is not requestable, a forged requester, self-approval, an approver
// outside the role's approvers, approving for a requester suspended meanwhile, status written by a
// user), the approval, the grant in force, Events with the actor, its end at expiry, a revoke; and
// the notification webhook against a loopback receiver (signed, retried).
//
// Who is who:
//   sue    superuser.
//   alice  asks for researcher in team vision.
//   bob    member of team approvers, researcher's approvers.
//   carl   an Active user outside the approvers.
//   dan    asks too, and is suspended before bob approves.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Stack } from '../support/stack.js';
import { startWithWorld, world } from '../support/world.js';
import { assertDenied, assertOk, canIBecomes, create, getJson, mergePatch, rawMergePatch, userIs } from '../support/e2e.js';
import { eventually } from '../support/operator.js';
import { runCli } from '../support/cli.js';
import { sign, SIGNATURE_HEADER } from '../../src/requests/notify.js';
import type { ChildProcess } from 'node:child_process';
import { launchBrowser, startCliConsole } from '../support/browser.js';

const G = 'iam.gatehouse.dev';
const TEAM = `${G}/team`;
const API = `/apis/${G}/v1alpha1`;
const KEY = 'test-notify-key';

const WORLD = world()
  .namespace('vision-ns', { [TEAM]: 'vision' })
  .role('researcher', { permissions: ['pods:read'], requestable: { maxDuration: '1h', approvers: [{ kind: 'Team', name: 'approvers' }] } })
  .role('locked', ['secrets:read'])
  .users({ sue: { state: 'Active', superuser: true }, alice: { state: 'Active' }, bob: { state: 'Active' }, carl: { state: 'Active' }, dan: { state: 'Active' } })
  .team('vision', {})
  .team('approvers', { members: ['bob'] });

interface Received {
  body: string;
  signature: string | undefined;
}

/** A loopback notification receiver that answers 500 to its first POST (to see the retry). */
async function startReceiver(): Promise<{ url: string; got: Received[]; attempts: () => number; close: () => Promise<void> }> {
  const got: Received[] = [];
  let attempts = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      attempts++;
      if (attempts === 1) {
        res.statusCode = 500;
        res.end();
        return;
      }
      const sig = req.headers[SIGNATURE_HEADER];
      got.push({ body, signature: typeof sig === 'string' ? sig : undefined });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/hook`, got, attempts: () => attempts, close: () => new Promise((r) => server.close(() => r())) };
}

function cli(stack: Stack, as: string, args: string[]) {
  return runCli([...args, '--as', as], { kubeconfig: stack.cp.kubeconfigPath });
}

async function phaseOf(stack: Stack, name: string): Promise<string | undefined> {
  const obj = await getJson(stack, `accessrequests.${G}/${name}`);
  return obj.status?.['phase'] as string | undefined;
}

async function phaseBecomes(stack: Stack, name: string, phase: string, timeoutMs = 60_000): Promise<void> {
  await eventually(`request ${name} to be ${phase}`, async () => (await phaseOf(stack, name)) === phase, timeoutMs, 200);
}

/** `kubectl gatehouse request ...` as `as`; the new request's name. */
async function requestAs(stack: Stack, as: string, args: string[]): Promise<string> {
  const res = await cli(stack, as, ['request', ...args]);
  assertOk(res, `request ${args.join(' ')} as ${as}`);
  const m = /access request (\S+) made/.exec(res.stdout);
  assert.ok(m, res.stdout);
  return m[1]!;
}

function assertCliDenied(res: { code: number; stdout: string; stderr: string }, rule: string): void {
  assert.notEqual(res.code, 0, `expected a denial (${rule}): ${res.stdout}${res.stderr}`);
  assert.match(res.stderr, new RegExp(`\\(rule: ${rule}\\)`), res.stderr);
}

/** The console as `kubectl gatehouse console --as USER` starts it, opened on the Requests page. */
async function cliConsole(stack: Stack, as: string, children: ChildProcess[]): Promise<string> {
  return (await startCliConsole(stack.cp.kubeconfigPath, as, children)).replace('/?', '/requests?');
}

function requestYaml(spec: Record<string, unknown>): string {
  return `apiVersion: ${G}/v1alpha1\nkind: AccessRequest\nmetadata: {generateName: forged-}\nspec: ${JSON.stringify(spec)}\n`;
}

for (const mode of ['webhook', 'rbac'] as const) {
  describe(`access requests, authorization mode ${mode}`, () => {
    let stack: Stack;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let dir: string;

    before(async () => {
      receiver = await startReceiver();
      dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-requests-'));
      await writeFile(path.join(dir, 'key'), KEY);
      stack = await startWithWorld(WORLD, {
        authorizationMode: mode,
        config: { requests: { resyncMs: 300, notify: { url: receiver.url, secretFile: path.join(dir, 'key'), backoffInitialMs: 50 } } },
      });
      await canIBecomes(stack, ['delete', 'nodes'], 'sue', 'yes');
    });

    after(async () => {
      await stack?.stop();
      await receiver?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test('a refusal names the role to request (can-i in webhook mode, explain in both)', async () => {
      if (mode === 'webhook') {
        const r = await stack.kubectl(['auth', 'can-i', 'list', 'pods', '-n', 'vision-ns'], { as: 'alice' });
        assert.match(r.stdout.trim(), /^no - no Gatehouse role grants list pods in namespace vision-ns to user alice; to ask for access: kubectl gatehouse request researcher --team vision --for 1h --reason/);
      }
      const ex = await runCli(['explain', 'list', 'pods', '-n', 'vision-ns', '--as', 'alice'], { kubeconfig: stack.cp.kubeconfigPath });
      assert.equal(ex.code, 1, ex.stdout + ex.stderr);
      assert.match(ex.stdout, /role researcher may be requested \(approvers: Team approvers\): kubectl gatehouse request researcher --team vision --for 1h/);
      assert.match(ex.stdout, /Decision: .*kubectl gatehouse request researcher --team vision/);
    });

    test('refusals: over maxDuration, not requestable, forged requester', async () => {
      assertCliDenied(await cli(stack, 'alice', ['request', 'researcher', '--team', 'vision', '--for', '2h', '--reason', 'too long']), 'request-duration');
      assertCliDenied(await cli(stack, 'alice', ['request', 'locked', '--team', 'vision', '--for', '30m', '--reason', 'secrets']), 'request-not-requestable');
      const forged = await create(stack, requestYaml({ role: 'researcher', scope: { teams: ['vision'] }, duration: '30m', reason: 'as bob', requester: 'bob' }), { as: 'alice' });
      assertDenied(forged, 'request-requester', 'spec.requester');
      // Without the field, the requester is who asked.
      const own = await create(stack, requestYaml({ role: 'researcher', scope: { teams: ['vision'] }, duration: '30m', reason: 'mine' }), { as: 'carl' });
      assertOk(own, 'a request without requester');
      const name = /accessrequest\.iam\.gatehouse\.dev\/(\S+) created/.exec(own.stdout)?.[1];
      assert.ok(name, own.stdout);
      assert.equal((await getJson(stack, `accessrequests.${G}/${name}`)).spec['requester'], 'carl');
    });

    test('request, refusals of self-approval, of a non-approver and of a suspended requester, approval, grant, Events, end at expiry', async () => {
      const name = await requestAs(stack, 'alice', ['researcher', '--team', 'vision', '--for', '25s', '--reason', 'debug the training job']);
      await phaseBecomes(stack, name, 'Pending');
      const listed = await cli(stack, 'bob', ['request', 'list', '--to-approve']);
      assertOk(listed, 'list --to-approve');
      assert.match(listed.stdout, new RegExp(`${name}\\s+alice\\s+researcher`));

      assertCliDenied(await cli(stack, 'alice', ['request', 'approve', name]), 'request-self-approval');
      assertCliDenied(await cli(stack, 'carl', ['request', 'approve', name]), 'request-approver');
      // Status is the operator's: a user's write to the subresource is refused by authorization.
      const st = await rawMergePatch(stack, `${API}/accessrequests/${name}/status`, { status: { phase: 'Approved' } }, 'alice');
      assert.equal(st.status, 403, st.body);

      const dans = await requestAs(stack, 'dan', ['researcher', '--team', 'vision', '--for', '10m', '--reason', 'dan too']);
      assertOk(await mergePatch(stack, `users.${G}/dan`, { spec: { state: 'Suspended' } }), 'suspend dan');
      await userIs(stack, 'dan', 'Suspended');
      assertCliDenied(await cli(stack, 'bob', ['request', 'approve', dans]), 'request-inactive');

      await canIBecomes(stack, ['list', 'pods', '-n', 'vision-ns'], 'alice', 'no');
      assertOk(await cli(stack, 'bob', ['request', 'approve', name, '--comment', 'ok for today']), 'bob approves');
      await phaseBecomes(stack, name, 'Approved');
      const req = await getJson(stack, `accessrequests.${G}/${name}`);
      assert.equal(req.status?.['decidedBy'], 'bob');
      assert.equal(req.status?.['comment'], 'ok for today');
      const decisions = req.spec['decisions'] as Array<Record<string, unknown>>;
      assert.equal(decisions[0]?.['by'], 'bob', 'the actor is stamped from userInfo');
      const rb = await getJson<{ metadata: { ownerReferences?: Array<{ kind: string; name: string }> }; spec: { role: string; expiresAt?: string; subjects: unknown[] } }>(stack, `rolebindings.${G}/request-${name}`);
      assert.equal(rb.spec.role, 'researcher');
      assert.deepEqual(rb.spec.subjects, [{ kind: 'User', name: 'alice' }]);
      assert.ok(rb.spec.expiresAt);
      assert.deepEqual(rb.metadata.ownerReferences?.map((o) => [o.kind, o.name]), [['AccessRequest', name]]);
      await canIBecomes(stack, ['list', 'pods', '-n', 'vision-ns'], 'alice', 'yes');
      assert.equal((await stack.kubectl(['get', 'pods', '-n', 'vision-ns'], { as: 'alice' })).code, 0);

      const events = await eventually('Events on the request and on the user', async () => {
        const out = await stack.kubectlOk(['get', 'events', '-n', 'gatehouse-system', '-o', 'json']);
        const items = (JSON.parse(out) as { items: Array<{ reason: string; message: string; involvedObject: { kind: string; name: string } }> }).items;
        const onRequest = items.find((e) => e.involvedObject.kind === 'AccessRequest' && e.involvedObject.name === name && e.reason === 'RequestApproved');
        const onUser = items.find((e) => e.involvedObject.kind === 'User' && e.involvedObject.name === 'alice' && e.reason === 'AccessRequestApproved');
        return onRequest && onUser ? { onRequest, onUser } : undefined;
      });
      assert.match(events.onRequest.message, /actor bob/);

      // Its end at expiry: the grant stops, the phase says so, the RoleBinding is gone.
      await phaseBecomes(stack, name, 'Ended', 90_000);
      await canIBecomes(stack, ['list', 'pods', '-n', 'vision-ns'], 'alice', 'no');
      await eventually('the RoleBinding deleted', async () => (await stack.kubectl(['get', `rolebindings.${G}/request-${name}`])).code !== 0);
      const mine = await cli(stack, 'alice', ['request', 'list', '--mine']);
      assert.match(mine.stdout, new RegExp(`${name}\\s+alice\\s+researcher.*Ended`));
    });

    test('revoking by the requester ends the grant at once', async () => {
      const name = await requestAs(stack, 'alice', ['researcher', '--team', 'vision', '--for', '30m', '--reason', 'again']);
      assertOk(await cli(stack, 'bob', ['request', 'approve', name]), 'bob approves');
      await phaseBecomes(stack, name, 'Approved');
      await canIBecomes(stack, ['list', 'pods', '-n', 'vision-ns'], 'alice', 'yes');
      assertOk(await cli(stack, 'alice', ['request', 'revoke', name, '--comment', 'done']), 'alice revokes');
      await phaseBecomes(stack, name, 'Revoked');
      await canIBecomes(stack, ['list', 'pods', '-n', 'vision-ns'], 'alice', 'no');
    });

    test('console Requests page: ask, approve from another session (live), the grant shows', { skip: mode !== 'webhook' }, async () => {
      const children: ChildProcess[] = [];
      const b = await launchBrowser({ width: 1300, height: 800 });
      try {
        const [aliceUrl, bobUrl] = [await cliConsole(stack, 'alice', children), await cliConsole(stack, 'bob', children)];
        const alice = await b.context.newPage();
        const bob = await b.context.newPage();
        const errors: string[] = [];
        for (const p of [alice, bob]) p.on('pageerror', (e) => errors.push(e.message));
        await alice.goto(aliceUrl);
        await bob.goto(bobUrl);
        await alice.locator('#mine').waitFor();
        await bob.locator('#to-approve').waitFor();
        await bob.locator('#live', { hasText: 'live' }).waitFor();
        await alice.getByLabel('Role', { exact: true }).fill('researcher');
        await alice.getByLabel('Scope', { exact: true }).fill('team:vision');
        await alice.getByLabel('For', { exact: true }).fill('20m');
        await alice.getByLabel('Reason', { exact: true }).fill('from the console');
        await alice.getByRole('button', { name: 'Ask' }).click();
        const made = await alice.locator('#requests-result', { hasText: 'made' }).textContent();
        const name = /request (\S+) made/.exec(made ?? '')?.[1];
        assert.ok(name, made ?? '');
        await alice.locator(`#mine tr[data-request="${name}"][data-phase=Pending]`).waitFor();
        // Bob's page shows it without a reload, and his click approves it as bob.
        await bob.locator(`#to-approve tr[data-request="${name}"]`).waitFor({ timeout: 30_000 }).catch(async (err: Error) => {
          assert.fail(`${err.message}\nbob's page: ${await bob.locator('#main').textContent()}\nlive: ${await bob.locator('#live').textContent()}\nerrors: ${errors.join('; ')}`);
        });
        await bob.getByRole('button', { name: `Approve ${name}` }).click();
        await bob.locator('#requests-result', { hasText: 'approve recorded' }).waitFor();
        // Alice's page turns Approved by itself (live) and shows when the grant ends.
        const row = alice.locator(`#mine tr[data-request="${name}"][data-phase=Approved]`);
        await row.waitFor({ timeout: 30_000 });
        assert.match((await row.textContent()) ?? '', /approved by bob/);
        await canIBecomes(stack, ['list', 'pods', '-n', 'vision-ns'], 'alice', 'yes');
        assert.deepEqual(errors, []);
      } finally {
        await b.close();
        for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
      }
    });

    test('notifications: a signed JSON POST per change, retried after a failure', async () => {
      const got = await eventually('an Approved notice', () => receiver.got.find((g) => (JSON.parse(g.body) as { phase: string }).phase === 'Approved'));
      assert.equal(got.signature, sign(KEY, got.body));
      const notice = JSON.parse(got.body) as Record<string, unknown>;
      assert.equal(notice['actor'], 'bob');
      assert.equal(notice['role'], 'researcher');
      assert.ok(receiver.attempts() > receiver.got.length, 'the first POST failed and was retried');
    });
  });
}
