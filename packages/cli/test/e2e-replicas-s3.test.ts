import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { nginxSkipReason } from '../../../test-support/nginx';
import { redisSkipReason, startRedis, type TestRedis } from '../../../test-support/redis';
import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { runBerth, writeConfig, type RunningBerth } from './helpers/berth';
import { expectPulledLayout } from './helpers/compare';
import { buildOciLayout, imageDigests, indexDigests, MEDIA_TYPES, sha256Digest, type LayoutFixture } from './helpers/oci-layout';
import { eventually } from './helpers/in-process';
import { cleanupAll, makeTempDir } from './helpers/processes';
import { startReplicaSet, type ReplicaSet } from './helpers/replicas';
import { skopeoCopy, skopeoInspectRaw } from './helpers/skopeo';
import { finishUpload, patchChunk, relocate, startUpload } from './helpers/upload';

/**
 * Three `berth serve` processes on one S3 bucket root with one pinned http.secret and one Redis
 * (`storage.cache.blobdescriptor: redis`), behind a real nginx round-robin (docs/scale-out.md): what
 * one replica acknowledged, every other one serves at once, whichever replica a client reaches.
 */

const MiB = 1024 * 1024;
const ACCEPT = [MEDIA_TYPES.manifest, MEDIA_TYPES.index].join(', ');

const skipReason = s3SkipReason() ?? nginxSkipReason() ?? redisSkipReason();
if (skipReason) console.warn(`SKIPPED three berth replicas behind nginx: ${skipReason}`);
const describeReplicas = skipReason ? describe.skip : describe;

describeReplicas(`three berth replicas on one bucket behind nginx (${skipReason ? 'skipped' : describeS3Server()})`, () => {
  let fixture: LayoutFixture;
  let set: ReplicaSet;
  let redis: TestRedis;
  const viaNginx = (path: string): string => `docker://${set.nginx.hostPort}/${path}`;
  const via = (replica: RunningBerth, path: string): string => `docker://${replica.hostPort}/${path}`;

  beforeAll(async () => {
    fixture = await buildOciLayout(await makeTempDir('layout'));
    redis = await startRedis();
    set = await startReplicaSet({
      count: 3,
      storage: { s3: s3TestParameters('replicas')!, redirect: { disable: true }, cache: { blobdescriptor: 'redis' } },
      extra: { redis: { addr: redis.addr, dialtimeout: '500ms', readtimeout: '500ms', writetimeout: '500ms' } },
    });
  }, 300_000);

  afterAll(async () => {
    await set?.stop();
    await redis?.close();
    await cleanupAll();
  });

  async function manifestDigest(base: string, reference: string, method: 'GET' | 'HEAD' = 'HEAD'): Promise<string | number> {
    const response = await fetch(`${base}/v2/${reference}`, { method, headers: { accept: ACCEPT } });
    await response.arrayBuffer();
    return response.status === 200 ? response.headers.get('docker-content-digest')! : response.status;
  }

  it('pushes a multi-arch image through the balancer and pulls it back byte-identical through it and from every replica', async () => {
    await skopeoCopy(`oci:${fixture.dir}:multi`, viaNginx('app/multi:v1'));
    const out = await makeTempDir('pull');
    await skopeoCopy(viaNginx('app/multi:v1'), `oci:${out}:v1`);
    await expectPulledLayout(out, fixture.dir, indexDigests(fixture.multi), 'v1', fixture.multi.index.digest);
    for (const replica of set.replicas) {
      expect((await skopeoInspectRaw(via(replica, 'app/multi:v1'))).equals(fixture.multi.indexBytes)).toBe(true);
      for (const image of fixture.multi.images) {
        expect((await skopeoInspectRaw(via(replica, `app/multi@${image.manifest.digest}`))).equals(image.manifestBytes)).toBe(true);
      }
    }
  });

  it('serves a tag moved through one replica at once from the others, which had read it before', async () => {
    const [first, second, third] = set.replicas;
    await skopeoCopy(`oci:${fixture.dir}:single`, via(first!, 'app/moving:latest'));
    for (const replica of set.replicas) {
      expect(await manifestDigest(replica.url, 'app/moving/manifests/latest')).toBe(fixture.single.manifest.digest);
      expect(await manifestDigest(replica.url, 'app/moving/manifests/latest', 'GET')).toBe(fixture.single.manifest.digest);
    }

    await skopeoCopy(`oci:${fixture.dir}:multi`, via(first!, 'app/moving:latest'));

    for (const replica of [second!, third!, first!]) {
      expect(await manifestDigest(replica.url, 'app/moving/manifests/latest')).toBe(fixture.multi.index.digest);
      expect(await manifestDigest(replica.url, 'app/moving/manifests/latest', 'GET')).toBe(fixture.multi.index.digest);
    }
  });

  it('answers 404 on every other replica for a manifest deleted through one, by digest and by tag', async () => {
    const [first, second, third] = set.replicas;
    await skopeoCopy(`oci:${fixture.dir}:single`, viaNginx('app/deleted:v1'));
    const digest = fixture.single.manifest.digest;
    for (const replica of set.replicas) {
      expect(await manifestDigest(replica.url, `app/deleted/manifests/${digest}`, 'GET')).toBe(digest);
      expect(await manifestDigest(replica.url, 'app/deleted/manifests/v1')).toBe(digest);
    }

    const deleted = await fetch(`${second!.url}/v2/app/deleted/manifests/${digest}`, { method: 'DELETE' });
    expect(deleted.status).toBe(202);

    for (const replica of [first!, third!, second!]) {
      expect(await manifestDigest(replica.url, `app/deleted/manifests/${digest}`, 'GET')).toBe(404);
      expect(await manifestDigest(replica.url, `app/deleted/manifests/${digest}`)).toBe(404);
      expect(await manifestDigest(replica.url, 'app/deleted/manifests/v1')).toBe(404);
    }
  });

  it('gives a whole image on every replica when it is pushed again after garbage collection freed its blobs (distribution#4269)', async () => {
    const repository = 'app/collected';
    // Blobs of their own: no other test's repository keeps them.
    const own = await buildOciLayout(await makeTempDir('layout'), { singleLayers: [MiB, 3 * MiB], platformLayer: MiB / 4, baseLayer: MiB / 4 });
    const digests = imageDigests(own.single);
    const blobs = [own.single.config.digest, ...own.single.layers.map((l) => l.digest)];
    await skopeoCopy(`oci:${own.dir}:single`, viaNginx(`${repository}:v1`));
    // Every replica has looked at every blob, as pulls do.
    for (const replica of set.replicas) {
      for (const digest of blobs) {
        const head = await fetch(`${replica.url}/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });
        expect({ digest, status: head.status }).toEqual({ digest, status: 200 });
      }
    }
    const deleted = await fetch(`${set.replicas[0]!.url}/v2/${repository}/manifests/${own.single.manifest.digest}`, { method: 'DELETE' });
    expect(deleted.status).toBe(202);

    const gc = await runBerth(['garbage-collect', '--grace-period', '0s', await writeConfig(set.config)], { timeoutMs: 300_000 });
    expect({ code: gc.code, stderr: gc.code === 0 ? '' : gc.stderr }).toEqual({ code: 0, stderr: '' });
    expect(gc.stdout).toMatch(new RegExp(`deleted ${digests.size} blobs`));
    for (const replica of set.replicas) {
      for (const digest of blobs) {
        const head = await fetch(`${replica.url}/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });
        expect({ replica: replica.hostPort, digest, status: head.status }).toEqual({ replica: replica.hostPort, digest, status: 404 });
      }
    }

    await skopeoCopy(`oci:${own.dir}:single`, viaNginx(`${repository}:v1`));

    for (const replica of set.replicas) {
      const out = await makeTempDir('pull');
      await skopeoCopy(via(replica, `${repository}:v1`), `oci:${out}:v1`);
      await expectPulledLayout(out, own.dir, digests, 'v1', own.single.manifest.digest);
    }
  });

  it('runs one of two garbage collections started at once on two replicas; the other reports that another holds the lease', async () => {
    const repository = 'app/leased';
    const own = await buildOciLayout(await makeTempDir('layout'), { singleLayers: [MiB], platformLayer: MiB / 4, baseLayer: MiB / 4 });
    await skopeoCopy(`oci:${own.dir}:single`, viaNginx(`${repository}:v1`));
    const deleted = await fetch(`${set.nginx.url}/v2/${repository}/manifests/${own.single.manifest.digest}`, { method: 'DELETE' });
    expect(deleted.status).toBe(202);
    // Garbage to set aside makes each run wait storage.gc.settle: the runs overlap whichever starts first.
    const storage = { ...(set.config.storage as Record<string, unknown>), gc: { settle: '20s' } };
    const configs = await Promise.all(set.replicas.slice(0, 2).map(() => writeConfig({ ...set.config, storage })));

    const runs = await Promise.all(configs.map((config) => runBerth(['garbage-collect', '--grace-period', '0s', config], { timeoutMs: 300_000 })));

    const ran = runs.filter((r) => r.code === 0);
    const refused = runs.filter((r) => r.code !== 0);
    expect(runs.map((r) => r.code).sort()).toEqual([0, 3]);
    expect(ran[0]!.stdout).toMatch(new RegExp(`deleted ${imageDigests(own.single).size} blobs`));
    expect(refused[0]!.stderr).toMatch(/garbage collection not started: another garbage collection holds the lease/);
    expect(refused[0]!.stdout).not.toMatch(/deleted/);
  });

  it('finishes on another replica an upload whose replica was killed (SIGKILL) in the middle of a PATCH', async () => {
    const victimIndex = 0;
    const victim = set.replicas[victimIndex]!;
    const survivor = set.replicas[1]!;
    const blob = randomBytes(4 * MiB + 123);
    const firstEnd = MiB;
    const acknowledged = await patchChunk(await startUpload(victim.url, 'app/killed'), Buffer.from(blob.subarray(0, firstEnd)), 0);

    // A second chunk is on its way to the victim when it dies: part of it may have reached storage.
    const inFlight = request(acknowledged, {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${firstEnd}-${2 * MiB - 1}`, 'content-length': String(MiB) },
    });
    const failed = new Promise<void>((resolve) => {
      inFlight.once('error', () => resolve());
      inFlight.once('response', (res) => {
        res.resume();
        resolve();
      });
    });
    await new Promise<void>((resolve) => inFlight.write(blob.subarray(firstEnd, firstEnd + MiB / 2), () => resolve()));
    victim.process.child.kill('SIGKILL');
    expect(await victim.process.exited).toEqual({ code: null, signal: 'SIGKILL' });
    inFlight.destroy();
    await failed;

    // The survivor tells how much storage holds, and the client goes on from there.
    const onSurvivor = relocate(acknowledged, victim.url, survivor.url);
    const status = await fetch(onSurvivor);
    expect(status.status).toBe(204);
    const range = /^0-(\d+)$/.exec(status.headers.get('range') ?? '');
    expect(range).not.toBeNull();
    const stored = Number(range![1]) + 1;
    expect(stored).toBeGreaterThanOrEqual(firstEnd);
    expect(stored).toBeLessThanOrEqual(firstEnd + MiB / 2);
    const next = await patchChunk(new URL(status.headers.get('location') ?? onSurvivor, survivor.url).toString(), Buffer.from(blob.subarray(stored)), stored);
    const put = await finishUpload(next, sha256Digest(blob));
    expect(put.status).toBe(201);

    const restarted = await set.restart(victimIndex);
    for (const base of [set.nginx.url, ...set.replicas.map((r) => r.url)]) {
      const response = await fetch(`${base}/v2/app/killed/blobs/${sha256Digest(blob)}`);
      expect(response.status).toBe(200);
      expect(sha256Digest(Buffer.from(await response.arrayBuffer()))).toBe(sha256Digest(blob));
    }
    expect(set.replicas[victimIndex]).toBe(restarted);
  });

  it('keeps serving pulls through the balancer while Redis is stopped, refuses tag moves with 503 meanwhile, and serves no stale tag once Redis is back', async () => {
    const repository = 'app/outage';
    const layer = fixture.single.layers[0]!;
    await skopeoCopy(`oci:${fixture.dir}:single`, viaNginx(`${repository}:v1`));
    await skopeoCopy(`oci:${fixture.dir}:multi`, viaNginx(`${repository}:multi`));
    const failures: string[] = [];
    let pulls = 0;
    let running = true;
    const pullLoop = (async () => {
      while (running) {
        const digest = await manifestDigest(set.nginx.url, `${repository}/manifests/v1`, 'GET');
        if (digest !== fixture.single.manifest.digest) failures.push(`manifest: ${digest}`);
        const blob = await fetch(`${set.nginx.url}/v2/${repository}/blobs/${layer.digest}`);
        const bytes = Buffer.from(await blob.arrayBuffer());
        if (blob.status !== 200 || sha256Digest(bytes) !== layer.digest) failures.push(`blob: ${blob.status}`);
        pulls++;
      }
    })();
    const pullsAfter = async (n: number): Promise<void> => {
      const target = pulls + n;
      await eventually(`${n} more pulls`, async () => pulls >= target || failures.length > 0, 120_000);
    };

    try {
      await pullsAfter(5);
      await redis.stop();
      await pullsAfter(10);

      // A tag move cannot tell the other replicas while Redis is away: refused, storage unchanged.
      const moved = await fetch(`${set.replicas[0]!.url}/v2/${repository}/manifests/v1`, {
        method: 'PUT',
        headers: { 'content-type': MEDIA_TYPES.index },
        body: fixture.multi.indexBytes,
      });
      await moved.arrayBuffer();
      expect(moved.status).toBe(503);
      await pullsAfter(3);

      await redis.start();
      await pullsAfter(5);
    } finally {
      running = false;
      await pullLoop;
    }
    expect(failures).toEqual([]);

    // Back: each replica accepts the move once it has reconnected, and every replica serves it at once.
    await eventually(
      'a tag move accepted after Redis came back',
      async () => {
        const response = await fetch(`${set.replicas[0]!.url}/v2/${repository}/manifests/v1`, {
          method: 'PUT',
          headers: { 'content-type': MEDIA_TYPES.index },
          body: fixture.multi.indexBytes,
        });
        await response.arrayBuffer();
        if (response.status !== 201 && response.status !== 503) throw new Error(`tag move answered ${response.status}`);
        return response.status === 201;
      },
      60_000,
    );
    for (const replica of set.replicas) {
      expect(await manifestDigest(replica.url, `${repository}/manifests/v1`)).toBe(fixture.multi.index.digest);
      expect(await manifestDigest(replica.url, `${repository}/manifests/v1`, 'GET')).toBe(fixture.multi.index.digest);
    }
  });
});
