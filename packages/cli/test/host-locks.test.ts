import { HostLocks } from '../src/processes/host-locks';

/** Lets pending grants run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('HostLocks (upload session locks across the processes of one host)', () => {
  it('grants a key to one owner at a time, in the order asked, and forgets the key once free', async () => {
    const locks = new HostLocks();
    const [a, b, c] = [{}, {}, {}];
    const order: string[] = [];
    await locks.acquire('repo/u1', a);
    const second = locks.acquire('repo/u1', b).then(() => order.push('b'));
    const third = locks.acquire('repo/u1', c).then(() => order.push('c'));
    await locks.acquire('repo/u2', c);
    await settle();
    expect(order).toEqual([]);
    locks.release('repo/u1', b); // not the holder: nothing happens
    await settle();
    expect(order).toEqual([]);
    locks.release('repo/u1', a);
    await second;
    expect(order).toEqual(['b']);
    locks.release('repo/u1', b);
    await third;
    locks.release('repo/u1', c);
    locks.release('repo/u2', c);
    expect(locks.size).toBe(0);
  });

  it('hands the locks of an owner that is gone to the next owners and drops its waits', async () => {
    const locks = new HostLocks();
    const [dead, alive] = [{}, {}];
    await locks.acquire('held', dead);
    await locks.acquire('awaited', alive);
    let deadGranted = false;
    void locks.acquire('awaited', dead).then(() => (deadGranted = true));
    const aliveGranted = locks.acquire('held', alive);
    locks.releaseAll(dead);
    await aliveGranted;
    locks.release('awaited', alive);
    await settle();
    expect(deadGranted).toBe(false);
    locks.release('held', alive);
    expect(locks.size).toBe(0);
    // A question of the gone owner handled after its exit gets no lock.
    expect(await locks.acquire('late', dead)).toBe(false);
    expect(locks.size).toBe(0);
  });

  it('serialises the main process’s own work on a key with the owners asking over IPC', async () => {
    const locks = new HostLocks();
    const helper = {};
    await locks.acquire('k', helper);
    const events: string[] = [];
    const main = locks.local.run('k', async () => {
      events.push('main runs');
      return 7;
    });
    await settle();
    events.push('helper releases');
    locks.release('k', helper);
    expect(await main).toBe(7);
    expect(events).toEqual(['helper releases', 'main runs']);
    expect(locks.size).toBe(0);
  });
});
