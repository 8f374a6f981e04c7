import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@berth/storage-driver';
import { DRIVER_NAME, type S3Parameters } from './params';
import { presign } from './presign';
import type { SignatureV2Signer } from './sigv2';
import { WireRequests } from './wire-requests';

/** What every part of the driver shares: the client, the parameters and the path ↔ key mapping. */
export class S3Context {
  readonly name = DRIVER_NAME;
  readonly bucket: string;
  /** `rootdirectory` + `/`, or '' for the bucket's root: every key the driver owns starts with it. */
  readonly rootPrefix: string;
  /** Small reads without the SDK's stack (see wire-requests.ts); the SDK when they decline. */
  readonly wire: WireRequests;

  constructor(
    readonly client: S3Client & { sigv2Signer?: SignatureV2Signer },
    readonly params: S3Parameters,
    readonly logger?: Logger,
  ) {
    this.bucket = params.bucket;
    this.rootPrefix = params.rootDirectory === '' ? '' : `${params.rootDirectory}/`;
    this.wire = new WireRequests(this, (command, expiresIn) => presign(client, command, expiresIn), client.sigv2Signer);
  }

  /** The object key of a driver path (`/a/b` → `<root>/a/b`). */
  key(path: string): string {
    return this.rootPrefix + path.slice(1);
  }

  /** The key prefix of everything below a directory path (`/` → `<root>/`, `/a` → `<root>/a/`). */
  dirPrefix(path: string): string {
    return path === '/' ? this.rootPrefix : `${this.key(path)}/`;
  }

  /** `CopySource` for a key: bucket and key, URL-encoded segment by segment. */
  copySource(key: string): string {
    return `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  /**
   * The headers every object write carries (PutObject, CreateMultipartUpload, CopyObject):
   * storage class unless `NONE`; the canned ACL unless `private`, which is S3's default anyway
   * and which buckets with ACLs disabled (AWS's default since 2023) reject when sent explicitly;
   * SSE-S3, or SSE-KMS when `keyid` is set, when `encrypt` is true.
   */
  writeOptions(): {
    ACL?: Exclude<S3Parameters['objectAcl'], 'private'>;
    StorageClass?: Exclude<S3Parameters['storageClass'], 'NONE'>;
    ServerSideEncryption?: 'AES256' | 'aws:kms';
    SSEKMSKeyId?: string;
  } {
    const { objectAcl, storageClass, encrypt, keyId } = this.params;
    return {
      ACL: objectAcl === 'private' ? undefined : objectAcl,
      StorageClass: storageClass === 'NONE' ? undefined : storageClass,
      ServerSideEncryption: encrypt ? (keyId ? 'aws:kms' : 'AES256') : undefined,
      SSEKMSKeyId: encrypt && keyId ? keyId : undefined,
    };
  }
}

/** A path segment the driver grammar allows; keys with any other segment are invisible to list and walk. */
export function isVisibleName(name: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(name) && name !== '.' && name !== '..';
}
