import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';

/**
 * Builds real OCI image layouts (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
 * on disk with node only, for skopeo to push: gzip'd tar layers of random bytes, config blobs,
 * image manifests and a multi-arch index, tagged through `org.opencontainers.image.ref.name`.
 */

export const MEDIA_TYPES = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: { readonly architecture: string; readonly os: string };
  readonly annotations?: Record<string, string>;
}

/** One image: its manifest's descriptor and bytes, and the blobs the manifest names. */
export interface ImageFixture {
  readonly manifest: Descriptor;
  readonly manifestBytes: Buffer;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export interface IndexFixture {
  readonly index: Descriptor;
  readonly indexBytes: Buffer;
  readonly images: readonly ImageFixture[];
}

/** The layout `buildOciLayout` writes: tag `single` is one image, tag `multi` an amd64+arm64 index. */
export interface LayoutFixture {
  readonly dir: string;
  readonly single: ImageFixture & { readonly tag: string };
  readonly multi: IndexFixture & { readonly tag: string };
}

const MiB = 1024 * 1024;

export interface LayoutSizes {
  /** Bytes of each random file in the single image's layers (one layer per entry). */
  readonly singleLayers: readonly number[];
  /** Bytes of the per-platform layer of each image of the index. */
  readonly platformLayer: number;
  /** Bytes of the base layer every image shares. */
  readonly baseLayer: number;
}

/** A few MB, and one 20 MiB layer in the single-arch image. */
export const DEFAULT_SIZES: LayoutSizes = { singleLayers: [3 * MiB, 20 * MiB], platformLayer: 2 * MiB, baseLayer: MiB / 2 };

export function sha256Digest(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function blobPath(dir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return join(dir, 'blobs', algorithm!, hex!);
}

async function writeJsonBlob(dir: string, value: unknown, mediaType: string): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
  const bytes = Buffer.from(JSON.stringify(value, null, 2));
  const digest = sha256Digest(bytes);
  await writeFile(blobPath(dir, digest), bytes);
  return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
}

class HashingPassThrough extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/**
 * Writes one gzip'd tar layer holding `size` random bytes (in files of at most 4 MiB), streamed to
 * disk. Resolves with the layer's descriptor and its diff ID (the digest of the uncompressed tar).
 */
async function writeRandomLayer(dir: string, size: number, label: string): Promise<{ descriptor: Descriptor; diffId: string }> {
  const pack = tar.pack();
  const tarHash = new HashingPassThrough();
  const gzHash = new HashingPassThrough();
  const tmp = join(dir, 'blobs', 'sha256', `.tmp-${randomUUID()}`);
  const written = pipeline(pack, tarHash, createGzip({ level: 1 }), gzHash, createWriteStream(tmp));
  const mtime = new Date('2024-01-01T00:00:00Z');
  pack.entry({ name: `${label}/`, type: 'directory', mode: 0o755, mtime });
  let remaining = size;
  for (let i = 0; remaining > 0; i++) {
    const n = Math.min(remaining, 4 * MiB);
    remaining -= n;
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: `${label}/part-${i}.bin`, size: n, mode: 0o644, mtime }, randomBytes(n), (error) => (error ? reject(error) : resolve())),
    );
  }
  pack.finalize();
  await written;
  const digest = `sha256:${gzHash.hash.digest('hex')}`;
  await rename(tmp, blobPath(dir, digest));
  return { descriptor: { mediaType: MEDIA_TYPES.layer, digest, size: gzHash.bytes }, diffId: `sha256:${tarHash.hash.digest('hex')}` };
}

async function writeImage(
  dir: string,
  platform: { architecture: string; os: string },
  layers: readonly { descriptor: Descriptor; diffId: string }[],
): Promise<ImageFixture> {
  const config = await writeJsonBlob(
    dir,
    {
      created: '2024-01-01T00:00:00Z',
      architecture: platform.architecture,
      os: platform.os,
      config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'], Labels: { 'org.berth.fixture': randomUUID() } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `fixture layer ${i}` })),
    },
    MEDIA_TYPES.config,
  );
  const manifest = await writeJsonBlob(
    dir,
    { schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config: config.descriptor, layers: layers.map((l) => l.descriptor) },
    MEDIA_TYPES.manifest,
  );
  return { manifest: manifest.descriptor, manifestBytes: manifest.bytes, config: config.descriptor, layers: layers.map((l) => l.descriptor) };
}

/** Writes a fresh OCI layout at `dir` (created) with a single-arch image and a multi-arch index. */
export async function buildOciLayout(dir: string, sizes: LayoutSizes = DEFAULT_SIZES): Promise<LayoutFixture> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const base = await writeRandomLayer(dir, sizes.baseLayer, 'base');
  const singleLayers = [base];
  for (const [i, size] of sizes.singleLayers.entries()) singleLayers.push(await writeRandomLayer(dir, size, `single-${i}`));
  const single = await writeImage(dir, { architecture: 'amd64', os: 'linux' }, singleLayers);

  const platforms = [
    { architecture: 'amd64', os: 'linux' },
    { architecture: 'arm64', os: 'linux' },
  ];
  const images: ImageFixture[] = [];
  for (const platform of platforms) {
    images.push(await writeImage(dir, platform, [base, await writeRandomLayer(dir, sizes.platformLayer, platform.architecture)]));
  }
  const index = await writeJsonBlob(
    dir,
    { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: images.map((image, i) => ({ ...image.manifest, platform: platforms[i] })) },
    MEDIA_TYPES.index,
  );

  const refName = 'org.opencontainers.image.ref.name';
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { ...single.manifest, annotations: { [refName]: 'single' } },
        { ...index.descriptor, annotations: { [refName]: 'multi' } },
      ],
    }),
  );
  return {
    dir,
    single: { ...single, tag: 'single' },
    multi: { index: index.descriptor, indexBytes: index.bytes, images, tag: 'multi' },
  };
}

/** Every blob digest an image consists of (manifest, config, layers). */
export function imageDigests(image: ImageFixture): Set<string> {
  return new Set([image.manifest.digest, image.config.digest, ...image.layers.map((l) => l.digest)]);
}

/** Every blob digest an index consists of (the index, and all its images). */
export function indexDigests(fixture: IndexFixture): Set<string> {
  const digests = new Set([fixture.index.digest]);
  for (const image of fixture.images) for (const d of imageDigests(image)) digests.add(d);
  return digests;
}

/** The digests of the blobs stored in a layout directory, each checked to hash to its own name. */
export async function layoutBlobDigests(dir: string): Promise<Set<string>> {
  const digests = new Set<string>();
  for (const hex of await readdir(join(dir, 'blobs', 'sha256'))) {
    const digest = `sha256:${hex}`;
    const actual = sha256Digest(await readFile(blobPath(dir, digest)));
    if (actual !== digest) throw new Error(`${dir}: blob ${digest} has content hashing to ${actual}`);
    digests.add(digest);
  }
  return digests;
}

/** Byte-for-byte comparison of one blob in two layouts; throws naming the blob when they differ. */
export async function assertSameBlob(dirA: string, dirB: string, digest: string): Promise<void> {
  const [a, b] = await Promise.all([readFile(blobPath(dirA, digest)), readFile(blobPath(dirB, digest))]);
  if (!a.equals(b)) throw new Error(`blob ${digest} differs between ${dirA} (${a.length} bytes) and ${dirB} (${b.length} bytes)`);
}

/** The descriptor a layout's index.json gives for a tag. */
export async function layoutTagDescriptor(dir: string, tag: string): Promise<Descriptor | undefined> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  return index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
}
