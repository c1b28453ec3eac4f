// Issue 19, round 2 of the security review, the credential layer: one real control plane whose API
// server calls Gatehouse's authorization webhook and its TokenReview endpoint, the operator
// in-process with credentials, the proxy and the console on. Each test is one finding, run as the
// attacker, and fails on the code before its fix (docs/security.md, "Round 2: the credential layer").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http from 'node:http';
import tls from 'node:tls';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Stack } from '../support/stack.js';
import { startWithWorld, world } from '../support/world.js';
import { makeServingCert, type KubectlResult } from '../../src/controlplane/controlplane.js';
import { runCli } from '../support/cli.js';
import { eventually } from '../support/operator.js';
import { assertOk, podOnFakeKubelet } from '../support/e2e.js';

let stack: Stack;
let dir: string;
let proxyUrl: string;
let ca: string;
let apiCa: string;

const WORLD = world()
  .namespace('vision-dev')
  .role('pod-user', ['pods:*', 'configmaps:*', 'pods/exec:create'])
  .team('vision', { members: [], namespaces: ['vision-dev'] })
  .binding('vision-pod-users', 'pod-user', 'Team:vision', 'team:vision');

before(async () => {
  stack = await startWithWorld(WORLD, {
    tokenWebhook: true,
    config: {
      seedAdmins: [{ username: 'root' }],
      // Small budgets, so the lock-out attempt below exhausts them in a few requests.
      credentials: { enabled: true, rateLimits: { perSourcePerMinute: 5, perUserPerMinute: 5 } },
      console: { enabled: true, host: '127.0.0.1', port: 0 },
    },
  });
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-seccred-'));
  assert.ok(stack.operator.proxyPort, 'the proxy runs');
  proxyUrl = `https://127.0.0.1:${stack.operator.proxyPort}`;
  ca = await readFile(stack.caFile, 'utf8');
  apiCa = await readFile(stack.cp.caFile, 'utf8');
});

after(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function admin(args: string[]): Promise<KubectlResult> {
  return runCli(args, { kubeconfig: stack.cp.kubeconfigPath });
}

interface RawResponse {
  status: number;
  body: string;
}

function request(base: string, pathname: string, headers: Record<string, string>, method = 'GET', trust = ca, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(pathname, base), { method, headers, ca: trust, agent: false, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const bearer = (t: string): Record<string, string> => ({ Authorization: `Bearer ${t}` });
const PODS = '/api/v1/namespaces/vision-dev/pods';

/** A new Active user in team vision and the user token its invitation redeems for. */
async function newUser(name: string): Promise<string> {
  const created = await admin(['user', 'create', name, '--team', 'vision']);
  assert.equal(created.code, 0, created.stderr);
  const inv = /kubectl gatehouse activate (gatehouse_inv_\S+)/.exec(created.stdout)?.[1];
  assert.ok(inv, created.stdout);
  const res = await request(proxyUrl, '/gatehouse/v1/activate', bearer(inv), 'POST');
  assert.equal(res.status, 200, res.body);
  return (JSON.parse(res.body) as { token: string }).token;
}

/** The same token id with another secret: what someone who read the id in a log line can make. */
function sameIdWrongSecret(token: string): string {
  const [, , id, secret] = /^(gatehouse)_usr_([0-9a-f]{16})_(.+)$/.exec(token) ?? [];
  assert.ok(id && secret);
  return `gatehouse_usr_${id}_${secret.startsWith('A') ? 'B' : 'A'}${secret.slice(1)}`;
}

test('finding 2: guessing secrets for a known token id never locks out the right secret (proxy, TokenReview, rotate)', async () => {
  const token = await newUser('lou');
  const wrong = sameIdWrongSecret(token);
  const proxied: number[] = [];
  for (let i = 0; i < 12; i++) proxied.push((await request(proxyUrl, PODS, bearer(wrong))).status);
  assert.ok(proxied.every((s) => s === 401 || s === 429), proxied.join(' '));
  assert.ok(proxied.includes(429), `the guesses are limited: ${proxied.join(' ')}`);
  // Through the API server (TokenReview) too: still refused, never accepted.
  for (let i = 0; i < 12; i++) assert.equal((await request(stack.cp.url, PODS, bearer(wrong), 'GET', apiCa)).status, 401);
  // A caller reaching /authenticate itself is limited as well: the answer never authenticates.
  const direct = await request(`https://127.0.0.1:${stack.webhook.port}`, '/authenticate', { 'Content-Type': 'application/json' }, 'POST', ca,
    JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: wrong } }));
  assert.equal((JSON.parse(direct.body) as { status: { authenticated: boolean } }).status.authenticated, false);

  // The victim, from the same address the guesses came from: every path still works.
  assert.equal((await request(proxyUrl, PODS, bearer(token))).status, 200, 'through the proxy');
  assert.equal((await request(stack.cp.url, PODS, bearer(token), 'GET', apiCa)).status, 200, 'straight at the API server');
  const rotated = await request(proxyUrl, '/gatehouse/v1/rotate', bearer(token), 'POST');
  assert.equal(rotated.status, 200, `token rotate: ${rotated.body}`);
  const fresh = (JSON.parse(rotated.body) as { token: string }).token;
  assert.equal((await request(proxyUrl, PODS, bearer(fresh))).status, 200);
});

/** A watch through the proxy: resolves `ended` when the proxy (or anyone) ends the response. */
function watchThroughProxy(token: string, pathname: string): { events: () => string; ended: Promise<void>; status: Promise<number>; stop(): void } {
  let text = '';
  let req: http.ClientRequest | undefined;
  let endedResolve: () => void = () => undefined;
  const ended = new Promise<void>((r) => (endedResolve = r));
  const status = new Promise<number>((resolve, reject) => {
    req = https.request(new URL(pathname, proxyUrl), { headers: bearer(token), ca, agent: false }, (res) => {
      resolve(res.statusCode ?? 0);
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', endedResolve);
      res.on('close', endedResolve);
      res.on('error', endedResolve);
    });
    req.on('error', (err) => {
      endedResolve();
      reject(err);
    });
    req.end();
  });
  status.catch(() => undefined);
  return { events: () => text, ended, status, stop: () => req?.destroy() };
}

/** Resolves true when `p` settles within `ms`, false otherwise (a generous bound, not a speed claim). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)));
  const done = p.then(() => true, () => true);
  const out = await Promise.race([done, timeout]);
  clearTimeout(t);
  return out;
}

test('finding 3: a watch through the proxy ends when the token is revoked, and another when its user is suspended', async () => {
  for (const [name, end] of [
    ['wanda', async () => assertOk(await admin(['user', 'revoke', 'wanda']), 'revoke')],
    ['walt', async () => assertOk(await stack.kubectl(['patch', 'ghuser/walt', '--type=merge', '-p', '{"spec":{"state":"Suspended"}}']), 'suspend')],
  ] as const) {
    const token = await newUser(name);
    const w = watchThroughProxy(token, '/api/v1/namespaces/vision-dev/configmaps?watch=1');
    try {
      assert.equal(await w.status, 200);
      // The watch is live: it delivers a change made after it opened.
      await stack.kubectlOk(['create', 'configmap', `before-${name}`, '-n', 'vision-dev']);
      await eventually(`${name}'s watch to deliver`, () => w.events().includes(`before-${name}`), 20_000);
      await end();
      assert.ok(await within(w.ended, 20_000), `${name}'s watch is still open after its credential ended`);
      // Nothing made afterwards reached it.
      await stack.kubectlOk(['create', 'configmap', `after-${name}`, '-n', 'vision-dev']);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!w.events().includes(`after-${name}`));
    } finally {
      w.stop();
    }
  }
  const index = (stack.operator.credentials?.proxy as { streams?: { size: number } } | undefined)?.streams;
  await eventually('no stream left in the index', () => (index?.size ?? 0) === 0, 10_000);
});

test('finding 3: an upgraded (exec-like) session spliced by the proxy ends when its user is suspended, and when the User is deleted', async () => {
  // No kubelet runs here: a Node whose kubelet endpoint is a loopback server that accepts the
  // upgrade and echoes; the real API server proxies exec to it as it would to a kubelet.
  const certs = await makeServingCert(path.join(dir, 'kubelet-pki'), 'kubelet');
  const [cert, key] = await Promise.all([readFile(certs.cert), readFile(certs.key)]);
  const kubelet = https.createServer({ cert, key });
  kubelet.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => kubelet.listen(0, '127.0.0.1', r));
  const kubeletPort = (kubelet.address() as { port: number }).port;
  try {
    await podOnFakeKubelet(stack, 'vision-dev', kubeletPort);
    for (const [name, end] of [
      ['xavi', async () => assertOk(await stack.kubectl(['patch', 'ghuser/xavi', '--type=merge', '-p', '{"spec":{"state":"Suspended"}}']), 'suspend')],
      ['yuri', async () => assertOk(await stack.kubectl(['delete', 'ghuser/yuri', '--wait=false']), 'delete')],
    ] as const) {
      const token = await newUser(name);
      const session = await openUpgrade(token, '/api/v1/namespaces/vision-dev/pods/sleeper/exec?container=c&command=sh&stdin=true&stdout=true');
      try {
        assert.match(session.head, /^HTTP\/1\.1 101 /, session.head);
        assert.equal(await session.exchange('ping'), 'echo:ping', 'bytes flow both ways before');
        await end();
        assert.ok(await within(session.closed, 20_000), `${name}'s exec session is still open after its credential ended`);
      } finally {
        session.socket.destroy();
      }
    }
  } finally {
    await new Promise<void>((r) => kubelet.close(() => r()));
    kubelet.closeAllConnections();
  }
});

interface Upgraded {
  head: string;
  socket: tls.TLSSocket;
  closed: Promise<void>;
  exchange(send: string): Promise<string>;
}

/** An Upgrade request through the proxy; resolves once the answer's head is in. */
function openUpgrade(token: string, pathname: string): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port: stack.operator.proxyPort!, ca }, () => {
      sock.write(`POST ${pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n`);
    });
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    let buf = Buffer.alloc(0);
    let head: string | undefined;
    let waiter: ((s: string) => void) | undefined;
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (head === undefined) {
        const endAt = buf.indexOf('\r\n\r\n');
        if (endAt < 0) return;
        head = buf.subarray(0, endAt).toString();
        buf = buf.subarray(endAt + 4);
        resolve({
          head,
          socket: sock,
          closed,
          exchange: (send) => new Promise((r) => {
            buf = Buffer.alloc(0);
            waiter = r;
            sock.write(send);
          }),
        });
        return;
      }
      if (waiter && buf.length > 0) {
        const w = waiter;
        waiter = undefined;
        setTimeout(() => w(buf.toString()), 50);
      }
    });
    sock.on('error', reject);
    setTimeout(() => reject(new Error('no answer to the upgrade')), 15_000).unref();
  });
}

/** GET /api/events on the console with these headers; `ended` resolves when the server ends it. */
function consoleEvents(headers: Record<string, string>): { status: Promise<number>; ended: Promise<void>; text: () => string; stop(): void } {
  const port = stack.operator.consolePort!;
  let text = '';
  let endedResolve: () => void = () => undefined;
  const ended = new Promise<void>((r) => (endedResolve = r));
  let req: http.ClientRequest | undefined;
  const status = new Promise<number>((resolve, reject) => {
    req = http.request({ host: '127.0.0.1', port, path: '/api/events', headers: { Host: `127.0.0.1:${port}`, ...headers }, agent: false }, (res) => {
      resolve(res.statusCode ?? 0);
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', endedResolve);
      res.on('close', endedResolve);
    });
    req.on('error', (err) => {
      endedResolve();
      reject(err);
    });
    req.end();
  });
  status.catch(() => undefined);
  return { status, ended, text: () => text, stop: () => req?.destroy() };
}

test('finding 7: a console event stream with nothing it may watch is closed at once; streams are capped per token', async () => {
  assert.ok(stack.operator.consolePort, 'the console runs');
  // Any bearer string used to hold a live slot for as long as the client liked.
  const junk = consoleEvents(bearer('made-up-by-the-attacker'));
  try {
    assert.equal(await junk.status, 200);
    assert.ok(await within(junk.ended, 20_000), `the stream with no watchable kind is still open: ${junk.text()}`);
    assert.match(junk.text(), /event: unavailable/);
    assert.match(junk.text(), /event: end/);
  } finally {
    junk.stop();
  }

  // A real token may watch, so its streams stay open; the fifth from the same token is refused.
  const streams = Array.from({ length: 4 }, () => consoleEvents(bearer(stack.cp.adminToken)));
  try {
    for (const s of streams) assert.equal(await s.status, 200);
    const fifth = consoleEvents(bearer(stack.cp.adminToken));
    assert.equal(await fifth.status, 429, 'the fifth stream of one token');
    fifth.stop();
    // Another caller is not affected by that token's streams.
    const other = consoleEvents(bearer(await newUser('olga')));
    assert.equal(await other.status, 200);
    other.stop();
  } finally {
    for (const s of streams) s.stop();
  }
});

test('finding 8: a TokenReview asking for another audience is not answered with it (through the API server and directly)', async () => {
  const token = await newUser('audrey');
  const review = (audiences?: string[]) => JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences ? { audiences } : {}) } });
  type Review = { status: { authenticated?: boolean; audiences?: string[]; user?: { username: string } } };
  // Through the API server, as a TokenReview consumer bound to its own audience (Vault, an
  // aggregated API server) would ask: the token is not theirs.
  const viaApi = await request(stack.cp.url, '/apis/authentication.k8s.io/v1/tokenreviews', { ...bearer(stack.cp.adminToken), 'Content-Type': 'application/json' }, 'POST', apiCa, review(['vault']));
  assert.equal(viaApi.status, 201, viaApi.body);
  const vault = JSON.parse(viaApi.body) as Review;
  assert.notEqual(vault.status.authenticated, true, `a Gatehouse token passed for audience vault: ${viaApi.body}`);
  // For the API server's own audience it still authenticates.
  const own = JSON.parse((await request(stack.cp.url, '/apis/authentication.k8s.io/v1/tokenreviews', { ...bearer(stack.cp.adminToken), 'Content-Type': 'application/json' }, 'POST', apiCa, review())).body) as Review;
  assert.equal(own.status.authenticated, true, JSON.stringify(own));
  assert.equal(own.status.user?.username, 'audrey');
  // Straight at /authenticate: never an echo of what was asked.
  const direct = JSON.parse((await request(`https://127.0.0.1:${stack.webhook.port}`, '/authenticate', { 'Content-Type': 'application/json' }, 'POST', ca, review(['vault', 'anything']))).body) as Review;
  assert.ok(!(direct.status.audiences ?? []).includes('vault'), JSON.stringify(direct));
});
