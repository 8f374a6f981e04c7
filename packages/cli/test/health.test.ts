import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import { PeriodicCheck, storageDriverCheck } from '../src/health';
import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { cleanupAll, makeTempDir } from './helpers/processes';
import { eventually, metricValue, parseExposition, recordingLogger, startInProcess, type InProcessRegistry } from './helpers/in-process';
import { TcpProxy } from './helpers/tcp-proxy';

/** The storage health check: its threshold rules, and a registry whose S3 backend goes away and comes back. */

afterAll(cleanupAll);

describe('a periodic health check', () => {
  /** A check whose outcome the test sets; it counts its runs. */
  function controlled(): { run: () => Promise<void>; fail: boolean; hang: boolean; runs: number } {
    const state = {
      fail: false,
      hang: false,
      runs: 0,
      run: async (): Promise<void> => {
        state.runs++;
        if (state.hang) return new Promise<void>(() => undefined);
        if (state.fail) throw new Error(`failure ${state.runs}`);
      },
    };
    return state;
  }

  it('turns unhealthy after threshold consecutive failures and healthy on the first success', async () => {
    const state = controlled();
    const changes: boolean[] = [];
    const logger = recordingLogger();
    const check = new PeriodicCheck('storagedriver_test', state.run, { intervalMs: 1000, threshold: 3, logger, onChange: (h) => void changes.push(h) });
    state.fail = true;
    await check.runOnce();
    await check.runOnce();
    expect([check.healthy, check.error]).toEqual([true, undefined]);
    await check.runOnce();
    expect([check.healthy, check.error]).toEqual([false, 'failure 3']);
    await check.runOnce();
    expect(check.error).toBe('failure 4');
    state.fail = false;
    await check.runOnce();
    expect([check.healthy, check.error]).toEqual([true, undefined]);
    state.fail = true;
    await check.runOnce();
    expect(check.healthy).toBe(true);
    expect(changes).toEqual([false, true]);
    expect(logger.lines.filter((l) => l.level !== 'debug').map((l) => [l.level, l.message])).toEqual([
      ['warn', 'health check storagedriver_test is failing'],
      ['info', 'health check storagedriver_test passes again'],
    ]);
  });

  it('counts a check that does not answer within the timeout as failed', async () => {
    const state = controlled();
    state.hang = true;
    const check = new PeriodicCheck('hangs', state.run, { intervalMs: 1000, threshold: 1, timeoutMs: 50 });
    await check.runOnce();
    expect([check.healthy, check.error]).toEqual([false, 'no answer within 50 ms']);
  });

  it('runs at start, then every interval, until stopped', async () => {
    const state = controlled();
    const check = new PeriodicCheck('ticks', state.run, { intervalMs: 40, threshold: 1 });
    check.start();
    await eventually('three runs', async () => state.runs >= 3);
    await check.stop();
    const runs = state.runs;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(state.runs).toBe(runs);
  });
});

describe('the storage driver check', () => {
  it('passes on an empty store (the root does not exist yet) and on one with content', async () => {
    const driver = createInMemoryDriver();
    await expect(storageDriverCheck(driver)()).resolves.toBeUndefined();
    await driver.putContent('/a/b', Buffer.from('x'));
    await expect(storageDriverCheck(driver)()).resolves.toBeUndefined();
  });

  it('treats a filesystem root that was removed as an empty store, as distribution does', async () => {
    const root = join(await makeTempDir('health-removed'), 'root');
    const driver = await filesystemDriverFactory.create({ rootdirectory: root }, {});
    await rm(root, { recursive: true });
    await expect(storageDriverCheck(driver)()).resolves.toBeUndefined();
  });

  it('fails when the driver fails', async () => {
    const driver = createInMemoryDriver();
    const broken = { ...driver, list: () => Promise.reject(new Error('connection refused')) };
    await expect(storageDriverCheck(broken)()).rejects.toThrow('connection refused');
  });
});

const skipReason = s3SkipReason();
const describeS3 = skipReason ? describe.skip : describe;

describeS3(`a registry on S3 behind a proxy that goes away (${skipReason ?? describeS3Server()})`, () => {
  let proxy: TcpProxy;
  let registry: InProcessRegistry;

  beforeAll(async () => {
    const params = s3TestParameters('health')!;
    proxy = await TcpProxy.start(new URL(String(params.regionendpoint)));
    registry = await startInProcess({
      version: '0.1',
      storage: { s3: { ...params, regionendpoint: proxy.url }, maintenance: { uploadpurging: { enabled: false } } },
      http: { addr: '127.0.0.1:0', secret: 'health-test', debug: { addr: '127.0.0.1:0', prometheus: { enabled: true } } },
      health: { storagedriver: { enabled: true, interval: '300ms', threshold: 2 } },
    });
  });
  afterAll(async () => {
    await registry?.stop();
    await proxy?.close();
  });

  const health = async (): Promise<{ status: number; body: Record<string, string> }> => {
    const response = await fetch(`${registry.debugUrl}/debug/health`);
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  };

  it('answers 503 while S3 is unreachable (health and storage requests, not /v2/) and recovers when it is back', async () => {
    expect(await health()).toEqual({ status: 200, body: {} });
    expect((await fetch(`${registry.url}/v2/app/tags/list`)).status).toBe(404);

    await proxy.close();
    await eventually('the check to fail', async () => (await health()).status === 503);
    const failing = await health();
    expect(Object.keys(failing.body)).toEqual(['storagedriver_s3']);
    expect(failing.body.storagedriver_s3).toEqual(expect.any(String));

    const refused = await fetch(`${registry.url}/v2/app/tags/list`);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAVAILABLE');
    expect((await fetch(`${registry.url}/v2/`)).status).toBe(200);
    const scrape = async (): Promise<ReturnType<typeof parseExposition>> => parseExposition(await (await fetch(`${registry.debugUrl}/metrics`)).text());
    // While storage is refused by the health gate, failed listings come from the periodic check
    // alone: a second one may not have run yet when the check first turned the status to 503.
    await eventually('two failed listings to be counted', async () => (metricValue(await scrape(), 'registry_storage_errors_total', { driver: 's3', action: 'List' }) ?? 0) >= 2);
    const down = await scrape();
    expect(metricValue(down, 'registry_health_check_healthy', { check: 'storagedriver_s3' })).toBe(0);
    expect(metricValue(down, 'registry_storage_errors_total', { driver: 's3', action: 'List' })).toBeGreaterThanOrEqual(2);

    await proxy.reopen();
    await eventually('the check to pass again', async () => (await health()).status === 200);
    expect(await health()).toEqual({ status: 200, body: {} });
    expect((await fetch(`${registry.url}/v2/app/tags/list`)).status).toBe(404);
    const up = parseExposition(await (await fetch(`${registry.debugUrl}/metrics`)).text());
    expect(metricValue(up, 'registry_health_check_healthy', { check: 'storagedriver_s3' })).toBe(1);
    const messages = registry.logger.lines.map((l) => `${l.level} ${l.message}`);
    expect(messages).toContain('warn health check storagedriver_s3 is failing');
    expect(messages).toContain('info health check storagedriver_s3 passes again');
  });
});
