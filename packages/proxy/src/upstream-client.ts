import type { Readable } from 'node:stream';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { Digest, MediaType, UnavailableError } from '@berth/registry';
import type { Logger } from '@berth/logging';
import { parseChallenges } from './challenge';
import { UpstreamAuth, type Credentials } from './upstream-auth';

/** Time limits of upstream requests, in milliseconds. */
export interface UpstreamTimeouts {
  /** Establishing a connection (default 10 s). */
  readonly connect?: number;
  /** Waiting for the response headers (default 30 s). */
  readonly headers?: number;
  /** Longest pause between two chunks of a body (default 5 min, distribution's `cachewritetimeout`). */
  readonly body?: number;
}

/** The manifest media types Berth asks for (it stores and serves no schema 1). */
export const MANIFEST_ACCEPT = [MediaType.OCI_INDEX, MediaType.OCI_MANIFEST, MediaType.DOCKER_MANIFEST_LIST, MediaType.DOCKER_MANIFEST].join(', ');

const MAX_REDIRECTS = 5;

/** What the upstream said about a manifest on HEAD. */
export interface ManifestHead {
  /** `Docker-Content-Digest`, when the upstream sent a valid one. */
  readonly digest?: Digest;
}

/** A manifest as the upstream served it. */
export interface FetchedManifest {
  readonly content: Buffer;
  readonly contentType?: string;
  /** `Docker-Content-Digest`, when the upstream sent a valid one. */
  readonly digest?: Digest;
}

/** A blob response whose body the caller must consume or destroy. */
export interface UpstreamBlob {
  readonly size?: number;
  readonly body: Readable;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function headerDigest(headers: Dispatcher.ResponseData['headers']): Digest | undefined {
  const value = single(headers['docker-content-digest']);
  return value !== undefined && Digest.isValid(value) ? Digest.parse(value) : undefined;
}

function contentLength(headers: Dispatcher.ResponseData['headers']): number | undefined {
  const value = single(headers['content-length']);
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/**
 * The Registry V2 API of the upstream, read only, over undici (redirects followed; `Authorization`
 * is not sent along a redirect to another origin, such as Docker Hub's blob CDN). Answers:
 * - found: the content;
 * - absent (undefined): 404, or 401/403 even with credentials (Docker Hub answers 401 for a
 *   repository that does not exist); a refusal is logged as a warning;
 * - `UnavailableError` for anything else: unreachable, timeouts, 429, 5xx, unexpected statuses.
 */
export class UpstreamClient {
  private readonly agent: Agent;
  private readonly dispatcher: Dispatcher;
  private readonly auth: UpstreamAuth;
  private readonly base: string;
  private readonly logger: Logger;

  constructor(options: { remoteUrl: string; credentials?: Credentials; timeouts?: UpstreamTimeouts; logger: Logger }) {
    const timeouts = options.timeouts ?? {};
    this.base = options.remoteUrl.replace(/\/+$/, '');
    this.logger = options.logger;
    this.agent = new Agent({
      connectTimeout: timeouts.connect ?? 10_000,
      headersTimeout: timeouts.headers ?? 30_000,
      bodyTimeout: timeouts.body ?? 300_000,
    });
    this.dispatcher = this.agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS }));
    this.auth = new UpstreamAuth(this.dispatcher, options.credentials, options.logger);
  }

  /** The upstream's origin, for messages. */
  get origin(): string {
    return new URL(this.base).origin;
  }

  /** HEAD of a manifest by tag or digest; undefined when absent. */
  async headManifest(name: string, reference: string): Promise<ManifestHead | undefined> {
    const response = await this.send(name, 'HEAD', `/v2/${name}/manifests/${reference}`, { accept: MANIFEST_ACCEPT });
    await response.body.dump();
    if (!this.found(response, name, reference)) return undefined;
    return { digest: headerDigest(response.headers) };
  }

  /** GET of a manifest; undefined when absent. More than `maxBytes` is `UnavailableError`. */
  async getManifest(name: string, reference: string, maxBytes: number): Promise<FetchedManifest | undefined> {
    const response = await this.send(name, 'GET', `/v2/${name}/manifests/${reference}`, { accept: MANIFEST_ACCEPT });
    if (!this.found(response, name, reference)) {
      await response.body.dump();
      return undefined;
    }
    const declared = contentLength(response.headers);
    if (declared !== undefined && declared > maxBytes) {
      response.body.destroy();
      throw new UnavailableError(`the upstream's manifest ${name}:${reference} has ${declared} bytes, more than the ${maxBytes} this registry stores`);
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          response.body.destroy();
          throw new UnavailableError(`the upstream's manifest ${name}:${reference} is larger than the ${maxBytes} bytes this registry stores`);
        }
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof UnavailableError) throw error;
      throw new UnavailableError(`the upstream failed while sending manifest ${name}:${reference}: ${(error as Error).message}`);
    }
    return { content: Buffer.concat(chunks), contentType: single(response.headers['content-type']), digest: headerDigest(response.headers) };
  }

  /** HEAD of a blob: its size (undefined when not announced); undefined when absent. */
  async headBlob(name: string, digest: Digest): Promise<{ size?: number } | undefined> {
    const response = await this.send(name, 'HEAD', `/v2/${name}/blobs/${digest}`, {});
    await response.body.dump();
    if (!this.found(response, name, digest.toString())) return undefined;
    return { size: contentLength(response.headers) };
  }

  /** GET of a blob, streaming; undefined when absent. The caller consumes or destroys `body`. */
  async getBlob(name: string, digest: Digest): Promise<UpstreamBlob | undefined> {
    const response = await this.send(name, 'GET', `/v2/${name}/blobs/${digest}`, {});
    if (!this.found(response, name, digest.toString())) {
      await response.body.dump();
      return undefined;
    }
    return { size: contentLength(response.headers), body: response.body };
  }

  /** Releases the connections, cutting requests still running (called once the server drained). */
  async close(): Promise<void> {
    await this.agent.destroy();
  }

  /** True for 200; false for an absent answer; throws `UnavailableError` for the rest. */
  private found(response: Dispatcher.ResponseData, name: string, reference: string): boolean {
    const status = response.statusCode;
    if (status === 200) return true;
    if (status === 404) return false;
    if (status === 401 || status === 403) {
      this.logger.warn('the upstream refused a pull: the repository does not exist there or proxy.username/password may not read it', {
        upstream: this.origin,
        repository: name,
        reference,
        status,
      });
      return false;
    }
    throw new UnavailableError(`the upstream ${this.origin} answered ${status} for ${name}:${reference}`, { upstream: this.origin, status });
  }

  /** One request with authentication: up front when the scheme is known, else after the first 401. */
  private async send(name: string, method: 'GET' | 'HEAD', path: string, headers: Record<string, string>): Promise<Dispatcher.ResponseData> {
    const url = `${this.base}${path}`;
    const authorization = await this.auth.authorization(name);
    let response = await this.raw(method, url, headers, authorization);
    if (response.statusCode !== 401) return response;
    const challenges = parseChallenges(response.headers['www-authenticate']);
    await response.body.dump();
    const retry = await this.auth.retryAfter(challenges, name, authorization);
    if (retry === undefined) return response;
    response = await this.raw(method, url, headers, retry);
    return response;
  }

  private async raw(method: 'GET' | 'HEAD', url: string, headers: Record<string, string>, authorization: string | undefined): Promise<Dispatcher.ResponseData> {
    const all: Record<string, string> = { 'user-agent': 'berth-pull-through-cache', 'accept-encoding': 'identity', ...headers };
    if (authorization !== undefined) all.authorization = authorization;
    try {
      return await request(url, { method, headers: all, dispatcher: this.dispatcher });
    } catch (error) {
      throw new UnavailableError(`the upstream ${this.origin} is unreachable: ${(error as Error).message}`, { upstream: this.origin });
    }
  }
}
