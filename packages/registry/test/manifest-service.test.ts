import {
  Digest,
  DigestInvalidError,
  ManifestBlobUnknownError,
  ManifestInvalidError,
  ManifestTooLargeError,
  ManifestUnknownError,
  MediaType,
  TagInvalidError,
  UnsupportedError,
  parseReference,
} from '@berth/registry';
import { descriptor, imageManifest, makeRegistry, pushBlob } from './helpers';

const root = '/docker/registry/v2/repositories';

describe('ManifestService', () => {
  it('stores the exact bytes as a blob, links the revision and the tag', async () => {
    const { registry, driver } = makeRegistry();
    const repo = registry.repository('app');
    const bytes = Buffer.concat([await imageManifest(repo), Buffer.from('\n\n')]);
    const result = await repo.manifests.put({ tag: 'latest' }, bytes, { contentType: MediaType.OCI_MANIFEST });
    expect(result.digest).toEqual(Digest.fromBytes(bytes));
    const { hex } = result.digest;
    expect((await driver.getContent(`/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`)).equals(bytes)).toBe(true);
    expect((await driver.getContent(`${root}/app/_manifests/revisions/sha256/${hex}/link`)).toString()).toBe(`sha256:${hex}`);
    expect((await driver.getContent(`${root}/app/_manifests/tags/latest/current/link`)).toString()).toBe(`sha256:${hex}`);
    expect((await driver.getContent(`${root}/app/_manifests/tags/latest/index/sha256/${hex}/link`)).toString()).toBe(`sha256:${hex}`);
    for (const reference of [{ tag: 'latest' }, { digest: result.digest }]) {
      const got = await repo.manifests.get(reference);
      expect(got.content.equals(bytes)).toBe(true);
      expect(got.mediaType).toBe(MediaType.OCI_MANIFEST);
    }
  });

  it('verifies the digest of a PUT by digest, for sha256 and sha512', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const bytes = await imageManifest(repo);
    const sha512 = Digest.fromBytes(bytes, 'sha512');
    await expect(repo.manifests.put({ digest: sha512 }, bytes)).resolves.toMatchObject({ digest: sha512 });
    expect((await repo.manifests.get({ digest: sha512 })).content.equals(bytes)).toBe(true);
    const other = Digest.fromBytes(Buffer.concat([bytes, Buffer.from('  ')]));
    await expect(repo.manifests.put({ digest: other }, bytes)).rejects.toThrow(DigestInvalidError);
  });

  it('rejects a manifest whose layer is not in the repository', async () => {
    const { registry } = makeRegistry();
    const elsewhere = registry.repository('other');
    const bytes = await imageManifest(elsewhere);
    await expect(registry.repository('app').manifests.put({ tag: 'v1' }, bytes)).rejects.toThrow(ManifestBlobUnknownError);
  });

  it('accepts non-distributable layers that carry URLs without their blobs', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const config = '{"os":"windows"}';
    await pushBlob(repo, config);
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OCI_MANIFEST,
        config: descriptor('application/vnd.oci.image.config.v1+json', config),
        layers: [
          descriptor('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'foreign', { urls: ['https://example.com/l'] }),
        ],
      }),
    );
    await expect(repo.manifests.put({ tag: 'win' }, bytes)).resolves.toBeDefined();
  });

  it('accepts an index whose children are in the repository and rejects one with a missing child', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const child = await imageManifest(repo);
    const childResult = await repo.manifests.put({ digest: Digest.fromBytes(child) }, child);
    const index = (children: object[]) =>
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: children }));
    const good = index([{ mediaType: MediaType.OCI_MANIFEST, digest: childResult.digest.toString(), size: child.length }]);
    await expect(repo.manifests.put({ tag: 'multi' }, good)).resolves.toMatchObject({ mediaType: MediaType.OCI_INDEX });
    const bad = index([descriptor(MediaType.OCI_MANIFEST, 'never pushed')]);
    await expect(repo.manifests.put({ tag: 'broken' }, bad)).rejects.toThrow(ManifestBlobUnknownError);
    await expect(repo.manifests.put({ tag: 'empty' }, index([]))).resolves.toBeDefined();
  });

  it('accepts a manifest whose subject is missing and reports the subject', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const subject = descriptor(MediaType.OCI_MANIFEST, 'missing content');
    const bytes = await imageManifest(repo, { artifactType: 'application/example', subject });
    const result = await repo.manifests.put({ digest: Digest.fromBytes(bytes) }, bytes);
    expect(result.subject?.toString()).toBe(subject.digest);
  });

  it('rejects Docker schema 1 with a clear message', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const schema1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'app', tag: 'v1', fsLayers: [], history: [] }));
    await expect(repo.manifests.put({ tag: 'v1' }, schema1)).rejects.toThrow(/schema 1 is not supported/);
    await expect(
      repo.manifests.put({ tag: 'v1' }, await imageManifest(repo), { contentType: MediaType.DOCKER_SCHEMA1_SIGNED }),
    ).rejects.toThrow(ManifestInvalidError);
  });

  it.each([
    ['invalid JSON', '{"schemaVersion": 2,', undefined, /not valid JSON/],
    ['a JSON array', '[]', undefined, /JSON object/],
    ['schemaVersion 3', JSON.stringify({ schemaVersion: 3, mediaType: MediaType.OCI_INDEX, manifests: [] }), undefined, /schemaVersion/],
    ['an unknown media type', JSON.stringify({ schemaVersion: 2, mediaType: 'application/x-custom', manifests: [] }), undefined, /unsupported/],
    [
      'a Content-Type that contradicts mediaType',
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [] }),
      MediaType.DOCKER_MANIFEST_LIST,
      /does not match/,
    ],
    ['a bad layer digest', JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: { mediaType: 'x', size: 1, digest: 'sha256:nope' }, layers: [] }), undefined, /config.digest/],
    ['a negative size', JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [{ mediaType: 'x', size: -1, digest: `sha256:${'a'.repeat(64)}` }] }), undefined, /size/],
  ])('rejects %s with MANIFEST_INVALID', async (_label, body, contentType, message) => {
    const { registry } = makeRegistry();
    const promise = registry.repository('app').manifests.put({ tag: 't' }, Buffer.from(body), { contentType });
    await expect(promise).rejects.toThrow(ManifestInvalidError);
    await expect(promise).rejects.toThrow(message);
  });

  it('takes the media type from the Content-Type when the body has none', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] }));
    await expect(repo.manifests.put({ tag: 't' }, bytes, { contentType: `${MediaType.OCI_INDEX}; charset=utf-8` })).resolves.toMatchObject({
      mediaType: MediaType.OCI_INDEX,
    });
    expect((await repo.manifests.get({ tag: 't' })).mediaType).toBe(MediaType.OCI_INDEX);
  });

  it('stores Docker v2 manifests and manifest lists with their media types', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const config = '{"docker":true}';
    await pushBlob(repo, config);
    const image = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.DOCKER_MANIFEST, config: descriptor('application/vnd.docker.container.image.v1+json', config), layers: [] }),
    );
    const { digest } = await repo.manifests.put({ tag: 'img' }, image, { contentType: MediaType.DOCKER_MANIFEST });
    const list = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.DOCKER_MANIFEST_LIST,
        manifests: [{ mediaType: MediaType.DOCKER_MANIFEST, digest: digest.toString(), size: image.length, platform: { os: 'linux', architecture: 'amd64' } }],
      }),
    );
    await repo.manifests.put({ tag: 'list' }, list, { contentType: MediaType.DOCKER_MANIFEST_LIST });
    expect((await repo.manifests.get({ tag: 'img' })).mediaType).toBe(MediaType.DOCKER_MANIFEST);
    expect((await repo.manifests.get({ tag: 'list' })).mediaType).toBe(MediaType.DOCKER_MANIFEST_LIST);
  });

  it('accepts a manifest of more than 4 MiB and rejects one above the limit', async () => {
    const { registry } = makeRegistry({ maxManifestBytes: 6 * 1024 * 1024 });
    const repo = registry.repository('app');
    const annotations = Object.fromEntries(Array.from({ length: 450 }, (_, i) => [`a${i}`, 'A'.repeat(10_000)]));
    const big = await imageManifest(repo, { annotations });
    expect(big.length).toBeGreaterThan(4 * 1024 * 1024);
    await expect(repo.manifests.put({ tag: 'big' }, big)).resolves.toBeDefined();
    const huge = await imageManifest(repo, { annotations: { ...annotations, more: 'B'.repeat(2 * 1024 * 1024) } });
    await expect(repo.manifests.put({ tag: 'huge' }, huge)).rejects.toThrow(ManifestTooLargeError);
  });

  it('deletes by digest: revision gone and every tag pointing at it untagged, other tags kept', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const a = await imageManifest(repo, {}, 'a');
    const b = await imageManifest(repo, {}, 'b');
    const { digest } = await repo.manifests.put({ tag: 'one' }, a);
    await repo.manifests.put({ tag: 'two' }, a);
    await repo.manifests.put({ tag: 'other' }, b);
    await repo.manifests.delete({ digest });
    await expect(repo.manifests.get({ digest })).rejects.toThrow(ManifestUnknownError);
    await expect(repo.manifests.get({ tag: 'one' })).rejects.toThrow(ManifestUnknownError);
    expect((await repo.tags.list()).items).toEqual(['other']);
    await expect(repo.manifests.delete({ digest })).rejects.toThrow(ManifestUnknownError);
  });

  it('deletes by tag: only the tag goes, the manifest stays reachable by digest', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const { digest } = await repo.manifests.put({ tag: 'v1' }, await imageManifest(repo));
    await repo.manifests.delete({ tag: 'v1' });
    await expect(repo.manifests.get({ tag: 'v1' })).rejects.toThrow(ManifestUnknownError);
    await expect(repo.manifests.get({ digest })).resolves.toBeDefined();
    await expect(repo.manifests.delete({ tag: 'v1' })).rejects.toThrow(ManifestUnknownError);
  });

  it('refuses deletes when deletion is disabled', async () => {
    const { registry } = makeRegistry({ deleteEnabled: false });
    const repo = registry.repository('app');
    const { digest } = await repo.manifests.put({ tag: 'v1' }, await imageManifest(repo));
    await expect(repo.manifests.delete({ digest })).rejects.toThrow(UnsupportedError);
    await expect(repo.manifests.delete({ tag: 'v1' })).rejects.toThrow(UnsupportedError);
  });

  it('points extra tags at a manifest pushed by digest', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const bytes = await imageManifest(repo);
    await repo.manifests.put({ digest: Digest.fromBytes(bytes) }, bytes, { extraTags: ['a', 'b'] });
    expect((await repo.tags.list()).items).toEqual(['a', 'b']);
    await expect(repo.manifests.put({ digest: Digest.fromBytes(bytes) }, bytes, { extraTags: ['bad tag'] })).rejects.toThrow(TagInvalidError);
  });

  it('parses references as tags or digests', () => {
    expect(parseReference('latest')).toEqual({ tag: 'latest' });
    expect(parseReference(`sha256:${'a'.repeat(64)}`).digest?.hex).toBe('a'.repeat(64));
    expect(() => parseReference('sha256:baddigeststring')).toThrow(DigestInvalidError);
    expect(() => parseReference('-bad')).toThrow(TagInvalidError);
  });
  it('reads the revision link and the manifest bytes of a manifest it has not served yet side by side, and answers unknown when the link is missing', async () => {
    const { registry: writer, driver } = makeRegistry();
    const bytes = await imageManifest(writer.repository('app'));
    const { digest } = await writer.repository('app').manifests.put({ tag: 'latest' }, bytes, { contentType: MediaType.OCI_MANIFEST });
    let inFlight = 0;
    let most = 0;
    const slow: typeof driver = Object.create(driver);
    slow.getContent = async (path: string) => {
      most = Math.max(most, ++inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return await driver.getContent(path);
      } finally {
        inFlight--;
      }
    };
    // A second registry over the same storage: its remembered manifest bytes are empty.
    const reader = makeRegistry({ driver: slow }).registry.repository('app');
    expect((await reader.manifests.get({ tag: 'latest' })).content.equals(bytes)).toBe(true);
    expect(most).toBe(2);
    await driver.delete(`${root}/app/_manifests/revisions/sha256/${digest.hex}`);
    await expect(makeRegistry({ driver: slow }).registry.repository('app').manifests.get({ digest })).rejects.toBeInstanceOf(ManifestUnknownError);
  });
});
