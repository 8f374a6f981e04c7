import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ResolvedOptions } from './options';

/** The first value of a comma-separated forwarding header. */
function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const first = value?.split(',')[0].trim();
  return first ? first : undefined;
}

/** `proto` and `host` of the first element of an RFC 7239 `Forwarded` header. */
function forwarded(header: string | undefined): { proto?: string; host?: string } {
  const element = header?.split(',')[0] ?? '';
  const result: { proto?: string; host?: string } = {};
  for (const pair of element.split(';')) {
    const [key, raw] = pair.split('=').map((s) => s?.trim());
    if (!key || !raw) continue;
    const value = raw.replace(/^"|"$/g, '');
    if (key.toLowerCase() === 'proto') result.proto = value;
    if (key.toLowerCase() === 'host') result.host = value;
  }
  return result;
}

/**
 * The scheme and authority Location headers start with: `http.host` when configured, nothing with
 * `http.relativeurls`, else derived from the request (`Forwarded`, `X-Forwarded-Proto/Host`, `Host`).
 */
export function baseUrl(req: IncomingMessage, options: ResolvedOptions): string {
  if (options.relativeUrls) return '';
  if (options.host) return options.host;
  const fwd = forwarded(firstValue(req.headers.forwarded));
  const proto = fwd.proto ?? firstValue(req.headers['x-forwarded-proto']) ?? ((req.socket as TLSSocket).encrypted ? 'https' : 'http');
  const host = fwd.host ?? firstValue(req.headers['x-forwarded-host']) ?? req.headers.host ?? 'localhost';
  return `${proto}://${host}`;
}

/** Builds the URLs the API hands out, under `http.prefix`. */
export class UrlBuilder {
  constructor(
    private readonly base: string,
    private readonly prefix: string,
  ) {}

  /** A URL for an API path (`/v2/...`), absolute unless relative URLs are configured. */
  url(path: string, query?: Record<string, string>): string {
    const search = query ? `?${new URLSearchParams(query).toString()}` : '';
    return `${this.base}${this.prefix}${path}${search}`;
  }

  /** A path-only URL (for `Link` headers, which clients resolve against the request). */
  path(path: string, query?: Record<string, string>): string {
    const search = query ? `?${new URLSearchParams(query).toString()}` : '';
    return `${this.prefix}${path}${search}`;
  }

  blob(name: string, digest: string): string {
    return this.url(`/v2/${name}/blobs/${digest}`);
  }

  manifest(name: string, reference: string): string {
    return this.url(`/v2/${name}/manifests/${reference}`);
  }

  upload(name: string, id: string, state: string): string {
    return this.url(`/v2/${name}/blobs/uploads/${id}`, { _state: state });
  }
}
