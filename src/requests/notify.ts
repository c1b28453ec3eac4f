// The optional outgoing webhook (requests.notify.url): one JSON POST per state change of an
// AccessRequest, for chat tools. Signed with HMAC-SHA256 of the exact body bytes
// (`X-Gatehouse-Signature: sha256=<hex>`) when a key file is configured; retried with exponential
// backoff on a network error or a 5xx/429; given up (and logged) after maxAttempts. Best effort:
// the request's status and Events are the record, this is a courtesy.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { RequestsConfig } from '../config.js';
import type { Logger } from '../log.js';

export const SIGNATURE_HEADER = 'x-gatehouse-signature';

export interface RequestNotice {
  type: 'AccessRequestChanged';
  request: string;
  phase: string;
  previousPhase: string | undefined;
  requester: string | undefined;
  role: string;
  scope: unknown;
  actor: string;
  message: string;
  expiresAt?: string;
  at: string;
}

export function sign(key: string | Buffer, body: string): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

export interface Notifier {
  send(notice: RequestNotice): void;
  /** Resolves when every notice sent so far is delivered or given up (tests, shutdown). */
  idle(): Promise<void>;
  stop(): void;
}

function post(url: URL, body: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers }, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

export function createNotifier(cfg: RequestsConfig['notify'], logger: Logger, readKey: (file: string) => string = (f) => readFileSync(f, 'utf8').trim()): Notifier | undefined {
  if (!cfg.url) return undefined;
  const url = new URL(cfg.url);
  let stopped = false;
  const pending = new Set<Promise<void>>();
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
  async function deliver(notice: RequestNotice): Promise<void> {
    const body = JSON.stringify(notice);
    // Read each time: a rotated Secret takes effect without a restart.
    let headers: Record<string, string> = {};
    try {
      if (cfg.secretFile) headers = { [SIGNATURE_HEADER]: sign(readKey(cfg.secretFile), body) };
    } catch (err) {
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'notification key unreadable; not sent');
      return;
    }
    let delay = cfg.backoffInitialMs;
    for (let attempt = 1; attempt <= cfg.maxAttempts && !stopped; attempt++) {
      try {
        const status = await post(url, body, headers, cfg.timeoutMs);
        if (status >= 200 && status < 300) return;
        if (status < 500 && status !== 429) {
          logger.warn({ status, request: notice.request }, 'notification refused');
          return;
        }
      } catch {
        /* retried below */
      }
      if (attempt < cfg.maxAttempts) {
        await sleep(delay);
        delay = Math.min(delay * 2, 60_000);
      }
    }
    logger.warn({ request: notice.request, attempts: cfg.maxAttempts }, 'notification not delivered');
  }
  return {
    send(notice) {
      if (stopped) return;
      const p = deliver(notice).finally(() => pending.delete(p));
      pending.add(p);
    },
    async idle() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    stop() {
      stopped = true;
    },
  };
}
