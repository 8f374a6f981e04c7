import { startBerth, testConfig } from './helpers/berth';
import { expectPulledLayout, fetchTags } from './helpers/compare';
import { dockerRegistrySkipReason, startDistribution } from './helpers/distribution';
import { buildOciLayout, imageDigests, indexDigests, type LayoutFixture } from './helpers/oci-layout';
import { cleanupAll, makeTempDir } from './helpers/processes';
import { skopeoCopy, skopeoListTags } from './helpers/skopeo';
import { describeStorageTree } from './helpers/storage-tree';

/**
 * Berth and CNCF distribution 2.8.2 (Debian's docker-registry) on the same filesystem root: what one
 * stored, the other serves byte for byte, and both lay the tree out the same way.
 */
const skipReason = dockerRegistrySkipReason();
if (skipReason && process.env.CI) {
  // .ci/run installs docker-registry: on CI a missing binary is a failure, not a skip.
  throw new Error(`distribution 2.8.2 compatibility cannot run on CI: ${skipReason}`);
}
if (skipReason) console.warn(`SKIPPED distribution 2.8.2 compatibility: ${skipReason}`);
const describeCompat = skipReason ? describe.skip : describe;

describeCompat('compatibility with distribution 2.8.2 on one filesystem root', () => {
  let fixture: LayoutFixture;
  let rootWrittenByDistribution: string | undefined;
  let rootWrittenByBerth: string | undefined;

  beforeAll(async () => {
    fixture = await buildOciLayout(await makeTempDir('layout'));
  });

  afterAll(async () => {
    await cleanupAll();
  });

  /** The same pushes, in the same order, to whichever registry listens at hostPort. */
  async function pushAll(hostPort: string): Promise<void> {
    await skopeoCopy(`oci:${fixture.dir}:single`, `docker://${hostPort}/compat/single:v1`);
    await skopeoCopy(`docker://${hostPort}/compat/single:v1`, `docker://${hostPort}/compat/single:v2`);
    await skopeoCopy(`oci:${fixture.dir}:multi`, `docker://${hostPort}/compat/multi:latest`);
  }

  async function pullAndCompareAll(hostPort: string): Promise<void> {
    for (const tag of ['v1', 'v2']) {
      const out = await makeTempDir('pull');
      await skopeoCopy(`docker://${hostPort}/compat/single:${tag}`, `oci:${out}:${tag}`);
      await expectPulledLayout(out, fixture.dir, imageDigests(fixture.single), tag, fixture.single.manifest.digest);
    }
    const out = await makeTempDir('pull');
    await skopeoCopy(`docker://${hostPort}/compat/multi@${fixture.multi.index.digest}`, `oci:${out}:latest`);
    await expectPulledLayout(out, fixture.dir, indexDigests(fixture.multi), 'latest', fixture.multi.index.digest);
  }

  it('serves byte-identical what docker-registry pushed, with the same tags', async () => {
    const root = await makeTempDir('root-by-distribution');
    const distribution = await startDistribution(root);
    await pushAll(distribution.hostPort);
    const tagsOnDistribution = await skopeoListTags(`docker://${distribution.hostPort}/compat/single`);
    await distribution.stop();
    rootWrittenByDistribution = root;

    const berth = await startBerth(testConfig({ filesystem: { rootdirectory: root } }));
    try {
      await pullAndCompareAll(berth.hostPort);
      expect(tagsOnDistribution).toEqual(['v1', 'v2']);
      expect(await skopeoListTags(`docker://${berth.hostPort}/compat/single`)).toEqual(tagsOnDistribution);
      expect(await fetchTags(berth.url, 'compat/multi')).toEqual(['latest']);
    } finally {
      await berth.stop();
    }
  });

  it('stores what docker-registry serves byte-identical, with the same tags', async () => {
    const root = await makeTempDir('root-by-berth');
    const berth = await startBerth(testConfig({ filesystem: { rootdirectory: root } }));
    try {
      await pushAll(berth.hostPort);
    } finally {
      expect(await berth.stop()).toEqual({ code: 0, signal: null });
    }
    rootWrittenByBerth = root;

    const distribution = await startDistribution(root);
    try {
      await pullAndCompareAll(distribution.hostPort);
      expect(await skopeoListTags(`docker://${distribution.hostPort}/compat/single`)).toEqual(['v1', 'v2']);
      expect(await skopeoListTags(`docker://${distribution.hostPort}/compat/multi`)).toEqual(['latest']);
    } finally {
      await distribution.stop();
    }
  });

  it('lays out the storage tree like docker-registry: the same blobs, links and tags (uploads aside)', async () => {
    if (!rootWrittenByDistribution || !rootWrittenByBerth) throw new Error('the two push tests above must have run');
    const byDistribution = await describeStorageTree(rootWrittenByDistribution);
    const byBerth = await describeStorageTree(rootWrittenByBerth);
    // 12 blobs; compat/single: 4 layer links, 1 revision, 2 tags × (current + index); compat/multi:
    // 5 layer links, 3 revisions (index and both platforms), 1 tag × 2.
    expect(byDistribution.size).toBe(31);
    expect([...byBerth.keys()]).toEqual([...byDistribution.keys()]);
    expect(Object.fromEntries(byBerth)).toEqual(Object.fromEntries(byDistribution));
    // A blob's data is content-addressed: its path names the digest of what it holds.
    for (const [path, digest] of byBerth) {
      const blob = /^blobs\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})\/data$/.exec(path);
      if (blob) expect(digest).toBe(`sha256:${blob[1]}`);
    }
  });
});
