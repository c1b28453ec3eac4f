// The operator-like process the webhook benchmark loads: the real server, routes, handler, metrics
// and logger (info level, to /dev/null), answering from the benchmark's authorize function.
// Usage: node dist/bench/webhook-server.js CERT KEY [real|fake]; prints {"port":N} once listening.
import { createWriteStream } from 'node:fs';
import { createWebhookServer } from '../src/webhook/server.js';
import { createWebhookRoutes } from '../src/webhook/routes.js';
import { createAuthorizeHandler } from '../src/webhook/sar.js';
import { createWebhookMetrics } from '../src/webhook/metrics.js';
import { createLogger } from '../src/log.js';
import { makeFakeAuthorize, makeRealAuthorize } from './webhook-fixture.js';

async function main(): Promise<void> {
  const [certFile, keyFile, mode = 'real'] = process.argv.slice(2);
  if (!certFile || !keyFile) throw new Error('usage: webhook-server CERT KEY [real|fake]');
  const logger = createLogger('info', createWriteStream('/dev/null'));
  const real = mode === 'real' ? makeRealAuthorize() : undefined;
  const metrics = createWebhookMetrics({ ...(real ? { indexGeneration: real.generation } : {}), processMetrics: true });
  const authorize = real ? real.authorize : makeFakeAuthorize();
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
    void server.close().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
