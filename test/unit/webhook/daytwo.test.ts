// Issue 31 in the webhook server: a certificate installed through the API (certs.mode operator)
// is served from the next handshake on without a restart, readiness waits for a trusted
// certificate, and the day-two series carry the controller's figures and the served expiry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { createGatehouseWebhook } from '../../../src/webhook/index.js';
import { createWebhookMetrics } from '../../../src/webhook/metrics.js';
import { parseConfig } from '../../../src/config.js';
import { silentLogger } from '../../../src/log.js';
import { issueCa, issueServing } from '../../../src/certs/x509.js';
import { fakeAuthorize } from './helpers.js';

function served(port: number, ca: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const c = new X509Certificate(s.getPeerCertificate().raw);
      s.end();
      resolve(c);
    });
    s.on('error', reject);
  });
}

test('an installed certificate is served at once, a second one from the next handshake; readiness waits for trust; the day-two series', async () => {
  const now = Date.now();
  const ca = issueCa({ commonName: 'ca', notBefore: now - 1000, notAfter: now + 3_600_000 });
  const one = issueServing(ca, { commonName: 'a', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], notBefore: now - 1000, notAfter: now + 600_000 });
  const two = issueServing(ca, { commonName: 'b', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], notBefore: now - 1000, notAfter: now + 1_200_000 });
  const config = parseConfig({ server: { host: '127.0.0.1', port: 0, certFile: '/nonexistent', keyFile: '/nonexistent' } });
  let trusted = false;
  const figures = { leader: true, reconcileErrors: 3, leaderAcquisitions: 2, lastSyncByKind: { User: now, Role: 0 } };
  const wh = createGatehouseWebhook({
    config, logger: silentLogger(), authorize: fakeAuthorize, isReady: () => true,
    externalCertificates: true, servingTrusted: () => trusted, controllerMetrics: () => figures,
  });
  await assert.rejects(wh.server.listen(), /no serving certificate installed/);
  wh.server.installCertificate(one);
  const { port } = await wh.server.listen();
  try {
    assert.equal((await served(port, ca.cert)).subject, 'O=Gatehouse\nCN=a');
    // A pair that does not fit is refused and the current one stays.
    assert.throws(() => wh.server.installCertificate({ cert: two.cert, key: one.key }));
    assert.equal((await served(port, ca.cert)).subject, 'O=Gatehouse\nCN=a');
    wh.server.installCertificate(two);
    assert.equal((await served(port, ca.cert)).subject, 'O=Gatehouse\nCN=b');
    const readyz = async (): Promise<{ status: number; body: string }> => {
      const r = await wh.server.inject({ url: '/readyz' });
      return { status: r.status, body: r.body };
    };
    assert.deepEqual(await readyz(), { status: 503, body: 'serving certificate not trusted by the webhook configurations yet\n' });
    trusted = true;
    assert.equal((await readyz()).status, 200);
    const metrics = await wh.metrics.render();
    assert.match(metrics, /^gatehouse_leader 1$/m);
    assert.match(metrics, /^gatehouse_reconcile_errors_total 3$/m);
    assert.match(metrics, /^gatehouse_leader_acquisitions_total 2$/m);
    assert.match(metrics, new RegExp(`^gatehouse_last_sync_timestamp_seconds\\{kind="User"\\} ${now / 1000}$`, 'm'));
    const expiry = Date.parse(new X509Certificate(two.cert).validTo) / 1000;
    assert.match(metrics, new RegExp(`^gatehouse_serving_certificate_expiry_timestamp_seconds ${expiry}$`, 'm'));
    figures.leader = false;
    figures.reconcileErrors = 5;
    const again = await wh.metrics.render();
    assert.match(again, /^gatehouse_leader 0$/m);
    assert.match(again, /^gatehouse_reconcile_errors_total 5$/m);
  } finally {
    await wh.server.close();
  }
});

test('team budget gauges: one series per team and resource, read at scrape time', async () => {
  let samples = [{ team: 'research', resource: 'requests.nvidia.com/gpu', hard: 8, used: 3 }];
  const metrics = createWebhookMetrics({ teamQuotas: () => samples });
  const first = await metrics.render();
  assert.match(first, /gatehouse_team_quota_hard\{team="research",resource="requests.nvidia.com\/gpu"\} 8/);
  assert.match(first, /gatehouse_team_quota_used\{team="research",resource="requests.nvidia.com\/gpu"\} 3/);
  samples = [{ team: 'vision', resource: 'pods', hard: 20, used: 0 }];
  const second = await metrics.render();
  assert.match(second, /gatehouse_team_quota_hard\{team="vision",resource="pods"\} 20/);
  assert.doesNotMatch(second, /team="research"/, 'a team gone from the samples is gone from the scrape');
});
