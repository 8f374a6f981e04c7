import type { RegistryErrorCode } from '@berth/registry';

/** Every error code the API answers with: the registry's domain codes plus HTTP-level ones. */
export type ErrorCode = RegistryErrorCode | 'UNAUTHORIZED' | 'DENIED' | 'TOOMANYREQUESTS' | 'NOT_FOUND' | 'UNAVAILABLE' | 'UNKNOWN';

/** How one code is answered: HTTP status and a generic message (the error's own message wins). */
export interface ErrorSpec {
  readonly status: number;
  readonly message: string;
}

/**
 * THE table mapping error codes to HTTP statuses (docs/errors.md documents each; a test keeps the
 * two in step). Codes from OCI distribution-spec v1.1 keep their spec meaning; RANGE_INVALID,
 * TAG_INVALID and PAGINATION_NUMBER_INVALID are distribution's; MANIFEST_TOO_LARGE and NOT_FOUND are
 * Berth's (clients treat unknown codes as UNKNOWN and act on the status).
 */
export const ERROR_TABLE: Readonly<Record<ErrorCode, ErrorSpec>> = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown' },
  MANIFEST_TOO_LARGE: { status: 413, message: 'manifest too large' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  RANGE_INVALID: { status: 416, message: 'invalid content range' },
  TAG_INVALID: { status: 400, message: 'invalid tag' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  NOT_FOUND: { status: 404, message: 'no such route' },
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
  UNKNOWN: { status: 500, message: 'unknown error' },
};

/** An error raised by the HTTP layer itself (unknown route, method not allowed, …). */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail?: unknown,
    /** Extra response headers (e.g. `Allow` for a method not allowed). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The OCI error envelope. */
export interface ErrorEnvelope {
  errors: Array<{ code: ErrorCode; message: string; detail?: unknown }>;
}

export function errorEnvelope(code: ErrorCode, message: string, detail?: unknown): ErrorEnvelope {
  return { errors: [{ code, message: message || ERROR_TABLE[code].message, ...(detail !== undefined ? { detail } : {}) }] };
}
