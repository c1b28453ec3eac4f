// Fuzz: random and mutated SubjectAccessReviews and AdmissionReviews through the whole request path
// (routing, body limits, JSON parsing, the adapters). Seeded, so a failure names the case that
// reproduces it. Properties: nothing escapes, no 5xx, 4xx answers carry a message, allowed:true only
// when the injected decision said allow for a well-formed request, and the uid is echoed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWebhookServer } from '../../../src/webhook/server.js';
import { createWebhookRoutes } from '../../../src/webhook/routes.js';
import { createAuthorizeHandler } from '../../../src/webhook/sar.js';
import { createAdmissionHandler } from '../../../src/webhook/admission.js';
import type { AdmissionReviewRequest } from '../../../src/admission/types.js';
import { silentLogger } from '../../../src/log.js';
import type { AccessRequest, Decision } from '../../../src/authz/types.js';
import { serverConfig, sar, admissionReview, fakeAuthorize } from './helpers.js';
import { Rng } from '../../support/fuzz.js';
import { replayHint, runSeed } from '../../support/seed.js';

// Fixed, so every run checks the same cases; GATEHOUSE_SEED explores (or replays) another.
const SEED = runSeed(0x6a7e_4005);
const CASES = 10_000;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

class Fuzzer extends Rng {
  string(): string {
    switch (this.int(8)) {
      case 0: return '';
      case 1: return 'x'.repeat(this.pick([100, 4096, 4097, 70_000]));
      case 2: return '\u0000\u001f\ud800"\\';
      case 3: return this.pick(['alice', 'mallory', 'system:masters', 'get', 'pods', '*', 'CREATE', 'admission.k8s.io/v1', 'authorization.k8s.io/v1beta1']);
      case 4: return String.fromCharCode(...Array.from({ length: this.int(20) }, () => this.int(0x2fff)));
      default: return Math.random.name + this.int(1000);
    }
  }
  value(depth = 0): Json {
    switch (this.int(depth > 3 ? 5 : 7)) {
      case 0: return null;
      case 1: return this.chance(0.5);
      case 2: return this.pick([0, -1, 1.5, 1e308, Number.MAX_SAFE_INTEGER]);
      case 3:
      case 4: return this.string();
      case 5: return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
      default: {
        const o: { [k: string]: Json } = {};
        for (let i = this.int(4); i > 0; i--) o[this.pick(['apiVersion', 'kind', 'spec', 'request', 'uid', 'user', 'groups', 'x'])] = this.value(depth + 1);
        return o;
      }
    }
  }
  nest(v: Json): Json {
    let out = v;
    for (let i = this.pick([10, 99, 150, 1000]); i > 0; i--) out = this.chance(0.5) ? [out] : { n: out };
    return out;
  }
}

/** Every [container, key] pair in a JSON value, so a mutation can land anywhere. */
function slots(v: Json, out: Array<[Record<string, Json> | Json[], string | number]> = []): Array<[Record<string, Json> | Json[], string | number]> {
  if (Array.isArray(v)) {
    v.forEach((child, i) => {
      out.push([v, i]);
      slots(child, out);
    });
  } else if (v && typeof v === 'object') {
    for (const [k, child] of Object.entries(v)) {
      out.push([v, k]);
      slots(child, out);
    }
  }
  return out;
}

function mutate(f: Fuzzer, base: Json): string {
  const doc = structuredClone(base);
  for (let n = 1 + f.int(3); n > 0; n--) {
    const all = slots(doc);
    if (all.length === 0) break;
    const [container, key] = f.pick(all);
    const c = container as Record<string | number, Json>;
    switch (f.int(7)) {
      case 0: // drop
        if (Array.isArray(container)) container.splice(key as number, 1);
        else delete c[key];
        break;
      case 1: // duplicate the value under another key / append it again
        if (Array.isArray(container)) container.push(structuredClone(c[key] ?? null));
        else c[`${String(key)}${f.pick(['', 's', 'Attributes'])}`] = structuredClone(c[key] ?? null);
        break;
      case 2: // retype
        c[key] = f.value();
        break;
      case 3: // huge string
        c[key] = 'A'.repeat(f.pick([5000, 100_000, 1_000_000]));
        break;
      case 4: // deep nesting
        c[key] = f.nest(c[key] ?? null);
        break;
      case 5: // a plausible but wrong string
        c[key] = f.string();
        break;
      default: // a huge array
        c[key] = Array.from({ length: f.pick([2000, 5000]) }, (_, i) => `g${i}`);
    }
  }
  let text = JSON.stringify(doc);
  // Text-level damage: duplicate keys (JSON.parse keeps the last), truncation, stray bytes.
  switch (f.int(12)) {
    case 0: text = text.replace('"spec":{', '"spec":{"user":"mallory","user":'.concat('"alice",')); break;
    case 1: text = text.slice(0, f.int(text.length)); break;
    case 2: text = text.replace(/[{[]/, '\u0000'); break;
    case 3: text = `${text}${text}`; break;
    default: break;
  }
  return text;
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function get(v: unknown, ...keys: string[]): unknown {
  let cur = v;
  for (const k of keys) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

test(`${CASES} random and mutated SubjectAccessReviews: no crash, no 5xx, no allow that decide() did not give (${replayHint(SEED)})`, async () => {
  const f = new Fuzzer(SEED);
  let lastAllowed: AccessRequest | undefined;
  const authorize = (req: AccessRequest): Decision => {
    const d = fakeAuthorize(req);
    lastAllowed = d.verdict === 'allow' ? req : undefined;
    return d;
  };
  const logger = silentLogger();
  const server = createWebhookServer({
    server: serverConfig({ cert: '/nonexistent', key: '/nonexistent' }),
    logger,
    routes: createWebhookRoutes({ authorize: createAuthorizeHandler({ authorize, isReady: () => true, logger }), isReady: () => true }),
  });
  const bases: Json[] = [
    sar() as Json, sar({ apiVersion: 'authorization.k8s.io/v1beta1' }) as Json, sar({ user: 'mallory' }) as Json,
    sar({ nonResource: { path: '/metrics', verb: 'get' } }) as Json, sar({ user: 'bob', verb: 'create', resource: 'jobs', group: 'batch' }) as Json,
  ];
  const counts = { ok: 0, allowed: 0, rejected: 0 };
  for (let i = 0; i < CASES; i++) {
    const text = f.chance(0.1) ? JSON.stringify(f.value()) : mutate(f, f.pick(bases));
    lastAllowed = undefined;
    const res = await server.inject({ method: 'POST', url: '/authorize', body: text });
    const where = `case ${i} (seed ${SEED}): ${text.slice(0, 200)}`;
    assert.ok(res.status < 500, `5xx for ${where}`);
    if (res.status !== 200) {
      counts.rejected++;
      assert.ok(res.status >= 400, where);
      assert.ok(res.json<{ message: string }>().message.length > 0, where);
      continue;
    }
    counts.ok++;
    const answer = res.json<{ apiVersion: string; kind: string; status: { allowed: boolean; denied?: boolean } }>();
    const sent = parseOrUndefined(text);
    assert.equal(answer.kind, 'SubjectAccessReview', where);
    assert.equal(answer.apiVersion, get(sent, 'apiVersion'), where);
    if (answer.status.allowed) {
      counts.allowed++;
      assert.ok(lastAllowed, `allowed without an allow decision: ${where}`);
      // Well-formed, and exactly the request the fake allows.
      assert.equal(get(sent, 'spec', 'user'), 'alice', where);
      assert.equal(get(sent, 'spec', 'resourceAttributes', 'verb'), 'get', where);
      assert.equal(get(sent, 'spec', 'resourceAttributes', 'resource'), 'pods', where);
      assert.ok([undefined, null, ''].includes(get(sent, 'spec', 'resourceAttributes', 'group') as string), where);
      assert.equal(get(sent, 'spec', 'nonResourceAttributes') ?? undefined, undefined, where);
      assert.notEqual(answer.status.denied, true, where);
    }
  }
  // The generator must exercise both sides, or the properties above prove little.
  assert.ok(counts.allowed > 100 && counts.rejected > 1000 && counts.ok - counts.allowed > 100, JSON.stringify(counts));
});

test(`${CASES} random and mutated AdmissionReviews: no crash, no 5xx, uid echoed, no unvalidated allow (${replayHint(SEED)})`, async () => {
  const f = new Fuzzer(SEED + 1);
  const seen: { last?: AdmissionReviewRequest | undefined } = {};
  const logger = silentLogger();
  const admission = createAdmissionHandler({
    validate: (r) => {
      if (r.requester.user === 'boom') throw new Error('validator bug');
      const allowed = get(r.object, 'metadata', 'name') === 'researcher' && r.requester.user === 'alice';
      seen.last = allowed ? r : undefined;
      return allowed ? { allowed, warnings: ['w'.repeat(1000), 'x\n'] } : { allowed, message: 'denied' };
    },
    mutate: (r) => {
      if (r.requester.user === 'boom') throw new Error('mutator bug');
      seen.last = r;
      return { patch: [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }] };
    },
    logger,
  });
  const server = createWebhookServer({
    server: serverConfig({ cert: '/nonexistent', key: '/nonexistent' }),
    logger,
    routes: createWebhookRoutes({ admission, isReady: () => true }),
  });
  const bases: Json[] = [
    admissionReview() as Json, admissionReview({ apiVersion: 'admission.k8s.io/v1beta1' }) as Json,
    admissionReview({ username: 'boom' }) as Json, admissionReview({ operation: 'DELETE', oldObject: { metadata: { name: 'x' } } }) as Json,
    admissionReview({ username: 'bob' }) as Json,
  ];
  const counts = { ok: 0, allowed: 0, rejected: 0, echoed: 0 };
  for (let i = 0; i < CASES; i++) {
    const url = f.chance(0.5) ? '/validate' : '/mutate';
    const text = f.chance(0.1) ? JSON.stringify(f.value()) : mutate(f, f.pick(bases));
    seen.last = undefined;
    const res = await server.inject({ method: 'POST', url, body: text });
    const where = `case ${i} ${url} (seed ${SEED + 1}): ${text.slice(0, 200)}`;
    assert.ok(res.status < 500, `5xx for ${where}`);
    const sent = parseOrUndefined(text);
    const uid = get(sent, 'request', 'uid');
    const envelopeOk = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'].includes(get(sent, 'apiVersion') as string)
      && get(sent, 'kind') === 'AdmissionReview';
    if (envelopeOk && typeof uid === 'string' && uid !== '' && uid.length <= 256 && text.length <= 3 * 1024 * 1024) {
      assert.equal(res.status, 200, `a review with a uid must get a review back: ${where}`);
    }
    if (res.status !== 200) {
      counts.rejected++;
      assert.ok(res.json<{ message: string }>().message.length > 0, where);
      continue;
    }
    counts.ok++;
    const answer = res.json<{ apiVersion: string; kind: string; response: { uid: string; allowed: boolean; warnings?: string[] } }>();
    assert.equal(answer.kind, 'AdmissionReview', where);
    assert.equal(answer.apiVersion, get(sent, 'apiVersion'), where);
    assert.equal(answer.response.uid, uid, `uid echoed: ${where}`);
    counts.echoed++;
    for (const w of answer.response.warnings ?? []) assert.ok(typeof w === 'string' && w.length <= 256, where);
    if (answer.response.allowed) {
      counts.allowed++;
      const last = seen.last as AdmissionReviewRequest | undefined;
      assert.ok(last, `allowed without the validator's say-so: ${where}`);
      assert.equal(last.uid, uid, where);
    }
  }
  assert.ok(counts.allowed > 100 && counts.rejected > 1000 && counts.ok - counts.allowed > 100, JSON.stringify(counts));
});
