import { HtpasswdAuthenticator } from './htpasswd';
import { SillyAuthenticator } from './silly';
import { TokenAuthenticator } from './token';
import type { Authenticator, AuthenticatorOptions } from './types';

/**
 * The authenticator of a scheme, with its files read now: throws `AuthSetupError` (naming the
 * configuration key) when a file is missing or unusable, so a registry never starts without the
 * access control it was configured with. Its `warnings` are for the operator's log.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  switch (options.type) {
    case 'silly':
      return new SillyAuthenticator(options);
    case 'htpasswd':
      return new HtpasswdAuthenticator(options);
    case 'token':
      return new TokenAuthenticator(options);
  }
}
