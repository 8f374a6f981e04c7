import { setTimeout as sleep } from 'node:timers/promises';
import { PartBufferPool, defaultPartBufferBudget } from '../src/part-buffers';

const MIB = 1024 * 1024;
const SIZE = 64 * 1024;

describe('PartBufferPool', () => {
  it('hands out first buffers beyond the budget but a spare only while all buffers lent fit in it', () => {
    const pool = new PartBufferPool(SIZE, 3 * SIZE);
    const firsts = [pool.acquire(), pool.acquire()];
    expect(firsts.map((b) => b.length)).toEqual([SIZE, SIZE]);
    const spare = pool.tryAcquireSpare();
    expect(spare?.length).toBe(SIZE);
    expect(pool.lentCount).toBe(3);
    expect(pool.tryAcquireSpare()).toBeUndefined();
    // A writer must always make progress: its first buffer is never refused.
    firsts.push(pool.acquire());
    expect(pool.lentCount).toBe(4);
    expect(pool.tryAcquireSpare()).toBeUndefined();
    pool.release(spare as Buffer);
    pool.release(firsts.pop() as Buffer);
    expect(pool.tryAcquireSpare()?.length).toBe(SIZE);
    expect(pool.lentCount).toBe(3);
  });

  it('reuses released buffers and keeps no more idle ones than the budget leaves room for', () => {
    const pool = new PartBufferPool(SIZE, 2 * SIZE);
    const lent = [pool.acquire(), pool.acquire(), pool.acquire()];
    for (const buffer of lent) pool.release(buffer);
    expect(pool.lentCount).toBe(0);
    expect(pool.idleCount).toBe(2);
    const again = [pool.acquire(), pool.acquire()];
    expect(again.every((b) => lent.includes(b))).toBe(true);
    expect(pool.idleCount).toBe(0);
    expect(lent).not.toContain(pool.acquire());
  });

  it('drops its idle buffers once no buffer was released for the idle time', async () => {
    const pool = new PartBufferPool(SIZE, 4 * SIZE, 20);
    const buffers = [pool.acquire(), pool.acquire()];
    for (const buffer of buffers) pool.release(buffer);
    expect(pool.idleCount).toBe(2);
    await sleep(100);
    expect(pool.idleCount).toBe(0);
    expect(buffers).not.toContain(pool.acquire());
  });

  it('refuses to take back more buffers than it lent', () => {
    const pool = new PartBufferPool(SIZE, 4 * SIZE);
    const buffer = pool.acquire();
    pool.release(buffer);
    expect(() => pool.release(buffer)).toThrow(/more buffers released than lent/);
  });

  it('budgets 48 MiB for chunk sizes up to 24 MiB and two part buffers beyond', () => {
    expect(defaultPartBufferBudget(5 * MIB)).toBe(48 * MIB);
    expect(defaultPartBufferBudget(10 * MIB)).toBe(48 * MIB);
    expect(defaultPartBufferBudget(100 * MIB)).toBe(200 * MIB);
  });
});
