// A barrier between a test's writes and its next assertion on the operator's index: after every
// write the test made so far, list each kind the index is fed by straight from the API server (a
// quorum read, not through the operator's connection), then wait until each informer has applied
// at least that much. "At least that much" is one of:
//   - the informer applied a list, event or bookmark at or past the list's resourceVersion (watch
//     events arrive in resourceVersion order, so nothing before it is missing), or
//   - its store holds exactly the listed objects at exactly their resourceVersions (no change of
//     that kind happened after the informer's position, so it has nothing left to deliver).
// Both are facts about what was applied, not about how long things were quiet, so a watch event
// held up on the wire for seconds is still waited for (test/integration/barrier.test.ts proves it).
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import type { Controller } from '../../src/controller/controller.js';

type Feed = ReturnType<Controller['indexFeeds']>[number];

export interface ApiAccess {
  /** https://127.0.0.1:port of the API server itself. */
  url: string;
  caFile: string;
  /** A token that may list every kind (the test control plane's admin). */
  token: string;
}

interface Listed {
  resourceVersion: string;
  items: Map<string, string>;
}

async function getJson(api: ApiAccess, ca: Buffer, pathAndQuery: string): Promise<any> {
  const url = new URL(pathAndQuery, api.url);
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, headers: { authorization: `Bearer ${api.token}`, accept: 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${pathAndQuery}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`));
        else resolve(JSON.parse(body));
      });
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${pathAndQuery}: no answer in 30 s`)));
  });
}

async function listAll(api: ApiAccess, ca: Buffer, feed: Feed): Promise<Listed> {
  const items = new Map<string, string>();
  let cont = '';
  let resourceVersion = '';
  do {
    const q = new URLSearchParams({ limit: '500' });
    if (cont) q.set('continue', cont);
    if (feed.labelSelector !== undefined) q.set('labelSelector', feed.labelSelector);
    const page = await getJson(api, ca, `${feed.path}?${q.toString()}`);
    for (const o of page.items ?? []) {
      const m = o.metadata ?? {};
      items.set(m.namespace ? `${m.namespace}/${m.name}` : m.name, String(m.resourceVersion ?? ''));
    }
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    cont = page.metadata?.continue ?? '';
  } while (cont);
  return { resourceVersion, items };
}

/** a >= b for resourceVersions; they are etcd revisions (decimal) on every API server we run. */
function atLeast(a: string, b: string): boolean {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return a === b;
  return BigInt(a) >= BigInt(b);
}

/** What the informer still lacks against the list, in words ('' when it has everything). */
function lacking(feed: Feed, listed: Listed): string {
  const applied = feed.appliedResourceVersion();
  if (applied !== '' && atLeast(applied, listed.resourceVersion)) return '';
  const missing: string[] = [];
  for (const [name, rv] of listed.items) {
    const have = feed.store.get(name)?.metadata.resourceVersion;
    if (have !== rv) missing.push(have === undefined ? `${name} (not seen)` : `${name} (has ${have}, server ${rv})`);
  }
  for (const name of feed.store.keys()) if (!listed.items.has(name)) missing.push(`${name} (deleted, still held)`);
  if (missing.length === 0) return '';
  return `${feed.kind} up to resourceVersion ${listed.resourceVersion} (applied ${applied || 'nothing'}; ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? `, +${missing.length - 5} more` : ''})`;
}

/**
 * Resolves once the controller's informers (and so the index) have applied every change the API
 * server had made when this was called; throws after `timeoutMs` naming the kinds and objects it
 * was still waiting for.
 */
export async function indexBarrier(controller: Pick<Controller, 'indexFeeds'>, api: ApiAccess, timeoutMs = 60_000): Promise<void> {
  const ca = await readFile(api.caFile);
  const feeds = controller.indexFeeds();
  const lists = await Promise.all(feeds.map((f) => listAll(api, ca, f)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waitingFor = feeds.map((f, i) => lacking(f, lists[i]!)).filter((w) => w !== '');
    if (waitingFor.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(`settle(): the index did not apply, within ${timeoutMs / 1000} s, every change the API server had made: waiting for ${waitingFor.join('; ')}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
