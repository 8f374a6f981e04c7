export { createAuthenticator } from './factory';
export { authorization, type AuthLocals } from './middleware';
export { corsHandling } from './cors';
export { requiredAccess, scopeParam, type RequiredAccess } from './access';
export { SIGNING_ALGORITHMS } from './jws';
export { jwkThumbprint, libtrustKeyId } from './trust';
export { LEEWAY_SECONDS } from './token';
export { VERIFIED_TTL_MS } from './htpasswd';
export {
  AuthSetupError,
  type Access,
  type AuthResult,
  type Authenticator,
  type AuthenticatorOptions,
  type ChallengeError,
  type HtpasswdOptions,
  type Identity,
  type SillyOptions,
  type TokenOptions,
} from './types';
