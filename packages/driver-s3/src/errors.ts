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
