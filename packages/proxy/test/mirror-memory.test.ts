import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import type { StorageDriver } from '@berth/storage-driver';
import { listen, startMirror, type RunningMirror, type RunningServer } from './support/servers';

const MiB = 1024 * 1024;
const BLOB_MIB = 256;

/**
 * Memory while a blob far larger than any buffer passes through the cache: an upstream generating
 * 256 MiB on the fly, a mirror on the filesystem driver, a client hashing what it receives; the
 * process's resident memory is sampled throughout.
 */
describe('a pull-through cache streams blobs in bounded memory', () => {
  let dir: string;
  let driver: StorageDriver;
  let upstream: RunningServer;
  let mirror: RunningMirror;
  const block = randomBytes(MiB);
  const digest = (() => {
    const hash = createHash('sha256');
    for (let i = 0; i < BLOB_MIB; i++) hash.update(block);
    return `sha256:${hash.digest('hex')}`;
  })();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-proxy-memory-'));
    driver = await filesystemDriverFactory.create({ rootdirectory: dir }, {});
    upstream = await listen((req, res) => {
      if (req.url !== `/v2/big/blob/blobs/${digest}`) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': String(BLOB_MIB * MiB), 'content-type': 'application/octet-stream' });
      if (req.method === 'HEAD') return void res.end();
      void pipeline(
        Readable.from(
          (function* () {
            for (let i = 0; i < BLOB_MIB; i++) yield block;
          })(),
        ),
        res,
      ).catch(() => undefined);
    });
    mirror = await startMirror(upstream.url, { driver });
  });

  afterAll(async () => {
    await mirror?.stop();
    await upstream?.stop();
    await driver?.close?.();
    await rm(dir, { recursive: true, force: true });
  });

  it(`passes a ${BLOB_MIB} MiB blob to the client while storing it, with resident memory growing by far less than the blob`, async () => {
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const started = Date.now();
    try {
      const response = await request(`${mirror.url}/v2/big/blob/blobs/${digest}`);
      expect(response.statusCode).toBe(200);
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        bytes += chunk.length;
      }
      expect(bytes).toBe(BLOB_MIB * MiB);
      expect(`sha256:${hash.digest('hex')}`).toBe(digest);
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - started) / 1000;
    const growthMiB = (peak - baseline) / MiB;
    process.stdout.write(`proxy memory: ${BLOB_MIB} MiB blob in ${seconds.toFixed(1)} s, peak RSS growth ${growthMiB.toFixed(1)} MiB\n`);
    // The same transfer straight from the upstream, without the cache, grows RSS by ~75 MiB here
    // (allocator and GC lag); a cache buffering the blob would grow by 256 MiB or more.
    expect(growthMiB).toBeLessThan(BLOB_MIB / 2);

    const [, hex] = digest.split(':');
    const stored = await stat(join(dir, 'docker/registry/v2/blobs/sha256', hex!.slice(0, 2), hex!, 'data'));
    expect(stored.size).toBe(BLOB_MIB * MiB);
    // A second pull is served from storage.
    const again = await request(`${mirror.url}/v2/big/blob/blobs/${digest}`);
    await again.body.dump();
    expect(upstream.count('GET', `/v2/big/blob/blobs/${digest}`)).toBe(1);
  });
});
