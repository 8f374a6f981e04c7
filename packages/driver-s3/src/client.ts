import http from 'node:http';
import https from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Logger } from '@berth/storage-driver';
import type { S3Parameters } from './params';

/** The SDK's logger surface, routed to the driver's logger at debug level. */
function sdkLogger(logger: Logger): NonNullable<S3ClientConfig['logger']> {
  const emit = (level: string) => (...content: unknown[]) => {
    logger.debug('s3 sdk', { sdkLevel: level, content });
  };
  return { trace: emit('trace'), debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/**
 * Builds the SDK client for the parameters. Every S3-compatible store gets the settings Ceph RGW
 * and MinIO need: checksums only where the API requires them (with the SDK's defaults a streamed
 * body goes out chunked with no Content-Length and RGW answers 411), path-style addressing when
 * `forcepathstyle` is set. `endpoint` overrides the parameter's (used for `redirectendpoint`).
 * The sockets are keep-alive, with room for `multipartcopymaxconcurrency` parallel copies.
 */
export function createS3Client(params: S3Parameters, logger: Logger | undefined, endpoint = params.endpoint): S3Client {
  const maxSockets = Math.max(50, params.multipartCopyMaxConcurrency);
  const requestHandler = new NodeHttpHandler({
    httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets, rejectUnauthorized: !params.skipVerify }),
    connectionTimeout: 10_000,
  });
  return new S3Client({
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
    requestHandler,
    logger: params.logLevel !== 'off' && logger ? sdkLogger(logger) : undefined,
  });
}
