import type { Logger } from '@berth/logging';
import { acquireGcLease, RedisConnection } from '@berth/redis';
import { redisSkipReason, startRedis, type TestRedis } from '../../../test-support/redis';

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, child: () => quiet };
const skip = redisSkipReason();
const describeRedis = skip ? describe.skip : describe;

describeRedis('garbage collection lease in Redis', () => {
  let redis: TestRedis;
  const connections: RedisConnection[] = [];
  const connect = async (): Promise<RedisConnection> => {
    const c = new RedisConnection({ addrs: [redis.addr], dialTimeoutMs: 1000, readTimeoutMs: 500, logger: quiet });
    connections.push(c);
    await c.start();
    return c;
  };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of connections) await c.close();
    await redis?.close();
  });

  it('two collections at once on two replicas: one holds the lease, the other is told who; released, the next gets a larger fence', async () => {
    const [a, b] = [await connect(), await connect()];
    const results = await Promise.all([acquireGcLease(a, { logger: quiet, prefix: 'l1:' }), acquireGcLease(b, { logger: quiet, prefix: 'l1:' })]);
    const held = results.filter((r) => 'lease' in r);
    const refused = results.filter((r) => 'heldBy' in r);
    expect(held).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const lease = (held[0] as { lease: import('@berth/redis').GcLease }).lease;
    expect((refused[0] as { heldBy: string }).heldBy).toBe(lease.holder);
    await lease.release();
    const next = await acquireGcLease(b, { logger: quiet, prefix: 'l1:' });
    expect('lease' in next && next.lease.fence > lease.fence).toBe(true);
    if ('lease' in next) await next.lease.release();
  });

  it('a holder that stops renewing (crashed, cut off) loses the lease after its TTL and another replica takes it', async () => {
    const [a, b] = [await connect(), await connect()];
    const first = await acquireGcLease(a, { logger: quiet, prefix: 'l2:', ttlMs: 600 });
    if (!('lease' in first)) throw new Error('expected the lease');
    a.client.disconnect(); // no renewal reaches Redis any more
    expect('heldBy' in (await acquireGcLease(b, { logger: quiet, prefix: 'l2:', ttlMs: 600 }))).toBe(true);
    let second: Awaited<ReturnType<typeof acquireGcLease>> = { heldBy: '' };
    const deadline = Date.now() + 15_000;
    while ('heldBy' in second && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      second = await acquireGcLease(b, { logger: quiet, prefix: 'l2:', ttlMs: 600 });
    }
    expect('lease' in second).toBe(true);
    while (!first.lease.lost.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(first.lease.lost.aborted).toBe(true);
    await first.lease.release();
    if ('lease' in second) await second.lease.release();
  });
});
