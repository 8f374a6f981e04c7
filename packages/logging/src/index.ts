import winston from 'winston';

/**
 * The logging surface every package uses: winston's `Logger` (what `createLogger` returns)
 * satisfies it, and so does a test double. Fields go in `meta`, never into the message.
 */
export interface Logger {
  error(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  debug(message: string, meta?: Record<string, unknown>): unknown;
  child(meta: Record<string, unknown>): Logger;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormatter = 'text' | 'json' | 'logstash';

/** The `log` section of config.yml (distribution's keys). */
export interface LogOptions {
  readonly level?: LogLevel;
  readonly formatter?: LogFormatter;
  /** Static fields added to every line (`log.fields`). */
  readonly fields?: Record<string, unknown>;
  /** Silences all output (tests). */
  readonly silent?: boolean;
}

/**
 * Builds the one root logger of a process. Components take `logger.child({component: '...'})`.
 * `text` prints `time level message key=value…`; `json` and `logstash` print one JSON object a line.
 */
export function createLogger(options: LogOptions = {}): winston.Logger {
  const format =
    options.formatter === 'json' || options.formatter === 'logstash'
      ? winston.format.combine(winston.format.timestamp(), winston.format.json())
      : winston.format.combine(
          winston.format.timestamp(),
          winston.format.printf(({ timestamp, level, message, ...fields }) => {
            const rest = Object.entries(fields)
              .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
              .join(' ');
            return `${String(timestamp)} ${level} ${String(message)}${rest ? ' ' + rest : ''}`;
          }),
        );
  return winston.createLogger({
    level: options.level ?? 'info',
    defaultMeta: options.fields ? { ...options.fields } : undefined,
    format,
    silent: options.silent ?? false,
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}

/** A logger that prints nothing, for tests and library defaults. */
export function silentLogger(): winston.Logger {
  return createLogger({ silent: true });
}
