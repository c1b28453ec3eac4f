// The real kube-apiserver calls Gatehouse's authorization webhook (SubjectAccessReview v1 over
// TLS, verified against the webhook's CA) with a simple injected authorize: allow, explicit deny
// (which beats an RBAC grant when the webhook is asked first), no opinion, and an internal error
// that must not deny what RBAC allows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { ControlPlane, makeServingCert } from '../../src/controlplane/controlplane.js';
import { createWebhookServer, type WebhookServer } from '../../src/webhook/server.js';
import { createWebhookRoutes } from '../../src/webhook/routes.js';
import { createAuthorizeHandler } from '../../src/webhook/sar.js';
import { createWebhookMetrics, type WebhookMetrics } from '../../src/webhook/metrics.js';
import { silentLogger } from '../../src/log.js';
import type { AccessRequest, Decision } from '../../src/authz/types.js';

let dir: string;
let cp: ControlPlane;
let server: WebhookServer;
let metrics: WebhookMetrics;
const seen: AccessRequest[] = [];

function authorize(req: AccessRequest): Decision {
  seen.push(req);
  if (req.user === 'mallory') return { verdict: 'deny', code: 'inactive', reason: 'user mallory is Suspended' };
  if (req.user === 'broken') throw new Error('simulated bug in decide()');
  const r = req.resource;
  if (req.user === 'alice' && r && r.verb === 'get' && r.group === '' && r.resource === 'pods' && !r.subresource) {
    return { verdict: 'allow', code: 'binding', reason: 'role viewer via binding alice-viewer (User alice) in namespace default' };
  }
  return { verdict: 'noOpinion', code: 'noMatch', reason: 'no Gatehouse rule matches' };
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-webhook-it-'));
  const tls = await makeServingCert(path.join(dir, 'pki'), 'gatehouse-webhook');
  const logger = silentLogger();
  metrics = createWebhookMetrics();
  server = createWebhookServer({
    server: { host: '127.0.0.1', port: 0, certFile: tls.cert, keyFile: tls.key, maxBodyBytes: 3 * 1024 * 1024, requestTimeoutMs: 10_000 },
    logger,
    metrics,
    routes: createWebhookRoutes({ authorize: createAuthorizeHandler({ authorize, isReady: () => true, logger, metrics }), isReady: () => true, metrics }),
  });
  const { port } = await server.listen();
  cp = await ControlPlane.start({ authorizationWebhook: { url: `https://127.0.0.1:${port}/authorize`, caFile: tls.caCert } });
  // RBAC grants mallory and broken what the webhook is about to refuse or fail on.
  await cp.kubectlOk(['create', 'clusterrole', 'pod-reader', '--verb=get,list', '--resource=pods']);
  await cp.kubectlOk(['create', 'clusterrolebinding', 'pod-readers', '--clusterrole=pod-reader', '--user=mallory', '--user=broken', '--user=carol']);
});

after(async () => {
  await cp?.stop();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `yes` or `no` (kubectl adds " - reason" after a no); the full output for messages. */
async function canI(args: string[], as: string): Promise<string> {
  const res = await cp.kubectl(['auth', 'can-i', ...args], { as });
  // can-i exits 1 for "no"; anything else is a failure of the test setup.
  assert.ok(res.code === 0 || res.code === 1, `kubectl auth can-i failed: ${res.stderr}`);
  return res.stdout.trim().split(/\s/)[0] ?? '';
}

test('the webhook allows what authorize allows: alice may get pods, not delete them', async () => {
  assert.equal(await canI(['get', 'pods', '-n', 'default'], 'alice'), 'yes');
  assert.equal(await canI(['delete', 'pods', '-n', 'default'], 'alice'), 'no');
  const req = seen.find((r) => r.user === 'alice' && r.resource?.verb === 'get');
  assert.ok(req, 'the apiserver sent alice\'s request to the webhook');
  assert.equal(req.resource?.resource, 'pods');
  assert.equal(req.resource?.namespace, 'default');
  assert.ok(req.groups.includes('system:authenticated'), 'groups arrive from the v1 review');
});

test('no opinion from the webhook leaves the answer to RBAC', async () => {
  assert.equal(await canI(['get', 'pods', '-n', 'default'], 'bob'), 'no');
  assert.equal(await canI(['get', 'pods', '-n', 'default'], 'carol'), 'yes', 'RBAC grants carol');
});

test('an explicit deny (denied: true) beats an RBAC grant', async () => {
  // The admin asks the API server about mallory: the whole authorizer chain answers.
  const review = JSON.stringify({
    apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
    spec: { user: 'mallory', groups: ['system:authenticated'], resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'default' } },
  });
  const out = JSON.parse(await cp.kubectlOk(['create', '-f', '-', '-o', 'json'], { input: review })) as { status: Record<string, unknown> };
  assert.equal(out.status['allowed'], false);
  assert.equal(out.status['denied'], true);
  assert.match(String(out.status['reason']), /mallory is Suspended/);
  // Everything mallory does is refused, even though RBAC grants get pods.
  const res = await cp.kubectl(['get', 'pods', '-n', 'default'], { as: 'mallory' });
  assert.notEqual(res.code, 0);
  assert.match(res.stderr, /forbidden/i);
});

test('an internal error is no opinion (evaluationError), not a deny: RBAC still decides', async () => {
  assert.equal(await canI(['get', 'pods', '-n', 'default'], 'broken'), 'yes');
  assert.equal(await canI(['delete', 'pods', '-n', 'default'], 'broken'), 'no');
});

test('the decisions show in /metrics', async () => {
  const text = await metrics.render();
  assert.match(text, /gatehouse_authorization_decisions_total\{verdict="allow",code="binding"\} [1-9]/);
  assert.match(text, /gatehouse_authorization_decisions_total\{verdict="deny",code="inactive"\} [1-9]/);
  assert.match(text, /gatehouse_authorization_decisions_total\{verdict="error",code="evaluationError"\} [1-9]/);
});
