/**
 * AWS Signature Version 2 for S3 (`v4auth: false`), for stores that speak no SigV4 (RiakCS and the
 * object storage clouds built on it, old Ceph RGW). Two forms, as S3's "REST authentication"
 * defines them:
 * - requests: `Authorization: AWS <AccessKeyId>:<Signature>` with `x-amz-date`;
 * - presigned URLs (query-string authentication): `AWSAccessKeyId`, `Expires`, `Signature`.
 * Signature = Base64(HMAC-SHA1(secret, StringToSign)), where StringToSign is
 * `VERB\nContent-MD5\nContent-Type\nDate-or-Expires\n` + CanonicalizedAmzHeaders + CanonicalizedResource.
 */
import { createHmac } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

/** The fields of the SDK's `HttpRequest` the signer reads and writes. */
export interface SignableRequest {
  method: string;
  protocol?: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null | undefined>;
  headers: Record<string, string>;
}

export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export type CredentialSource = () => Promise<SigningCredentials>;

/**
 * The query parameters that are part of the resource being signed (S3's list of sub-resources and
 * response overrides); every other query parameter (`list-type`, `prefix`, `x-id`, …) is not signed.
 */
const SUBRESOURCES = new Set([
  'acl',
  'cors',
  'delete',
  'lifecycle',
  'location',
  'logging',
  'notification',
  'partNumber',
  'policy',
  'requestPayment',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'restore',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
]);

function header(headers: Record<string, string>, name: string): string {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return '';
}

function removeHeader(headers: Record<string, string>, name: string): void {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) delete headers[key];
}

/** `x-amz-*` headers, lower-cased, sorted, `name:value\n` each (values of one name comma-joined). */
function canonicalAmzHeaders(headers: Record<string, string>): string {
  const amz = new Map<string, string[]>();
  for (const [key, value] of Object.entries(headers)) {
    const name = key.toLowerCase();
    if (!name.startsWith('x-amz-')) continue;
    const values = amz.get(name) ?? [];
    values.push(String(value).trim().replace(/\s+/g, ' '));
    amz.set(name, values);
  }
  return [...amz.keys()]
    .sort()
    .map((name) => `${name}:${(amz.get(name) as string[]).join(',')}\n`)
    .join('');
}

/**
 * The path as sent, with `/<bucket>` in front for a virtual-hosted request (`<bucket>.host`), and
 * the signed sub-resources, sorted, values unencoded.
 */
function canonicalResource(request: SignableRequest, bucket: string): string {
  const path = request.path === '' ? '/' : request.path;
  let resource = request.hostname.startsWith(`${bucket}.`) ? `/${bucket}${path}` : path;
  const subresources = Object.keys(request.query ?? {})
    .filter((name) => SUBRESOURCES.has(name))
    .sort()
    .map((name) => {
      const raw = request.query?.[name];
      const value = Array.isArray(raw) ? raw[0] : raw;
      return value === undefined || value === null || value === '' ? name : `${name}=${value}`;
    });
  if (subresources.length > 0) resource += `?${subresources.join('&')}`;
  return resource;
}

function hmac(secret: string, text: string): string {
  return createHmac('sha1', secret).update(text, 'utf8').digest('base64');
}

/** The string S3 signs for a request: verb, Content-MD5, Content-Type, date (or expiry), amz headers, resource. */
export function stringToSign(request: SignableRequest, bucket: string, dateOrExpires: string): string {
  const md5 = header(request.headers, 'content-md5');
  const type = header(request.headers, 'content-type');
  return `${request.method.toUpperCase()}\n${md5}\n${type}\n${dateOrExpires}\n${canonicalAmzHeaders(request.headers)}${canonicalResource(request, bucket)}`;
}

/**
 * The SDK client's `signer` for `v4auth: false`: replaces the SigV4 signer and signs every attempt
 * of every request with SigV2. The date goes in `x-amz-date` (so the Date line of the string to
 * sign is empty), as the SDK's HTTP handler sends no `Date` header.
 */
export class SignatureV2Signer {
  constructor(
    private readonly bucket: string,
    private readonly credentials: CredentialSource,
  ) {}

  async sign<R extends SignableRequest>(request: R, options: { signingDate?: Date } = {}): Promise<R> {
    const credentials = await this.credentials();
    const headers = request.headers;
    removeHeader(headers, 'authorization');
    removeHeader(headers, 'x-amz-date');
    removeHeader(headers, 'x-amz-security-token');
    removeHeader(headers, 'x-amz-content-sha256');
    headers['x-amz-date'] = (options.signingDate ?? new Date()).toUTCString();
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    const signature = hmac(credentials.secretAccessKey, stringToSign(request, this.bucket, ''));
    headers['authorization'] = `AWS ${credentials.accessKeyId}:${signature}`;
    return request;
  }

  /** A URL for `request` (a GET or HEAD without body) signed in its query, valid `expiresIn` seconds. */
  async presign(request: SignableRequest, expiresIn: number, now = new Date()): Promise<string> {
    const credentials = await this.credentials();
    const expires = String(Math.floor(now.getTime() / 1000) + expiresIn);
    // Only what the client following the URL sends is signed: no SDK headers, the token in the query.
    const signed: SignableRequest = { ...request, headers: {} };
    if (credentials.sessionToken) signed.headers['x-amz-security-token'] = credentials.sessionToken;
    const signature = hmac(credentials.secretAccessKey, stringToSign(signed, this.bucket, expires));
    const query: Array<[string, string]> = [];
    for (const [name, raw] of Object.entries(request.query ?? {})) {
      for (const value of Array.isArray(raw) ? raw : [raw]) query.push([name, value ?? '']);
    }
    query.push(['AWSAccessKeyId', credentials.accessKeyId], ['Expires', expires], ['Signature', signature]);
    if (credentials.sessionToken) query.push(['x-amz-security-token', credentials.sessionToken]);
    const search = query.map(([name, value]) => (value === '' ? encodeURIComponent(name) : `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)).join('&');
    const port = request.port ? `:${request.port}` : '';
    return `${request.protocol ?? 'https:'}//${request.hostname}${port}${request.path}?${search}`;
  }
}

/**
 * Runs `command` through `client`'s middleware up to signing (endpoint, bucket addressing,
 * serialisation), takes the HTTP request there instead of sending it, and presigns it with SigV2.
 */
export async function presignV2(
  client: S3Client,
  signer: SignatureV2Signer,
  command: { resolveMiddleware: (...args: never[]) => unknown; input: unknown },
  expiresIn: number,
): Promise<string> {
  const stack = client.middlewareStack.clone();
  let url: string | undefined;
  stack.addRelativeTo(
    ((_next: unknown) => async (args: { request: SignableRequest }) => {
      url = await signer.presign(args.request, expiresIn);
      return { response: {}, output: { $metadata: {} } };
    }) as never,
    { name: 'berthPresignV2', relation: 'before', toMiddleware: 'awsAuthMiddleware', override: true },
  );
  const resolve = command.resolveMiddleware as unknown as (stack: unknown, config: unknown, options: unknown) => (args: { input: unknown }) => Promise<unknown>;
  await resolve.call(command, stack, client.config, {})({ input: command.input });
  if (url === undefined) throw new Error('the request to presign never reached the signing step');
  return url;
}
