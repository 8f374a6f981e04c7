import { MediaType, parseManifest, type Descriptor } from '@berth/registry';
import type { RequestContext } from './context';
import type { EventDescriptor, RegistryEventAction, RegistryEventTarget } from './event-types';

/** An IPv4 or IPv6 address (what distribution accepts from forwarding headers). */
function isIp(value: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(value) || (value.includes(':') && /^[0-9A-Fa-f:.]+$/.test(value));
}

function remoteAddr(ctx: RequestContext): string {
  const header = (name: string): string | undefined => {
    const value = ctx.req.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const forwarded = header('x-forwarded-for')?.split(',')[0]?.trim();
  if (forwarded && isIp(forwarded)) return forwarded;
  const realIp = header('x-real-ip')?.trim();
  if (realIp && isIp(realIp)) return realIp;
  const socket = ctx.req.socket;
  const address = socket.remoteAddress ?? '';
  return address.includes(':') ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`;
}

/**
 * The authenticated user of the request: `res.locals.user` as set by the auth middleware, either
 * a string or an object with a string `name`.
 */
function actorName(ctx: RequestContext): string | undefined {
  const user: unknown = ctx.res.locals.user;
  if (typeof user === 'string' && user !== '') return user;
  if (typeof user === 'object' && user !== null && typeof (user as { name?: unknown }).name === 'string') {
    return (user as { name: string }).name || undefined;
  }
  return undefined;
}

/** True when an events listener is configured (handlers skip building events otherwise). */
export function wantsEvents(ctx: RequestContext): boolean {
  return ctx.options.events !== undefined;
}

/** True when the listener wants manifest references. */
export function wantsReferences(ctx: RequestContext): boolean {
  return ctx.options.events?.includeReferences === true;
}

/**
 * Reports an event for the current request to the configured listener, if any. Never throws and
 * never waits: a failing listener is logged at error.
 */
export function emitEvent(ctx: RequestContext, action: RegistryEventAction, target: RegistryEventTarget): void {
  const listener = ctx.options.events;
  if (!listener) return;
  try {
    const name = actorName(ctx);
    listener.onEvent({
      action,
      timestamp: new Date(),
      target,
      request: {
        id: String(ctx.res.locals.requestId ?? ''),
        addr: remoteAddr(ctx),
        host: ctx.req.headers.host ?? '',
        method: ctx.req.method,
        useragent: ctx.req.headers['user-agent'] ?? '',
      },
      actor: name === undefined ? {} : { name },
    });
  } catch (error) {
    ctx.logger.error('the event listener failed', { action, error: error instanceof Error ? error.message : String(error) });
  }
}

function eventDescriptor(d: Descriptor): EventDescriptor {
  return {
    mediaType: d.mediaType,
    digest: d.digest.toString(),
    size: d.size,
    ...(d.urls && d.urls.length > 0 ? { urls: d.urls } : {}),
    ...(d.annotations ? { annotations: d.annotations } : {}),
  };
}

/**
 * The descriptors a manifest references (config and layers, or an index's children), or undefined
 * when the listener does not want them or the content does not parse.
 */
export function manifestReferences(ctx: RequestContext, content: Buffer, mediaType: string): readonly EventDescriptor[] | undefined {
  if (!wantsReferences(ctx)) return undefined;
  try {
    const manifest = parseManifest(content, mediaType);
    return [...(manifest.config ? [manifest.config] : []), ...manifest.layers, ...manifest.manifests].map(eventDescriptor);
  } catch {
    return undefined;
  }
}

/** The target of a blob push, pull or mount event. */
export function blobTarget(ctx: RequestContext, repository: string, digest: string, size: number): RegistryEventTarget {
  return { mediaType: MediaType.OCTET_STREAM, digest, size, repository, url: ctx.urls.blob(repository, digest) };
}
