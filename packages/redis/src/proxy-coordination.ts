import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '@berth/logging';
import type { RedisConnection } from './client';

/** The blob fetch lock's time to live; renewed every third of it while the fetch runs. */
export const DEFAULT_FETCH_LOCK_TTL_MS = 30_000;

/** One entry of the pull-through cache's expiry schedule: `key` is `<repository>@<digest>`. */
export interface ScheduleEntry {
  readonly key: string;
  readonly kind: 'blob' | 'manifest';
  readonly expiresAt: number;
}

/** A claimed entry: `token` is the score it was moved to; `done(key, token)` removes it. */
export interface ClaimedEntry {
  readonly key: string;
  readonly kind: 'blob' | 'manifest';
  readonly token: number;
}

const KIND_PREFIX = { blob: 'b|', manifest: 'm|' } as const;

function parseMember(member: string): { key: string; kind: 'blob' | 'manifest' } | undefined {
  const kind = member.startsWith(KIND_PREFIX.manifest) ? 'manifest' : member.startsWith(KIND_PREFIX.blob) ? 'blob' : undefined;
  return kind ? { key: member.slice(2), kind } : undefined;
}

/**
 * Claims up to ARGV[3] members due at ARGV[1] (score <= now): each is moved to ARGV[2] (the retry
 * time) in the same script, so no other replica claims it until then. Returns member, score pairs.
 */
const CLAIM_SCRIPT = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], member) end
return due`;
/** Removes a claimed member unless it was scheduled again since (its score is no longer the token). */
const DONE_SCRIPT = `if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('ZREM', KEYS[1], ARGV[1]) else return 0 end`;

/**
 * The pull-through cache's expiry schedule in Redis, shared by every replica: one sorted set
 * (`<prefix>proxy:expiry`) whose members are `b|<repository>@<digest>` (blob) or `m|…` (manifest),
 * scored by their expiry time in epoch milliseconds. Expiry claims due entries atomically (a Lua
 * script moves each to its retry time), so each entry is expired by one replica at a time.
 */
export class RedisExpirySchedule {
  private readonly key: string;
  private readonly importedKey: string;

  constructor(
    private readonly connection: RedisConnection,
    options: { prefix?: string } = {},
  ) {
    const prefix = options.prefix ?? 'berth:';
    this.key = `${prefix}proxy:expiry`;
    this.importedKey = `${prefix}proxy:expiry:imported`;
  }

  /** Schedules (or reschedules) `key`. */
  async add(entry: ScheduleEntry): Promise<void> {
    await this.connection.client.zadd(this.key, String(entry.expiresAt), KIND_PREFIX[entry.kind] + entry.key);
  }

  /** Claims up to `limit` entries due at `now`, moving them to `retryAt` (see the class). */
  async claimDue(now: number, retryAt: number, limit = 100): Promise<ClaimedEntry[]> {
    const members = (await this.connection.client.eval(CLAIM_SCRIPT, 1, this.key, String(now), String(retryAt), String(limit))) as string[];
    const claimed: ClaimedEntry[] = [];
    for (const member of members) {
      const parsed = parseMember(member);
      if (parsed) claimed.push({ ...parsed, token: retryAt });
      else await this.connection.client.zrem(this.key, member);
    }
    return claimed;
  }

  /** Removes a claimed entry once its content was removed, unless it was scheduled again meanwhile. */
  async done(entry: ClaimedEntry): Promise<void> {
    await this.connection.client.eval(DONE_SCRIPT, 1, this.key, KIND_PREFIX[entry.kind] + entry.key, String(entry.token));
  }

  /** The earliest expiry scheduled, or undefined when the schedule is empty. */
  async next(): Promise<number | undefined> {
    const first = await this.connection.client.zrange(this.key, 0, 0, 'WITHSCORES');
    return first.length >= 2 ? Number(first[1]) : undefined;
  }

  /** Every entry, earliest first. */
  async list(): Promise<ScheduleEntry[]> {
    const flat = await this.connection.client.zrange(this.key, 0, -1, 'WITHSCORES');
    const entries: ScheduleEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const parsed = parseMember(flat[i]!);
      if (parsed) entries.push({ ...parsed, expiresAt: Number(flat[i + 1]) });
    }
    return entries;
  }

  /**
   * Imports a schedule read from `/scheduler-state.json` once for this Redis: the first caller
   * (marked by `<prefix>proxy:expiry:imported`, set only if absent) adds the entries Redis does
   * not have yet; later callers import nothing. Resolves true when this call imported.
   */
  async importOnce(entries: readonly ScheduleEntry[]): Promise<boolean> {
    const client = this.connection.client;
    if ((await client.set(this.importedKey, `${hostname()}:${process.pid}:${new Date().toISOString()}`, 'NX')) !== 'OK') return false;
    for (let i = 0; i < entries.length; i += 500) {
      const args: string[] = [];
      for (const entry of entries.slice(i, i + 500)) args.push(String(entry.expiresAt), KIND_PREFIX[entry.kind] + entry.key);
      if (args.length > 0) await client.zadd(this.key, 'NX', ...args);
    }
    return true;
  }
}

const RENEW_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** A held fetch lock. */
export interface FetchLock {
  readonly holder: string;
  release(): Promise<void>;
}

/**
 * One upstream fetch per blob across replicas: `SET <prefix>proxy:fetch:<digest> <holder> NX PX ttl`,
 * renewed every ttl/3 while the fetch runs. A holder that dies stops renewing and its lock expires.
 */
export class RedisFetchLocks {
  private readonly prefix: string;
  private readonly ttlMs: number;

  constructor(
    private readonly connection: RedisConnection,
    private readonly options: { logger: Logger; prefix?: string; ttlMs?: number },
  ) {
    this.prefix = `${options.prefix ?? 'berth:'}proxy:fetch:`;
    this.ttlMs = options.ttlMs ?? DEFAULT_FETCH_LOCK_TTL_MS;
  }

  /** Takes the lock for `digest`, or resolves undefined when another holds it. Rejects when Redis cannot answer. */
  async tryLock(digest: string): Promise<FetchLock | undefined> {
    const client = this.connection.client;
    const key = this.prefix + digest;
    const holder = `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
    if ((await client.set(key, holder, 'PX', this.ttlMs, 'NX')) !== 'OK') return undefined;
    const timer = setInterval(() => {
      client.eval(RENEW_SCRIPT, 1, key, holder, String(this.ttlMs)).then(
        (ok) => {
          if (ok !== 1) this.options.logger.warn('pull-through cache: a blob fetch lock expired before its fetch ended', { digest, holder });
        },
        () => undefined,
      );
    }, Math.max(50, Math.floor(this.ttlMs / 3)));
    timer.unref();
    return {
      holder,
      async release() {
        clearInterval(timer);
        await client.eval(RELEASE_SCRIPT, 1, key, holder).catch(() => undefined);
      },
    };
  }
}
