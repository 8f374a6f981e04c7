import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import bcrypt from 'bcryptjs';
import type { Logger } from '@berth/logging';
import { quoted } from './access';
import { HtpasswdFile } from './htpasswd-file';
import type { Access, AuthResult, Authenticator, HtpasswdOptions, Identity } from './types';

/** How long a successful verification is remembered. */
export const VERIFIED_TTL_MS = 60_000;
/** At most this many remembered verifications (the oldest go first). */
const VERIFIED_MAX = 1024;

/** `Authorization: Basic …` → user and password; `none` without a Basic header, `malformed` for a bad one. */
export function basicCredentials(req: IncomingMessage): { user: string; password: string } | 'none' | 'malformed' {
  const header = req.headers.authorization;
  if (!header) return 'none';
  const [scheme, value] = header.trim().split(/\s+/, 2);
  if (scheme?.toLowerCase() !== 'basic') return 'none';
  if (!value || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return 'malformed';
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * `auth.htpasswd`: HTTP Basic against an htpasswd file of bcrypt hashes (distribution's scheme; any
 * valid user may do anything). The file is re-read when it changes.
 *
 * Costs: bcrypt is deliberately slow (bcryptjs, cost 10: about 75 ms of CPU; `htpasswd -B`'s
 * default cost 5: about 8 ms). A push sends credentials with every request, so a successful
 * verification is remembered for `VERIFIED_TTL_MS`, keyed by an HMAC (per-process random key) of
 * user and password, and only for the hash it was checked against: a changed password or a
 * removed user is never served from memory. Concurrent requests with the same credentials share
 * one verification. Wrong passwords are never remembered. An unknown user costs a comparison with
 * a dummy hash of the file's usual cost, like a known one.
 */
export class HtpasswdAuthenticator implements Authenticator {
  readonly scheme = 'htpasswd' as const;
  readonly anonymousPull: boolean;
  readonly warnings: readonly string[];
  private readonly file: HtpasswdFile;
  private readonly realm: string;
  private readonly cacheKey = randomBytes(32);
  private readonly verified = new Map<string, { hash: string; expires: number }>();
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly dummies = new Map<number, Promise<string>>();

  constructor(options: HtpasswdOptions) {
    this.realm = options.realm;
    this.anonymousPull = options.anonymousPull ?? false;
    this.file = new HtpasswdFile(options.path);
    this.warnings = this.file.warnings;
    // Ready before the first unknown user, so that one costs no more than the others.
    void this.dummy(this.file.loaded.typicalCost);
  }

  async authenticate(req: IncomingMessage, logger: Logger): Promise<AuthResult> {
    const credentials = basicCredentials(req);
    if (credentials === 'none') return { kind: 'anonymous' };
    if (credentials === 'malformed') return { kind: 'rejected', reason: 'malformed Basic credentials' };
    // An empty user and password is what some clients send when they have no credentials.
    if (credentials.user === '' && credentials.password === '') return { kind: 'anonymous' };
    if (await this.verify(credentials.user, credentials.password, logger)) {
      return { kind: 'authenticated', identity: fullAccess(credentials.user) };
    }
    return { kind: 'rejected', reason: `wrong password or unknown user ${JSON.stringify(credentials.user)}` };
  }

  challenge(): string {
    return `Basic realm=${quoted(this.realm)}`;
  }

  /** True when `password` is the password of `user` in the file as it is now. */
  async verify(user: string, password: string, logger: Logger): Promise<boolean> {
    const { users, typicalCost } = await this.file.current(logger);
    const hash = users.get(user);
    const key = createHmac('sha256', this.cacheKey).update(user).update('\0').update(password).digest('base64');
    const now = Date.now();
    if (hash !== undefined) {
      const remembered = this.verified.get(key);
      if (remembered && remembered.hash === hash && remembered.expires > now) return true;
    }
    const against = hash ?? (await this.dummy(typicalCost));
    const flightKey = `${key}\0${against}`;
    let flight = this.inFlight.get(flightKey);
    if (!flight) {
      flight = bcrypt.compare(password, against).finally(() => this.inFlight.delete(flightKey));
      this.inFlight.set(flightKey, flight);
    }
    const matches = await flight;
    if (hash === undefined || !matches) return false;
    this.remember(key, hash, now);
    return true;
  }

  private remember(key: string, hash: string, now: number): void {
    this.verified.delete(key);
    this.verified.set(key, { hash, expires: now + VERIFIED_TTL_MS });
    for (const oldest of this.verified.keys()) {
      if (this.verified.size <= VERIFIED_MAX) break;
      this.verified.delete(oldest);
    }
  }

  /** A bcrypt hash of a random password at `cost`, made once per cost. */
  private dummy(cost: number): Promise<string> {
    let dummy = this.dummies.get(cost);
    if (!dummy) {
      dummy = bcrypt.hash(randomBytes(16).toString('hex'), cost);
      this.dummies.set(cost, dummy);
    }
    return dummy;
  }
}

/** An identity allowed everything (htpasswd and silly users). */
export function fullAccess(user: string): Identity {
  return { user, allows: (_access: Access) => true };
}
