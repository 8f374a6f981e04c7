export type { FileInfo, FileWriter, StorageDriver, WalkDecision, WalkFn } from './driver';
export type { Logger } from './logger';
export * from './errors';
export { PATH_REGEXP, assertValidPath, isValidPath, isWithin, joinPath, parentPath } from './paths';
export { wrapDriver, normalizeError, type DriverOperation, type WrapOptions } from './base';
export { DriverFactories, type DriverContext, type DriverFactory } from './factories';
export { walkByList } from './walk';
export { ParameterReader } from './params';
export { SinkClosedError, pipeReader, writeAccepted } from './send';
