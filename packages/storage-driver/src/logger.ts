/**
 * The logging surface drivers and services use: winston's `Logger` satisfies it, and so does a
 * test double. Fields go in `meta`, never into the message.
 */
export interface Logger {
  error(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  debug(message: string, meta?: Record<string, unknown>): unknown;
  child(meta: Record<string, unknown>): Logger;
}
