import { collectGarbage, Digest, GC_ROOT, ManifestBlobUnknownError, MediaType, pathFor, Registry, type GarbageCollectReport } from '@berth/registry';
import type { StorageDriver } from '@berth/storage-driver';
import { pushBlob } from './helpers';
import { backends, blobStored, pull, pushImage, snapshot, type PushedImage } from './gc-support';

/**
 * Garbage collection while pushes go on: every interleaving that the protocol of
 * docs/garbage-collection.md must survive, made deterministic by acting at the moment the run sets
 * a blob aside (a hook on the driver's `move` into the quarantine). Plus interrupted and crashed runs.
 */

const isQuarantine = (path: string): boolean => path.startsWith(`${GC_ROOT}/`) && path.includes('/quarantine/');

/**
 * `driver`, but `hook` runs (once, and the run waits for it) right after every one of `digests`
 * has been moved into a run's quarantine: their links are gone, their data is set aside.
 */
function afterSetAside(driver: StorageDriver, digests: readonly Digest[], hook: () => Promise<void>): StorageDriver {
  const waiting = new Set(digests.map((d) => d.hex));
  let fired = false;
  return {
    ...driver,
    move: async (source, dest) => {
      await driver.move(source, dest);
      if (isQuarantine(dest)) waiting.delete(dest.slice(dest.lastIndexOf('/') + 1));
      if (!fired && waiting.size === 0) {
        fired = true;
        await hook();
      }
    },
  };
}

/** Resolves once a run has set all of `digests` aside (their data is in its quarantine, no longer in place). */
async function untilSetAside(driver: StorageDriver, digests: readonly Digest[]): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const held = new Set<string>();
    await driver
      .walk(GC_ROOT, (info) => {
        if (!info.isDir && isQuarantine(info.path)) held.add(info.path.slice(info.path.lastIndexOf('/') + 1));
      })
      .catch(() => undefined);
    let done = digests.every((d) => held.has(d.hex));
    for (const digest of digests) done &&= !(await blobStored(driver, digest));
    if (done) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the run never set those blobs aside');
}

for (const backend of backends) {
  const suite = backend.skipReason ? describe.skip : describe;
  if (backend.skipReason) console.warn(`!!! SKIPPED: online garbage collection on ${backend.name}`);

  suite(`online garbage collection on ${backend.name}`, () => {
    let driver: StorageDriver;
    let dispose: () => Promise<void>;
    let registry: Registry;

    beforeEach(async () => {
      ({ driver, dispose } = await backend.create());
      registry = new Registry({ driver, deleteEnabled: true });
    });
    let cleanups: (() => void)[] = [];
    const onCleanup = (fn: () => void): void => void cleanups.push(fn);
    afterEach(async () => {
      for (const fn of cleanups) fn();
      cleanups = [];
      await dispose();
    });

    /** An image pushed and deleted again: its blobs are garbage, but still linked and stored. */
    async function deletedImage(name: string, layer: string): Promise<PushedImage> {
      const repo = registry.repository(name);
      const image = await pushImage(repo, { layers: [layer], tag: 'old' });
      await repo.manifests.delete({ digest: image.digest });
      return image;
    }

    /** The manifest bytes of an image over an existing config and layer (by content). */
    function manifestOver(config: string, layer: string): Buffer {
      const d = (mediaType: string, bytes: string) => ({ mediaType, digest: Digest.fromBytes(Buffer.from(bytes)).toString(), size: Buffer.byteLength(bytes) });
      return Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OCI_MANIFEST,
          config: d('application/vnd.oci.image.config.v1+json', config),
          layers: [d('application/vnd.oci.image.layer.v1.tar+gzip', layer)],
          annotations: { 'org.example.pushed': 'again' },
        }),
      );
    }

    it('a manifest PUT that passed its reference check before the links went, and stored its revision during the run, keeps its blobs', async () => {
      const old = await deletedImage('app', 'layer re-used by an in-flight push');
      const config = JSON.stringify({ architecture: 'amd64', os: 'linux', layers: ['layer re-used by an in-flight push'] });
      const content = manifestOver(config, 'layer re-used by an in-flight push');
      const digest = Digest.fromBytes(content);
      // The rest of that PUT, after its check: manifest data, revision link, tag (ManifestService.put's writes).
      const finishPut = async (): Promise<void> => {
        await driver.putContent(pathFor({ kind: 'blobData', digest }), content);
        await driver.putContent(pathFor({ kind: 'revisionLink', name: 'app', digest }), Buffer.from(digest.toString()));
        await driver.putContent(pathFor({ kind: 'tagCurrentLink', name: 'app', tag: 'new' }), Buffer.from(digest.toString()));
      };

      const report = await collectGarbage(afterSetAside(driver, [old.config, ...old.layers], finishPut), { gracePeriodMs: 0, settleMs: 50 });

      expect(report.errors).toEqual([]);
      expect(report.rescuedBlobs.map((b) => b.digest).sort()).toEqual([old.config.toString(), (old.layers[0] as Digest).toString()].sort());
      expect(report.deletedBlobs.map((b) => b.digest)).toEqual([old.digest.toString()]);
      expect(await pull(registry.repository('app'), { tag: 'new' })).toEqual(content);
    });

    it('an upload committed during the run that found the old data in place (and only wrote its link) keeps the blob', async () => {
      const old = await deletedImage('app', 'layer uploaded again');
      const layer = old.layers[0] as Digest;
      // UploadService.commit found the data there (so did not move its own bytes) and linked it afterwards.
      const commitLink = async (): Promise<void> => {
        await driver.putContent(pathFor({ kind: 'layerLink', name: 'other', digest: layer }), Buffer.from(layer.toString()));
      };

      const report = await collectGarbage(afterSetAside(driver, [layer], commitLink), { gracePeriodMs: 0, settleMs: 50 });

      expect(report.rescuedBlobs.map((b) => b.digest)).toContain(layer.toString());
      expect(await blobStored(driver, layer)).toBe(true);
      const repo = registry.repository('other');
      await pushBlob(repo, JSON.stringify({ architecture: 'amd64', os: 'linux', layers: ['layer uploaded again'] }));
      const content = manifestOver(JSON.stringify({ architecture: 'amd64', os: 'linux', layers: ['layer uploaded again'] }), 'layer uploaded again');
      await repo.manifests.put({ tag: 'v1' }, content, { contentType: MediaType.OCI_MANIFEST });
      expect(await pull(repo, { tag: 'v1' })).toEqual(content);
    });

    it('re-pushing an unreferenced layer while the run holds it aside fails cleanly, and the retried push survives the run', async () => {
      const old = await deletedImage('app', 'base layer pushed again');
      const repo = registry.repository('app');
      const config = JSON.stringify({ architecture: 'amd64', os: 'linux', layers: ['base layer pushed again'] });
      const content = manifestOver(config, 'base layer pushed again');
      let firstAttempt: unknown;
      const rePush = async (): Promise<void> => {
        // The client saw the layer and config exist (HEAD before the run), so it sends the manifest straight away...
        firstAttempt = await repo.manifests.put({ tag: 'again' }, content, { contentType: MediaType.OCI_MANIFEST }).catch((error: unknown) => error);
        // ...which is refused; it uploads the blobs again (their data is in the quarantine, so the commit stores its own copy) and retries.
        await pushBlob(repo, config);
        await pushBlob(repo, 'base layer pushed again');
        await repo.manifests.put({ tag: 'again' }, content, { contentType: MediaType.OCI_MANIFEST });
      };

      const report = await collectGarbage(afterSetAside(driver, [old.config, ...old.layers], rePush), { gracePeriodMs: 0, settleMs: 50 });

      expect(firstAttempt).toBeInstanceOf(ManifestBlobUnknownError);
      expect(report.errors).toEqual([]);
      expect(await pull(repo, { tag: 'again' })).toEqual(content);
      expect(report.deletedBlobs.map((b) => b.digest)).toEqual([old.digest.toString()]);
    });

    it('an index pushed during the run keeps the untagged platform manifest it names, which deleteUntagged had removed', async () => {
      const repo = registry.repository('multi');
      const child = await pushImage(repo, { layers: ['platform layer'] });
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OCI_INDEX,
          manifests: [{ mediaType: MediaType.OCI_MANIFEST, digest: child.digest.toString(), size: child.content.length }],
        }),
      );
      const indexDigest = Digest.fromBytes(index);
      // The index PUT checked its child before the run removed it, and stores the index now.
      const finishIndexPut = async (): Promise<void> => {
        await driver.putContent(pathFor({ kind: 'blobData', digest: indexDigest }), index);
        await driver.putContent(pathFor({ kind: 'revisionLink', name: 'multi', digest: indexDigest }), Buffer.from(indexDigest.toString()));
        await driver.putContent(pathFor({ kind: 'tagCurrentLink', name: 'multi', tag: 'latest' }), Buffer.from(indexDigest.toString()));
      };

      const report = await collectGarbage(afterSetAside(driver, [child.digest, ...child.layers], finishIndexPut), { gracePeriodMs: 0, settleMs: 50, deleteUntagged: true });

      expect(report.rescuedManifests).toEqual([{ repository: 'multi', digest: child.digest.toString() }]);
      expect(report.deletedManifests).toEqual([]);
      expect(report.deletedBlobs).toEqual([]);
      expect(await pull(repo, { tag: 'latest' })).toEqual(index);
    });

    it('when removing an untagged manifest fails, the manifest keeps its blobs and the failure is reported', async () => {
      const repo = registry.repository('loose');
      const untagged = await pushImage(repo, { layers: ['layer of a manifest that cannot be removed'] });
      const failing: StorageDriver = {
        ...driver,
        delete: async (path) => {
          if (path.includes('/_manifests/revisions/')) throw new Error('storage refused the delete');
          return driver.delete(path);
        },
      };

      const report = await collectGarbage(failing, { gracePeriodMs: 0, settleMs: 0, deleteUntagged: true });

      expect(report.errors).toEqual([{ path: `loose@${untagged.digest}`, error: 'storage refused the delete' }]);
      expect(report.deletedBlobs).toEqual([]);
      expect(report.deletedManifests).toEqual([]);
      expect(await pull(repo, { digest: untagged.digest })).toEqual(untagged.content);
    });

    it('a run interrupted while it holds blobs aside puts everything back: the store is the same file for file', async () => {
      const old = await deletedImage('app', 'garbage the interrupted run held');
      await pushImage(registry.repository('app'), { layers: ['kept'], tag: 'kept' });
      const before = await snapshot(driver);
      const controller = new AbortController();

      const running = collectGarbage(driver, { gracePeriodMs: 0, settleMs: 60_000, signal: controller.signal });
      onCleanup(() => controller.abort());
      await untilSetAside(driver, [old.digest, old.config, ...old.layers]);
      controller.abort();
      const report = await running;

      expect(report).toMatchObject({ interrupted: true, deletedBlobs: [], errors: [] });
      expect(await snapshot(driver)).toEqual(before);
    });

    it('the next run puts back what a crashed run had set aside (a dry run only reports it)', async () => {
      const old = await deletedImage('app', 'garbage held by a run that died');
      const before = await snapshot(driver);
      const abandoned = new AbortController();
      // A run that "dies" in its settle time: it never gets to its re-check while the next run works.
      const dead = collectGarbage(driver, { gracePeriodMs: 0, settleMs: 3_600_000, signal: abandoned.signal });
      onCleanup(() => abandoned.abort());
      await untilSetAside(driver, [old.digest, old.config, ...old.layers]);

      const dry: GarbageCollectReport = await collectGarbage(driver, { dryRun: true, staleRunMs: 0, settleMs: 0 });
      expect(dry.recoveredRuns).toHaveLength(1);
      expect(await blobStored(driver, old.config)).toBe(false);

      const next = await collectGarbage(driver, { staleRunMs: 0, settleMs: 0 }); // default grace: collects nothing new
      expect(next.recoveredRuns).toEqual(dry.recoveredRuns);
      expect(next.errors).toEqual([]);
      expect(await snapshot(driver)).toEqual(before);
      expect(await registry.repository('app').blobs.isLinked(old.config)).toBe(true);

      abandoned.abort();
      const late = await dead;
      expect(late.interrupted).toBe(true);
      expect(await snapshot(driver)).toEqual(before);
    });

    it('the next run finishes a run that crashed after its re-check: what it had decided to delete is deleted', async () => {
      const old = await deletedImage('app', 'garbage of a run that died after deciding');
      const kept = await pushImage(registry.repository('app'), { layers: ['kept layer'], tag: 'kept' });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      onCleanup(() => release());
      const crashing: StorageDriver = {
        ...driver,
        putContent: async (path, content) => {
          await driver.putContent(path, content);
          if (path.endsWith('/decision.json')) {
            await gate;
            throw new Error('the process died here');
          }
        },
      };
      const dead = collectGarbage(crashing, { gracePeriodMs: 0, settleMs: 0 });
      await untilSetAside(driver, [old.digest, old.config, ...old.layers]);
      const decided = async (): Promise<boolean> => {
        let found = false;
        await driver.walk(GC_ROOT, (info) => void (found ||= info.path.endsWith('/decision.json'))).catch(() => undefined);
        return found;
      };
      for (let i = 0; i < 400 && !(await decided()); i++) await new Promise((r) => setTimeout(r, 25));

      const next = await collectGarbage(driver, { staleRunMs: 0, settleMs: 0 });

      expect(next.recoveredRuns).toHaveLength(1);
      for (const digest of [old.digest, old.config, ...old.layers]) expect(await blobStored(driver, digest)).toBe(false);
      expect([...(await snapshot(driver)).keys()].filter((path) => path.startsWith(GC_ROOT))).toEqual([]);
      expect(await pull(registry.repository('app'), { tag: 'kept' })).toEqual(kept.content);
      release();
      await dead;
      for (const digest of [old.digest, old.config, ...old.layers]) expect(await blobStored(driver, digest)).toBe(false);
      expect(await pull(registry.repository('app'), { tag: 'kept' })).toEqual(kept.content);
    });

    it('a run leaves a younger run directory alone (another run may be using it)', async () => {
      const old = await deletedImage('app', 'held by a live run');
      const live = new AbortController();
      const first = collectGarbage(driver, { gracePeriodMs: 0, settleMs: 3_600_000, signal: live.signal });
      onCleanup(() => live.abort());
      await untilSetAside(driver, [old.digest, old.config, ...old.layers]);

      const second = await collectGarbage(driver, { gracePeriodMs: 0, settleMs: 0 });
      expect(second.recoveredRuns).toEqual([]);

      live.abort();
      expect((await first).interrupted).toBe(true);
    });
  });
}
