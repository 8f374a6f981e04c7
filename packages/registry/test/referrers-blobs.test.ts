import { BlobUnknownError, Digest, MediaType, UnsupportedError, fallbackTag } from '@berth/registry';
import { descriptor, imageManifest, makeRegistry, pushBlob } from './helpers';

async function setup() {
  const { registry, driver } = makeRegistry();
  const repo = registry.repository('app');
  const image = await imageManifest(repo);
  const { digest: subject } = await repo.manifests.put({ tag: 'v1' }, image);
  const subjectDescriptor = { mediaType: MediaType.OCI_MANIFEST, digest: subject.toString(), size: image.length };
  await pushBlob(repo, '{}');
  const artifact = async (artifactType: string | undefined, payload: string, annotations?: Record<string, string>) => {
    await pushBlob(repo, payload);
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OCI_MANIFEST,
        ...(artifactType ? { artifactType } : {}),
        config: descriptor(artifactType ? MediaType.OCI_EMPTY : 'application/vnd.example.config+json', '{}'),
        layers: [descriptor('application/octet-stream', payload)],
        subject: subjectDescriptor,
        ...(annotations ? { annotations } : {}),
      }),
    );
    return (await repo.manifests.put({ digest: Digest.fromBytes(bytes) }, bytes)).digest;
  };
  return { registry, driver, repo, subject, subjectDescriptor, artifact };
}

describe('ReferrerService', () => {
  it('lists the manifests whose subject is the digest, with artifactType and annotations', async () => {
    const { repo, subject, artifact } = await setup();
    const sbom = await artifact('application/vnd.example.sbom', 'sbom', { 'org.example': 'yes' });
    const sig = await artifact(undefined, 'signature');
    const list = await repo.referrers.list(subject);
    expect(list).toHaveLength(2);
    const byDigest = Object.fromEntries(list.map((d) => [d.digest, d]));
    expect(byDigest[sbom.toString()]).toMatchObject({ mediaType: MediaType.OCI_MANIFEST, artifactType: 'application/vnd.example.sbom', annotations: { 'org.example': 'yes' } });
    expect(byDigest[sig.toString()].artifactType).toBe('application/vnd.example.config+json');
    expect(list.map((d) => d.digest)).toEqual([...list.map((d) => d.digest)].sort());
  });

  it('filters by artifactType', async () => {
    const { repo, subject, artifact } = await setup();
    await artifact('application/vnd.example.sbom', 'sbom');
    const sig = await artifact('application/vnd.example.sig', 'sig');
    const list = await repo.referrers.list(subject, { artifactTypes: ['application/vnd.example.sig'] });
    expect(list.map((d) => d.digest)).toEqual([sig.toString()]);
  });

  it('answers an empty list for an unknown subject or repository', async () => {
    const { registry, repo } = await setup();
    const unknown = Digest.fromBytes(Buffer.from('nothing'));
    expect(await repo.referrers.list(unknown)).toEqual([]);
    expect(await registry.repository('never/pushed').referrers.index(unknown)).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.OCI_INDEX,
      manifests: [],
    });
  });

  it('drops a referrer once it is deleted, and ignores index entries whose revision vanished', async () => {
    const { repo, driver, subject, artifact } = await setup();
    const first = await artifact('application/vnd.a', 'a');
    const second = await artifact('application/vnd.b', 'b');
    await repo.manifests.delete({ digest: first });
    expect((await repo.referrers.list(subject)).map((d) => d.digest)).toEqual([second.toString()]);
    await driver.delete(`/docker/registry/v2/repositories/app/_manifests/revisions/sha256/${second.hex}`);
    expect(await repo.referrers.list(subject)).toEqual([]);
  });

  it('includes referrers recorded in the fallback tag by clients of a registry without the API', async () => {
    const { repo, driver, subject, artifact } = await setup();
    const legacy = await artifact('application/vnd.legacy', 'legacy');
    await driver.delete(`/docker/registry/v2/repositories/app/_manifests/referrers`);
    expect(await repo.referrers.list(subject)).toEqual([]);
    const legacyBytes = (await repo.manifests.get({ digest: legacy })).content;
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OCI_INDEX,
        manifests: [{ mediaType: MediaType.OCI_MANIFEST, digest: legacy.toString(), size: legacyBytes.length, artifactType: 'application/vnd.legacy' }],
      }),
    );
    await repo.manifests.put({ tag: fallbackTag(subject) }, index);
    expect((await repo.referrers.list(subject)).map((d) => d.digest)).toEqual([legacy.toString()]);
  });
});

describe('BlobService', () => {
  it('mounts a blob from another repository that has it, and not from one that lacks it', async () => {
    const { registry } = makeRegistry();
    const source = registry.repository('source');
    const target = registry.repository('target');
    const digest = await pushBlob(source, 'shared layer');
    expect(await target.blobs.mount(digest, registry.repository('empty').blobs)).toBeUndefined();
    await expect(target.blobs.stat(digest)).rejects.toThrow(BlobUnknownError);
    expect(await target.blobs.mount(digest, source.blobs)).toEqual({ digest, size: 12 });
    expect((await target.blobs.stat(digest)).size).toBe(12);
  });

  it('deletes the repository link only, and only when deletion is enabled', async () => {
    const { registry } = makeRegistry();
    const a = registry.repository('a');
    const b = registry.repository('b');
    const digest = await pushBlob(a, 'content');
    await pushBlob(b, 'content');
    await a.blobs.delete(digest);
    await expect(a.blobs.stat(digest)).rejects.toThrow(BlobUnknownError);
    expect((await b.blobs.stat(digest)).size).toBe(7);
    await expect(a.blobs.delete(digest)).rejects.toThrow(BlobUnknownError);
    const { registry: readOnly } = makeRegistry({ deleteEnabled: false });
    await expect(readOnly.repository('a').blobs.delete(digest)).rejects.toThrow(UnsupportedError);
  });
});
