import { createInMemoryDriver } from '@berth/driver-inmemory';
import type { StorageDriver } from '@berth/storage-driver';
import {
  Digest,
  MAX_MANIFEST_DEPTH,
  MAX_MANIFEST_DESCRIPTORS,
  ManifestBlobUnknownError,
  ManifestInvalidError,
  MediaType,
  parseManifest,
  pathFor,
  type Repository,
} from '@berth/registry';
import { descriptor, makeRegistry, pushBlob } from './helpers';

/** Manifests a hostile client pushes: deep nesting, bad UTF-8, lying sizes, huge descriptor lists. */

const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';
const CONFIG = '{"os":"linux"}';
const LAYER = 'layer bytes';

/** Pushes the config and the layer; returns an OCI image manifest body (an object) naming them. */
async function imageBody(repo: Repository): Promise<Record<string, unknown>> {
  await pushBlob(repo, CONFIG);
  await pushBlob(repo, LAYER);
  return { schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: descriptor(CONFIG_TYPE, CONFIG), layers: [descriptor(LAYER_TYPE, LAYER)] };
}

const bytesOf = (body: unknown): Buffer => Buffer.from(JSON.stringify(body));

/** An image manifest body with a field nesting arrays so that the whole document is `depth` deep. */
function nested(body: Record<string, unknown>, depth: number): Buffer {
  const text = JSON.stringify(body);
  // The document object is level 1; the field's outermost array level 2.
  const arrays = depth - 1;
  return Buffer.from(`${text.slice(0, -1)},"x":${'['.repeat(arrays)}${']'.repeat(arrays)}}`);
}

/** A driver that counts reads (getContent and stat) of paths containing `needle`. */
function countingDriver(driver: StorageDriver, needle: () => string): { driver: StorageDriver; reads: () => number } {
  let reads = 0;
  const counted = new Proxy(driver, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if ((property === 'getContent' || property === 'stat') && typeof value === 'function') {
        return (path: string, ...rest: unknown[]) => {
          if (path.includes(needle())) reads++;
          return (value as (...args: unknown[]) => unknown).call(target, path, ...rest);
        };
      }
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { driver: counted, reads: () => reads };
}

describe('manifest validation against hostile content', () => {
  it(`refuses with MANIFEST_INVALID a manifest nested deeper than ${MAX_MANIFEST_DEPTH} levels, 100,000 levels included`, async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const body = await imageBody(repo);
    await expect(repo.manifests.put({ tag: 'deepest-allowed' }, nested(body, MAX_MANIFEST_DEPTH))).resolves.toBeDefined();
    await expect(repo.manifests.put({ tag: 'too-deep' }, nested(body, MAX_MANIFEST_DEPTH + 1))).rejects.toThrow(ManifestInvalidError);
    await expect(repo.manifests.put({ tag: 'too-deep' }, nested(body, MAX_MANIFEST_DEPTH + 1))).rejects.toThrow(/nested deeper than/);
    await expect(repo.manifests.put({ tag: 'abyss' }, nested(body, 100_000))).rejects.toThrow(ManifestInvalidError);
    // Brackets inside strings are text, not nesting.
    const text = bytesOf({ ...body, annotations: { slash: 'ends with \\', brackets: `"${'['.repeat(10_000)}`, quoted: '\\"{{{' } });
    await expect(repo.manifests.put({ tag: 'brackets' }, text)).resolves.toBeDefined();
    expect((await repo.tags.list()).items).toEqual(['brackets', 'deepest-allowed']);
  });

  it('refuses with MANIFEST_INVALID a manifest that is not valid UTF-8', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const text = JSON.stringify({ ...(await imageBody(repo)), annotations: { note: 'XX' } });
    const at = text.indexOf('XX');
    const bytes = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xc3, 0x28]), Buffer.from(text.slice(at + 2))]);
    await expect(repo.manifests.put({ tag: 'latin' }, bytes)).rejects.toThrow(ManifestInvalidError);
    await expect(repo.manifests.put({ tag: 'latin' }, bytes)).rejects.toThrow(/UTF-8/);
    // Proper UTF-8 beyond ASCII is fine.
    await expect(repo.manifests.put({ tag: 'utf8' }, bytesOf({ ...(await imageBody(repo)), annotations: { note: 'Grüße, 港' } }))).resolves.toBeDefined();
  });

  it('refuses "layers": null and "manifests": null with MANIFEST_INVALID (an absent layers list stays accepted)', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const body = await imageBody(repo);
    await expect(repo.manifests.put({ tag: 'nulls' }, bytesOf({ ...body, layers: null }))).rejects.toThrow(/layers must be an array/);
    await expect(repo.manifests.put({ tag: 'nulls' }, bytesOf({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: null }))).rejects.toThrow(
      ManifestInvalidError,
    );
    const { layers: _omitted, ...withoutLayers } = body;
    await expect(repo.manifests.put({ tag: 'no-layers' }, bytesOf(withoutLayers))).resolves.toBeDefined();
  });

  it('refuses with MANIFEST_INVALID a config, layer or index child whose size differs from the stored content', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const body = await imageBody(repo);
    const wrongLayer = { ...body, layers: [descriptor(LAYER_TYPE, LAYER, { size: LAYER.length + 1 })] };
    await expect(repo.manifests.put({ tag: 'v1' }, bytesOf(wrongLayer))).rejects.toThrow(ManifestInvalidError);
    await expect(repo.manifests.put({ tag: 'v1' }, bytesOf(wrongLayer))).rejects.toMatchObject({
      detail: { digest: Digest.fromBytes(Buffer.from(LAYER)).toString(), size: LAYER.length + 1, storedSize: LAYER.length },
    });
    const wrongConfig = { ...body, config: descriptor(CONFIG_TYPE, CONFIG, { size: 0 }) };
    await expect(repo.manifests.put({ tag: 'v1' }, bytesOf(wrongConfig))).rejects.toThrow(ManifestInvalidError);

    const child = bytesOf(body);
    const { digest } = await repo.manifests.put({ tag: 'child' }, child);
    const index = (size: number) => bytesOf({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [{ mediaType: MediaType.OCI_MANIFEST, digest: digest.toString(), size }] });
    await expect(repo.manifests.put({ tag: 'multi' }, index(child.length - 1))).rejects.toThrow(ManifestInvalidError);
    await expect(repo.manifests.put({ tag: 'multi' }, index(child.length))).resolves.toBeDefined();
    expect((await repo.tags.list()).items).toEqual(['child', 'multi']);
  });

  it('still answers MANIFEST_BLOB_UNKNOWN for a missing blob listed beside wrong sizes of present ones', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const body = await imageBody(repo);
    const layers = [descriptor(LAYER_TYPE, 'never pushed'), descriptor(LAYER_TYPE, LAYER)];
    await expect(repo.manifests.put({ tag: 'v1' }, bytesOf({ ...body, layers }))).rejects.toThrow(ManifestBlobUnknownError);
  });

  it(`refuses with MANIFEST_INVALID a manifest listing more than ${MAX_MANIFEST_DESCRIPTORS} descriptors`, async () => {
    const { registry } = makeRegistry({ maxManifestBytes: 16 * 1024 * 1024 });
    const repo = registry.repository('app');
    const body = await imageBody(repo);
    const layer = descriptor(LAYER_TYPE, LAYER);
    const over = bytesOf({ ...body, layers: Array.from({ length: MAX_MANIFEST_DESCRIPTORS + 1 }, () => layer) });
    expect(() => parseManifest(over)).toThrow(ManifestInvalidError);
    await expect(repo.manifests.put({ tag: 'over' }, over)).rejects.toThrow(/more than/);
    const index = bytesOf({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: Array.from({ length: MAX_MANIFEST_DESCRIPTORS + 1 }, () => layer) });
    expect(() => parseManifest(index)).toThrow(ManifestInvalidError);
  });

  it('checks a layer listed many times once', async () => {
    const layerHex = Digest.fromBytes(Buffer.from(LAYER)).hex;
    let counting = false;
    const { driver, reads } = countingDriver(createInMemoryDriver(), () => (counting ? layerHex : '\0'));
    const { registry } = makeRegistry({ driver });
    const repo = registry.repository('app');
    const body = await imageBody(repo);
    const layers = Array.from({ length: 5_000 }, () => descriptor(LAYER_TYPE, LAYER));
    counting = true;
    await repo.manifests.put({ tag: 'repeated' }, bytesOf({ ...body, layers }));
    counting = false;
    // The layer link, perhaps a revision link and the blob's size: a handful, not thousands.
    expect(reads()).toBeGreaterThan(0);
    expect(reads()).toBeLessThanOrEqual(3);
  });

  it('lets other work run while it checks a manifest of thousands of distinct layers', async () => {
    const { registry, driver } = makeRegistry();
    const repo = registry.repository('app');
    const body = await imageBody(repo);
    const layers = [];
    for (let i = 0; i < 5_000; i++) {
      const content = Buffer.from(`layer ${i}`);
      const digest = Digest.fromBytes(content);
      await driver.putContent(pathFor({ kind: 'blobData', digest }), content);
      await driver.putContent(pathFor({ kind: 'layerLink', name: 'app', digest }), Buffer.from(digest.toString()));
      layers.push(descriptor(LAYER_TYPE, content));
    }
    const order: string[] = [];
    const put = repo.manifests.put({ tag: 'many' }, bytesOf({ ...body, layers })).then(() => order.push('put done'));
    setImmediate(() => order.push('other work'));
    await put;
    expect(order).toEqual(['other work', 'put done']);
  });
});
