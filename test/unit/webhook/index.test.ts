// createGatehouseWebhook wired to the real core: decide() over an index answers /authorize,
// registration `auto` creates Pending Users for unknown users, break-glass follows the config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionIndex } from '../../../src/authz/index.js';
import { decide } from '../../../src/authz/decide.js';
import { createGatehouseWebhook, defaultBreakGlass } from '../../../src/webhook/index.js';
import { parseConfig } from '../../../src/config.js';
import { silentLogger } from '../../../src/log.js';
import { binding, role, team, user } from '../../support/authz.js';
import { sar, admissionReview } from './helpers.js';

function setup(raw: Record<string, unknown> = {}) {
  const config = parseConfig({ ...raw, server: { certFile: '/nonexistent', keyFile: '/nonexistent' } });
  const index = PermissionIndex.build({
    users: [user('alice'), user('mallory', { state: 'Suspended' })],
    roles: [role('viewer', ['pods:read'])],
    teams: [team('vision', { members: ['alice'], namespaces: ['vision-dev'] })],
    bindings: [binding('vision-viewers', 'viewer', [{ kind: 'Team', name: 'vision' }], { teams: ['vision'] })],
  }, config);
  const created: string[] = [];
  const webhook = createGatehouseWebhook({
    config,
    logger: silentLogger(),
    authorize: (req) => decide(index, req),
    isReady: () => index.synced,
    validate: (r) => ({ allowed: r.requester.user === 'alice' }),
    createPendingUser: async (u) => { created.push(u); },
    indexGeneration: () => index.generation,
  });
  return { webhook, created, config };
}

async function status(webhook: ReturnType<typeof setup>['webhook'], body: unknown): Promise<Record<string, unknown>> {
  const res = await webhook.server.inject({ method: 'POST', url: '/authorize', body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  return res.json<{ status: Record<string, unknown> }>().status;
}

test('decide() answers through the webhook: allow with the rule, deny for a suspended user', async () => {
  const { webhook } = setup();
  const allow = await status(webhook, sar({ user: 'alice', groups: ['system:authenticated'], namespace: 'vision-dev' }));
  assert.equal(allow['allowed'], true);
  assert.match(String(allow['reason']), /viewer/);
  const deny = await status(webhook, sar({ user: 'mallory', groups: ['system:authenticated'] }));
  assert.equal(deny['denied'], true);
  assert.match(await webhook.metrics.render(), /gatehouse_index_generation [1-9]/);
});

test('registration auto: an unknown user gets a Pending User, the answer stays no opinion', async () => {
  const { webhook, created } = setup({ registration: { auto: true } });
  const s = await status(webhook, sar({ user: 'newbie', groups: ['system:authenticated'] }));
  assert.equal(s['allowed'], false);
  assert.equal(s['denied'], undefined);
  await status(webhook, sar({ user: 'newbie', groups: ['system:authenticated'] }));
  await webhook.registrar?.idle();
  assert.deepEqual(created, ['newbie']);
});

test('registration auto off: nobody is created', async () => {
  const { webhook, created } = setup();
  await status(webhook, sar({ user: 'newbie', groups: ['system:authenticated'] }));
  assert.equal(webhook.registrar, undefined);
  assert.deepEqual(created, []);
});

test('break-glass: the operator service account and system:masters are recognised from the config', async () => {
  const { webhook, config } = setup();
  const glass = defaultBreakGlass(config);
  assert.equal(glass({ user: config.operator.serviceAccountUsername, groups: [] }), true);
  assert.equal(glass({ user: 'root', groups: ['system:masters'] }), true);
  assert.equal(glass({ user: 'bob', groups: ['system:authenticated'] }), false);
  // The validator's answer stands for break-glass callers too (the admission policy lets them
  // through itself, with warnings); the adapter only overrides a validator that fails.
  const res = await webhook.server.inject({ method: 'POST', url: '/validate', body: JSON.stringify(admissionReview({ username: 'alice', groups: ['system:masters'] })) });
  assert.equal(res.json<{ response: { allowed: boolean } }>().response.allowed, true);
  const denied = await webhook.server.inject({ method: 'POST', url: '/validate', body: JSON.stringify(admissionReview({ username: 'bob' })) });
  assert.equal(denied.json<{ response: { allowed: boolean } }>().response.allowed, false);
});
