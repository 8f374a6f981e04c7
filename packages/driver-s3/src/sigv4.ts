/**
 * AWS Signature Version 4 in the `Authorization` header, for the driver's own body-less requests
 * (`wire-requests.ts`): the same algorithm as the SDK's signer, without its middleware. The signing
 * key of a day is derived once (four HMACs) and reused, so a request costs two SHA-256 and one HMAC.
 */
import { createHash, createHmac } from 'node:crypto';
import type { SigningCredentials } from './sigv2';

/** SHA-256 of an empty body: what a GET or HEAD signs as its payload. */
export const EMPTY_PAYLOAD_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 encoding, as SigV4 wants it: everything but `A-Z a-z 0-9 - . _ ~`. */
export function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A path's segments, each RFC 3986-encoded (S3 signs the path encoded once, as sent). */
export function encodePath(path: string): string {
  return path.split('/').map(encodeRfc3986).join('/');
}

/** `name=value` pairs sorted by name then value, both encoded: the canonical query and the one sent. */
export function canonicalQuery(query: ReadonlyArray<readonly [string, string]>): string {
  return query
    .map(([name, value]) => [encodeRfc3986(name), encodeRfc3986(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** The request to sign; `path` and `query` exactly as they go on the wire (already encoded). */
export interface V4Request {
  readonly method: 'GET' | 'HEAD';
  /** `host[:port]` as in the Host header. */
  readonly host: string;
  readonly path: string;
  readonly query: string;
}

/** Signs body-less S3 requests of one region. */
export class SignatureV4Signer {
  private key: { readonly day: string; readonly secret: string; readonly value: Buffer } | undefined;

  constructor(private readonly region: string) {}

  /** The headers to send: `x-amz-date`, `x-amz-content-sha256`, the session token if any, `authorization`. */
  sign(request: V4Request, credentials: SigningCredentials, now = new Date()): Record<string, string> {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const day = stamp.slice(0, 8);
    const headers: Record<string, string> = {
      host: request.host,
      'x-amz-content-sha256': EMPTY_PAYLOAD_SHA256,
      'x-amz-date': stamp,
    };
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    const names = Object.keys(headers).sort();
    // The header block ends with a newline, and the join adds the blank line before the signed names.
    const canonicalHeaders = names.map((name) => `${name}:${headers[name]}\n`).join('');
    const canonicalRequest = [request.method, request.path, request.query, canonicalHeaders, names.join(';'), EMPTY_PAYLOAD_SHA256].join('\n');
    const scope = `${day}/${this.region}/s3/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${stamp}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
    const signature = createHmac('sha256', this.signingKey(day, credentials.secretAccessKey)).update(stringToSign).digest('hex');
    delete headers.host;
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
    return headers;
  }

  private signingKey(day: string, secret: string): Buffer {
    if (this.key?.day !== day || this.key.secret !== secret) {
      const hmac = (key: string | Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();
      const value = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), this.region), 's3'), 'aws4_request');
      this.key = { day, secret, value };
    }
    return this.key.value;
  }
}
