import { randomBytes } from 'node:crypto';
import type { Logger } from '@berth/logging';
import type { SharedLookup, SharedMetadataCache } from '@berth/registry';
import type { RedisConnection } from './client';

/** Entries live this long at most (invalidation is exact; the TTL only bounds memory). */
export const DEFAULT_ENTRY_TTL_MS = 24 * 3600_000;
/** Scopes remembered for a later invalidation at most; past that, every scope is invalidated. */
const MAX_PENDING_SCOPES = 1000;
/** While invalidations are pending, how often they are retried. */
const RETRY_PENDING_MS = 1_000;

/**
 * One round trip: the version of `scope` (the global epoch, plus the scope's generation) and the
 * entries stored under it. A missing epoch or generation (never set, evicted, a new server) is set
 * to the fresh token the caller sends, so a version is never the same twice: nothing filled under
 * an earlier one can be read again.
 * ARGV: prefix, scope ('' = global), fresh token, field...
 */
const LOOKUP_SCRIPT = `
local p = ARGV[1]
local e = redis.call('GET', p .. 'epoch')
if not e then e = ARGV[3]; redis.call('SET', p .. 'epoch', e) end
local v = e
if ARGV[2] ~= '' then
  local gk = p .. 'gen:' .. ARGV[2]
  local g = redis.call('GET', gk)
  if not g then g = ARGV[3]; redis.call('SET', gk, g) end
  v = e .. '.' .. g
end
local keys = {}
for i = 4, #ARGV do keys[#keys + 1] = p .. 'e:' .. v .. ':' .. ARGV[2] .. ':' .. ARGV[i] end
local out = {v}
if #keys > 0 then
  local vals = redis.call('MGET', unpack(keys))
  for i = 1, #keys do out[#out + 1] = vals[i] end
end
return out
`;

type LookupCommand = (prefix: string, scope: string, fresh: string, ...fields: string[]) => Promise<(Buffer | null)[]>;

/** What health and metrics report about the shared cache. */
export interface SharedCacheStatus {
  /** The connection is up. */
  readonly connected: boolean;
  /** Lookups are answered from Redis (connected, epoch renewed, no invalidation pending). */
  readonly usable: boolean;
  /** Invalidations that failed and wait to be retried (the cache is not used meanwhile). */
  readonly pendingInvalidations: number;
  readonly hits: number;
  readonly misses: number;
  /** Lookups answered by storage because the cache could not be used or failed. */
  readonly fallbacks: number;
  readonly invalidationFailures: number;
  readonly lastError: string;
}

export interface RedisSharedCacheOptions {
  /** Key prefix (default `berth:`); every replica of one registry must use the same. */
  readonly prefix?: string;
  readonly entryTtlMs?: number;
  readonly logger: Logger;
}

const freshToken = (): string => randomBytes(8).toString('hex');

/**
 * The shared metadata cache in Redis (`storage.cache.blobdescriptor: redis`). Entries are keyed by
 * a version: `<prefix>e:<epoch>[.<generation>]:<scope>:<field>`. A write moves its scope to a new
 * generation (a fresh random token, `SET`), garbage collection moves the epoch; entries of older
 * versions are never read again and expire. Readers get the version in the same round trip as the
 * entries, before they read storage, and fill under it, so a fill racing a write lands under a dead
 * version. See docs/redis.md for the whole argument.
 *
 * Failure handling: while disconnected, lookups answer undefined at once (storage is read). On every
 * (re)connection the epoch is renewed before the cache is used again, so entries that outlived a
 * Redis restart or a restore, or writes this process could not announce, are not served. An
 * invalidation that fails rejects (the write is not acknowledged), is remembered and retried, and
 * until it succeeds this process does not use the cache.
 */
export class RedisSharedCache implements SharedMetadataCache {
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly logger: Logger;
  private readonly lookupCommand: LookupCommand;
  private usable = false;
  private renewing: Promise<void> | undefined;
  private readonly pending = new Set<string>();
  private pendingAll = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private counts = { hits: 0, misses: 0, fallbacks: 0, invalidationFailures: 0 };
  private lastError = '';
  /** Counts failed invalidations: a renewal that started before one does not cover it. */
  private failures = 0;

  constructor(
    private readonly connection: RedisConnection,
    options: RedisSharedCacheOptions,
  ) {
    this.prefix = options.prefix ?? 'berth:';
    this.ttlMs = options.entryTtlMs ?? DEFAULT_ENTRY_TTL_MS;
    this.logger = options.logger;
    const client = connection.client;
    if (!('berthLookupBuffer' in client)) client.defineCommand('berthLookup', { numberOfKeys: 0, lua: LOOKUP_SCRIPT });
    this.lookupCommand = (client as unknown as { berthLookupBuffer: LookupCommand }).berthLookupBuffer.bind(client);
    connection.on('up', () => void this.renew());
    connection.on('down', () => {
      this.usable = false;
    });
    if (connection.up) void this.renew();
  }

  /** Resolves once a renewal in progress (a new epoch after connecting) has ended. */
  async settled(): Promise<void> {
    await this.renewing;
  }

  /** Health and metrics. */
  get status(): SharedCacheStatus {
    return {
      connected: this.connection.up,
      usable: this.usable,
      pendingInvalidations: this.pendingAll ? MAX_PENDING_SCOPES + 1 : this.pending.size,
      ...this.counts,
      lastError: this.lastError || this.connection.error,
    };
  }

  /**
   * After a (re)connection: a new epoch, then what is pending, then the cache is used. Resolves once
   * done (or failed: then a retry is scheduled).
   */
  private renew(): Promise<void> {
    this.renewing ??= (async () => {
      try {
        this.usable = false;
        const failuresBefore = this.failures;
        await this.connection.client.set(`${this.prefix}epoch`, freshToken());
        if (this.failures !== failuresBefore) {
          this.scheduleRetry();
          return;
        }
        this.pendingAll = false;
        this.pending.clear();
        this.usable = this.connection.up;
      } catch (error) {
        this.noteError(error);
        this.scheduleRetry();
      } finally {
        this.renewing = undefined;
      }
    })();
    return this.renewing;
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.connection.up) void this.renew();
    }, RETRY_PENDING_MS);
    this.retryTimer.unref();
  }

  private noteError(error: unknown): void {
    this.lastError = error instanceof Error ? error.message : String(error);
  }

  async lookup(scope: string, fields: readonly string[]): Promise<SharedLookup | undefined> {
    if (!this.usable || !this.connection.up) {
      this.counts.fallbacks++;
      return undefined;
    }
    try {
      const reply = await this.lookupCommand(this.prefix, scope, freshToken(), ...fields);
      const [version, ...values] = reply;
      if (!version) throw new Error('redis: the lookup script answered without a version');
      const out = values.map((v) => (v === null ? undefined : v));
      for (const v of out) this.counts[v === undefined ? 'misses' : 'hits']++;
      // Checked again: an invalidation may have failed while this lookup was in flight.
      if (!this.usable) {
        this.counts.fallbacks++;
        return undefined;
      }
      return { version: version.toString(), values: out };
    } catch (error) {
      this.noteError(error);
      this.counts.fallbacks++;
      return undefined;
    }
  }

  async fill(scope: string, version: string, entries: ReadonlyMap<string, string | Buffer>): Promise<void> {
    if (!this.usable || entries.size === 0) return;
    try {
      const pipeline = this.connection.client.pipeline();
      for (const [field, value] of entries) pipeline.set(this.entryKey(version, scope, field), value, 'PX', this.ttlMs);
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error);
      if (failed?.[0]) this.noteError(failed[0]);
    } catch (error) {
      this.noteError(error);
    }
  }

  async invalidate(scope: string): Promise<void> {
    try {
      await this.connection.client.set(`${this.prefix}gen:${scope}`, freshToken());
    } catch (error) {
      this.failedInvalidation(error, scope);
      throw error;
    }
  }

  async invalidateAll(): Promise<void> {
    try {
      await this.connection.client.set(`${this.prefix}epoch`, freshToken());
    } catch (error) {
      this.failedInvalidation(error, undefined);
      throw error;
    }
  }

  /**
   * An invalidation that may not have happened: this process stops using the cache until a renewal
   * (a new epoch, which covers every scope) succeeds.
   */
  private failedInvalidation(error: unknown, scope: string | undefined): void {
    this.noteError(error);
    this.counts.invalidationFailures++;
    this.failures++;
    this.usable = false;
    if (scope === undefined || this.pending.size >= MAX_PENDING_SCOPES) this.pendingAll = true;
    else this.pending.add(scope);
    this.logger.warn('shared cache: an invalidation failed; the cache is not used until Redis confirms a new epoch', {
      scope: scope ?? '(all)',
      error: this.lastError,
    });
    this.scheduleRetry();
  }

  private entryKey(version: string, scope: string, field: string): string {
    return `${this.prefix}e:${version}:${scope}:${field}`;
  }

  /** Stops retrying (the connection is closed by its owner). */
  close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.usable = false;
  }
}
