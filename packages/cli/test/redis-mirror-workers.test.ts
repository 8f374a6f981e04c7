import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@berth/logging';
import { RedisConnection, RedisExpirySchedule } from '@berth/redis';
import { redisSkipReason, startRedis, type TestRedis } from '../../../test-support/redis';
import { startBerth, testConfig, type RunningBerth } from './helpers/berth';
import { eventually } from './helpers/in-process';
import { cleanupAll, makeTempDir } from './helpers/processes';

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, child: () => quiet };
const skip = redisSkipReason();
const describeRedis = skip ? describe.skip : describe;

/** One GET on a connection of its own (no keep-alive), so the router deals each to the next process. */
function get(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describeRedis('berth serve as a pull-through cache with redis and http.workers: 2', () => {
  let redis: TestRedis;
  let upstream: Server;
  let berth: RunningBerth | undefined;
  const blob = randomBytes(200_000);
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  const blobGets: string[] = [];
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));

  beforeAll(async () => {
    redis = await startRedis();
    // A registry holding one blob; its blob GETs are answered once the test opens the gate.
    upstream = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path === '/v2/' || path === '/v2') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else if (path === `/v2/lib/app/blobs/${digest}` && (req.method === 'GET' || req.method === 'HEAD')) {
        const headers = { 'content-length': String(blob.length), 'docker-content-digest': digest, 'content-type': 'application/octet-stream' };
        if (req.method === 'HEAD') res.writeHead(200, headers).end();
        else {
          blobGets.push(path);
          void gate.then(() => res.writeHead(200, headers).end(blob));
        }
      } else res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NAME_UNKNOWN"}]}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    open();
    await berth?.stop();
    await new Promise((resolve) => upstream.close(resolve));
    await redis?.close();
    await cleanupAll();
  });

  it('runs two processes; concurrent misses for one blob in both fetch it from the upstream once; the expiry schedule is in Redis', async () => {
    const root = await makeTempDir('berth-mirror-workers-');
    const { port } = upstream.address() as AddressInfo;
    berth = await startBerth({
      ...testConfig({ filesystem: { rootdirectory: root } }, { workers: 2 }),
      log: { level: 'debug', formatter: 'text' },
      proxy: { remoteurl: `http://127.0.0.1:${port}`, ttl: '1h' },
      redis: { addr: redis.addr },
    });
    const url = `${berth.url}/v2/lib/app/blobs/${digest}`;
    const pulls = [get(url), get(url)];
    // Open once one process waits for the other's fetch (or, without the lock, both asked the upstream).
    await eventually('both misses', async () => /another replica fetches this blob from the upstream: waiting for it/.test(berth!.process.output()) || blobGets.length >= 2);
    open();
    const replies = await Promise.all(pulls);
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
    for (const reply of replies) expect(reply.body.equals(blob)).toBe(true);
    expect(blobGets).toHaveLength(1);

    const connection = new RedisConnection({ addrs: [redis.addr], logger: quiet });
    await connection.start();
    try {
      const schedule = new RedisExpirySchedule(connection);
      const scheduled = async (): Promise<string[]> => (await schedule.list()).map((e) => `${e.kind} ${e.key}`);
      // Added right after the blob was stored (the replies may come first).
      await eventually('the blob to be scheduled', async () => (await scheduled()).length > 0);
      expect(await scheduled()).toEqual([`blob lib/app@${digest}`]);
    } finally {
      await connection.close();
    }
  });
});
