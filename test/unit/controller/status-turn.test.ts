// Access first (issue 26): while the RBAC applier writes a large batch of grants, the controller's
// status writes wait (statusTurn); they go at once when the batch is small or done, and when the
// batch makes no progress (the API server refusing), so status can still say what is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionIndex } from '../../../src/authz/index.js';
import { parseConfig } from '../../../src/config.js';
import { silentLogger } from '../../../src/log.js';
import { createRbacApplier } from '../../../src/controller/rbac-applier.js';
import type { KubeRequest } from '../../../src/controller/kube.js';
import { FakeKube, listOf } from '../../support/fake-kube.js';
import { FakeClock, settle } from '../../support/fake-clock.js';
import { binding, ns, role, user } from '../../support/authz.js';

const NAMESPACES = 400;

async function harness() {
  const clock = new FakeClock();
  const config = parseConfig({ authorization: { mode: 'rbac', rbac: { writesPerSecond: 10_000 } } });
  // One binding over many namespaces: one native RoleBinding per namespace, a large batch.
  const names = Array.from({ length: NAMESPACES }, (_, i) => `ns-${i}`);
  const index = PermissionIndex.build({
    users: [user('alice', { state: 'Active' })],
    roles: [role('reader', ['pods:get'])],
    bindings: [binding('b', 'reader', ['alice'], { namespaces: names })],
    namespaces: names.map((n) => ns(n)),
    teams: [],
  }, config, () => clock.now());
  const kube = new FakeKube();
  const held: Array<() => void> = [];
  kube.handler = (req: KubeRequest) => {
    if (req.method === 'GET' && req.path === '/apis') return { groups: [] };
    if (req.method === 'GET') return listOf([], '1');
    if (req.method === 'POST') {
      const body = req.body as { metadata: Record<string, unknown> };
      return new Promise((resolve) => held.push(() => resolve({ ...body, metadata: { ...body.metadata, resourceVersion: '2', uid: 'u' } })));
    }
    return {};
  };
  const term = new AbortController();
  const applier = createRbacApplier({ client: kube, index, config, logger: silentLogger(), clock, term: () => term.signal });
  for (const inf of applier.informers) inf.start();
  await settle(20);
  applier.start();
  applier.resync();
  await clock.advance(10);
  await settle(20);
  /** Whether statusTurn resolves within a few turns of the event loop (no time passing). */
  const turnGoes = async (): Promise<boolean> => {
    let went = false;
    void applier.statusTurn(term.signal).then(() => (went = true));
    await settle(20);
    return went;
  };
  const release = async (n: number): Promise<void> => {
    for (const r of held.splice(0, n)) r();
    await settle(20);
  };
  return { clock, applier, held, turnGoes, release, term };
}

test('statuses wait while a large batch of grants is being written, and go once it is done', async () => {
  const h = await harness();
  assert.ok(h.held.length > 0, 'the applier started writing');
  await h.release(10);
  assert.ok(h.applier.metrics().pending >= 200, `a large backlog (${h.applier.metrics().pending})`);
  assert.equal(await h.turnGoes(), false, 'a status write waits while grants are being written');
  // Drain the batch: every create answered.
  for (let i = 0; i < 100 && h.applier.metrics().pending > 0; i++) {
    await h.release(h.held.length);
    await h.clock.advance(100);
  }
  assert.equal(h.applier.metrics().pending, 0);
  assert.equal(await h.turnGoes(), true, 'statuses go once the grants are written');
  h.term.abort();
  await h.applier.stop();
});

test('a batch that makes no progress holds statuses back for a few seconds at most', async () => {
  const h = await harness();
  await h.release(10);
  assert.equal(await h.turnGoes(), false);
  let went = false;
  void h.applier.statusTurn(h.term.signal).then(() => (went = true));
  // Nothing is answered for longer than the progress window: the status goes though grants are pending.
  for (let i = 0; i < 30 && !went; i++) await h.clock.advance(250);
  assert.equal(went, true, 'a stuck batch does not starve status');
  assert.ok(h.applier.metrics().pending > 0);
  h.term.abort();
  await h.applier.stop();
});
