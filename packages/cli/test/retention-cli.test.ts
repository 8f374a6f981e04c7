import { Readable } from 'node:stream';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import { Digest, MediaType, pathFor, Registry, type Repository } from '@berth/registry';
import type { StorageDriver } from '@berth/storage-driver';
import { runBerth, testConfig, writeConfig } from './helpers/berth';
import { cleanupAll, makeTempDir } from './helpers/processes';
import { describeStorageTree } from './helpers/storage-tree';

/** `berth retention`, the built command, over a filesystem store populated through the registry services. */

afterAll(cleanupAll);

async function pushBlob(repo: Repository, content: string): Promise<void> {
  const bytes = Buffer.from(content);
  const session = await repo.uploads.start();
  await repo.uploads.commit(session.id, Digest.fromBytes(bytes), Readable.from([bytes]));
}

/** Pushes config + one layer + manifest, tagged `tag`; waits so that the next tag is pushed strictly later. */
async function pushImage(driver: StorageDriver, repo: Repository, layer: string, tag: string): Promise<Digest> {
  const config = JSON.stringify({ os: 'linux', layer });
  const d = (mediaType: string, bytes: string) => ({ mediaType, digest: Digest.fromBytes(Buffer.from(bytes)).toString(), size: Buffer.byteLength(bytes) });
  await pushBlob(repo, config);
  await pushBlob(repo, layer);
  const content = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: d('application/vnd.oci.image.config.v1+json', config), layers: [d('application/vnd.oci.image.layer.v1.tar+gzip', layer)] }),
  );
  const { digest } = await repo.manifests.put({ tag }, content, { contentType: MediaType.OCI_MANIFEST });
  const pushedAt = (await driver.stat(pathFor({ kind: 'tagCurrentLink', name: repo.name, tag }))).modTime.getTime();
  while (Date.now() <= pushedAt + 2) await new Promise((resolve) => setTimeout(resolve, 5));
  return digest;
}

describe('berth retention', () => {
  let root: string;
  let configPath: string;
  let driver: StorageDriver;
  let repo: Repository;

  beforeEach(async () => {
    root = await makeTempDir('retention-cli');
    configPath = await writeConfig({
      ...testConfig({ filesystem: { rootdirectory: root } }),
      policies: [{ repositories: ['team/**'], immutabletags: ['v*'], retention: { keeplast: 1, keeptags: ['stable'] } }],
    });
    driver = await filesystemDriverFactory.create({ rootdirectory: root }, {});
    repo = new Registry({ driver, deleteEnabled: true }).repository('team/app');
    await pushImage(driver, repo, 'release', 'v1.0');
    await pushImage(driver, repo, 'old', 'old');
    await pushImage(driver, repo, 'stable', 'stable');
    await pushImage(driver, repo, 'newest', 'newest');
  });

  it('--dry-run prints each tag kept or deleted with the reason and leaves the store exactly as it was', async () => {
    const before = await describeStorageTree(root);
    const result = await runBerth(['retention', '--dry-run', configPath]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('team/app (policies.0):');
    expect(result.stdout).toMatch(/kept tag newest -> sha256:\w+ pushed \S+: among the last 1 pushed \(#1\)/);
    expect(result.stdout).toMatch(/kept tag stable -> .*: matches keeptags "stable"/);
    expect(result.stdout).toMatch(/kept tag v1\.0 -> .*: immutable \(policies\.0\.immutabletags "v\*"\)/);
    expect(result.stdout).toMatch(/would delete tag old -> .*: not among the last 1 pushed, matches no keeptags/);
    expect(result.stdout).toMatch(/would delete manifest sha256:\w+: its tags were deleted/);
    expect(result.stdout).toContain('retention (dry run): 1 repositories, 1 tags and 1 manifests would be deleted');
    expect(await describeStorageTree(root)).toEqual(before);
  });

  it('deletes what the rules do not keep, in storage that another registry then serves', async () => {
    const result = await runBerth(['retention', configPath]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('retention: 1 repositories, 1 tags and 1 manifests deleted');
    expect((await repo.tags.list()).items).toEqual(['newest', 'stable', 'v1.0']);
  });
});
