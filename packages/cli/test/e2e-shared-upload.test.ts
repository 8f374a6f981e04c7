import { randomBytes } from 'node:crypto';
import { startBerth, testConfig, type RunningBerth } from './helpers/berth';
import { sha256Digest } from './helpers/oci-layout';
import { cleanupAll, makeTempDir } from './helpers/processes';
import { errorCodes, finishUpload, patchChunk, relocate, startUpload } from './helpers/upload';

const MiB = 1024 * 1024;

/**
 * Registries behind a load balancer share their storage and `http.secret`: any step of an upload may
 * reach any process. Two real `berth serve` processes share one filesystem root here.
 */
describe('one blob upload across two berth processes sharing a filesystem root and http.secret', () => {
  let root: string;
  let a: RunningBerth;
  let b: RunningBerth;
  const config = (): Record<string, unknown> => testConfig({ filesystem: { rootdirectory: root } }, { secret: 'shared-by-a-and-b' });

  beforeAll(async () => {
    root = await makeTempDir('shared-root');
    [a, b] = await Promise.all([startBerth(config()), startBerth(config())]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await cleanupAll();
  });

  async function expectBlob(server: RunningBerth, repository: string, content: Buffer): Promise<void> {
    const digest = sha256Digest(content);
    const response = await fetch(`${server.url}/v2/${repository}/blobs/${digest}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(digest);
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
  }

  it('takes a chunk on A, the next chunk on B, completes on B, and both serve the blob', async () => {
    const first = randomBytes(MiB + 17);
    const second = randomBytes(2 * MiB);
    const blob = Buffer.concat([first, second]);

    const onA = await patchChunk(await startUpload(a.url, 'shared/blob'), first, 0);
    const onB = await patchChunk(relocate(onA, a.url, b.url), second, first.length);
    const put = await finishUpload(onB, sha256Digest(blob));

    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(sha256Digest(blob));
    await expectBlob(b, 'shared/blob', blob);
    await expectBlob(a, 'shared/blob', blob);
  });

  it('rejects a wrong digest on B with DIGEST_INVALID although A hashed the first chunk', async () => {
    const first = randomBytes(MiB);
    const second = randomBytes(MiB);
    const onA = await patchChunk(await startUpload(a.url, 'shared/wrong'), first, 0);
    const onB = await patchChunk(relocate(onA, a.url, b.url), second, first.length);

    // The digest of the second chunk alone: right bytes, wrong blob.
    const put = await finishUpload(onB, sha256Digest(second));

    expect(put.status).toBe(400);
    expect(await errorCodes(put)).toContain('DIGEST_INVALID');
    expect((await fetch(`${a.url}/v2/shared/wrong/blobs/${sha256Digest(second)}`, { method: 'HEAD' })).status).toBe(404);
    expect((await fetch(`${a.url}/v2/shared/wrong/blobs/${sha256Digest(Buffer.concat([first, second]))}`, { method: 'HEAD' })).status).toBe(404);
  });

  it('continues an upload after the process that started it was restarted', async () => {
    const first = randomBytes(MiB);
    const second = randomBytes(MiB + 1);
    const blob = Buffer.concat([first, second]);
    const onA = await patchChunk(await startUpload(a.url, 'shared/restart'), first, 0);

    const before = a;
    expect(await before.stop()).toEqual({ code: 0, signal: null });
    const restarted = await startBerth(config());
    a = restarted;

    const next = await patchChunk(relocate(onA, before.url, restarted.url), second, first.length);
    const put = await finishUpload(next, sha256Digest(blob));
    expect(put.status).toBe(201);
    await expectBlob(b, 'shared/restart', blob);
  });

  it('refuses an upload URL signed with another http.secret', async () => {
    const stranger = await startBerth(testConfig({ filesystem: { rootdirectory: root } }, { secret: 'not-the-shared-secret' }));
    try {
      const onA = await patchChunk(await startUpload(a.url, 'shared/stranger'), randomBytes(1024), 0);
      const response = await fetch(relocate(onA, a.url, stranger.url), {
        method: 'PATCH',
        headers: { 'content-type': 'application/octet-stream', 'content-range': '1024-2047', 'content-length': '1024' },
        body: randomBytes(1024),
      });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(await errorCodes(response)).toEqual([expect.stringMatching(/^BLOB_UPLOAD_(INVALID|UNKNOWN)$/)]);
    } finally {
      await stranger.stop();
    }
  });
});
