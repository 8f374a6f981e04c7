export { createApp } from './app';
export type { AppOptions } from './options';
export type {
  EventDescriptor,
  RegistryEvent,
  RegistryEventAction,
  RegistryEventListener,
  RegistryEventRequest,
  RegistryEventTarget,
} from './event-types';
export { ERROR_TABLE, ApiError, errorEnvelope, type ErrorCode, type ErrorSpec, type ErrorEnvelope } from './errors';
export { ROUTES, type Route } from './routes';
export type { UiAssets } from './ui/pages';
export { accessLog, uploadEventsOf, type AccessLogOptions, type RequestObserver, type RequestRecord, type UploadEvent } from './access-log';
export { UploadStateCodec, type UploadState } from './upload-state';
export {
  createAuthenticator,
  AuthSetupError,
  SIGNING_ALGORITHMS,
  type Access,
  type Authenticator,
  type AuthenticatorOptions,
  type AuthLocals,
  type HtpasswdOptions,
  type SillyOptions,
  type TokenOptions,
} from './auth';
