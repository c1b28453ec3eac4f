// The operator-like process the webhook benchmark loads: the real server, routes, handler, metrics
// and logger (info level, to /dev/null), answering from the benchmark's authorize function.
// Usage: node dist/bench/webhook-server.js CERT KEY [real|fake] [usage-off|usage-on]; prints
// {"port":N} once listening. usage-on: every allow is recorded (src/review/usage.ts, as the
// operator does) and a usage sync as leader flushes to a counting API stand-in every
// BENCH_FLUSH_MS; on SIGTERM the server prints {"usage":{...}} with the status writes per object.
import { createWriteStream } from 'node:fs';
import { createWebhookServer } from '../src/webhook/server.js';
import { createWebhookRoutes } from '../src/webhook/routes.js';
import { createAuthorizeHandler } from '../src/webhook/sar.js';
import { createWebhookMetrics } from '../src/webhook/metrics.js';
import { createLogger } from '../src/log.js';
import { makeFakeAuthorize, makeRealAuthorize } from './webhook-fixture.js';
import { UsageRecorder } from '../src/review/usage.js';
import { createUsageSync, type UsageSync } from '../src/review/usage-sync.js';
import { KubeApiError, type KubeClient, type KubeRequest } from '../src/controller/kube.js';
import type { AccessRequest, Decision } from '../src/authz/types.js';

/** The API server as the usage sync sees it: Leases kept in memory, status PATCHes counted per object. */
function countingKube(writes: Map<string, number[]>, now: () => number): KubeClient {
  const leases = new Map<string, unknown>();
  return {
    async request<T>(req: KubeRequest): Promise<T> {
      if (req.method === 'PATCH' && req.path.endsWith('/status')) {
        const list = writes.get(req.path) ?? [];
        list.push(now());
        writes.set(req.path, list);
        return {} as T;
      }
      if (req.method === 'GET' && req.path.endsWith('/leases')) return { items: [...leases.values()] } as T;
      if (req.method === 'GET') {
        const l = leases.get(req.path.split('/').pop()!);
        if (!l) throw new KubeApiError('not found', 404);
        return l as T;
      }
      if (req.method === 'PUT' || req.method === 'POST') {
        const body = req.body as { metadata: { name: string } };
        leases.set(body.metadata.name, body);
        return body as T;
      }
      return {} as T;
    },
    async watch() {
      throw new Error('no watches here');
    },
  };
}

async function main(): Promise<void> {
  const [certFile, keyFile, mode = 'real', usageMode = 'usage-off'] = process.argv.slice(2);
  if (!certFile || !keyFile) throw new Error('usage: webhook-server CERT KEY [real|fake]');
  const logger = createLogger('info', createWriteStream('/dev/null'));
  const real = mode === 'real' ? makeRealAuthorize() : undefined;
  const metrics = createWebhookMetrics({ ...(real ? { indexGeneration: real.generation } : {}), processMetrics: true });
  const plain = real ? real.authorize : makeFakeAuthorize();
  let authorize: (req: AccessRequest) => Decision = plain;
  let sync: UsageSync | undefined;
  const writes = new Map<string, number[]>();
  const flushMs = Number(process.env['BENCH_FLUSH_MS'] ?? 1000);
  const recorder = new UsageRecorder();
  if (usageMode === 'usage-on' && real) {
    // Exactly the operator's wiring (src/operator.ts): one clock read, decide, record.
    authorize = (req) => {
      const at = Date.now();
      const d = plain(req);
      recorder.record(d, req.user, at);
      return d;
    };
    sync = createUsageSync({ kube: countingKube(writes, Date.now), namespace: 'bench', identity: 'bench', recorder, index: real.index, isLeader: () => true, flushIntervalMs: flushMs, logger, now: Date.now });
    sync.start();
  }
  const routes = createWebhookRoutes({
    authorize: createAuthorizeHandler({ authorize, isReady: () => true, logger, metrics }),
    isReady: () => true,
    metrics,
  });
  const server = createWebhookServer({
    server: { host: '127.0.0.1', port: 0, certFile, keyFile, maxBodyBytes: 3 * 1024 * 1024, requestTimeoutMs: 10_000 },
    logger,
    routes,
    metrics,
  });
  const { port } = await server.listen();
  process.stdout.write(`${JSON.stringify({ port, decide: real ? 'real' : 'fake' })}\n`);
  process.on('SIGTERM', () => {
    void (async () => {
      if (sync) {
        await sync.stop();
        // The most writes any object got within one flush interval (sliding), and in all.
        let maxPerInterval = 0;
        let total = 0;
        for (const times of writes.values()) {
          total += times.length;
          for (let i = 0; i < times.length; i++) {
            let n = 0;
            for (let j = i; j < times.length && times[j]! - times[i]! < flushMs; j++) n++;
            maxPerInterval = Math.max(maxPerInterval, n);
          }
        }
        process.stdout.write(`${JSON.stringify({ usage: { flushMs, objects: writes.size, statusWrites: total, maxPerObjectPerInterval: maxPerInterval, recorded: recorder.recorded, names: recorder.sizes } })}\n`);
      }
      await server.close();
      process.exit(0);
    })();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
