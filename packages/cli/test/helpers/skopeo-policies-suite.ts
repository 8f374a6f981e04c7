import { runBerth, startBerth, testConfig, writeConfig, type RunningBerth } from './berth';
import { buildOciLayout, type LayoutFixture } from './oci-layout';
import { cleanupAll, makeTempDir } from './processes';
import { skopeoCopy, skopeoDelete, skopeoInspectRaw, skopeoListTags } from './skopeo';

const KiB = 1024;

interface Usage {
  repositories: Array<{ name: string; bytes: number; uniquebytes: number; tags: number; manifests: number }>;
  total: { bytes: number };
}

/**
 * Immutable tags, quotas, usage and retention through skopeo and `berth retention` against one
 * storage driver. The tests of a suite share one registry and run in order.
 */
export function definePoliciesSkopeoSuite(storageOf: () => Promise<Record<string, unknown>>): void {
  let fixture: LayoutFixture;
  let berth: RunningBerth;
  let configPath: string;
  const ref = (path: string): string => `docker://${berth.hostPort}/${path}`;
  const usage = async (): Promise<Usage> => (await (await fetch(`${berth.url}/v2/_berth/usage`)).json()) as Usage;
  const singleBytes = (): number =>
    fixture.single.manifest.size + fixture.single.config.size + fixture.single.layers.reduce((sum, l) => sum + l.size, 0);

  beforeAll(async () => {
    fixture = await buildOciLayout(await makeTempDir('layout'), { singleLayers: [64 * KiB, 96 * KiB], platformLayer: 32 * KiB, baseLayer: 16 * KiB });
    const config = {
      ...testConfig({ ...(await storageOf()), delete: { enabled: true } }),
      policies: [
        { repositories: ['prod/**'], immutabletags: ['v*'], retention: { keeplast: 1 } },
        { repositories: ['tight/*'], quota: '100KiB' },
      ],
    };
    configPath = await writeConfig(config);
    berth = await startBerth(config);
  });

  afterAll(async () => {
    if (berth) expect(await berth.stop()).toEqual({ code: 0, signal: null });
    await cleanupAll();
  });

  it('accepts an immutable tag and its identical re-push, and reports the usage of the repository, each blob once', async () => {
    await skopeoCopy(`oci:${fixture.dir}:single`, ref('prod/app:v1'));
    await skopeoCopy(`oci:${fixture.dir}:single`, ref('prod/app:v1'));
    const report = await usage();
    expect(report.repositories).toEqual([{ name: 'prod/app', bytes: singleBytes(), uniquebytes: singleBytes(), tags: 1, manifests: 1 }]);
    expect(report.total.bytes).toBe(singleBytes());
  });

  it('refuses to move an immutable tag or delete it with DENIED naming the rule', async () => {
    await expect(skopeoCopy(`oci:${fixture.dir}:multi`, ref('prod/app:v1'))).rejects.toThrow(/denied.*immutable \(policies\.0\.immutabletags/is);
    await expect(skopeoDelete(ref('prod/app:v1'))).rejects.toThrow(/DENIED.*immutable/s);
    expect((await skopeoInspectRaw(ref('prod/app:v1'))).equals(fixture.single.manifestBytes)).toBe(true);
  });

  it('refuses a push over the quota with denied naming the quota and the usage, and stores nothing of it', async () => {
    await expect(skopeoCopy(`oci:${fixture.dir}:single`, ref('tight/app:v1'))).rejects.toThrow(/denied.*policies\.1\.quota 102400 bytes/is);
    expect((await usage()).repositories.find((r) => r.name === 'tight/app')?.bytes ?? 0).toBe(0);
  });

  it('berth retention deletes only the tag that shares its digest with a kept tag, and the dry run changes nothing', async () => {
    await skopeoCopy(ref('prod/app:v1'), ref('prod/app:old'));
    // Storage with one-second modification times (S3) must see "new" strictly later than "old".
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await skopeoCopy(`oci:${fixture.dir}:multi`, ref('prod/app:new'));
    const dry = await runBerth(['retention', '--dry-run', configPath]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would delete tag old -> .*not among the last 1 pushed/);
    expect(dry.stdout).toMatch(/kept tag v1 -> .*immutable/);
    expect(dry.stdout).not.toMatch(/would delete manifest/);
    expect(await skopeoListTags(ref('prod/app'))).toEqual(['new', 'old', 'v1']);
    const real = await runBerth(['retention', configPath]);
    expect(real.code).toBe(0);
    expect(await skopeoListTags(ref('prod/app'))).toEqual(['new', 'v1']);
    expect((await skopeoInspectRaw(ref('prod/app:v1'))).equals(fixture.single.manifestBytes)).toBe(true);
  });
}
