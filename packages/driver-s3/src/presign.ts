import type { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { presignV2, type SignatureV2Signer } from './sigv2';

/**
 * A presigned URL for `command`, signed as `client` signs its requests: Signature Version 2 when it
 * carries a `sigv2Signer` (`v4auth: false`), else the SDK's SigV4 presigner.
 */
export function presign(
  client: S3Client & { sigv2Signer?: SignatureV2Signer },
  command: GetObjectCommand | HeadObjectCommand,
  expiresIn: number,
): Promise<string> {
  if (client.sigv2Signer) return presignV2(client, client.sigv2Signer, command, expiresIn);
  return getSignedUrl(client, command, { expiresIn });
}
