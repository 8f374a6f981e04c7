import { StorageUnavailableError } from '@berth/storage-driver';
import { DRIVER_NAME } from './params';

/** Classifies errors from the AWS SDK and S3-compatible stores. */

interface S3ErrorShape {
  name?: unknown;
  Code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

function fields(error: unknown): { code: string; status: number | undefined } {
  if (typeof error !== 'object' || error === null) return { code: '', status: undefined };
  const e = error as S3ErrorShape;
  const code = typeof e.Code === 'string' ? e.Code : typeof e.name === 'string' ? e.name : '';
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  return { code, status };
}

const NOT_FOUND_CODES = new Set(['NotFound', 'NoSuchKey', 'NoSuchUpload']);

/**
 * True when S3 said the object or multipart upload does not exist: `NotFound` (HEAD), `NoSuchKey`,
 * `NoSuchUpload`, or any other 404 except a missing bucket (a configuration error, not a path).
 * RGW answers ListParts on an unknown upload with NoSuchKey where AWS says NoSuchUpload.
 */
export function isNotFound(error: unknown): boolean {
  const { code, status } = fields(error);
  if (code === 'NoSuchBucket') return false;
  return NOT_FOUND_CODES.has(code) || status === 404;
}

/** True for a 416 / InvalidRange answer (a read starting at or past the end of the object). */
export function isInvalidRange(error: unknown): boolean {
  const { code, status } = fields(error);
  return code === 'InvalidRange' || status === 416;
}

/** Node's codes for a connection that could not be made, broke, or went quiet. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

const SDK_WRAPPER = 'AWS SDK error wrapper for ';

/** S3 codes for a store that is overloaded or failing (retried first; still there afterwards). */
const UNAVAILABLE_CODES = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'TimeoutError', 'ThrottlingException']);

/** Statuses that mean the store (or a proxy before it) failed, not the request. */
const UNAVAILABLE_STATUSES = new Set([500, 502, 503, 504]);

/**
 * True when the store could not answer: the connection was refused, reset or timed out (the SDK's
 * `TimeoutError` for `connecttimeout`/`idletimeout`), or S3 answered 500/502/503/504 or `SlowDown`.
 * The SDK has retried these already when they reach the driver. Looks through `cause` and through
 * an `AggregateError`'s `errors` (Node's connection attempts to every address of a host name).
 */
export function isUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const e = error as { code?: unknown; cause?: unknown; errors?: unknown; message?: unknown };
  if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
  // The SDK's retry middleware replaces an error it does not recognise as an Error (one from
  // another realm, as under jest) by `AWS SDK error wrapper for <its text>`: only the text is left.
  if (typeof e.message === 'string' && e.message.startsWith(SDK_WRAPPER)) {
    const words = e.message.slice(SDK_WRAPPER.length).split(/[^A-Z_]+/);
    if (words.some((word) => CONNECTION_CODES.has(word))) return true;
  }
  const { code, status } = fields(error);
  if (UNAVAILABLE_CODES.has(code) || (status !== undefined && UNAVAILABLE_STATUSES.has(status))) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isUnavailable(inner, depth + 1))) return true;
  return isUnavailable(e.cause, depth + 1);
}

/** The driver's typing of SDK failures for `wrapDriver`: a store that cannot answer is `StorageUnavailableError`. */
export function classifyS3Error(error: unknown): StorageUnavailableError | undefined {
  if (!isUnavailable(error)) return undefined;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new StorageUnavailableError(DRIVER_NAME, `the store is unavailable: ${message}`, { cause: error });
}
