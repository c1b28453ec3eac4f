// The operator's API client reuses its TLS connections (issue 26): client-node hands back a new
// https.Agent per request, which made every request a new TCP connection and TLS handshake. Here a
// local TLS server counts the connections a burst of requests opens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { makeServingCert } from '../../../src/controlplane/controlplane.js';
import { createAgentCache, createKubeClient } from '../../../src/controller/kube.js';

let dir = '';
let server: https.Server;
let connections = 0;
let kubeConfig: KubeConfig;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gh-kube-client-'));
  const tls = await makeServingCert(dir, 'server');
  server = https.createServer({ cert: await readFile(tls.cert), key: await readFile(tls.key) }, (req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  });
  server.on('secureConnection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, caData: (await readFile(tls.caCert)).toString('base64') }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

test('sequential requests share one connection; parallel ones open at most one each', async () => {
  const client = createKubeClient(kubeConfig);
  connections = 0;
  for (let i = 0; i < 30; i++) {
    const r = await client.request<{ path: string }>({ method: 'GET', path: `/api/v1/namespaces/n${i}` });
    assert.equal(r.path, `/api/v1/namespaces/n${i}`);
  }
  assert.equal(connections, 1, `30 sequential requests opened ${connections} connections`);
  await Promise.all(Array.from({ length: 8 }, (_, i) => client.request({ method: 'GET', path: `/p${i}` })));
  assert.ok(connections <= 8, `8 parallel requests after the burst: ${connections} connections in all`);
  // And the connections are still reused after the burst.
  const before = connections;
  for (let i = 0; i < 10; i++) await client.request({ method: 'GET', path: '/again' });
  assert.equal(connections, before);
});

test('new TLS material gets a new agent; the same material the same one', () => {
  const cache = createAgentCache();
  const a = cache.agentFor({ ca: Buffer.from('ca-1'), cert: 'c', key: 'k' });
  assert.equal(cache.agentFor({ ca: Buffer.from('ca-1'), cert: 'c', key: 'k' }), a);
  const b = cache.agentFor({ ca: Buffer.from('ca-1'), cert: 'c2', key: 'k' });
  assert.notEqual(b, a, 'a rotated client certificate is a new agent');
  assert.notEqual(cache.agentFor({ ca: Buffer.from('ca-2'), cert: 'c2', key: 'k' }), b);
  cache.destroy();
});
