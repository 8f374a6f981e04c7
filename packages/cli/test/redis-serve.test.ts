import { redisSkipReason, startRedis, type TestRedis } from '../../../test-support/redis';
import { deleteManifest, makeImage, pushImage } from './gc-client';
import { eventually, metricValue, parseExposition, startInProcess, type InProcessRegistry } from './helpers/in-process';
import { cleanupAll, makeTempDir } from './helpers/processes';

/**
 * Two replicas served in this process (each its own stack, Redis connection and shared cache; one
 * filesystem root, one real redis-server), reached over loopback HTTP.
 */

afterAll(cleanupAll);
const skip = redisSkipReason();
const describeRedis = skip ? describe.skip : describe;

describeRedis('berth serve with redis: the shared cache over HTTP, health and metrics', () => {
  let redis: TestRedis;
  const replicas: InProcessRegistry[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await redis?.close();
  });

  it('a tag moved through one replica is served at once by the other; Redis stopped: pulls work, /debug/health lists redis with 200, metrics count fallbacks', async () => {
    const root = await makeTempDir('berth-redis-serve-');
    const config = {
      version: '0.1',
      log: { level: 'warn', formatter: 'text' },
      storage: { filesystem: { rootdirectory: root }, cache: { blobdescriptor: 'redis' }, delete: { enabled: true } },
      redis: { addr: redis.addr, dialtimeout: '1s', readtimeout: '500ms' },
      http: { addr: '127.0.0.1:0', secret: 'shared', debug: { addr: '127.0.0.1:0', prometheus: { enabled: true } } },
    };
    const [a, b] = [await startInProcess(config), await startInProcess(config)];
    replicas.push(a, b);
    const one = makeImage([Buffer.from('layer one')], 'one');
    const two = makeImage([Buffer.from('layer two')], 'two');
    await pushImage(a.url, 'app', 'latest', one);
    const digestOn = async (r: InProcessRegistry): Promise<string | null> =>
      (await fetch(`${r.url}/v2/app/manifests/latest`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).headers.get(
        'docker-content-digest',
      );
    expect(await digestOn(b)).toBe(one.digest);
    expect(await digestOn(b)).toBe(one.digest);
    await pushImage(a.url, 'app', 'latest', two);
    expect(await digestOn(b)).toBe(two.digest);
    await deleteManifest(a.url, 'app', two.digest);
    expect((await fetch(`${b.url}/v2/app/manifests/latest`, { method: 'HEAD' })).status).toBe(404);
    await pushImage(a.url, 'app', 'latest', two);

    const health = await fetch(`${b.debugUrl}/debug/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({});

    await redis.stop();
    expect(await digestOn(b)).toBe(two.digest);
    await eventually('the redis check fails on b', async () => {
      const response = await fetch(`${b.debugUrl}/debug/health`);
      const body = (await response.json()) as Record<string, string>;
      return response.status === 200 && typeof body.redis === 'string';
    });
    const samples = parseExposition(await (await fetch(`${b.debugUrl}/metrics`)).text());
    expect(metricValue(samples, 'registry_redis_connected')).toBe(0);
    expect(metricValue(samples, 'registry_redis_cache_lookups_total', { result: 'fallback' })).toBeGreaterThan(0);
    expect(metricValue(samples, 'registry_redis_cache_lookups_total', { result: 'hit' })).toBeGreaterThan(0);
    // A tag move cannot be announced to the other replica: refused before storage changes.
    const refused = await fetch(`${a.url}/v2/app/manifests/latest`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      body: one.manifest,
    });
    expect(refused.status).toBe(503);
    expect(await digestOn(b)).toBe(two.digest);

    await redis.start();
    await eventually('the redis check passes again on b', async () => {
      const response = await fetch(`${b.debugUrl}/debug/health`);
      return response.status === 200 && Object.keys((await response.json()) as object).length === 0;
    });
    await pushImage(a.url, 'app', 'latest', one);
    expect(await digestOn(b)).toBe(one.digest);
  });
});
