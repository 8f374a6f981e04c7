import type { IncomingMessage } from 'node:http';
import { quoted } from './access';
import { fullAccess } from './htpasswd';
import type { Access, AuthResult, Authenticator, SillyOptions } from './types';

/**
 * `auth.silly` (distribution's development scheme): any `Authorization` header passes as user
 * `silly` with every access; without one the request is challenged like token authentication,
 * with each needed access as its own `type:name:action` scope.
 */
export class SillyAuthenticator implements Authenticator {
  readonly scheme = 'silly' as const;
  readonly anonymousPull = false;
  readonly warnings = ['auth.silly: any Authorization header is accepted; use it for development only'];

  constructor(private readonly options: SillyOptions) {}

  async authenticate(req: IncomingMessage): Promise<AuthResult> {
    return req.headers.authorization ? { kind: 'authenticated', identity: fullAccess('silly') } : { kind: 'anonymous' };
  }

  challenge(_req: IncomingMessage, required: readonly Access[]): string {
    let value = `Bearer realm=${quoted(this.options.realm)},service=${quoted(this.options.service)}`;
    if (required.length > 0) value += `,scope=${quoted(required.map((a) => `${a.type}:${a.name}:${a.action}`).join(' '))}`;
    return value;
  }
}
