// The console server over real loopback HTTP, with the CLI's in-memory client: the guard in front
// of every route, the one-time token, the JSON API and errors passed on as the API server gave them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { FakeClient } from '../../support/fake-client.js';
import { startConsoleServer, type ConsoleServer } from '../../../src/console/server.js';
import { parseConfig } from '../../../src/config.js';

interface Res { status: number; headers: http.IncomingHttpHeaders; body: string }

function request(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: { Host: `127.0.0.1:${port}`, ...opts.headers } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += String(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const forbidPatch = { value: false };
const client = new FakeClient({
  whoAmI: { user: 'sue', groups: [] },
  forbid: (verb, kind) => {
    if (verb === 'list' && kind === 'Namespace') return 'namespaces is forbidden: User "sue" cannot list resource "namespaces" in API group "" at the cluster scope';
    if (verb === 'patch' && kind === 'User' && forbidPatch.value) {
      return 'admission webhook "validate.iam.gatehouse.dev" denied the request: Gatehouse denied: spec.state: only approvers may approve (rule: approve-only)';
    }
    return undefined;
  },
})
  .seed('User', { metadata: { name: 'ann', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { state: 'Pending' } }, { metadata: { name: 'ben' }, spec: { state: 'Pending' } }, { metadata: { name: 'sue' }, spec: { state: 'Active', superuser: true } })
  .seed('Role', { metadata: { name: 'viewer' }, spec: { permissions: ['*:read'] } });

let server: ConsoleServer;
let port: number;
let cookie: string;

before(async () => {
  server = await startConsoleServer({ mode: 'local', host: '127.0.0.1', port: 0, clientFor: () => client, policy: { config: parseConfig({}), source: 'test' }, now: () => Date.parse('2026-02-01T00:00:00Z') });
  port = server.port;
});
after(() => server?.close());

const origin = () => ({ Origin: `http://127.0.0.1:${port}` });

test('without the token nothing is served; the token works once and becomes an HttpOnly SameSite cookie', async () => {
  assert.equal((await request(port, '/users')).status, 401);
  assert.equal((await request(port, '/api/users')).status, 401);
  assert.equal((await request(port, '/assets/app.js')).status, 401);
  assert.equal((await request(port, '/?token=nope')).status, 401);
  const token = new URL(server.url).searchParams.get('token') ?? '';
  const first = await request(port, `/users?token=${token}&q=a`);
  assert.equal(first.status, 303);
  assert.equal(first.headers.location, '/users?q=a', 'the token leaves the URL');
  const set = String(first.headers['set-cookie']);
  assert.match(set, /HttpOnly; SameSite=Strict/);
  cookie = set.split(';')[0] ?? '';
  assert.equal((await request(port, `/users?token=${token}`)).status, 401, 'a used link opens nothing');
  const page = await request(port, '/users', { headers: { Cookie: cookie } });
  assert.equal(page.status, 200);
  assert.match(page.body, /<script type="module" src="\/assets\/app.js">/);
  assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
  assert.equal(page.headers['x-frame-options'], 'DENY');
  assert.equal((await request(port, '/assets/app.js', { headers: { Cookie: cookie } })).status, 200);
  assert.equal((await request(port, '/../../package.json', { headers: { Cookie: cookie } })).status, 404);
});

test('a forged Host or a foreign Origin is refused even with the session cookie', async () => {
  const host = await request(port, '/api/users', { headers: { Cookie: cookie, Host: 'evil.example' } });
  assert.equal(host.status, 421);
  assert.equal(JSON.parse(host.body).error.code, 'GH_CONSOLE_HOST');
  const foreign = await request(port, '/api/users/state', { method: 'POST', headers: { Cookie: cookie, Origin: 'http://evil.example', 'Content-Type': 'application/json' }, body: '{"state":"Active","names":["ann"]}' });
  assert.equal(foreign.status, 403);
  assert.equal(JSON.parse(foreign.body).error.code, 'GH_CONSOLE_ORIGIN');
  const bare = await request(port, '/api/users/state', { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'application/json' }, body: '{"state":"Active","names":["ann"]}' });
  assert.equal(bare.status, 403);
  assert.equal((await client.get('User', 'ann')).spec.state, 'Pending', 'nothing changed');
});

test('lists: search, paging, and what the caller may not list reported in the API server\'s words', async () => {
  const res = await request(port, '/api/pending?q=&limit=1', { headers: { Cookie: cookie } });
  const body = JSON.parse(res.body);
  assert.equal(body.total, 2);
  assert.deepEqual(body.items.map((u: { name: string }) => u.name), ['ann']);
  const roles = JSON.parse((await request(port, '/api/roles', { headers: { Cookie: cookie } })).body);
  assert.deepEqual(roles.unreadable, [{ what: 'namespaces', message: 'namespaces is forbidden: User "sue" cannot list resource "namespaces" in API group "" at the cluster scope' }]);
  assert.deepEqual(roles.resources, ['*']);
});

test('bulk approval; a refusal comes back verbatim with its rule id, per user', async () => {
  const post = (body: unknown) => request(port, '/api/users/state', { method: 'POST', headers: { Cookie: cookie, ...origin(), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  forbidPatch.value = true;
  const refused = JSON.parse((await post({ state: 'Active', names: ['ann'] })).body);
  assert.equal(refused.results[0].ok, false);
  assert.equal(refused.results[0].status, 403);
  assert.match(refused.results[0].message, /Gatehouse denied: spec\.state: only approvers may approve \(rule: approve-only\)/);
  forbidPatch.value = false;
  const ok = JSON.parse((await post({ state: 'Active', names: ['ann', 'ben'] })).body);
  assert.deepEqual(ok.results.map((r: { ok: boolean }) => r.ok), [true, true]);
  assert.equal((await client.get('User', 'ben')).spec.state, 'Active');
  const missing = JSON.parse((await post({ state: 'Active', names: ['nobody'] })).body);
  assert.match(missing.results[0].message, /user "nobody" not found/);
});

test('bad input is a 4xx with a message, never a crash', async () => {
  const post = (path: string, body: string, type = 'application/json') => request(port, path, { method: 'POST', headers: { Cookie: cookie, ...origin(), 'Content-Type': type }, body });
  for (const [path, body, status] of [
    ['/api/users/state', '{', 400],
    ['/api/users/state', '[]', 400],
    ['/api/users/state', '{"state":"Active","names":[]}', 400],
    ['/api/users/state', '{"state":"Boss","names":["ann"]}', 400],
    ['/api/users/state', JSON.stringify({ state: 'Active', names: Array.from({ length: 201 }, (_, i) => `u${i}`) }), 400],
    ['/api/roles', '{"name":"x","permissions":["pods"]}', 400],
    ['/api/assignments', '{"role":"viewer","user":"ann","scope":"galaxy"}', 400],
    ['/api/assignments', '{"role":"viewer","user":"ann","team":"t","scope":"cluster"}', 400],
    ['/api/users/state', 'x'.repeat(70 * 1024), 413],
    ['/api/nothing', '{}', 404],
  ] as const) {
    const res = await post(path, body);
    assert.equal(res.status, status, `${path} ${body.slice(0, 40)}: ${res.body}`);
    assert.ok(JSON.parse(res.body).error.message, res.body);
  }
  assert.equal((await post('/api/users/state', '{}', 'text/plain')).status, 415);
  const explain = await request(port, '/api/access/explain?user=ann&verb=get&resource=pods/x/y', { headers: { Cookie: cookie } });
  assert.equal(explain.status, 400);
});

test('role create and assign go to the API server as the caller', async () => {
  const post = (path: string, body: unknown) => request(port, path, { method: 'POST', headers: { Cookie: cookie, ...origin(), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const created = JSON.parse((await post('/api/roles', { name: 'trainer', permissions: ['jobs:write', 'read'] })).body);
  assert.equal(created.results[0].ok, true, JSON.stringify(created));
  assert.deepEqual((await client.get('Role', 'trainer')).spec.permissions, ['jobs:write', '*:read']);
  const assigned = JSON.parse((await post('/api/assignments', { role: 'trainer', user: 'ann', scope: 'namespace:ml', expires: '7d' })).body);
  assert.equal(assigned.results[0].ok, true, JSON.stringify(assigned));
  const b = (await client.list('RoleBinding')).find((x) => x.spec.role === 'trainer');
  assert.deepEqual(b?.spec.scope, { namespaces: ['ml'] });
  assert.equal(b?.spec.expiresAt, '2026-02-08T00:00:00Z');
});

test('operator mode: no bearer token, no service; the token is what the client is made from', async () => {
  const seen: Array<string | undefined> = [];
  const op = await startConsoleServer({
    mode: 'operator', host: '127.0.0.1', port: 0, allowedHosts: [],
    clientFor: (t) => { seen.push(t); return client; },
    policy: { config: parseConfig({}), source: 'test' }, now: Date.now,
  });
  try {
    const none = await request(op.port, '/api/session');
    assert.equal(none.status, 401);
    assert.equal((await request(op.port, '/api/session', { headers: { Authorization: 'Basic abc' } })).status, 401);
    const ok = await request(op.port, '/api/session', { headers: { Authorization: 'Bearer tok-123' } });
    assert.equal(ok.status, 200);
    assert.deepEqual(seen, ['tok-123']);
  } finally {
    await op.close();
  }
});
