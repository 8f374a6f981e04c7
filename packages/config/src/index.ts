export { loadConfig, SUPPORTED_VERSION, type LoadOptions } from './load';
export { ConfigError } from './errors';
export { REDACTED } from '@berth/logging';
export { redactConfig } from './redact';
export { ENV_PREFIX, CONFIGURATION_PATH_VAR } from './env';
export { parseGoDurationNs } from './duration';
export type * from './types';
