// The event types, apart from `events.ts` (which builds events from a request) so that the
// options can name the listener without importing the request context.

/** What happened (distribution's event actions). */
export type RegistryEventAction = 'push' | 'pull' | 'mount' | 'delete';

/** A content descriptor as it appears in an event's `references`. */
export interface EventDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * What an event is about. Push, pull and mount events carry `mediaType`, `digest`, `size` and `url`
 * (blobs are `application/octet-stream`); a manifest event by tag carries `tag`; a mount carries
 * `fromRepository`. Delete events carry only `repository` and `digest` (manifest or blob), or
 * `repository` and `tag` (a tag delete), as in distribution.
 */
export interface RegistryEventTarget {
  readonly repository: string;
  readonly mediaType?: string;
  readonly digest?: string;
  readonly size?: number;
  readonly url?: string;
  readonly tag?: string;
  readonly fromRepository?: string;
  /** The manifest's config, layers or children; set only when the listener asks (`includeReferences`). */
  readonly references?: readonly EventDescriptor[];
}

/** The HTTP request that caused an event (distribution's `RequestRecord`). */
export interface RegistryEventRequest {
  /** The request id of the access log line. */
  readonly id: string;
  /** The client: the first `X-Forwarded-For` address, else `X-Real-Ip`, else the peer `ip:port`. */
  readonly addr: string;
  /** The `Host` header. */
  readonly host: string;
  readonly method: string;
  readonly useragent: string;
}

/** One registry event, as the API reports it. */
export interface RegistryEvent {
  readonly action: RegistryEventAction;
  /** When it happened (after the storage operation succeeded). */
  readonly timestamp: Date;
  readonly target: RegistryEventTarget;
  readonly request: RegistryEventRequest;
  /** `name` is the authenticated user, absent without authentication. */
  readonly actor: { readonly name?: string };
}

/**
 * Receives the events of successful requests (`AppOptions.events`). `onEvent` is called
 * synchronously on the request's path, once the operation succeeded: it must only enqueue (never
 * block or wait on delivery); an exception it throws is logged and never fails the request.
 */
export interface RegistryEventListener {
  /** When true, manifest events carry `target.references` (`notifications.events.includereferences`). */
  readonly includeReferences?: boolean;
  onEvent(event: RegistryEvent): void;
}
