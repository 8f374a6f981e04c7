import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import { GcScheduler } from '@berth/registry';
import { acquireGcLease } from '@berth/redis';
import { describeRedis, quiet, redisPerSuite } from './support';

describeRedis('garbage collection lease in Redis', () => {
  const { connect } = redisPerSuite(500);

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

  it('a scheduled collection skips its turn while another replica holds the lease, and runs once it is free', async () => {
    const [a, b] = [await connect(), await connect()];
    const held = await acquireGcLease(a, { logger: quiet, prefix: 'l3:' });
    if (!('lease' in held)) throw new Error('expected the lease');
    const root = await mkdtemp(join(tmpdir(), 'berth-gc-lease-'));
    const driver = await filesystemDriverFactory.create({ rootdirectory: root }, {});
    const outcomes: string[] = [];
    const scheduler = new GcScheduler(driver, {
      intervalMs: 200,
      firstRunDelayMs: 0,
      gracePeriodMs: 0,
      settleMs: 0,
      logger: quiet,
      lease: async () => {
        const got = await acquireGcLease(b, { logger: quiet, prefix: 'l3:' });
        return 'lease' in got ? got.lease : { refused: `another garbage collection holds the lease (${got.heldBy})` };
      },
      onRun: (outcome) => outcomes.push(outcome.skipped !== undefined ? 'skipped' : outcome.report ? 'ran' : 'failed'),
    });
    try {
      scheduler.start();
      const deadline = Date.now() + 15_000;
      while (outcomes.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(outcomes.slice(0, 2)).toEqual(['skipped', 'skipped']);
      await held.lease.release();
      while (!outcomes.includes('ran') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(outcomes).toContain('ran');
    } finally {
      await scheduler.stop();
      await driver.close?.();
      await rm(root, { recursive: true, force: true });
    }
  });
});
