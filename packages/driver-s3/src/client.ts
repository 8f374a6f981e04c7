import http from 'node:http';
import https from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Logger } from '@berth/storage-driver';
import type { S3Parameters } from './params';
import { SignatureV2Signer, type SigningCredentials } from './sigv2';

/** Input fields worth a debug line; bodies and streams are never logged. */
const LOGGED_INPUT = ['Bucket', 'Key', 'Prefix', 'UploadId', 'PartNumber', 'Range', 'CopySource', 'CopySourceRange', 'ContentLength', 'StartAfter'];

/** One SDK log record (`{commandName, input, output, metadata, error}` or text) as compact fields. */
function summarize(record: unknown): Record<string, unknown> {
  if (typeof record !== 'object' || record === null) return { text: String(record) };
  const r = record as Record<string, unknown>;
  const input = (r.input ?? {}) as Record<string, unknown>;
  const metadata = (r.metadata ?? {}) as Record<string, unknown>;
  const fields: Record<string, unknown> = { command: r.commandName };
  for (const key of LOGGED_INPUT) if (input[key] !== undefined) fields[key] = input[key];
  if (metadata.httpStatusCode !== undefined) fields.status = metadata.httpStatusCode;
  if (metadata.requestId !== undefined) fields.requestId = metadata.requestId;
  if (metadata.attempts !== undefined) fields.attempts = metadata.attempts;
  if (r.error instanceof Error) fields.error = `${r.error.name}: ${r.error.message}`;
  return fields;
}

/** The SDK's logger surface, routed to the driver's logger at debug level (one line per request). */
function sdkLogger(logger: Logger): NonNullable<S3ClientConfig['logger']> {
  const emit = (level: string) => (...content: unknown[]) => {
    logger.debug('s3 sdk', { sdkLevel: level, ...summarize(content[0]) });
  };
  return { trace: emit('trace'), debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** The SDK's retry strategy interface (version 2), as far as `retryTimeoutsOnce` uses it. */
interface RetryStrategyV2Like {
  mode?: string;
  acquireInitialRetryToken(scope: string): Promise<unknown>;
  refreshRetryTokenForRetry(token: { getRetryCount(): number }, info: { error?: unknown }): Promise<unknown>;
  recordSuccess(token: unknown): void;
}

/**
 * A request that timed out (`connecttimeout`, `idletimeout`) is retried only when that was its
 * first attempt: one new connection often works after one that was dropped silently, but against
 * a frozen store every attempt waits the whole time-out, so a stall ends a request after at most
 * two time-outs (plus back-off) whatever `maxretries` says. Wraps the strategy the client resolved.
 */
function retryTimeoutsOnce(client: S3Client): void {
  const config = client.config as unknown as { retryStrategy: () => Promise<RetryStrategyV2Like> };
  const resolve = config.retryStrategy;
  let wrapped: Promise<RetryStrategyV2Like> | undefined;
  config.retryStrategy = () =>
    (wrapped ??= resolve().then((inner) => ({
      mode: inner.mode,
      acquireInitialRetryToken: (scope) => inner.acquireInitialRetryToken(scope),
      refreshRetryTokenForRetry: async (token, info) => {
        // The SDK names resets and refusals TimeoutError too; only those without a code (or ETIMEDOUT) timed out.
        const error = info.error as { name?: unknown; code?: unknown } | undefined;
        const timedOut = error?.name === 'TimeoutError' && (error.code === undefined || error.code === 'ETIMEDOUT');
        if (timedOut && token.getRetryCount() >= 1) throw info.error;
        return inner.refreshRetryTokenForRetry(token, info);
      },
      recordSuccess: (token) => inner.recordSuccess(token),
    })));
}

/** The credentials `client` signs with now (its resolved provider: static keys or the default chain, refreshed by the SDK). */
export function clientCredentials(client: S3Client): Promise<SigningCredentials> {
  return (client.config.credentials as unknown as () => Promise<SigningCredentials>)();
}

/** Kept-alive connections per agent: the wire requests' (wire-requests.ts), and the SDK client's unless `multipartcopymaxconcurrency` needs more. */
export const MAX_SOCKETS = 50;

/**
 * Builds the SDK client for the parameters. Every S3-compatible store gets the settings Ceph RGW
 * and MinIO need: checksums only where the API requires them (with the SDK's defaults a streamed
 * body goes out chunked with no Content-Length and RGW answers 411), path-style addressing when
 * `forcepathstyle` is set. `endpoint` overrides the parameter's (used for `redirectendpoint`).
 * The sockets are keep-alive, with room for `multipartcopymaxconcurrency` parallel copies.
 *
 * Resilience: the SDK's adaptive retry mode (exponential back-off with jitter, a client-side rate
 * limiter that slows down on `SlowDown`/throttling, and the SDK's retry quota, which stops retrying
 * when most recent attempts failed) retries throttling, 5xx, timeouts and connection errors up to
 * `maxretries` times (a time-out only once: `retryTimeoutsOnce`). `connecttimeout` bounds
 * connecting; `idletimeout` bounds any silence on a connection while a request waits for its
 * answer or its body, so a stalled store ends a request with a `TimeoutError` instead of holding it.
 *
 * With `v4auth: false` the client signs with Signature Version 2 (`signer` below), and the
 * returned client carries it as `sigv2Signer` for presigned URLs.
 */
export function createS3Client(params: S3Parameters, logger: Logger | undefined, endpoint = params.endpoint): S3Client & { sigv2Signer?: SignatureV2Signer } {
  const maxSockets = Math.max(MAX_SOCKETS, params.multipartCopyMaxConcurrency);
  const requestHandler = new NodeHttpHandler({
    httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets, rejectUnauthorized: !params.skipVerify }),
    connectionTimeout: params.connectTimeoutMs,
    socketTimeout: params.idleTimeoutMs,
  });
  // The client's resolved credential provider, once the client exists (default chain included).
  let credentials: (() => Promise<SigningCredentials>) | undefined;
  const sigv2Signer = params.v4Auth
    ? undefined
    : new SignatureV2Signer(params.bucket, () => {
        if (!credentials) throw new Error('the S3 client has no credentials yet');
        return credentials();
      });
  const client = new S3Client({
    region: params.region,
    endpoint,
    tls: params.secure,
    forcePathStyle: params.forcePathStyle,
    credentials: params.credentials,
    useDualstackEndpoint: params.useDualStack,
    useAccelerateEndpoint: params.accelerate,
    useFipsEndpoint: params.useFipsEndpoint,
    customUserAgent: params.userAgent,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    retryMode: 'adaptive',
    maxAttempts: params.maxRetries + 1,
    requestHandler,
    signer: sigv2Signer,
    logger: params.logLevel !== 'off' && logger ? sdkLogger(logger) : undefined,
  });
  retryTimeoutsOnce(client);
  if (sigv2Signer) credentials = () => clientCredentials(client);
  return Object.assign(client, { sigv2Signer });
}
