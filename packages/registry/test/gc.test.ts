import { collectGarbage, Digest, GC_ROOT, Registry, type GarbageCollectOptions } from '@berth/registry';
import type { StorageDriver } from '@berth/storage-driver';
import { pushBlob } from './helpers';
import { backends, blobStored, linkedIn, pull, pushImage, pushIndex, pushReferrer, snapshot } from './gc-support';

/** What garbage collection keeps and frees, on every driver (S3 skipped loudly without a server). */

const NOW: GarbageCollectOptions = { gracePeriodMs: 0, settleMs: 0 };
const sorted = (digests: readonly (Digest | string)[]): string[] => digests.map(String).sort();

for (const backend of backends) {
  const suite = backend.skipReason ? describe.skip : describe;
  if (backend.skipReason) console.warn(`!!! SKIPPED: garbage collection on ${backend.name}`);

  suite(`garbage collection on ${backend.name}`, () => {
    let driver: StorageDriver;
    let dispose: () => Promise<void>;
    let registry: Registry;

    beforeEach(async () => {
      ({ driver, dispose } = await backend.create());
      registry = new Registry({ driver, deleteEnabled: true });
    });
    afterEach(() => dispose());

    /** Two images sharing a layer; the second is then deleted by digest. */
    async function twoImagesOneDeleted() {
      const repo = registry.repository('team/app');
      const kept = await pushImage(repo, { layers: ['shared base layer', 'kept top layer'], tag: 'kept' });
      const gone = await pushImage(repo, { layers: ['shared base layer', 'deleted top layer'], tag: 'gone' });
      await repo.manifests.delete({ digest: gone.digest });
      return { repo, kept, gone };
    }

    it('a dry run deletes nothing (the store is the same file for file) and lists what a real run would delete', async () => {
      const { gone } = await twoImagesOneDeleted();
      await pushImage(registry.repository('other'), { layers: ['untagged layer'] });
      const before = await snapshot(driver);

      const report = await collectGarbage(driver, { ...NOW, dryRun: true, deleteUntagged: true });

      expect(await snapshot(driver)).toEqual(before);
      expect(report.dryRun).toBe(true);
      expect(report.deletedManifests).toHaveLength(1);
      expect(sorted(report.deletedBlobs.map((b) => b.digest))).toEqual(
        expect.arrayContaining(sorted([gone.digest, gone.config, gone.layers[1] as Digest])),
      );
      expect(report.deletedBlobs).toHaveLength(3 + 3); // the deleted image's three, the untagged image's three
      expect(report.deletedBytes).toBe(report.deletedBlobs.reduce((n, b) => n + b.size, 0));
    });

    it("collecting after deleting one of two images frees exactly that image's own blobs and keeps the shared layer", async () => {
      const { repo, kept, gone } = await twoImagesOneDeleted();
      const ownBlobs = [gone.digest, gone.config, gone.layers[1] as Digest];

      const report = await collectGarbage(driver, NOW);

      expect(report.errors).toEqual([]);
      expect(sorted(report.deletedBlobs.map((b) => b.digest))).toEqual(sorted(ownBlobs));
      for (const digest of ownBlobs) expect(await blobStored(driver, digest)).toBe(false);
      // distribution v3 removes the repositories' links to what it deletes; so does Berth.
      expect(await linkedIn(registry, 'team/app', ownBlobs)).toEqual([]);
      expect(report.layerLinksRemoved).toBe(2);
      expect(await pull(repo, { tag: 'kept' })).toEqual(kept.content);
      for (const digest of [kept.digest, kept.config, ...kept.layers]) expect(await blobStored(driver, digest)).toBe(true);
      expect(report).toMatchObject({ repositories: 1, manifests: 1, blobs: 7, marked: 4, rescuedBlobs: [] });
      // Nothing of the run is left behind.
      expect([...(await snapshot(driver)).keys()].filter((path) => path.startsWith(GC_ROOT))).toEqual([]);
      // A second run finds nothing more.
      expect((await collectGarbage(driver, NOW)).deletedBlobs).toEqual([]);
    });

    it('a tagged multi-arch index keeps its untagged platform manifests, with and without deleteUntagged', async () => {
      const repo = registry.repository('multi');
      const amd64 = await pushImage(repo, { layers: ['amd64 layer'] });
      const arm64 = await pushImage(repo, { layers: ['arm64 layer'] });
      const index = await pushIndex(repo, [amd64, arm64], 'latest');

      for (const deleteUntagged of [false, true]) {
        const report = await collectGarbage(driver, { ...NOW, deleteUntagged });
        expect(report.deletedBlobs).toEqual([]);
        expect(report.deletedManifests).toEqual([]);
      }
      expect(await pull(repo, { tag: 'latest' })).toEqual(index.content);
      expect(await repo.manifests.exists(amd64.digest)).toBe(true);
      expect(await repo.manifests.exists(arm64.digest)).toBe(true);
    });

    it('with deleteUntagged, an untagged index goes together with its platform manifests and their blobs', async () => {
      const repo = registry.repository('multi');
      const amd64 = await pushImage(repo, { layers: ['amd64 layer'] });
      const arm64 = await pushImage(repo, { layers: ['arm64 layer'] });
      const index = await pushIndex(repo, [amd64, arm64]);

      const report = await collectGarbage(driver, { ...NOW, deleteUntagged: true });

      expect(sorted(report.deletedManifests.map((m) => m.digest))).toEqual(sorted([index.digest, amd64.digest, arm64.digest]));
      expect(report.deletedBlobs).toHaveLength(1 + 3 + 3);
      for (const digest of [index.digest, amd64.digest, ...arm64.layers]) expect(await blobStored(driver, digest)).toBe(false);
      expect(await repo.manifests.exists(index.digest)).toBe(false);
    });

    it('referrers of kept manifests are kept; with deleteUntagged a referrer of a removed manifest goes with it', async () => {
      const repo = registry.repository('signed');
      const image = await pushImage(repo, { layers: ['signed image layer'], tag: 'v1' });
      const signature = await pushReferrer(repo, image, 'signature of v1');
      const untagged = await pushImage(repo, { layers: ['untagged image layer'] });
      const orphanSignature = await pushReferrer(repo, untagged, 'signature of the untagged image');

      const report = await collectGarbage(driver, { ...NOW, deleteUntagged: true });

      expect(sorted(report.deletedManifests.map((m) => m.digest))).toEqual(sorted([untagged.digest, orphanSignature.digest]));
      expect((await repo.referrers.list(image.digest)).map((r) => r.digest)).toEqual([signature.digest.toString()]);
      expect(await pull(repo, { digest: signature.digest })).toEqual(signature.content);
      expect(await repo.referrers.list(untagged.digest)).toEqual([]);
      expect(await blobStored(driver, orphanSignature.layers[0] as Digest)).toBe(false);
    });

    it('untagged manifests are deleted only with deleteUntagged', async () => {
      const repo = registry.repository('loose');
      const tagged = await pushImage(repo, { layers: ['tagged layer'], tag: 'stable' });
      const untagged = await pushImage(repo, { layers: ['untagged layer'] });

      const plain = await collectGarbage(driver, NOW);
      expect(plain.deletedBlobs).toEqual([]);
      expect(plain.deletedManifests).toEqual([]);
      expect(await pull(repo, { digest: untagged.digest })).toEqual(untagged.content);

      const report = await collectGarbage(driver, { ...NOW, deleteUntagged: true });
      expect(report.deletedManifests).toEqual([{ repository: 'loose', digest: untagged.digest.toString() }]);
      expect(sorted(report.deletedBlobs.map((b) => b.digest))).toEqual(sorted([untagged.digest, untagged.config, ...untagged.layers]));
      expect(await repo.manifests.exists(untagged.digest)).toBe(false);
      expect(await pull(repo, { tag: 'stable' })).toEqual(tagged.content);
    });

    it('the grace period keeps a freshly uploaded, still unreferenced blob; without one it is freed', async () => {
      const repo = registry.repository('pushing');
      const fresh = await pushBlob(repo, 'layer of a push still in progress');

      const graced = await collectGarbage(driver, { settleMs: 0 }); // default grace period: 1h
      expect(graced.gracePeriodMs).toBe(3_600_000);
      expect(graced).toMatchObject({ deletedBlobs: [], protectedBlobs: 1 });
      expect(await repo.blobs.isLinked(fresh)).toBe(true);
      expect(await blobStored(driver, fresh)).toBe(true);

      const report = await collectGarbage(driver, NOW);
      expect(report.deletedBlobs.map((b) => b.digest)).toEqual([fresh.toString()]);
      expect(await repo.blobs.isLinked(fresh)).toBe(false);
    });

    it('an untagged manifest pushed within the grace period survives deleteUntagged', async () => {
      const repo = registry.repository('loose');
      const untagged = await pushImage(repo, { layers: ['just pushed by digest'] });
      const report = await collectGarbage(driver, { settleMs: 0, gracePeriodMs: 60_000, deleteUntagged: true });
      expect(report.deletedManifests).toEqual([]);
      expect(await pull(repo, { digest: untagged.digest })).toEqual(untagged.content);
    });

    it('keeps a layer shared across repositories while one of them still references it', async () => {
      const a = registry.repository('a');
      const b = registry.repository('b/nested');
      const inA = await pushImage(a, { layers: ['cross-repo layer'], tag: 'x', config: '{"a":1}' });
      const inB = await pushImage(b, { layers: ['cross-repo layer'], tag: 'y', config: '{"b":1}' });
      await a.manifests.delete({ digest: inA.digest });

      const report = await collectGarbage(driver, NOW);

      expect(sorted(report.deletedBlobs.map((d) => d.digest))).toEqual(sorted([inA.digest, inA.config]));
      expect(await blobStored(driver, inB.layers[0] as Digest)).toBe(true);
      expect(await pull(b, { tag: 'y' })).toEqual(inB.content);
    });

    it('an empty store is collected without error', async () => {
      const report = await collectGarbage(driver, NOW);
      expect(report).toMatchObject({ repositories: 0, blobs: 0, deletedBlobs: [], errors: [] });
      expect(await driver.list('/').catch(() => [])).toEqual([]);
    });
  });
}
