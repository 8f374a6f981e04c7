import { pathFor, Registry, UnsupportedError, type PolicyRule, type Repository, type RetentionReport } from '@berth/registry';
import type { StorageDriver } from '@berth/storage-driver';
import { pushImage, pushIndex, pushReferrer, snapshot, type PushedImage } from './gc-support';
import { policyBackends } from './policies-support';

const HOUR = 3_600_000;

function registryOver(driver: StorageDriver, policies: PolicyRule[], options: { readOnly?: boolean } = {}): Registry {
  return new Registry({ driver, deleteEnabled: true, policies, ...options });
}

function rule(retention: Partial<NonNullable<PolicyRule['retention']>>, immutableTags: string[] = []): PolicyRule[] {
  return [{ repositories: ['app/**'], immutableTags, retention: { keepTags: [], ...retention } }];
}

async function tagsOf(repo: Repository): Promise<string[]> {
  return (await repo.tags.list()).items;
}

function decisions(report: RetentionReport, name: string): Record<string, string> {
  const repo = report.repositories.find((r) => r.name === name);
  return Object.fromEntries((repo?.tags ?? []).map((t) => [t.tag, t.kept ? 'kept' : 'deleted']));
}

describe.each(policyBackends)('retention on $name', (backend) => {
  const maybe = backend.skipReason ? it.skip : it;
  let driver: StorageDriver;
  let dispose: () => Promise<void>;
  beforeEach(async () => {
    ({ driver, dispose } = await backend.create());
  });
  afterEach(async () => dispose());

  /**
   * Tags `reference` and waits until the driver would give a later tag a later modification time
   * (S3's LastModified has whole seconds): push times are what retention orders tags by.
   */
  async function tagInOrder(repo: Repository, tag: string, image: { content: Buffer }): Promise<Date> {
    await repo.manifests.put({ tag }, image.content);
    const pushedAt = (await driver.stat(pathFor({ kind: 'tagCurrentLink', name: repo.name, tag }))).modTime;
    const resolution = backend.name.startsWith('s3') ? 1000 : 2;
    const next = Math.floor(pushedAt.getTime() / resolution) * resolution + resolution;
    while (Date.now() <= next) await new Promise((resolve) => setTimeout(resolve, Math.max(1, next - Date.now() + 1)));
    return pushedAt;
  }

  maybe('keeps the last N and keeptags, deletes only the tag when another tag shares its digest (harbor#8717)', async () => {
    const registry = registryOver(driver, rule({ keepLast: 2, keepTags: ['stable'] }));
    const repo = registry.repository('app/web');
    const images: PushedImage[] = [];
    for (let i = 1; i <= 4; i++) images.push(await pushImage(repo, { layers: [`layer ${i}`], config: `config ${i}` }));
    const [one, two, three, four] = images as [PushedImage, PushedImage, PushedImage, PushedImage];
    await tagInOrder(repo, 'stable', one);
    await tagInOrder(repo, 't1', one);
    await tagInOrder(repo, 't2', two);
    await tagInOrder(repo, 't3', three);
    await tagInOrder(repo, 't4', four);

    const report = await registry.retention();
    expect(decisions(report, 'app/web')).toEqual({ t4: 'kept', t3: 'kept', t2: 'deleted', t1: 'deleted', stable: 'kept' });
    const reasons = Object.fromEntries(report.repositories[0]!.tags.map((t) => [t.tag, t.reason]));
    expect(reasons.t4).toMatch(/among the last 2 pushed/);
    expect(reasons.stable).toBe('matches keeptags "stable"');
    expect(reasons.t1).toMatch(/not among the last 2 pushed, matches no keeptags/);
    expect(await tagsOf(repo)).toEqual(['stable', 't3', 't4']);
    // t1's manifest stays: stable still points at it. t2's goes with its only tag.
    expect(await repo.manifests.exists(one.digest)).toBe(true);
    expect(await repo.manifests.exists(two.digest)).toBe(false);
    expect(report.repositories[0]!.deletedManifests.map((m) => m.digest)).toEqual([two.digest.toString()]);
    expect(report).toMatchObject({ tagsDeleted: 2, manifestsDeleted: 1, errors: 0 });
  });

  maybe('deletes an index with the children only it references, keeps children a kept index shares, and referrers follow their subject', async () => {
    const registry = registryOver(driver, rule({ keepLast: 1 }));
    const repo = registry.repository('app/multi');
    const shared = await pushImage(repo, { layers: ['shared amd64'], config: 'amd64' });
    const oldArm = await pushImage(repo, { layers: ['old arm64'], config: 'arm64 old' });
    const newArm = await pushImage(repo, { layers: ['new arm64'], config: 'arm64 new' });
    const oldIndex = await pushIndex(repo, [shared, oldArm]);
    const newIndex = await pushIndex(repo, [shared, newArm]);
    await tagInOrder(repo, 'old', oldIndex);
    await tagInOrder(repo, 'new', newIndex);
    const oldSignature = await pushReferrer(repo, oldIndex, 'signature of old');
    const newSignature = await pushReferrer(repo, newIndex, 'signature of new');

    const report = await registry.retention();
    expect(decisions(report, 'app/multi')).toEqual({ new: 'kept', old: 'deleted' });
    const deleted = new Set(report.repositories[0]!.deletedManifests.map((m) => m.digest));
    expect(deleted).toEqual(new Set([oldIndex.digest, oldArm.digest, oldSignature.digest].map(String)));
    for (const kept of [newIndex.digest, shared.digest, newArm.digest, newSignature.digest]) expect(await repo.manifests.exists(kept)).toBe(true);
    for (const gone of [oldIndex.digest, oldArm.digest, oldSignature.digest]) expect(await repo.manifests.exists(gone)).toBe(false);
    expect(await repo.referrers.list(oldIndex.digest)).toEqual([]);
    expect((await repo.referrers.list(newIndex.digest)).map((r) => r.digest)).toEqual([newSignature.digest.toString()]);
  });

  maybe('deletes untagged manifests older than untaggedolderthan and nothing younger, leaving tags alone', async () => {
    const registry = registryOver(driver, rule({ untaggedOlderThanMs: HOUR }));
    const repo = registry.repository('app/untagged');
    const tagged = await pushImage(repo, { layers: ['tagged'], config: 'c1', tag: 'v1' });
    const loose = await pushImage(repo, { layers: ['loose'], config: 'c2' });
    const pushedAt = (await driver.stat(pathFor({ kind: 'revisionLink', name: repo.name, digest: loose.digest }))).modTime.getTime();

    const young = await registry.retention({ now: pushedAt + HOUR / 2 });
    expect(young).toMatchObject({ tagsDeleted: 0, manifestsDeleted: 0 });
    const old = await registry.retention({ now: pushedAt + 2 * HOUR });
    expect(decisions(old, 'app/untagged')).toEqual({ v1: 'kept' });
    expect(old.repositories[0]!.deletedManifests).toEqual([{ digest: loose.digest.toString(), reason: 'untagged for more than 1h' }]);
    expect(await repo.manifests.exists(loose.digest)).toBe(false);
    expect(await repo.manifests.exists(tagged.digest)).toBe(true);
  });

  maybe('keeps tags pushed within pushedwithin and immutable tags, whatever their rank', async () => {
    const registry = registryOver(driver, rule({ keepLast: 0, pushedWithinMs: HOUR }, ['v*']));
    const repo = registry.repository('app/recent');
    const a = await pushImage(repo, { layers: ['a'], config: 'ca' });
    const b = await pushImage(repo, { layers: ['b'], config: 'cb' });
    await tagInOrder(repo, 'v1.0', a);
    const last = await tagInOrder(repo, 'dev', b);
    const within = await registry.retention({ now: last.getTime() + HOUR / 2, dryRun: true });
    expect(decisions(within, 'app/recent')).toEqual({ dev: 'kept', 'v1.0': 'kept' });
    const later = await registry.retention({ now: last.getTime() + 2 * HOUR });
    expect(decisions(later, 'app/recent')).toEqual({ dev: 'deleted', 'v1.0': 'kept' });
    expect(later.repositories[0]!.tags.find((t) => t.tag === 'v1.0')?.reason).toBe('immutable (policies.0.immutabletags "v*")');
    expect(await tagsOf(repo)).toEqual(['v1.0']);
  });

  maybe('a dry run reports the same decisions and changes nothing in storage', async () => {
    const registry = registryOver(driver, rule({ keepLast: 1, untaggedOlderThanMs: 1 }));
    const repo = registry.repository('app/dry');
    const a = await pushImage(repo, { layers: ['a'], config: 'ca' });
    const b = await pushImage(repo, { layers: ['b'], config: 'cb' });
    await pushImage(repo, { layers: ['loose'], config: 'cl' });
    await tagInOrder(repo, 'old', a);
    await tagInOrder(repo, 'new', b);
    // Another repository no rule matches is never touched.
    await pushImage(registry.repository('other'), { layers: ['o'], config: 'co', tag: 'x' });
    const before = await snapshot(driver);
    const dry = await registry.retention({ dryRun: true, now: Date.now() + HOUR });
    expect(await snapshot(driver)).toEqual(before);
    expect(dry.repositories.map((r) => r.name)).toEqual(['app/dry']);
    const real = await registry.retention({ now: Date.now() + HOUR });
    expect({ ...real, dryRun: true }).toEqual(dry);
    expect(real).toMatchObject({ tagsDeleted: 1, manifestsDeleted: 2 });
  });

  maybe('refuses to delete in read-only mode, and reports there with --dry-run', async () => {
    const writer = registryOver(driver, []);
    await pushImage(writer.repository('app/ro'), { layers: ['a'], config: 'ca', tag: 'a' });
    const readOnly = registryOver(driver, rule({ keepLast: 0 }), { readOnly: true });
    await expect(readOnly.retention()).rejects.toThrow(UnsupportedError);
    expect((await readOnly.retention({ dryRun: true })).tagsDeleted).toBe(1);
  });
});
