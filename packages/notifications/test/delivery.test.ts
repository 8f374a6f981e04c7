import request from 'supertest';
import type { Notifier } from '@berth/notifications';
import { Receiver } from './support/receiver';
import { endpoint, eventually, pushImage, registryApp, sizes, startNotifier, syntheticEvent, tempSpool } from './support/registry';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Delivery semantics against a real receiver: retries, time-outs, back-off, isolation, latency. */
describe('delivery', () => {
  let receiver: Receiver;
  let notifier: Notifier | undefined;
  let spool: Awaited<ReturnType<typeof tempSpool>>;

  beforeEach(async () => {
    receiver = await Receiver.start();
    spool = await tempSpool();
  });
  afterEach(async () => {
    await notifier?.close({ abort: true });
    notifier = undefined;
    await receiver.stop();
    await spool.cleanup();
  });

  it('retries while the receiver answers 500 and delivers every event, in order, once it recovers', async () => {
    receiver.mode = 500;
    notifier = await startNotifier(spool.dir, [endpoint(receiver.url)]);
    for (const n of range(1, 20)) notifier.onEvent(syntheticEvent(n));
    await receiver.waitForRequests(5);
    expect(receiver.events()).toEqual([]);
    receiver.mode = 200;
    for (const n of range(21, 30)) notifier.onEvent(syntheticEvent(n));
    expect(sizes(await receiver.waitForEvents(30))).toEqual(range(1, 30));
    await eventually(() => notifier?.stats().endpoints[0]?.pending === 0);
    const stats = notifier.stats().endpoints[0];
    expect(stats).toMatchObject({ events: 30, delivered: 30, pending: 0, dropped: 0 });
    expect(stats?.failures).toBeGreaterThanOrEqual(5);
    expect(stats?.statuses['500']).toBe(stats?.failures);
    expect(stats?.lastError).toBeUndefined();
  });

  it('retries while the connection is refused and delivers once a receiver listens again', async () => {
    const port = receiver.port;
    await receiver.stop();
    notifier = await startNotifier(spool.dir, [endpoint(`http://127.0.0.1:${port}/events`)]);
    for (const n of range(1, 10)) notifier.onEvent(syntheticEvent(n));
    await eventually(() => (notifier?.stats().endpoints[0]?.failures ?? 0) >= 3);
    const failing = notifier.stats().endpoints[0];
    expect(failing?.failures).toBeGreaterThanOrEqual(3);
    expect(failing?.statuses.error).toBe(failing?.failures);
    expect(failing?.lastError).toMatch(/ECONNREFUSED/);
    receiver = await Receiver.start(port);
    expect(sizes(await receiver.waitForEvents(10))).toEqual(range(1, 10));
  });

  it('gives up an attempt after timeout and delivers when the receiver answers in time again', async () => {
    receiver.mode = 'hang';
    notifier = await startNotifier(spool.dir, [endpoint(receiver.url, { timeout: 150 })]);
    const started = performance.now();
    notifier.onEvent(syntheticEvent(1));
    await receiver.waitForRequests(2);
    const elapsed = performance.now() - started;
    // A lower bound only (a slow machine makes it longer, never shorter): the attempt waited for its timeout.
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(notifier.stats().endpoints[0]?.lastError).toBe('timed out after 150 ms');
    receiver.mode = 200;
    expect(sizes(await receiver.waitForEvents(1))).toEqual([1]);
  });

  it('counts a 3xx answer as delivered (no redirect is followed, nothing is resent)', async () => {
    receiver.mode = 302;
    notifier = await startNotifier(spool.dir, [endpoint(receiver.url)]);
    notifier.onEvent(syntheticEvent(1));
    await receiver.waitForEvents(1);
    await sleep(100);
    expect(receiver.requests).toBe(1);
    expect(notifier.stats().endpoints[0]).toMatchObject({ delivered: 1, failures: 0, statuses: { '302': 1 } });
  });

  it('retries at once up to threshold, then backs off from backoff, doubling up to the cap', async () => {
    receiver.mode = 503;
    notifier = await startNotifier(spool.dir, [endpoint(receiver.url, { threshold: 3, backoff: 400 })], { maxBackoffMs: 800 });
    notifier.onEvent(syntheticEvent(1));
    await receiver.waitForRequests(7);
    const gaps = receiver.arrivals.slice(1, 7).map((at, i) => at - (receiver.arrivals[i] as number));
    console.log(`gaps between attempts, ms: ${gaps.map((g) => g.toFixed(0)).join(', ')}`);
    // Three attempts at once (two gaps without a wait), then waits of 400, 800, 800 and 800 (capped)
    // ms. Only lower bounds and orderings: a loaded machine stretches every gap, never shortens one.
    expect(gaps[0]).toBeLessThan(gaps[2]);
    expect(gaps[1]).toBeLessThan(gaps[2]);
    expect(gaps[2]).toBeGreaterThanOrEqual(380);
    expect(gaps[3]).toBeGreaterThanOrEqual(780);
    expect(gaps[4]).toBeGreaterThanOrEqual(780);
    expect(gaps[5]).toBeGreaterThanOrEqual(780);
    // Capped: without the cap the fourth wait would be 3,200 ms, four times the second.
    expect(gaps[5]).toBeLessThan(3 * gaps[3]);
  });

  it('sends a backlog in envelopes of at most maxBatch events', async () => {
    receiver.mode = 500;
    notifier = await startNotifier(spool.dir, [endpoint(receiver.url)], { maxBatch: 100 });
    for (const n of range(1, 250)) notifier.onEvent(syntheticEvent(n));
    await receiver.waitForRequests(2);
    receiver.mode = 200;
    expect(sizes(await receiver.waitForEvents(250))).toEqual(range(1, 250));
    expect(receiver.envelopes.map((e) => e.events.length)).toEqual([100, 100, 50]);
  });

  it('keeps endpoints isolated: one that hangs does not delay another', async () => {
    const hanging = await Receiver.start(0, 'hang');
    try {
      // A timeout longer than the test's: the stuck endpoint's first attempt stays open throughout.
      notifier = await startNotifier(spool.dir, [endpoint(hanging.url, { name: 'stuck', timeout: 600_000 }), endpoint(receiver.url, { name: 'healthy' })]);
      for (const n of range(1, 5)) notifier.onEvent(syntheticEvent(n));
      expect(sizes(await receiver.waitForEvents(5))).toEqual(range(1, 5));
      await eventually(() => notifier?.stats().endpoints[1]?.pending === 0);
      // Delivered while the stuck endpoint's one attempt was still unanswered: nothing waited for it.
      expect(hanging.requests).toBe(1);
      expect(notifier.stats().endpoints[0]).toMatchObject({ failures: 0, delivered: 0 });
      expect(notifier.stats().endpoints.map((e) => [e.name, e.pending])).toEqual([
        ['stuck', 5],
        ['healthy', 0],
      ]);
    } finally {
      await notifier?.close({ abort: true });
      await hanging.stop();
    }
  });

  it('does not slow requests down while the endpoint hangs until its timeout', async () => {
    const hanging = await Receiver.start(0, 'hang');
    try {
      // A timeout longer than the test's: a request that waited on delivery would never finish.
      notifier = await startNotifier(spool.dir, [endpoint(hanging.url, { timeout: 600_000 })]);
      const measure = async (app: ReturnType<typeof registryApp>): Promise<number[]> => {
        await pushImage(app, 'library/app', 'v1');
        const latencies: number[] = [];
        for (let i = 0; i < 200; i++) {
          const started = performance.now();
          await request(app).get('/v2/library/app/manifests/v1').expect(200);
          latencies.push(performance.now() - started);
        }
        return latencies.sort((a, b) => a - b);
      };
      const without = await measure(registryApp(undefined));
      const withHangingEndpoint = await measure(registryApp(notifier));
      const p = (values: number[], q: number) => values[Math.floor(q * (values.length - 1))] as number;
      console.log(
        `manifest GET latency over 200 requests, ms: no events p50 ${p(without, 0.5).toFixed(2)} p95 ${p(without, 0.95).toFixed(2)}; ` +
          `endpoint hanging p50 ${p(withHangingEndpoint, 0.5).toFixed(2)} p95 ${p(withHangingEndpoint, 0.95).toFixed(2)} max ${p(withHangingEndpoint, 1).toFixed(2)}`,
      );
      // Every request answered while the endpoint's first attempt was still unanswered (latencies are logged, not asserted).
      expect(hanging.requests).toBe(1);
      expect(notifier.stats().endpoints[0]).toMatchObject({ pending: 203, failures: 0, delivered: 0 });
    } finally {
      await notifier?.close({ abort: true });
      await hanging.stop();
    }
  });
});
