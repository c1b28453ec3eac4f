#!/usr/bin/env node
// The operator process: read the configuration, start everything, stop cleanly on SIGTERM/SIGINT.
import { loadConfig } from './config.js';
import { errorMessage, GatehouseError } from './errors.js';
import { createLogger } from './log.js';
import { startOperator } from './operator.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig({ argv: process.argv.slice(2), env: process.env });
  } catch (err) {
    process.stderr.write(`gatehouse: ${errorMessage(err)}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  const operator = await startOperator({ config, logger });
  logger.info({ port: operator.port, identity: config.operator.identity }, 'operator started');
  let exiting = false;
  const shutdown = (signal: string): void => {
    if (exiting) return;
    exiting = true;
    logger.info({ signal, drainSeconds: config.server.drainSeconds }, 'shutting down');
    // Keep answering while the Service's routing moves to the other replicas (server.drainSeconds),
    // then stop; a hung stop must not keep a terminating pod alive past its grace period.
    operator.drain((config.server.drainSeconds ?? 0) * 1000).then(() => {
      setTimeout(() => process.exit(1), 20_000).unref();
      return operator.stop();
    }).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  const code = err instanceof GatehouseError ? err.code : 'GH_INTERNAL';
  process.stderr.write(`gatehouse: could not start (${code}): ${errorMessage(err)}\n`);
  process.exit(1);
});
