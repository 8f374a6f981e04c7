/**
 * Domain errors of the registry. Each carries the OCI error code (`code`) the API answers with and
 * an optional JSON-able `detail`. Stores translate driver errors into these (a `PathNotFoundError`
 * under a link becomes `BlobUnknownError`, `ManifestUnknownError`, …); anything else a store throws is
 * a server fault.
 */
export type RegistryErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DENIED'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'MANIFEST_TOO_LARGE'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'RANGE_INVALID'
  | 'TAG_INVALID'
  | 'UNSUPPORTED'
  | 'UNAVAILABLE'
  | 'PAGINATION_NUMBER_INVALID';

export abstract class RegistryError extends Error {
  abstract readonly code: RegistryErrorCode;
  constructor(
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BlobUnknownError extends RegistryError {
  readonly code = 'BLOB_UNKNOWN';
  constructor(digest: string) {
    super(`blob unknown to registry: ${digest}`, { digest });
  }
}

export class BlobUploadUnknownError extends RegistryError {
  readonly code = 'BLOB_UPLOAD_UNKNOWN';
  constructor(id: string) {
    super(`blob upload unknown to registry: ${id}`, { uuid: id });
  }
}

export class BlobUploadInvalidError extends RegistryError {
  readonly code = 'BLOB_UPLOAD_INVALID';
}

/**
 * A write a configured policy forbids (`policies`: an immutable tag moved or deleted, a quota
 * exceeded). The spec's `DENIED` code; the message names the rule.
 */
export class PolicyDeniedError extends RegistryError {
  readonly code = 'DENIED';
}

export class DigestInvalidError extends RegistryError {
  readonly code = 'DIGEST_INVALID';
}

export class ManifestBlobUnknownError extends RegistryError {
  readonly code = 'MANIFEST_BLOB_UNKNOWN';
  constructor(digest: string) {
    super(`manifest references a blob or manifest unknown to this repository: ${digest}`, { digest });
  }
}

export class ManifestInvalidError extends RegistryError {
  readonly code = 'MANIFEST_INVALID';
}

export class ManifestUnknownError extends RegistryError {
  readonly code = 'MANIFEST_UNKNOWN';
  constructor(reference: string) {
    super(`manifest unknown: ${reference}`, { reference });
  }
}

export class ManifestTooLargeError extends RegistryError {
  readonly code = 'MANIFEST_TOO_LARGE';
  constructor(limit: number) {
    super(`manifest is larger than the limit of ${limit} bytes`, { limit });
  }
}

export class NameInvalidError extends RegistryError {
  readonly code = 'NAME_INVALID';
  constructor(name: string, reason: string) {
    super(`invalid repository name ${JSON.stringify(name)}: ${reason}`, { name });
  }
}

export class NameUnknownError extends RegistryError {
  readonly code = 'NAME_UNKNOWN';
  constructor(name: string) {
    super(`repository name not known to registry: ${name}`, { name });
  }
}

export class SizeInvalidError extends RegistryError {
  readonly code = 'SIZE_INVALID';
}

/**
 * A range that cannot be served or appended. `uploadSize` is set for an upload chunk that does not
 * start at the session's current size; `resourceSize` for a read range outside the content.
 */
export class RangeInvalidError extends RegistryError {
  readonly code = 'RANGE_INVALID';
  constructor(
    message: string,
    readonly sizes: { uploadSize?: number; resourceSize?: number } = {},
  ) {
    super(message, sizes);
  }
}

export class TagInvalidError extends RegistryError {
  readonly code = 'TAG_INVALID';
  constructor(tag: string) {
    super(`invalid tag ${JSON.stringify(tag)}: must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`, { tag });
  }
}

export class UnsupportedError extends RegistryError {
  readonly code = 'UNSUPPORTED';
}

/** A source the registry depends on (a pull-through cache's upstream) cannot answer now (503). */
export class UnavailableError extends RegistryError {
  readonly code = 'UNAVAILABLE';
}

export class PaginationNumberInvalidError extends RegistryError {
  readonly code = 'PAGINATION_NUMBER_INVALID';
  constructor(n: unknown, reason: string) {
    super(`invalid number of results requested (n=${String(n)}): ${reason}`, { n });
  }
}
