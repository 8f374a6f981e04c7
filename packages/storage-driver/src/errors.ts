/** Base class of every error a storage driver throws; `driver` names the driver. */
export class StorageDriverError extends Error {
  readonly code: string = 'STORAGE_DRIVER_ERROR';
  constructor(
    readonly driver: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${driver}: ${message}`, options);
    this.name = new.target.name;
  }
}

export class PathNotFoundError extends StorageDriverError {
  override readonly code = 'PATH_NOT_FOUND';
  constructor(
    driver: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(driver, `path not found: ${path}`, options);
  }
}

export class InvalidPathError extends StorageDriverError {
  override readonly code = 'INVALID_PATH';
  constructor(
    driver: string,
    readonly path: string,
  ) {
    super(driver, `invalid path: ${JSON.stringify(path)}`);
  }
}

export class InvalidOffsetError extends StorageDriverError {
  override readonly code = 'INVALID_OFFSET';
  constructor(
    driver: string,
    readonly path: string,
    readonly offset: number,
  ) {
    super(driver, `invalid offset ${offset} for path ${path}`);
  }
}

export class UnsupportedMethodError extends StorageDriverError {
  override readonly code = 'UNSUPPORTED_METHOD';
  constructor(
    driver: string,
    readonly method: string,
  ) {
    super(driver, `unsupported method: ${method}`);
  }
}

/**
 * The store cannot answer now: the connection was refused, reset or timed out, or the store said
 * it is overloaded or failing (after the driver's retries). The registry answers it as 503
 * UNAVAILABLE; a driver decides which of its failures are this one.
 */
export class StorageUnavailableError extends StorageDriverError {
  override readonly code = 'STORAGE_UNAVAILABLE';
}

/** Thrown by `DriverFactories.create` for a name nothing registered. */
export class UnknownDriverError extends Error {
  readonly code = 'UNKNOWN_DRIVER';
  constructor(
    readonly driver: string,
    readonly known: readonly string[],
  ) {
    super(`unknown storage driver "${driver}" (known: ${known.join(', ')})`);
    this.name = 'UnknownDriverError';
  }
}

/** A driver parameter that is missing or malformed; `key` is the parameter's name (`bucket`). */
export class DriverParameterError extends Error {
  readonly code = 'DRIVER_PARAMETER_INVALID';
  constructor(
    readonly driver: string,
    readonly key: string,
    message: string,
  ) {
    super(`storage.${driver}.${key}: ${message}`);
    this.name = 'DriverParameterError';
  }
}
