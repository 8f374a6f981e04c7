import type { IncomingMessage } from 'node:http';
import type { Logger } from '@berth/logging';

/**
 * One thing a request needs to be allowed to do, in distribution's terms: `repository:<name>:pull`,
 * `repository:<name>:push`, `repository:<name>:delete`, `registry:catalog:*`.
 */
export interface Access {
  readonly type: string;
  readonly name: string;
  readonly action: string;
}

/** Who made a request, once their credentials were checked. */
export interface Identity {
  /** The user name: the htpasswd user, the token's `sub`, or `silly`. */
  readonly user: string;
  /** True when this identity may do `access` (htpasswd and silly users may do anything). */
  allows(access: Access): boolean;
}

/**
 * What the credentials of a request establish:
 * - `anonymous`: the request carries no credentials this scheme understands;
 * - `authenticated`: valid credentials;
 * - `rejected`: credentials that are wrong, malformed, expired or untrusted (`reason` is for the
 *   log, never for the client).
 */
export type AuthResult =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'authenticated'; readonly identity: Identity }
  | { readonly kind: 'rejected'; readonly reason: string };

/** Why a challenge is sent, when the scheme says (Bearer's `error=` parameter, RFC 6750 §3.1). */
export type ChallengeError = 'invalid_token' | 'insufficient_scope';

/**
 * An authentication scheme (`auth.silly`, `auth.htpasswd`, `auth.token`). It establishes who made a
 * request and writes the `WWW-Authenticate` challenge of a refusal; what each request needs is
 * decided once, by the API's authorization middleware, from the route table.
 */
export interface Authenticator {
  readonly scheme: 'silly' | 'htpasswd' | 'token';
  /** Requests that only pull (and the catalog) are served without credentials. */
  readonly anonymousPull: boolean;
  /** What the operator should know from loading the scheme's files (never holds a secret). */
  readonly warnings: readonly string[];
  /** Checks the request's `Authorization` header. Never throws for bad credentials (`rejected`). */
  authenticate(req: IncomingMessage, logger: Logger): Promise<AuthResult>;
  /** The `WWW-Authenticate` value answering a request that needed `required`. */
  challenge(req: IncomingMessage, required: readonly Access[], error?: ChallengeError): string;
}

/** `auth.silly` (development only: any `Authorization` header passes). */
export interface SillyOptions {
  readonly type: 'silly';
  readonly realm: string;
  readonly service: string;
}

/** `auth.htpasswd`: users and bcrypt hashes in an Apache htpasswd file. */
export interface HtpasswdOptions {
  readonly type: 'htpasswd';
  readonly realm: string;
  /** The file; it must exist at start-up and is re-read whenever it changes. */
  readonly path: string;
  readonly anonymousPull?: boolean;
}

/** `auth.token`: JWTs issued by a token server, in distribution's token spec. */
export interface TokenOptions {
  readonly type: 'token';
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM bundle of the certificates that x5c chains must reach; their keys are trusted by thumbprint too. */
  readonly rootCertBundle?: string;
  /** JSON Web Key Set file: keys trusted by `kid` (and by RFC 7638 thumbprint). */
  readonly jwks?: string;
  /** Accepted `alg` values; empty or absent means distribution's list (EdDSA, HS*, RS*, ES*, PS*). */
  readonly signingAlgorithms?: readonly string[];
  /** Challenges name `<scheme>://<Host><autoRedirectPath>` as the realm instead of `realm`. */
  readonly autoRedirect?: boolean;
  readonly autoRedirectPath?: string;
  readonly anonymousPull?: boolean;
}

export type AuthenticatorOptions = SillyOptions | HtpasswdOptions | TokenOptions;

/**
 * A scheme cannot be set up from its configuration (a missing htpasswd file, an unreadable
 * certificate bundle, …). `key` names the configuration key to fix (`auth.htpasswd.path`).
 */
export class AuthSetupError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'AuthSetupError';
  }
}
