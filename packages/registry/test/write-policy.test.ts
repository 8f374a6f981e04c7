import { Readable } from 'node:stream';
import { Digest, UnsupportedError, type Repository } from '@berth/registry';
import { imageManifest, makeRegistry, pushBlob } from './helpers';

/** Every write a client can make to `repo`, each resolving to the error it met (or undefined). */
async function writesOf(repo: Repository, blob: Digest, manifest: Digest): Promise<Record<string, unknown>> {
  const outcome = (p: Promise<unknown>): Promise<unknown> => p.then(
    () => undefined,
    (error: unknown) => error,
  );
  const content = Buffer.from('one more blob');
  return {
    startUpload: await outcome(repo.uploads.start()),
    commitUpload: await outcome(repo.uploads.commit('00000000-0000-4000-8000-000000000000', Digest.fromBytes(content), Readable.from([content]))),
    appendUpload: await outcome(repo.uploads.append('00000000-0000-4000-8000-000000000000', Readable.from([content]))),
    cancelUpload: await outcome(repo.uploads.cancel('00000000-0000-4000-8000-000000000000')),
    putManifest: await outcome(repo.manifests.put({ tag: 'v2' }, Buffer.from('{}'))),
    tag: await outcome(repo.tags.tag('v3', manifest)),
    link: await outcome(repo.blobs.link(blob)),
    deleteBlob: await outcome(repo.blobs.delete(blob)),
    deleteManifest: await outcome(repo.manifests.delete({ digest: manifest })),
    untag: await outcome(repo.tags.untag('v1')),
  };
}

/** A registry holding `app:v1` (a manifest and its blobs), written before the policy applied. */
async function seeded() {
  const { registry: writable, driver } = makeRegistry();
  const repo = writable.repository('app');
  const bytes = await imageManifest(repo);
  const blob = await pushBlob(repo, 'a blob');
  const { digest: manifest } = await repo.manifests.put({ tag: 'v1' }, bytes);
  return { driver, blob, manifest };
}

/** What a write met: 'refused: <message>' for the policy's UnsupportedError, else 'not refused'. */
const verdict = (error: unknown): string => (error instanceof UnsupportedError ? `refused: ${error.message}` : 'not refused');
const refusedWith = (message: RegExp) => expect.stringMatching(new RegExp(`^refused: .*${message.source}`));

describe('the registry write policy', () => {
  it('refuses every push and delete of a read-only registry with UnsupportedError, and still serves reads', async () => {
    const { driver, blob, manifest } = await seeded();
    const { registry } = makeRegistry({ driver, readOnly: true });
    const repo = registry.repository('app');
    const outcomes = await writesOf(repo, blob, manifest);
    for (const [write, error] of Object.entries(outcomes)) expect([write, verdict(error)]).toEqual([write, refusedWith(/read-only mode/)]);
    expect((await repo.manifests.get({ tag: 'v1' })).digest.equals(manifest)).toBe(true);
    expect((await repo.blobs.stat(blob)).size).toBe(6);
  });

  it('refuses every push and delete from clients of a pull-through cache with UnsupportedError', async () => {
    const { driver, blob, manifest } = await seeded();
    const { registry } = makeRegistry({ driver, pullThrough: true });
    const outcomes = await writesOf(registry.repository('app'), blob, manifest);
    for (const [write, error] of Object.entries(outcomes)) expect([write, verdict(error)]).toEqual([write, refusedWith(/pull-through cache/)]);
  });

  it('refuses only the deletes when storage.delete is off', async () => {
    const { driver, blob, manifest } = await seeded();
    const { registry } = makeRegistry({ driver, deleteEnabled: false });
    const repo = registry.repository('app');
    const outcomes = await writesOf(repo, blob, manifest);
    for (const write of ['deleteBlob', 'deleteManifest', 'untag']) {
      expect([write, verdict(outcomes[write])]).toEqual([write, refusedWith(/deletion is disabled/)]);
    }
    // The pushes went on to the storage (the session id does not exist, `{}` is no manifest).
    for (const write of ['startUpload', 'tag', 'link', 'commitUpload', 'appendUpload', 'cancelUpload', 'putManifest']) {
      expect([write, verdict(outcomes[write])]).toEqual([write, 'not refused']);
    }
    expect(outcomes.startUpload).toBeUndefined();
  });

  it('lets the pull-through cache fill and expire itself through cacheRepository, with deletes off', async () => {
    const { registry, driver } = makeRegistry({ deleteEnabled: false, pullThrough: true });
    const cache = registry.cacheRepository('library/app');
    const digest = await pushBlob(cache, 'fetched from the upstream');
    const bytes = await imageManifest(cache);
    const { digest: manifest } = await cache.manifests.put({ tag: 'latest' }, bytes);
    // Clients see what the cache stored, through the same registry and storage.
    expect((await registry.repository('library/app').manifests.get({ tag: 'latest' })).digest.equals(manifest)).toBe(true);
    expect(await registry.blobStore.stat(digest)).toEqual({ digest, size: 25 });
    await cache.manifests.delete({ digest: manifest });
    await cache.blobs.delete(digest);
    await expect(registry.repository('library/app').manifests.get({ tag: 'latest' })).rejects.toThrow(/latest/);
    expect(await makeRegistry({ driver }).registry.repository('library/app').blobs.isLinked(digest)).toBe(false);
  });
});
