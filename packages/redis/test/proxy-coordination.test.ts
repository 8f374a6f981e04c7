import { RedisExpirySchedule, RedisFetchLocks, type ClaimedEntry } from '@berth/redis';
import { describeRedis, quiet, redisPerSuite } from './support';

const digest = (i: number): string => `sha256:${i.toString(16).padStart(64, '0')}`;

describeRedis("the pull-through cache's coordination in Redis", () => {
  const { connect } = redisPerSuite(2000);

  it('replicas sweeping at once claim each due entry once; an entry scheduled again while claimed stays', async () => {
    const schedules = await Promise.all([connect(), connect(), connect()].map(async (c) => new RedisExpirySchedule(await c, { prefix: 's1:' })));
    const now = Date.now();
    for (let i = 0; i < 300; i++) await schedules[i % 3]!.add({ key: `r${i % 7}/app@${digest(i)}`, kind: i % 2 ? 'blob' : 'manifest', expiresAt: now - 1000 + i });
    await schedules[0]!.add({ key: `later/app@${digest(999)}`, kind: 'blob', expiresAt: now + 3_600_000 });
    const claims = await Promise.all(
      schedules.map(async (schedule) => {
        const mine: ClaimedEntry[] = [];
        for (let batch = await schedule.claimDue(now, now + 60_000, 7); batch.length > 0; batch = await schedule.claimDue(now, now + 60_000, 7)) mine.push(...batch);
        return mine;
      }),
    );
    const all = claims.flat().map((c) => `${c.kind} ${c.key}`);
    expect(all).toHaveLength(300);
    expect(new Set(all).size).toBe(300);

    // Fetched again while being expired: the new expiry survives the old claim's done().
    const again = claims.flat()[0]!;
    await schedules[1]!.add({ key: again.key, kind: again.kind, expiresAt: now + 7_200_000 });
    for (const claimed of claims.flat()) await schedules[0]!.done(claimed);
    expect((await schedules[2]!.list()).map((e) => e.key).sort()).toEqual([again.key, `later/app@${digest(999)}`].sort());
    expect(await schedules[2]!.next()).toBe(now + 3_600_000);
  });

  it('a claimed entry whose replica never finished is claimed again after the retry time', async () => {
    const schedule = new RedisExpirySchedule(await connect(), { prefix: 's2:' });
    const now = Date.now();
    await schedule.add({ key: `a/b@${digest(1)}`, kind: 'blob', expiresAt: now - 1 });
    expect(await schedule.claimDue(now, now + 60_000)).toHaveLength(1);
    expect(await schedule.claimDue(now + 59_999, now + 120_000)).toHaveLength(0);
    expect(await schedule.claimDue(now + 60_000, now + 120_000)).toEqual([{ key: `a/b@${digest(1)}`, kind: 'blob', token: now + 120_000 }]);
  });

  it('imports a state file once: a second replica (or a restart) imports nothing and keeps newer entries', async () => {
    const [a, b] = [new RedisExpirySchedule(await connect(), { prefix: 's3:' }), new RedisExpirySchedule(await connect(), { prefix: 's3:' })];
    await a.add({ key: `x/y@${digest(1)}`, kind: 'manifest', expiresAt: 5000 });
    const file = [
      { key: `x/y@${digest(1)}`, kind: 'manifest' as const, expiresAt: 1000 },
      { key: `x/y@${digest(2)}`, kind: 'blob' as const, expiresAt: 2000 },
    ];
    expect(await a.importOnce(file)).toBe(true);
    expect(await b.importOnce([{ key: `x/y@${digest(3)}`, kind: 'blob', expiresAt: 3000 }])).toBe(false);
    expect(await b.list()).toEqual([
      { key: `x/y@${digest(2)}`, kind: 'blob', expiresAt: 2000 },
      { key: `x/y@${digest(1)}`, kind: 'manifest', expiresAt: 5000 },
    ]);
  });

  it('a blob fetch lock is held by one replica; released it is free; a holder that stops renewing loses it to another', async () => {
    const [a, b] = [await connect(), await connect()];
    const locksA = new RedisFetchLocks(a, { logger: quiet, prefix: 'f1:', ttlMs: 600 });
    const locksB = new RedisFetchLocks(b, { logger: quiet, prefix: 'f1:', ttlMs: 600 });
    const first = await locksA.tryLock(digest(1));
    expect(first).toBeDefined();
    expect(await locksB.tryLock(digest(1))).toBeUndefined();
    expect(await locksB.tryLock(digest(2))).toBeDefined();
    await first!.release();
    const second = await locksB.tryLock(digest(1));
    expect(second).toBeDefined();
    expect(await locksA.tryLock(digest(1))).toBeUndefined();

    // The holder dies (its connection is cut: no renewal reaches Redis): the lock expires.
    const held = await locksA.tryLock(digest(3));
    expect(held).toBeDefined();
    a.client.disconnect();
    let taken: Awaited<ReturnType<RedisFetchLocks['tryLock']>>;
    const deadline = Date.now() + 60_000;
    while (!(taken = await locksB.tryLock(digest(3))) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(taken).toBeDefined();
    // The old holder's release (when it comes back) does not free the new holder's lock.
    await held!.release();
    expect(await new RedisFetchLocks(await connect(), { logger: quiet, prefix: 'f1:' }).tryLock(digest(3))).toBeUndefined();
    await taken!.release();
    await second!.release();
  });
});
