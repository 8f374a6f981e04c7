import { createHmac, timingSafeEqual } from 'node:crypto';
import { BlobUploadInvalidError } from '@berth/registry';

/** What the `_state` query parameter of an upload Location carries (informational: storage is the truth). */
export interface UploadState {
  /** Repository name. */
  readonly name: string;
  /** Upload session id. */
  readonly uuid: string;
  /** Bytes received when the Location was issued. */
  readonly offset: number;
  /** ISO-8601 start time of the session. */
  readonly startedAt: string;
}

/**
 * Signs and verifies upload state tokens (`base64url(json).base64url(hmac-sha256)`), distribution's
 * `_state`. Every replica configured with the same `http.secret` accepts the others' tokens.
 */
export class UploadStateCodec {
  constructor(private readonly secret: string) {}

  private sign(payload: string): Buffer {
    return createHmac('sha256', this.secret).update(payload).digest();
  }

  encode(state: UploadState): string {
    const payload = Buffer.from(JSON.stringify(state)).toString('base64url');
    return `${payload}.${this.sign(payload).toString('base64url')}`;
  }

  /** Verifies and decodes a token; `BlobUploadInvalidError` when it is malformed or tampered with. */
  decode(token: string): UploadState {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) throw new BlobUploadInvalidError('malformed upload state', { _state: token });
    const expected = this.sign(payload);
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new BlobUploadInvalidError('upload state signature is invalid (tampered, or issued with another http.secret)');
    }
    let state: unknown;
    try {
      state = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw new BlobUploadInvalidError('malformed upload state');
    }
    const s = state as Partial<UploadState>;
    if (typeof s?.name !== 'string' || typeof s.uuid !== 'string' || typeof s.offset !== 'number' || typeof s.startedAt !== 'string') {
      throw new BlobUploadInvalidError('malformed upload state');
    }
    return s as UploadState;
  }
}
