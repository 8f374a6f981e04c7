import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { StorageUnavailableError } from '@berth/storage-driver';
import { s3DriverFactory } from '@berth/driver-s3';
import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { FaultyProxy } from './faulty-proxy';
import { destroyTestDriver, type TestDriver } from './helpers';
import { freePort } from '../../../test-support/ports';

const skipReason = s3SkipReason();
const describeS3 = skipReason ? describe.skip : describe;
if (skipReason) console.warn(`!!! SKIPPED: s3 resilience tests against RGW: ${skipReason}`);

/** s3 parameters for a store at `endpoint` that does not exist (nothing is ever stored there). */
function unreachableParameters(endpoint: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { bucket: 'nowhere', regionendpoint: endpoint, forcepathstyle: true, accesskey: 'AK', secretkey: 'SK', ...overrides };
}

/** Reads `stream` to its end; resolves with the error it failed with (undefined when it ended). */
async function drain(stream: Readable): Promise<unknown> {
  try {
    for await (const chunk of stream) void chunk;
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('s3 driver: a store that cannot be reached', () => {
  it('types a refused connection as StorageUnavailableError (after its retries)', async () => {
    const driver = await s3DriverFactory.create(unreachableParameters(`http://127.0.0.1:${await freePort()}`, { maxretries: 1 }), {});
    try {
      await expect(driver.stat('/a')).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(driver.getContent('/a')).rejects.toThrow(/unavailable.*ECONNREFUSED/s);
    } finally {
      await driver.close?.();
    }
  });

  it('ends a request to a store that accepts and never answers after idletimeout, with StorageUnavailableError', async () => {
    const silent = await FaultyProxy.start(); // no target: accepts, answers nothing
    const driver = await s3DriverFactory.create(unreachableParameters(silent.endpoint, { maxretries: 0, idletimeout: '300ms' }), {});
    try {
      await expect(driver.stat('/a')).rejects.toThrow(StorageUnavailableError);
    } finally {
      await driver.close?.();
      await silent.close();
    }
  });
});

describeS3(`s3 driver against a failing store (${skipReason ?? describeS3Server()})`, () => {
  let proxy: FaultyProxy;
  let driver: TestDriver;

  /** A driver through a new proxy; `direct` reaches the same root without the proxy (and default-ish patience). */
  async function open(overrides: Record<string, unknown>): Promise<{ direct: () => Promise<TestDriver> }> {
    const params = s3TestParameters('resilience', overrides) ?? {};
    proxy = await FaultyProxy.start(String(params.regionendpoint));
    driver = (await s3DriverFactory.create({ ...params, regionendpoint: proxy.endpoint }, {})) as TestDriver;
    return { direct: async () => (await s3DriverFactory.create({ ...params, idletimeout: '60s', maxretries: 3 }, {})) as TestDriver };
  }

  /** Stores `content` around the proxy: a busy RGW may stay silent for longer than the tests' short idletimeout while it stores. */
  async function store(direct: () => Promise<TestDriver>, path: string, content: Buffer): Promise<void> {
    const writer = await direct();
    try {
      await writer.putContent(path, content);
    } finally {
      await writer.close?.();
    }
  }

  afterEach(async () => {
    proxy.heal();
    await destroyTestDriver(driver);
    await proxy.close();
  });

  it('ends a request in flight to a frozen store with StorageUnavailableError while the store is still frozen, and works again once it thaws', async () => {
    const { direct } = await open({ maxretries: 0, idletimeout: '2s' });
    await store(direct, '/frozen/a', Buffer.from('before the stall'));
    proxy.freeze();
    const outcome = await driver.stat('/frozen/a').then(
      () => 'answered',
      (error: unknown) => error,
    );
    expect(proxy.frozen).toBe(true); // it ended during the stall, not after it
    expect(outcome).toBeInstanceOf(StorageUnavailableError);
    expect(String((outcome as Error).message)).toMatch(/TimeoutError/);
    proxy.thaw();
    expect((await driver.getContent('/frozen/a')).toString()).toBe('before the stall');
  });

  it('retries a timed-out request once at most: a frozen store ends it after two attempts whatever maxretries says', async () => {
    const { direct } = await open({ maxretries: 5, idletimeout: '1s' });
    await store(direct, '/frozen/b', Buffer.from('x'));
    proxy.freeze();
    const outcome = await driver.stat('/frozen/b').then(
      () => undefined,
      (error: unknown) => error as Error & { cause?: { $metadata?: { attempts?: number } } },
    );
    expect(proxy.frozen).toBe(true);
    expect(outcome).toBeInstanceOf(StorageUnavailableError);
    expect(outcome?.cause?.$metadata?.attempts).toBe(2);
  });

  it('fails a blob body that stalls mid-way after idletimeout instead of hanging', async () => {
    const { direct } = await open({ maxretries: 0, idletimeout: '2s' });
    await store(direct, '/frozen/big', randomBytes(24 * 1024 * 1024)); // more than the sockets buffer
    const stream = await driver.reader('/frozen/big', 0);
    const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    expect(first.length).toBeGreaterThan(0);
    proxy.freeze();
    const error = await drain(stream);
    expect(proxy.frozen).toBe(true);
    expect(String(error)).toMatch(/TimeoutError|timed out|aborted/i);
  });

  it('retries 503 SlowDown answers within maxretries and succeeds', async () => {
    await open({ maxretries: 3 });
    await driver.putContent('/retry/a', Buffer.from('x'));
    proxy.inject('slowdown', 2);
    expect((await driver.stat('/retry/a')).size).toBe(1);
    expect(proxy.injected).toBe(2);
  });

  it('retries reset connections within maxretries and succeeds', async () => {
    await open({ maxretries: 3 });
    await driver.putContent('/retry/b', Buffer.from('xy'));
    proxy.inject('reset', 2);
    expect((await driver.getContent('/retry/b')).toString()).toBe('xy');
    expect(proxy.injected).toBe(2);
  });

  it('gives up after maxretries retries of SlowDown with StorageUnavailableError', async () => {
    await open({ maxretries: 1 });
    await driver.putContent('/retry/c', Buffer.from('x'));
    proxy.inject('slowdown', 5);
    await expect(driver.stat('/retry/c')).rejects.toBeInstanceOf(StorageUnavailableError);
    // The HeadObject on the driver's own connection (wire-requests.ts), then the SDK's attempt and its one retry.
    expect(proxy.injected).toBe(3);
  });

  it('sends nothing on its own connections for a while after the store throttled one, so every attempt gets the SDK back-off', async () => {
    await open({ maxretries: 1 });
    await driver.putContent('/retry/d', Buffer.from('x'));
    proxy.inject('slowdown', 1);
    expect((await driver.getContent('/retry/d')).toString()).toBe('x'); // declined on the wire, then the SDK
    expect(proxy.injected).toBe(1);
    proxy.inject('slowdown', 5);
    await expect(driver.stat('/retry/d')).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(proxy.injected).toBe(1 + 2); // the SDK's attempt and its retry, no request on the wire
  });
});
