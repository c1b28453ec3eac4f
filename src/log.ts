// One place that makes loggers. Messages are fixed strings; what varies goes in fields, so log
// queries can match on `msg`.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export function createLogger(level: string = 'info', destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { app: 'gatehouse' },
    // A review's `extra` can carry credentials; never log it, whatever a caller passes.
    redact: { paths: ['extra', '*.extra', 'spec.extra', '*.spec.extra', 'token', '*.token'], remove: true },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

/** A logger that drops everything, for tests and the CLI. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
