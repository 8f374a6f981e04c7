/**
 * A configuration problem found at start-up. `key` is the dotted path of the offending key
 * (`storage.s3.bucket`, `notifications.endpoints.0.url`); the message is one line,
 * `<key>: <what is wrong>`, and never contains the value of a secret.
 */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  /** What is wrong, without the key. */
  readonly problem: string;

  constructor(
    readonly key: string,
    problem: string,
  ) {
    const oneLine = problem.replace(/\s*\r?\n\s*/g, ' ').trim();
    super(`${key}: ${oneLine}`);
    this.problem = oneLine;
    this.name = 'ConfigError';
  }
}

/** Joins a parent key and a child segment: `joinKey('http', 'tls')` is `http.tls`. */
export const joinKey = (parent: string, child: string | number): string => (parent === '' ? String(child) : `${parent}.${child}`);

/** A short, non-secret description of a value's type for error messages. */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return typeof value;
}

/** `describeType` plus the value itself for short scalars (never use for secrets). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return describeType(value);
}
