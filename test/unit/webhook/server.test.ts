// The HTTPS server: routing and error answers (through inject() and over real TLS on loopback),
// body limits and timeouts, keep-alive, certificate rotation without dropped connections, client
// certificate verification, probes and metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, readFile, rm, copyFile, rename } from 'node:fs/promises';
import { makeServingCert, type TlsFiles } from '../../../src/controlplane/controlplane.js';
import { createWebhookServer, type WebhookServer } from '../../../src/webhook/server.js';
import { createWebhookRoutes } from '../../../src/webhook/routes.js';
import { createAuthorizeHandler } from '../../../src/webhook/sar.js';
import { createAdmissionHandler } from '../../../src/webhook/admission.js';
import { createWebhookMetrics, type WebhookMetrics } from '../../../src/webhook/metrics.js';
import { silentLogger } from '../../../src/log.js';
import type { ServerConfig } from '../../../src/config.js';
import { serverConfig, sar, admissionReview, fakeAuthorize, request } from './helpers.js';

let dir: string;
let certs: TlsFiles;
let rotated: TlsFiles;
let client: TlsFiles;
let foreign: TlsFiles;
let ca: Buffer;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-webhook-'));
  certs = await makeServingCert(path.join(dir, 'pki'), 'webhook');
  rotated = await makeServingCert(path.join(dir, 'pki'), 'webhook-rotated');
  client = await makeServingCert(path.join(dir, 'pki'), 'kube-apiserver');
  foreign = await makeServingCert(path.join(dir, 'other-pki'), 'intruder');
  ca = await readFile(certs.caCert);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Harness {
  server: WebhookServer;
  metrics: WebhookMetrics;
  setReady(v: boolean): void;
  port: number;
}

const started: WebhookServer[] = [];
after(async () => {
  for (const s of started) await s.close();
});

async function start(config: ServerConfig, opts: { listen?: boolean; certReloadIntervalMs?: number } = {}): Promise<Harness> {
  let ready = true;
  const isReady = (): boolean => ready;
  const metrics = createWebhookMetrics({ indexGeneration: () => 7, watchRestarts: () => 2 });
  const logger = silentLogger();
  const routes = createWebhookRoutes({
    authorize: createAuthorizeHandler({ authorize: fakeAuthorize, isReady, logger, metrics }),
    admission: createAdmissionHandler({ validate: () => ({ allowed: true }), mutate: () => ({}), logger, metrics }),
    isReady,
    metrics,
  });
  const server = createWebhookServer({ server: config, logger, routes, metrics, certReloadIntervalMs: opts.certReloadIntervalMs ?? 0 });
  started.push(server);
  const port = opts.listen === false ? 0 : (await server.listen()).port;
  return { server, metrics, setReady: (v) => { ready = v; }, port };
}

test('inject: unknown path 404, wrong method 405 with Allow, wrong content type 415', async () => {
  const { server } = await start(serverConfig(certs), { listen: false });
  const notFound = await server.inject({ url: '/nope' });
  assert.equal(notFound.status, 404);
  assert.match(notFound.json<{ message: string }>().message, /no route/);
  const wrongMethod = await server.inject({ method: 'GET', url: '/authorize' });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers['allow'], 'POST');
  const wrongType = await server.inject({ method: 'POST', url: '/authorize', body: 'user=alice', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(wrongType.status, 415);
  assert.match(wrongType.json<{ message: string }>().message, /application\/json/);
  const charset = await server.inject({ method: 'POST', url: '/authorize?timeout=30s', body: JSON.stringify(sar()), headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.equal(charset.status, 200);
});

test('inject: malformed JSON, an empty body and deep nesting get 400 with a message', async () => {
  const { server } = await start(serverConfig(certs), { listen: false });
  const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
  const deepArray = `{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"alice","groups":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`;
  for (const [body, pattern] of [['{"apiVersion":', /not valid JSON/], ['', /empty/], [deep, /deeper/], [deepArray, /deeper/]] as const) {
    for (const url of ['/authorize', '/validate', '/mutate']) {
      const res = await server.inject({ method: 'POST', url, body });
      assert.equal(res.status, 400, `${url} ${body.slice(0, 20)}`);
      assert.match(res.json<{ message: string }>().message, pattern);
    }
  }
});

test('inject: a body over the limit is 413', async () => {
  const { server } = await start(serverConfig(certs), { listen: false });
  const res = await server.inject({ method: 'POST', url: '/authorize', body: Buffer.alloc(3 * 1024 * 1024 + 1, 0x20) });
  assert.equal(res.status, 413);
  assert.match(res.json<{ message: string }>().message, /exceeds the limit/);
});

test('HTTPS: v1 and v1beta1 reviews answered over TLS on loopback, HTTP/1.1 only', async () => {
  const { port } = await start(serverConfig(certs));
  for (const apiVersion of ['authorization.k8s.io/v1', 'authorization.k8s.io/v1beta1']) {
    const res = await request(port, { path: '/authorize', body: JSON.stringify(sar({ apiVersion })), ca });
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body) as { apiVersion: string; status: { allowed: boolean } };
    assert.equal(body.apiVersion, apiVersion);
    assert.equal(body.status.allowed, true);
  }
  // A client offering h2 first still gets HTTP/1.1.
  const alpn = await new Promise<string | false>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      resolve(s.alpnProtocol ?? false);
      s.end();
    });
    s.on('error', reject);
  });
  assert.equal(alpn, 'http/1.1');
});

test('HTTPS: a body over 3 MiB gets 413 with a message, and the server keeps serving', async () => {
  const { port } = await start(serverConfig(certs));
  const big = JSON.stringify({ ...sar(), padding: 'x'.repeat(3 * 1024 * 1024) });
  const res = await request(port, { path: '/authorize', body: big, ca });
  assert.equal(res.status, 413);
  assert.match((JSON.parse(res.body) as { message: string }).message, /exceeds the limit of 3145728 bytes/);
  const after = await request(port, { path: '/authorize', body: JSON.stringify(sar()), ca });
  assert.equal(after.status, 200);
});

test('HTTPS: a body that stops arriving gets 408 after requestTimeoutMs', async () => {
  const { port } = await start(serverConfig(certs, { requestTimeoutMs: 300 }));
  const answer = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      s.write('POST /authorize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"apiVersion":');
    });
    let data = '';
    s.on('data', (d: Buffer) => { data += d.toString(); });
    s.on('end', () => resolve(data));
    s.on('close', () => resolve(data));
    s.on('error', reject);
  });
  assert.match(answer, /^HTTP\/1\.1 408/);
  assert.match(answer, /not received within 300 ms/);
});

test('HTTPS: garbage that is not HTTP is refused without taking the server down', async () => {
  const { port } = await start(serverConfig(certs));
  const answer = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca }, () => s.write('\x00\x01NOT HTTP AT ALL\r\n\r\n'));
    let data = '';
    s.on('data', (d: Buffer) => { data += d.toString(); });
    s.on('close', () => resolve(data));
    s.on('error', reject);
  });
  assert.match(answer, /^HTTP\/1\.1 400/);
  assert.equal((await request(port, { path: '/healthz', ca })).status, 200);
});

test('HTTPS: keep-alive reuses one connection for many reviews', async () => {
  const { port } = await start(serverConfig(certs));
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const a = await request(port, { path: '/authorize', body: JSON.stringify(sar()), ca, agent });
    const b = await request(port, { path: '/authorize', body: JSON.stringify(sar({ user: 'bob' })), ca, agent });
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(a.socketId, b.socketId);
  } finally {
    agent.destroy();
  }
});

test('certificate rotation: new connections see the new cert, an open keep-alive connection keeps working', async () => {
  const live = path.join(dir, 'live');
  await makeServingCert(live, 'placeholder');
  const files = { cert: path.join(live, 'tls.crt'), key: path.join(live, 'tls.key') };
  await copyFile(certs.cert, files.cert);
  await copyFile(certs.key, files.key);
  const { server, port } = await start(serverConfig(files), { certReloadIntervalMs: 50 });
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const before = await request(port, { path: '/authorize', body: JSON.stringify(sar()), ca, agent });
    assert.equal(before.status, 200);

    // Half-way through a rotation (new cert, old key) nothing changes.
    await copyFile(rotated.cert, `${files.cert}.tmp`);
    await rename(`${files.cert}.tmp`, files.cert);
    assert.equal(await server.reloadCertificates(), false);
    assert.equal((await request(port, { path: '/healthz', ca })).fingerprint, before.fingerprint);

    // Kubelet swaps Secret volumes by rename; the poller notices.
    await copyFile(rotated.key, `${files.key}.tmp`);
    await rename(`${files.key}.tmp`, files.key);
    let fresh = await request(port, { path: '/healthz', ca });
    for (let i = 0; i < 300 && fresh.fingerprint === before.fingerprint; i++) {
      await new Promise((r) => setTimeout(r, 100));
      fresh = await request(port, { path: '/healthz', ca });
    }
    assert.notEqual(fresh.fingerprint, before.fingerprint, 'a new connection sees the rotated certificate');

    const again = await request(port, { path: '/authorize', body: JSON.stringify(sar()), ca, agent });
    assert.equal(again.status, 200);
    assert.equal(again.socketId, before.socketId, 'the same keep-alive connection');
    assert.equal(again.fingerprint, before.fingerprint, 'still on the old handshake');
  } finally {
    agent.destroy();
  }
});

test('client certificates: webhook routes require one signed by the CA; probes do not', async () => {
  const { port } = await start(serverConfig(certs, { clientCAFile: certs.caCert }));
  const body = JSON.stringify(sar());
  const none = await request(port, { path: '/authorize', body, ca });
  assert.equal(none.status, 401);
  assert.match((JSON.parse(none.body) as { message: string }).message, /client certificate/);
  const wrongCa = await request(port, { path: '/authorize', body, ca, cert: await readFile(foreign.cert), key: await readFile(foreign.key) });
  assert.equal(wrongCa.status, 401);
  const good = await request(port, { path: '/authorize', body, ca, cert: await readFile(client.cert), key: await readFile(client.key) });
  assert.equal(good.status, 200);
  assert.equal((JSON.parse(good.body) as { status: { allowed: boolean } }).status.allowed, true);
  const admission = await request(port, { path: '/validate', body: JSON.stringify(admissionReview()), ca });
  assert.equal(admission.status, 401);
  assert.equal((await request(port, { path: '/healthz', ca })).status, 200);
  assert.equal((await request(port, { path: '/readyz', ca })).status, 200);
});

test('client certificates off: no certificate needed', async () => {
  const { port } = await start(serverConfig(certs));
  assert.equal((await request(port, { path: '/authorize', body: JSON.stringify(sar()), ca })).status, 200);
});

test('/healthz always, /readyz only once ready', async () => {
  const { server, setReady } = await start(serverConfig(certs), { listen: false });
  setReady(false);
  assert.equal((await server.inject({ url: '/healthz' })).status, 200);
  const notReady = await server.inject({ url: '/readyz' });
  assert.equal(notReady.status, 503);
  assert.match(notReady.body, /not synced/);
  setReady(true);
  assert.equal((await server.inject({ url: '/readyz' })).status, 200);
});

test('/metrics has every series in Prometheus text', async () => {
  const { server, metrics } = await start(serverConfig(certs), { listen: false });
  metrics.incRegistrations();
  await server.inject({ method: 'POST', url: '/authorize', body: JSON.stringify(sar()) });
  await server.inject({ method: 'POST', url: '/authorize', body: JSON.stringify(sar({ user: 'mallory' })) });
  await server.inject({ method: 'POST', url: '/validate', body: JSON.stringify(admissionReview()) });
  await server.inject({ method: 'POST', url: '/authorize', body: '{' });
  const res = await server.inject({ url: '/metrics' });
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'] ?? '', /text\/plain/);
  const text = res.body;
  assert.match(text, /gatehouse_authorization_decisions_total\{verdict="allow",code="binding"\} 1/);
  assert.match(text, /gatehouse_authorization_decisions_total\{verdict="deny",code="inactive"\} 1/);
  assert.match(text, /gatehouse_webhook_duration_seconds_bucket\{le="0.005",webhook="authorize"\} 2/);
  assert.match(text, /gatehouse_webhook_duration_seconds_count\{webhook="validate"\} 1/);
  assert.match(text, /gatehouse_admission_reviews_total\{webhook="validate",operation="CREATE",result="allowed"\} 1/);
  assert.match(text, /gatehouse_index_generation 7/);
  assert.match(text, /gatehouse_watch_restarts_total 2/);
  assert.match(text, /gatehouse_registrations_total 1/);
  assert.match(text, /gatehouse_http_responses_total\{route="authorize",status="400"\} 1/);
});

test('close() returns promptly with an idle keep-alive connection open', async () => {
  const { server, port } = await start(serverConfig(certs));
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  await request(port, { path: '/healthz', ca, agent });
  await server.close();
  agent.destroy();
  await assert.rejects(request(port, { path: '/healthz', ca }));
});

test('an AdmissionReview nested too deep still gets a review that echoes its uid, denied', async () => {
  const { server } = await start(serverConfig(certs), { listen: false });
  const body = admissionReview({ uid: 'deep-1' });
  let nested: unknown = 'x';
  for (let i = 0; i < 500; i++) nested = { n: nested };
  (body['request'] as Record<string, unknown>)['object'] = nested;
  const res = await server.inject({ method: 'POST', url: '/validate', body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  const answer = res.json<{ response: { uid: string; allowed: boolean; status: { code: number; message: string } } }>();
  assert.equal(answer.response.uid, 'deep-1');
  assert.equal(answer.response.allowed, false);
  assert.match(answer.response.status.message, /deeper than 100/);
});

test('drain(): still serving, but every response closes its connection, so a client moves off before close()', async () => {
  const { server, port } = await start(serverConfig(certs));
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const a = await request(port, { path: '/authorize', body: JSON.stringify(sar()), ca, agent });
    assert.equal(a.headers['connection'], 'keep-alive');
    server.drain();
    const b = await request(port, { path: '/authorize', body: JSON.stringify(sar()), ca, agent });
    assert.equal(b.status, 200, 'answered while draining');
    assert.equal(b.headers['connection'], 'close');
    const c = await request(port, { path: '/authorize', body: JSON.stringify(sar()), ca, agent });
    assert.equal(c.status, 200, 'a new connection is still served');
    assert.notEqual(c.socketId, b.socketId, 'the client did not reuse the drained connection');
  } finally {
    agent.destroy();
  }
});
