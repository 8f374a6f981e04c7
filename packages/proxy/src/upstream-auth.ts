import { request, type Dispatcher } from 'undici';
import { UnavailableError } from '@berth/registry';
import type { Logger } from '@berth/logging';
import type { Challenge } from './challenge';

/** Credentials for the upstream (`proxy.username` / `proxy.password`). */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** A token is reused until this long before the expiry its issuer announced. */
const EXPIRY_MARGIN_MS = 10_000;
/** `expires_in` when the issuer gives none (the token spec's default, and its minimum). */
const DEFAULT_TOKEN_SECONDS = 60;
/** Tokens kept at most (one per repository scope); the oldest go first beyond it. */
const MAX_CACHED_TOKENS = 1000;

interface CachedToken {
  readonly value: string;
  readonly expiresAt: number;
}

/** `repository:<name>:pull`: the scope a pull of `name` needs (docs/spec/auth/scope.md). */
export function pullScope(name: string): string {
  return `repository:${name}:pull`;
}

/**
 * How Berth authenticates to its upstream. It learns the scheme from the upstream's first 401
 * challenge and then authenticates every request up front:
 * - `Basic`: the configured username and password.
 * - `Bearer` (Docker Hub, distribution's token auth, most registries): a token from the challenge's
 *   `realm`, asked with its `service` and the repository's pull scope, with the configured
 *   credentials as Basic auth (anonymous without them). Tokens are cached per realm, service and
 *   scope until shortly before they expire; concurrent requests for one scope share one token
 *   request.
 */
export class UpstreamAuth {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly credentials: Credentials | undefined,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The `Authorization` value for a request about repository `name`, or undefined (anonymous). */
  async authorization(name: string): Promise<string | undefined> {
    const challenge = this.challenge;
    if (challenge?.scheme === 'bearer') return this.bearer(challenge, name, false);
    if (challenge?.scheme === 'basic') return this.basic();
    return undefined;
  }

  /**
   * Learns from a 401: the `Authorization` value to retry with, or undefined when retrying cannot
   * help (no usable challenge, or the same credentials were just refused). `sent` is what the
   * refused request carried.
   */
  async retryAfter(challenges: readonly Challenge[], name: string, sent: string | undefined): Promise<string | undefined> {
    const challenge = challenges.find((c) => c.scheme === 'bearer' && c.params.realm) ?? challenges.find((c) => c.scheme === 'basic');
    if (!challenge) return undefined;
    this.challenge = challenge;
    if (challenge.scheme === 'basic') {
      const basic = this.basic();
      return basic !== undefined && basic !== sent ? basic : undefined;
    }
    const token = await this.bearer(challenge, name, true);
    return token !== undefined && token !== sent ? token : undefined;
  }

  private basic(): string | undefined {
    if (!this.credentials) return undefined;
    const { username, password } = this.credentials;
    return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  /** `Bearer <token>` for the repository's pull scope; `fresh` ignores the cached token. */
  private async bearer(challenge: Challenge, name: string, fresh: boolean): Promise<string | undefined> {
    const realm = challenge.params.realm!;
    const service = challenge.params.service;
    const scope = pullScope(name);
    const key = `${realm} ${service ?? ''} ${scope}`;
    const cached = this.tokens.get(key);
    if (!fresh && cached && cached.expiresAt > this.now()) return `Bearer ${cached.value}`;
    this.tokens.delete(key);
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.fetchToken(realm, service, scope, key).finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    const token = await pending;
    return token === undefined ? undefined : `Bearer ${token}`;
  }

  /**
   * `GET <realm>?service=…&scope=…`. Resolves undefined when the issuer refuses (401/403: the
   * request then goes out anonymously and the upstream's refusal is what the caller sees); throws
   * `UnavailableError` when it cannot be reached or fails.
   */
  private async fetchToken(realm: string, service: string | undefined, scope: string, key: string): Promise<string | undefined> {
    const url = new URL(realm);
    if (service !== undefined) url.searchParams.set('service', service);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    const basic = this.basic();
    if (basic) headers.authorization = basic;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, { method: 'GET', headers, dispatcher: this.dispatcher });
    } catch (error) {
      throw new UnavailableError(`the upstream's token server ${url.origin} is unreachable: ${(error as Error).message}`);
    }
    if (response.statusCode === 401 || response.statusCode === 403) {
      await response.body.dump();
      this.logger.warn('the upstream token server refused the credentials', { realm, scope, status: response.statusCode });
      return undefined;
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new UnavailableError(`the upstream's token server ${url.origin} answered ${response.statusCode}`);
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = (await response.body.json()) as typeof body;
    } catch (error) {
      throw new UnavailableError(`the upstream's token server ${url.origin} sent no JSON: ${(error as Error).message}`);
    }
    const token = typeof body.token === 'string' && body.token !== '' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '') throw new UnavailableError(`the upstream's token server ${url.origin} sent no token`);
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    const lifetime = Math.max(seconds * 1000 - EXPIRY_MARGIN_MS, (seconds * 1000) / 2);
    if (this.tokens.size >= MAX_CACHED_TOKENS) this.tokens.delete(this.tokens.keys().next().value!);
    this.tokens.set(key, { value: token, expiresAt: this.now() + lifetime });
    this.logger.debug('upstream token obtained', { realm, scope, expiresInSeconds: seconds });
    return token;
  }
}
