// Server-sent events from the caller's own watches: every change to one of the four kinds that the
// caller may watch becomes a `change` event, and the page reloads the list it shows. A kind the
// caller may not watch is reported once (`unavailable`, the API server's words) and left alone.
import type { ServerResponse } from 'node:http';
import { KINDS, type GatehouseKind } from '../api/types.js';
import type { GatehouseClient } from '../client/kube.js';

export interface LiveOptions {
  /** Wait before watching a kind again after its watch ended (timeouts end every watch). */
  retryMs?: number;
  heartbeatMs?: number;
}

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * Streams events to `res` until the client goes away, or until no kind is left to watch: a caller
 * whose every watch was refused (401 with a made-up token, 403) holds no live slot, so a stream
 * with nothing watchable is ended at once rather than kept open on heartbeats.
 */
export function streamChanges(client: GatehouseClient, res: ServerResponse, opts: LiveOptions = {}): void {
  const retryMs = opts.retryMs ?? 1000;
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
  res.write('retry: 2000\n\n');
  const stops = new Map<GatehouseKind, () => void>();
  const timers = new Set<NodeJS.Timeout>();
  const refused = new Set<GatehouseKind>();
  let closed = false;
  // AccessRequests are watchable by every Active user: a stream with only them left stays open.
  let requestsRefused = !client.requests?.watch;
  const finishIfNothingLeft = (): void => {
    if (closed || refused.size < KINDS.length || !requestsRefused) return;
    send(res, 'end', { message: 'no kind can be watched with these credentials' });
    res.end();
  };
  if (!client.watch) {
    send(res, 'end', { message: 'live updates are not available' });
    res.end();
    return;
  }
  const start = (kind: GatehouseKind) => {
    if (closed || !client.watch) return;
    const stop = client.watch(
      kind,
      (type, name) => send(res, 'change', { kind, type, name }),
      (err) => {
        stops.delete(kind);
        if (closed) return;
        const status = (err as { statusCode?: number } | null)?.statusCode;
        if (status === 403 || status === 401) {
          send(res, 'unavailable', { kind, message: (err as Error).message });
          refused.add(kind);
          finishIfNothingLeft();
          return;
        }
        // The watch timed out or broke: changes may have been missed meanwhile, so say so.
        const t = setTimeout(() => {
          timers.delete(t);
          send(res, 'change', { kind, type: 'RESYNC', name: '' });
          start(kind);
        }, retryMs);
        timers.add(t);
      },
    );
    stops.set(kind, stop);
  };
  for (const kind of KINDS) start(kind);
  // AccessRequests (the Requests page): every Active user may watch them; best effort, no retry
  // bookkeeping beyond a restart after the watch ends.
  let stopRequests: (() => void) | undefined;
  const watchRequests = (): void => {
    if (closed || !client.requests?.watch) return;
    stopRequests = client.requests.watch((type, name) => send(res, 'change', { kind: 'AccessRequest', type, name }), (err) => {
      stopRequests = undefined;
      const status = (err as { statusCode?: number } | null)?.statusCode;
      if (closed) return;
      if (status === 401 || status === 403) {
        requestsRefused = true;
        finishIfNothingLeft();
        return;
      }
      const t = setTimeout(() => {
        timers.delete(t);
        send(res, 'change', { kind: 'AccessRequest', type: 'RESYNC', name: '' });
        watchRequests();
      }, retryMs);
      timers.add(t);
    });
  };
  watchRequests();
  const beat = setInterval(() => res.write(': keep-alive\n\n'), opts.heartbeatMs ?? 25_000);
  res.on('close', () => {
    closed = true;
    clearInterval(beat);
    for (const t of timers) clearTimeout(t);
    for (const stop of stops.values()) stop();
    stops.clear();
    stopRequests?.();
  });
}
