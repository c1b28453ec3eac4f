// A watch of one cluster-scoped collection as the kubeconfig's identity, for the console's live
// updates. It first lists one item to learn the collection's resourceVersion, so a fresh watch
// does not replay every existing object as ADDED (10,000 users would be 10,000 events).
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';

/** Bounds a watch line; a Gatehouse object is far smaller, and a longer line ends the watch. */
const MAX_LINE = 1024 * 1024;

interface Connection {
  url: URL;
  options: https.RequestOptions;
}

async function connection(kc: KubeConfig, path: string, headers: Record<string, string>): Promise<Connection> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('no current cluster in kubeconfig');
  const options: https.RequestOptions = { headers: {} };
  // Fills in the CA, client certificate and Authorization header exactly as the API calls get them.
  await kc.applyToHTTPSOptions(options);
  options.headers = { ...(options.headers as Record<string, string>), ...headers, Accept: 'application/json' };
  return { url: new URL(server.replace(/\/$/, '') + path), options };
}

function get(conn: Connection, query: string, signal: AbortSignal): Promise<http.IncomingMessage> {
  const url = new URL(conn.url);
  url.search = query;
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { ...conn.options, method: 'GET', signal }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) {
    text += String(chunk);
    if (text.length > 16 * MAX_LINE) throw new Error('list answer too large');
  }
  return text;
}

export function watchKind(
  kc: KubeConfig,
  path: string,
  headers: Record<string, string>,
  onEvent: (type: string, name: string) => void,
  onEnd: (err: unknown) => void,
): () => void {
  const abort = new AbortController();
  let ended = false;
  const end = (err: unknown) => {
    if (ended) return;
    ended = true;
    abort.abort();
    onEnd(err);
  };
  void (async () => {
    const conn = await connection(kc, path, headers);
    const listed = await get(conn, '?limit=1', abort.signal);
    const body = await readAll(listed);
    if (listed.statusCode !== 200) throw Object.assign(new Error(body.slice(0, 2000)), { statusCode: listed.statusCode });
    const rv = (JSON.parse(body) as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion ?? '';
    const res = await get(conn, `?watch=true&timeoutSeconds=300&resourceVersion=${encodeURIComponent(rv)}`, abort.signal);
    if (res.statusCode !== 200) throw Object.assign(new Error((await readAll(res)).slice(0, 2000)), { statusCode: res.statusCode });
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.length > MAX_LINE) throw new Error('watch event too large');
      let ev: { type?: string; object?: { metadata?: { name?: string }; message?: string } };
      try {
        ev = JSON.parse(line) as typeof ev;
      } catch {
        continue;
      }
      if (ev.type === 'ERROR') throw new Error(ev.object?.message ?? 'watch error');
      if (ev.type && ev.type !== 'BOOKMARK') onEvent(ev.type, ev.object?.metadata?.name ?? '');
    }
    end(null);
  })().catch((err: unknown) => end(abort.signal.aborted && ended ? null : err));
  return () => end(null);
}
