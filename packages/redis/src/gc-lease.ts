import { hostname } from 'node:os';
import type { Logger } from '@berth/logging';
import type { RedisConnection } from './client';

/** The lease's time to live; renewed every third of it while the collection runs. */
export const DEFAULT_GC_LEASE_TTL_MS = 30_000;

const RENEW_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** A held lease: `fence` grows with every lease ever granted; `lost` aborts when it was not renewed. */
export interface GcLease {
  readonly fence: number;
  readonly holder: string;
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

/**
 * One garbage collection at a time across every replica: `SET <prefix>gc:lease <fence>:<host>:<pid>
 * NX PX ttl`, the fence from `INCR <prefix>gc:fence`. Resolves with the lease, or with the holder's
 * description when another holds it. The lease is renewed every ttl/3 (compare-and-expire); when a
 * renewal finds it gone or cannot reach Redis before the TTL ran out, `lost` aborts (the collection
 * then stops and puts back what it set aside). A crashed holder stops renewing: its lease expires.
 */
export async function acquireGcLease(
  connection: RedisConnection,
  options: { logger: Logger; ttlMs?: number; prefix?: string },
): Promise<{ lease: GcLease } | { heldBy: string }> {
  const prefix = options.prefix ?? 'berth:';
  const ttlMs = options.ttlMs ?? DEFAULT_GC_LEASE_TTL_MS;
  const client = connection.client;
  const key = `${prefix}gc:lease`;
  const fence = await client.incr(`${prefix}gc:fence`);
  const holder = `${fence}:${hostname()}:${process.pid}`;
  const set = await client.set(key, holder, 'PX', ttlMs, 'NX');
  if (set !== 'OK') return { heldBy: (await client.get(key)) ?? 'unknown (the lease just expired: try again)' };

  const controller = new AbortController();
  let renewedAt = Date.now();
  const timer = setInterval(() => {
    void (async () => {
      try {
        const ok = await client.eval(RENEW_SCRIPT, 1, key, holder, String(ttlMs));
        if (ok === 1) renewedAt = Date.now();
        else {
          options.logger.error('garbage collection: the lease was lost (another holder or expired); stopping', { holder });
          controller.abort(new Error('the garbage collection lease was lost'));
        }
      } catch (error) {
        if (Date.now() - renewedAt >= ttlMs) {
          options.logger.error('garbage collection: the lease could not be renewed before it expired; stopping', { holder, error: String(error) });
          controller.abort(new Error('the garbage collection lease expired'));
        }
      }
    })();
  }, Math.max(100, Math.floor(ttlMs / 3)));
  timer.unref();
  return {
    lease: {
      fence,
      holder,
      lost: controller.signal,
      async release() {
        clearInterval(timer);
        await client.eval(RELEASE_SCRIPT, 1, key, holder).catch(() => undefined);
      },
    },
  };
}
