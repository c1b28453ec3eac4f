// The console's request guard: Host, Origin and the local session's one-time token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRequest, loopbackHosts, LocalSession, cookieValue, bearerToken, SECURITY_HEADERS } from '../../../src/console/guard.js';

const HOSTS = loopbackHosts(8765);

test('Host: only the loopback names with the console\'s port (DNS rebinding sends another name)', () => {
  for (const host of ['127.0.0.1:8765', 'localhost:8765', '[::1]:8765', 'LOCALHOST:8765']) {
    assert.deepEqual(checkRequest({ method: 'GET', host, origin: undefined, fetchSite: undefined }, HOSTS), { ok: true }, host);
  }
  for (const host of [undefined, 'evil.example:8765', '127.0.0.1:8766', '127.0.0.1', 'localhost.evil.example:8765']) {
    const v = checkRequest({ method: 'GET', host, origin: undefined, fetchSite: undefined }, HOSTS);
    assert.equal(v.ok, false, String(host));
    if (!v.ok) assert.equal(v.code, 'GH_CONSOLE_HOST');
  }
});

test('Origin: another site is refused; a change needs the page\'s own Origin and same-origin fetch', () => {
  const base = { host: '127.0.0.1:8765', fetchSite: undefined };
  assert.equal(checkRequest({ ...base, method: 'GET', origin: 'http://127.0.0.1:8765' }, HOSTS).ok, true);
  assert.equal(checkRequest({ ...base, method: 'POST', origin: 'http://127.0.0.1:8765' }, HOSTS).ok, true);
  for (const origin of ['http://evil.example', 'http://127.0.0.1:9999', 'null', 'http://localhost:8765']) {
    const v = checkRequest({ ...base, method: 'GET', origin }, HOSTS);
    assert.equal(v.ok, false, origin);
    if (!v.ok) assert.equal(v.code, 'GH_CONSOLE_ORIGIN');
  }
  assert.equal(checkRequest({ ...base, method: 'POST', origin: undefined }, HOSTS).ok, false);
  assert.equal(checkRequest({ method: 'POST', host: '127.0.0.1:8765', origin: 'http://127.0.0.1:8765', fetchSite: 'cross-site' }, HOSTS).ok, false);
  assert.equal(checkRequest({ method: 'POST', host: '127.0.0.1:8765', origin: 'http://127.0.0.1:8765', fetchSite: 'same-origin' }, HOSTS).ok, true);
  // The operator mode without allowedHosts: any Host, but still only its own Origin.
  assert.equal(checkRequest({ method: 'POST', host: 'gh.example.com', origin: 'https://gh.example.com', fetchSite: 'same-origin' }, []).ok, true);
  assert.equal(checkRequest({ method: 'POST', host: 'gh.example.com', origin: 'https://evil.example', fetchSite: 'cross-site' }, []).ok, false);
});

test('the launch token works once, then only the session cookie does', () => {
  const s = new LocalSession(8765);
  assert.equal(s.exchange('wrong'), undefined);
  const secret = s.exchange(s.launchToken);
  assert.ok(secret && secret.length >= 40);
  assert.equal(s.exchange(s.launchToken), undefined, 'a second use is refused');
  const cookie = s.setCookie(secret);
  assert.match(cookie, /^gatehouse_console_8765=[^;]+; Path=\/; HttpOnly; SameSite=Strict$/);
  assert.equal(s.valid(`a=b; gatehouse_console_8765=${secret}`), true);
  assert.equal(s.valid(`gatehouse_console_8765=${secret}x`), false);
  assert.equal(s.valid(`gatehouse_console_8766=${secret}`), false);
  assert.equal(s.valid(undefined), false);
  assert.equal(new LocalSession(8765).valid(`gatehouse_console_8765=${secret}`), false, 'another console\'s session');
});

test('cookie and bearer parsing', () => {
  assert.equal(cookieValue('x=1; y = 2', 'y'), '2');
  assert.equal(cookieValue('x=1', 'y'), undefined);
  assert.equal(bearerToken('Bearer abc.def-_'), 'abc.def-_');
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(bearerToken(`Bearer ${'a'.repeat(5000)}`), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

test('the CSP lets the page load only from the console itself', () => {
  const csp = SECURITY_HEADERS['Content-Security-Policy'] ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self';/);
  assert.match(csp, /connect-src 'self';/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe|https?:|\*/);
});
