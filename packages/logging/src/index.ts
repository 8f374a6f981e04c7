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
  /** Where the lines go; stderr when not given. */
  readonly stream?: NodeJS.WritableStream;
}

/** What replaces the value of a field whose name looks like a credential. */
export const REDACTED = '<redacted>';

/**
 * Names that look like credentials: such log fields are never printed, nor such free-form keys of
 * the configuration (`berth config print`, the effective configuration logged at debug).
 */
export const SECRET_LOOKING_KEY = /secret|password|passwd|token|credential|apikey|licensekey|privatekey|accountkey|authorization/i;

/** logrus's level names: distribution prints `warning`, not `warn`. */
const LEVEL_NAMES: Readonly<Record<string, string>> = { error: 'error', warn: 'warning', info: 'info', debug: 'debug' };

/** A field's value with every credential-looking key below it replaced by `<redacted>`; errors become their message. */
function redact(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return value.message;
  if (depth > 8 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_LOOKING_KEY.test(k) && v !== '' && v !== null && v !== undefined ? REDACTED : redact(v, depth + 1)]),
  );
}

/**
 * The fields of a line, redacted; a field named like one of the format's own keys is renamed
 * `fields.<name>` (logrus does the same), so it cannot overwrite the time, level or message.
 */
function lineFields(fields: Record<string, unknown>, reserved: readonly string[]): [string, unknown][] {
  return Object.entries(redact(fields) as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [reserved.includes(k) ? `fields.${k}` : k, v]);
}

/** logrus's text quoting: bare when only `[A-Za-z0-9-._/@^+]`, else a quoted string. */
function textValue(value: unknown): string {
  const text = typeof value === 'string' ? value : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
  return /^[A-Za-z0-9\-._/@^+]+$/.test(text) ? text : JSON.stringify(text);
}

/** One log entry as the formatter prints it: a line without its newline. */
export function formatLine(
  formatter: LogFormatter,
  entry: { readonly time: Date; readonly level: string; readonly message: string; readonly fields: Record<string, unknown> },
): string {
  const time = entry.time.toISOString();
  const level = LEVEL_NAMES[entry.level] ?? entry.level;
  switch (formatter) {
    case 'json':
      // logrus's JSONFormatter: time, level and msg beside the fields.
      return JSON.stringify(
        Object.fromEntries([['level', level], ['msg', entry.message], ['time', time], ...lineFields(entry.fields, ['level', 'msg', 'time'])]),
      );
    case 'logstash':
      // The logstash formatter: @timestamp, @version "1", level and message beside the fields.
      return JSON.stringify(
        Object.fromEntries([
          ['@timestamp', time],
          ['@version', '1'],
          ['level', level],
          ['message', entry.message],
          ...lineFields(entry.fields, ['@timestamp', '@version', 'level', 'message']),
        ]),
      );
    default: {
      // logrus's TextFormatter without a terminal: time="…" level=info msg="…" key=value…
      const pairs: [string, unknown][] = [['time', time], ['level', level], ['msg', entry.message], ...lineFields(entry.fields, ['time', 'level', 'msg'])];
      return pairs.map(([k, v]) => `${k}=${textValue(v)}`).join(' ');
    }
  }
}

/**
 * Builds the one root logger of a process. Components take `logger.child({component: '...'})`.
 * Field names follow distribution (logrus): `text` prints `time="…" level=info msg="…" key=value…`,
 * `json` one object a line with `time`, `level`, `msg` and the fields, `logstash` one object with
 * `@timestamp`, `@version` ("1"), `level`, `message` and the fields. Levels are named as logrus
 * names them (`warning`). A field whose name looks like a credential is printed `<redacted>`.
 */
export function createLogger(options: LogOptions = {}): winston.Logger {
  const formatter = options.formatter ?? 'text';
  // winston formats every entry before its transport drops those below the level: an entry the
  // logger would not print (or any, when silent) is dropped first, so it costs no formatting.
  const wanted = winston.format((info) => (!logger.silent && logger.isLevelEnabled(info.level) ? info : false))();
  const line = winston.format.printf(({ level, message, ...fields }) =>
    formatLine(formatter, { time: new Date(), level, message: typeof message === 'string' ? message : String(message), fields }),
  );
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] });
  const logger = winston.createLogger({
    level: options.level ?? 'info',
    defaultMeta: options.fields ? { ...options.fields } : undefined,
    format: winston.format.combine(wanted, line),
    silent: options.silent ?? false,
    transports: [transport],
  });
  return logger;
}

/** A logger that prints nothing, for tests and library defaults. */
export function silentLogger(): winston.Logger {
  return createLogger({ silent: true });
}
