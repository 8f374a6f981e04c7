import { join } from 'node:path';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import { Digest, MediaType, Registry, type Repository } from '@berth/registry';
import type { StorageDriver } from '@berth/storage-driver';
import { Readable } from 'node:stream';
import { assertBerthBuilt, BERTH_BIN, cleanEnv, REPO_ROOT, runBerth, testConfig, writeConfig } from './helpers/berth';
import { cleanupAll, makeTempDir, spawnTracked } from './helpers/processes';
import { describeStorageTree } from './helpers/storage-tree';

/** `berth garbage-collect`, the built command, over a filesystem store populated through the registry services. */

afterAll(cleanupAll);

async function pushBlob(repo: Repository, content: string): Promise<Digest> {
  const bytes = Buffer.from(content);
  const digest = Digest.fromBytes(bytes);
  const session = await repo.uploads.start();
  await repo.uploads.commit(session.id, digest, Readable.from([bytes]));
  return digest;
}

/** Pushes config + one layer + manifest; tagged when `tag` is given. Resolves with every digest. */
async function pushImage(repo: Repository, layer: string, tag?: string): Promise<Digest[]> {
  const config = JSON.stringify({ os: 'linux', layer });
  const d = (mediaType: string, bytes: string) => ({ mediaType, digest: Digest.fromBytes(Buffer.from(bytes)).toString(), size: Buffer.byteLength(bytes) });
  const content = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      config: d('application/vnd.oci.image.config.v1+json', config),
      layers: [d('application/vnd.oci.image.layer.v1.tar+gzip', layer)],
    }),
  );
  const blobs = [await pushBlob(repo, config), await pushBlob(repo, layer)];
  const reference = tag ? { tag } : { digest: Digest.fromBytes(content) };
  const { digest } = await repo.manifests.put(reference, content, { contentType: MediaType.OCI_MANIFEST });
  return [digest, ...blobs];
}

describe('berth garbage-collect', () => {
  let root: string;
  let configPath: string;
  let driver: StorageDriver;
  let deleted: Digest[];
  let untagged: Digest[];
  let kept: Digest[];

  beforeEach(async () => {
    root = await makeTempDir('gc-cli');
    configPath = await writeConfig(testConfig({ filesystem: { rootdirectory: root }, delete: { enabled: true } }));
    driver = await filesystemDriverFactory.create({ rootdirectory: root }, {});
    const repo = new Registry({ driver, deleteEnabled: true }).repository('team/app');
    kept = await pushImage(repo, 'kept layer', 'stable');
    deleted = await pushImage(repo, 'deleted layer', 'old');
    await repo.manifests.delete({ digest: deleted[0] as Digest });
    untagged = await pushImage(repo, 'untagged layer');
  });

  const stored = async (digest: Digest): Promise<boolean> =>
    driver.stat(`/docker/registry/v2/blobs/sha256/${digest.hex.slice(0, 2)}/${digest.hex}/data`).then(
      () => true,
      () => false,
    );

  it('--dry-run lists what would go, prints the summary, and leaves the store exactly as it was', async () => {
    const before = await describeStorageTree(root);
    const result = await runBerth(['garbage-collect', '--dry-run', '--grace-period', '0s', '--delete-untagged', configPath]);

    expect(result.code).toBe(0);
    for (const digest of [...deleted, ...untagged]) expect(result.stdout).toContain(`would delete blob ${digest}`);
    expect(result.stdout).toContain(`would delete manifest team/app@${untagged[0]}`);
    expect(result.stdout).toMatch(/garbage collection \(dry run\): 3 of 9 blobs marked in 1 repositories; would delete 6 blobs \(\d+ B\); would delete 1 untagged manifests/);
    expect(await describeStorageTree(root)).toEqual(before);
  });

  it('keeps fresh garbage by default (grace period 1h) and reports it', async () => {
    const result = await runBerth(['garbage-collect', configPath]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/deleted 0 blobs \(0 B\); 3 unreferenced blobs \(\d+ B\) kept by the grace period/);
    for (const digest of deleted) expect(await stored(digest)).toBe(true);
  });

  it('--grace-period 0s --delete-untagged frees the deleted and the untagged image; the config may come from REGISTRY_CONFIGURATION_PATH', async () => {
    const result = await runBerth(['garbage-collect', '--grace-period', '0s', '-m'], {
      env: { REGISTRY_CONFIGURATION_PATH: configPath, REGISTRY_STORAGE_GC_SETTLE: '0s', REGISTRY_LOG_LEVEL: 'debug' },
    });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/deleted 6 blobs \(\d+ B\); deleted 1 untagged manifests/);
    // Each deleted item is logged at debug.
    expect(result.stderr.match(/garbage collection: deleted blob/g)).toHaveLength(6);
    for (const digest of [...deleted, ...untagged]) expect(await stored(digest)).toBe(false);
    for (const digest of kept) expect(await stored(digest)).toBe(true);
    const repo = new Registry({ driver, deleteEnabled: true }).repository('team/app');
    expect((await repo.manifests.get({ tag: 'stable' })).digest.equals(kept[0] as Digest)).toBe(true);
    expect(await repo.manifests.exists(untagged[0] as Digest)).toBe(false);
  });

  it('SIGINT during a run puts back what it had set aside and exits 1, leaving the store as it was', async () => {
    const before = await describeStorageTree(root);
    assertBerthBuilt();
    const spawned = spawnTracked(process.execPath, [BERTH_BIN, 'garbage-collect', '--grace-period', '0s', configPath], {
      cwd: REPO_ROOT,
      env: cleanEnv({ REGISTRY_STORAGE_GC_SETTLE: '1h' }),
    });
    // The run is in its settle time once the deleted image's layer has left its place.
    while (await stored(deleted[2] as Digest)) await new Promise((resolve) => setTimeout(resolve, 20));
    spawned.child.kill('SIGINT');
    const status = await spawned.exited;

    expect(status.code).toBe(1);
    expect(spawned.stdout()).toMatch(/deleted 0 blobs.*interrupted \(everything set aside was put back\)/);
    expect(spawned.stderr()).toContain('received SIGINT: interrupting garbage collection');
    expect(await describeStorageTree(root)).toEqual(before);
  });

  it('refuses a --grace-period that is not a Go duration, and a negative storage.gc.graceperiod naming the key', async () => {
    const flag = await runBerth(['garbage-collect', '--grace-period', '5 parsecs', configPath]);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/--grace-period.*not a Go duration/);

    const negative = await writeConfig(testConfig({ filesystem: { rootdirectory: root }, gc: { graceperiod: '-1h' } }));
    const config = await runBerth(['garbage-collect', negative]);
    expect(config.code).toBe(1);
    expect(config.stderr).toContain('storage.gc.graceperiod');
    for (const digest of deleted) expect(await stored(digest)).toBe(true);
  });

  it('off a terminal, logs each phase at info in order (marking, marked, re-checked, finished) and no progress line', async () => {
    const result = await runBerth(['garbage-collect', '--grace-period', '0s', configPath], { env: { REGISTRY_STORAGE_GC_SETTLE: '0s' } });
    expect(result.code).toBe(0);
    const phases = result.stderr
      .split('\n')
      .filter((line) => / level=info msg="garbage collection: /.test(line))
      .map((line) => /msg="garbage collection: ([^"]+)"/.exec(line)![1]);
    expect(phases).toEqual(['marking', 'marked', 're-checked after settling', 'finished']);
    const line = (phase: string): string => result.stderr.split('\n').find((l) => l.includes(`msg="garbage collection: ${phase}"`))!;
    expect(line('marking')).toMatch(/ source=\S+config\.yml driver=filesystem .*gracePeriodMs=0 settleMs=0/);
    expect(line('marked')).toMatch(/ blobs=9 marked=6 candidates=3 /);
    expect(line('finished')).toMatch(/ deletedBlobs=3 deletedBytes=\d+ deletedManifests=0 errors=0 interrupted=false durationMs=\d+/);
    expect(result.stderr).not.toContain('\r');
  });

  it('the storage.gc keys come from the file and REGISTRY_STORAGE_GC_* variables', async () => {
    const withGrace = await writeConfig(testConfig({ filesystem: { rootdirectory: join(root) }, gc: { graceperiod: '0s', settle: '0s' } }));
    const result = await runBerth(['garbage-collect', '--dry-run', withGrace]);
    expect(result.stdout).toMatch(/would delete 3 blobs/);
    const overridden = await runBerth(['garbage-collect', '--dry-run', withGrace], { env: { REGISTRY_STORAGE_GC_GRACEPERIOD: '2h' } });
    expect(overridden.stdout).toMatch(/would delete 0 blobs/);
  });
});
