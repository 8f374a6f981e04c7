import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBerth, testConfig, type RunningBerth } from '../../cli/test/helpers/berth';
import { expectPulledLayout, fetchTags } from '../../cli/test/helpers/compare';
import { dockerRegistrySkipReason, startDistribution, type RunningDistribution } from '../../cli/test/helpers/distribution';
import { buildOciLayout, imageDigests, indexDigests, type LayoutFixture } from '../../cli/test/helpers/oci-layout';
import { cleanupAll, makeTempDir } from '../../cli/test/helpers/processes';
import { skopeoCopy, skopeoDelete, skopeoInspectRaw } from '../../cli/test/helpers/skopeo';

/**
 * `berth serve` with `proxy.remoteurl` (the built command), pulled through with skopeo like a
 * registry mirror: first of another `berth serve`, then of CNCF distribution 2.8.2. What skopeo
 * pulls through the mirror must be byte-identical to the source layout, and stay so once the
 * upstream is stopped.
 */

/** A mirror of `upstreamUrl` on a filesystem root. */
async function startMirror(upstreamUrl: string, root: string): Promise<RunningBerth> {
  return startBerth({ ...testConfig({ filesystem: { rootdirectory: root } }), proxy: { remoteurl: upstreamUrl, ttl: '1h' } });
}

/** skopeo copy --all of the index and of the single image by digest through `hostPort`, compared to the source layout. */
async function pullThrough(hostPort: string, fixture: LayoutFixture, repository: string): Promise<void> {
  const multi = await makeTempDir('pull-multi');
  await skopeoCopy(`docker://${hostPort}/${repository}/multi:v1`, `oci:${multi}:v1`);
  await expectPulledLayout(multi, fixture.dir, indexDigests(fixture.multi), 'v1', fixture.multi.index.digest);
  const single = await makeTempDir('pull-single');
  await skopeoCopy(`docker://${hostPort}/${repository}/single@${fixture.single.manifest.digest}`, `oci:${single}:pinned`);
  await expectPulledLayout(single, fixture.dir, imageDigests(fixture.single), 'pinned', fixture.single.manifest.digest);
  expect((await skopeoInspectRaw(`docker://${hostPort}/${repository}/multi:v1`)).equals(fixture.multi.indexBytes)).toBe(true);
}

let fixture: LayoutFixture;

beforeAll(async () => {
  fixture = await buildOciLayout(await makeTempDir('layout'));
});

afterAll(async () => {
  await cleanupAll();
});

describe('berth serve as a mirror of another berth serve', () => {
  let upstream: RunningBerth;
  let mirror: RunningBerth;
  let mirrorRoot: string;

  beforeAll(async () => {
    upstream = await startBerth(testConfig({ filesystem: { rootdirectory: await makeTempDir('upstream-root') } }));
    await skopeoCopy(`oci:${fixture.dir}:multi`, `docker://${upstream.hostPort}/e2e/multi:v1`);
    await skopeoCopy(`oci:${fixture.dir}:single`, `docker://${upstream.hostPort}/e2e/single:v1`);
    mirrorRoot = await makeTempDir('mirror-root');
    mirror = await startMirror(upstream.url, mirrorRoot);
  });

  afterAll(async () => {
    await mirror?.stop();
    await upstream?.stop();
  });

  it('logs that it serves as a pull-through cache of the upstream', () => {
    expect(mirror.process.output()).toMatch(new RegExp(`serving as a pull-through cache.*${upstream.hostPort.replace(/\./g, '\\.')}`));
  });

  it('lets skopeo copy --all a multi-arch image (and a single image by digest) through it, byte-identical', async () => {
    await pullThrough(mirror.hostPort, fixture, 'e2e');
    expect(await fetchTags(mirror.url, 'e2e/multi')).toEqual(['v1']);
  });

  it('refuses pushes and deletes from skopeo (405)', async () => {
    await expect(skopeoCopy(`oci:${fixture.dir}:single`, `docker://${mirror.hostPort}/e2e/pushed:v1`)).rejects.toThrow(/405|unsupported|not allowed/i);
    await expect(skopeoDelete(`docker://${mirror.hostPort}/e2e/multi:v1`)).rejects.toThrow(/405|unsupported|not allowed/i);
  });

  it('serves the same pulls byte-identical once the upstream is stopped', async () => {
    expect(await upstream.stop()).toEqual({ code: 0, signal: null });
    await pullThrough(mirror.hostPort, fixture, 'e2e');
  });

  it("leaves an ordinary registry root with distribution's schedule file: a plain berth serves the cache", async () => {
    expect(await mirror.stop()).toEqual({ code: 0, signal: null });
    const state = JSON.parse(await readFile(join(mirrorRoot, 'scheduler-state.json'), 'utf8')) as Record<string, { EntryType: number }>;
    expect(state[`e2e/multi@${fixture.multi.index.digest}`]?.EntryType).toBe(1);
    const plain = await startBerth(testConfig({ filesystem: { rootdirectory: mirrorRoot } }));
    try {
      await pullThrough(plain.hostPort, fixture, 'e2e');
    } finally {
      expect(await plain.stop()).toEqual({ code: 0, signal: null });
    }
  });
});

const skipReason = dockerRegistrySkipReason();
if (skipReason && process.env.CI) throw new Error(`the mirror of distribution 2.8.2 cannot run on CI: ${skipReason}`);
if (skipReason) process.stderr.write(`SKIPPED mirror of distribution 2.8.2: ${skipReason}\n`);
const describeDistribution = skipReason ? describe.skip : describe;

describeDistribution('berth serve as a mirror of distribution 2.8.2', () => {
  let upstream: RunningDistribution;
  let mirror: RunningBerth;

  beforeAll(async () => {
    upstream = await startDistribution(await makeTempDir('distribution-root'));
    await skopeoCopy(`oci:${fixture.dir}:multi`, `docker://${upstream.hostPort}/library/multi:v1`);
    await skopeoCopy(`oci:${fixture.dir}:single`, `docker://${upstream.hostPort}/library/single:v1`);
    mirror = await startMirror(`http://${upstream.hostPort}`, await makeTempDir('mirror-root'));
  });

  afterAll(async () => {
    await mirror?.stop();
    await upstream?.stop();
  });

  it('lets skopeo copy --all through it byte-identical, with library/ names passed through', async () => {
    await pullThrough(mirror.hostPort, fixture, 'library');
  });

  it('serves them again byte-identical with distribution stopped', async () => {
    await upstream.stop();
    await pullThrough(mirror.hostPort, fixture, 'library');
  });
});
