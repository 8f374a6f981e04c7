import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '@berth/logging';
import { quoted, scopeParam } from './access';
import { InvalidTokenError, parseJws, SIGNING_ALGORITHMS, verifySignature } from './jws';
import { TrustStore } from './trust';
import type { Access, AuthResult, Authenticator, ChallengeError, Identity, TokenOptions } from './types';
import { AuthSetupError } from './types';

/** Clock skew allowed on `exp` and `nbf` (distribution's `Leeway`). */
export const LEEWAY_SECONDS = 60;
/** A verified token is trusted again without verification for at most this long (and never past its `exp`). */
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX = 1024;

/** The `access` claim: what the token server granted, per resource. */
interface GrantedAccess {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

function grantedAccess(claim: unknown): GrantedAccess[] {
  if (!Array.isArray(claim)) return [];
  return claim.flatMap((entry: unknown) => {
    const e = entry as Partial<Record<'type' | 'name' | 'actions', unknown>> | null;
    if (!e || typeof e.type !== 'string' || typeof e.name !== 'string' || !Array.isArray(e.actions)) return [];
    return [{ type: e.type, name: e.name, actions: e.actions.filter((a): a is string => typeof a === 'string') }];
  });
}

/** The `Authorization: Bearer <token>` value, or undefined. */
function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') return undefined;
  const token = header.slice(space + 1).trim();
  return token === '' ? undefined : token;
}

/**
 * `auth.token` (distribution's token authentication): a JWT from the token server at `realm`,
 * signed by a key the registry trusts (`TrustStore`), whose `iss` is `issuer`, whose `aud` names
 * `service`, valid now within `LEEWAY_SECONDS`, and whose `access` claim grants each action needed
 * (`*` grants every action on its resource).
 */
export class TokenAuthenticator implements Authenticator {
  readonly scheme = 'token' as const;
  readonly anonymousPull: boolean;
  readonly warnings: readonly string[] = [];
  private readonly trust: TrustStore;
  private readonly algorithms: readonly string[];
  /** SHA-256 of a token → what it established, until `until` (ms). */
  private readonly verified = new Map<string, { identity: Identity; until: number }>();

  constructor(private readonly options: TokenOptions) {
    this.anonymousPull = options.anonymousPull ?? false;
    const unknown = (options.signingAlgorithms ?? []).filter((a) => !(SIGNING_ALGORITHMS as readonly string[]).includes(a));
    if (unknown.length > 0) throw new AuthSetupError('auth.token.signingalgorithms', `unsupported signing algorithm ${unknown.join(', ')}`);
    this.algorithms = options.signingAlgorithms?.length ? options.signingAlgorithms : SIGNING_ALGORITHMS;
    this.trust = new TrustStore(options);
  }

  async authenticate(req: IncomingMessage, _logger: Logger): Promise<AuthResult> {
    const token = bearerToken(req);
    if (token === undefined) return { kind: 'anonymous' };
    const key = createHash('sha256').update(token).digest('base64');
    const now = Date.now();
    const remembered = this.verified.get(key);
    if (remembered && remembered.until > now) return { kind: 'authenticated', identity: remembered.identity };
    try {
      const { identity, exp } = this.check(token, now);
      this.remember(key, identity, Math.min(now + VERIFIED_TTL_MS, (exp + LEEWAY_SECONDS) * 1000));
      return { kind: 'authenticated', identity };
    } catch (error) {
      if (error instanceof InvalidTokenError) return { kind: 'rejected', reason: error.message };
      throw error;
    }
  }

  /**
   * Verifying a token (signature, x5c chain, claims) costs about 0.1–0.6 ms; a verified one is
   * remembered, by its SHA-256, until it expires (leeway included) but at most `VERIFIED_TTL_MS`,
   * so the many requests of one pull or push verify it once. Refused tokens are not remembered.
   */
  private remember(key: string, identity: Identity, until: number): void {
    this.verified.delete(key);
    this.verified.set(key, { identity, until });
    for (const oldest of this.verified.keys()) {
      if (this.verified.size <= VERIFIED_MAX) break;
      this.verified.delete(oldest);
    }
  }

  /** The identity a token establishes; `InvalidTokenError` when it must be refused. */
  verify(token: string, now = Date.now()): Identity {
    return this.check(token, now).identity;
  }

  private check(token: string, now: number): { identity: Identity; exp: number } {
    const jws = parseJws(token, this.algorithms);
    const key = this.trust.signingKey(jws.header, now);
    if (!verifySignature(jws.header.alg as string, key, jws.signingInput, jws.signature)) throw new InvalidTokenError('the signature does not verify');
    const claims = jws.payload;
    if (claims.iss !== this.options.issuer) throw new InvalidTokenError(`token from untrusted issuer ${JSON.stringify(claims.iss)}`);
    const audience = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
    if (!audience.includes(this.options.service)) throw new InvalidTokenError(`token intended for another audience: ${JSON.stringify(claims.aud)}`);
    const seconds = now / 1000;
    const exp = typeof claims.exp === 'number' ? claims.exp : 0;
    if (seconds > exp + LEEWAY_SECONDS) throw new InvalidTokenError(`token expired at ${new Date(exp * 1000).toISOString()}`);
    const nbf = typeof claims.nbf === 'number' ? claims.nbf : 0;
    if (seconds < nbf - LEEWAY_SECONDS) throw new InvalidTokenError(`token not valid before ${new Date(nbf * 1000).toISOString()}`);
    const granted = grantedAccess(claims.access);
    const identity: Identity = {
      user: typeof claims.sub === 'string' ? claims.sub : '',
      allows: (access: Access) =>
        granted.some((g) => g.type === access.type && g.name === access.name && (g.actions.includes(access.action) || g.actions.includes('*'))),
    };
    return { identity, exp };
  }

  /** `Bearer realm="…",service="…"[,scope="…"][,error="…"]`, as distribution writes it. */
  challenge(req: IncomingMessage, required: readonly Access[], error?: ChallengeError): string {
    let value = `Bearer realm=${quoted(this.realm(req))},service=${quoted(this.options.service)}`;
    const scope = scopeParam(required);
    if (scope !== '') value += `,scope=${quoted(scope)}`;
    if (error) value += `,error=${quoted(error)}`;
    return value;
  }

  /** `realm`, or with `autoredirect` the token path on the host the client asked (https unless X-Forwarded-Proto says). */
  private realm(req: IncomingMessage): string {
    if (!this.options.autoRedirect) return this.options.realm;
    const forwarded = req.headers['x-forwarded-proto'];
    const scheme = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim() || 'https';
    return `${scheme}://${req.headers.host ?? ''}${this.options.autoRedirectPath ?? '/auth/token/'}`;
  }
}
