import type { EventDescriptor, RegistryEvent, RegistryEventAction } from '@berth/api';

/** The `Content-Type` of an envelope (distribution's `EventsMediaType`). */
export const EVENTS_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v2+json';

/** Who generated an event: this registry process (distribution's `SourceRecord`). */
export interface SourceRecord {
  /** `hostname:port` of the registry. */
  readonly addr: string;
  /** Identifies the running process; changes with each start. */
  readonly instanceID: string;
}

/**
 * One event as distribution puts it on the wire (`notifications/event.go`). Empty fields are
 * omitted as Go's `omitempty` does, except `request.id`, `request.method` and `request.useragent`,
 * which distribution always writes.
 */
export interface WireEvent {
  readonly id: string;
  /** RFC 3339 with milliseconds, UTC. */
  readonly timestamp: string;
  readonly action: RegistryEventAction;
  readonly target: {
    readonly mediaType?: string;
    readonly size?: number;
    readonly digest?: string;
    /** Same as `size` (deprecated, kept by distribution for old receivers). */
    readonly length?: number;
    readonly repository?: string;
    readonly fromRepository?: string;
    readonly url?: string;
    readonly tag?: string;
    readonly references?: readonly EventDescriptor[];
  };
  readonly request: { readonly id: string; readonly addr?: string; readonly host?: string; readonly method: string; readonly useragent: string };
  readonly actor: { readonly name?: string };
  readonly source: { readonly addr?: string; readonly instanceID?: string };
}

/** Copies `value` without its undefined, empty-string and zero fields (Go's `omitempty`). */
function omitEmpty<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '' && v !== 0)) as T;
}

/** Builds the wire form of `event`; references are kept only when `includeReferences` is set. */
export function toWireEvent(event: RegistryEvent, id: string, source: SourceRecord, includeReferences: boolean): WireEvent {
  const t = event.target;
  const references = includeReferences && t.references && t.references.length > 0 ? t.references : undefined;
  return {
    id,
    timestamp: event.timestamp.toISOString(),
    action: event.action,
    target: omitEmpty({
      mediaType: t.mediaType,
      size: t.size,
      digest: t.digest,
      length: t.size,
      repository: t.repository,
      fromRepository: t.fromRepository,
      url: t.url,
      tag: t.tag,
      references,
    }),
    request: {
      id: event.request.id,
      ...omitEmpty({ addr: event.request.addr, host: event.request.host }),
      method: event.request.method,
      useragent: event.request.useragent,
    },
    actor: omitEmpty({ name: event.actor.name }),
    source: omitEmpty({ addr: source.addr, instanceID: source.instanceID }),
  };
}

/** The envelope body for events already serialised as JSON: `{"events":[…]}`. */
export function envelopeBody(events: readonly string[]): string {
  return `{"events":[${events.join(',')}]}`;
}

/** The fields the ignore rules look at, read back from a serialised event (undefined if unreadable). */
export function filterFields(json: string): { action: string; mediaType?: string } | undefined {
  try {
    const event = JSON.parse(json) as { action?: unknown; target?: { mediaType?: unknown } };
    if (typeof event.action !== 'string') return undefined;
    return { action: event.action, mediaType: typeof event.target?.mediaType === 'string' ? event.target.mediaType : undefined };
  } catch {
    return undefined;
  }
}
