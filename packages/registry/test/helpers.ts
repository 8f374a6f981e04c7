import { Readable } from 'node:stream';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import type { StorageDriver } from '@berth/storage-driver';
import { Digest, MediaType, Registry, type Repository, type RegistryOptions } from '@berth/registry';

/** A registry over a fresh in-memory driver (deletes enabled unless said otherwise). */
export function makeRegistry(options: Partial<RegistryOptions> = {}): { registry: Registry; driver: StorageDriver } {
  const driver = options.driver ?? createInMemoryDriver();
  return { registry: new Registry({ deleteEnabled: true, ...options, driver }), driver };
}

/** Pushes `content` as a blob into `repo` through a real upload session. */
export async function pushBlob(repo: Repository, content: Buffer | string): Promise<Digest> {
  const bytes = Buffer.from(content);
  const digest = Digest.fromBytes(bytes);
  const session = await repo.uploads.start();
  await repo.uploads.commit(session.id, digest, Readable.from([bytes]));
  return digest;
}

/** A descriptor object for JSON manifests. */
export function descriptor(mediaType: string, content: Buffer | string, extra: Record<string, unknown> = {}) {
  const bytes = Buffer.from(content);
  return { mediaType, digest: Digest.fromBytes(bytes).toString(), size: bytes.length, ...extra };
}

/** Pushes a config and one layer, and returns the bytes of an OCI image manifest referencing them. */
export async function imageManifest(repo: Repository, extra: Record<string, unknown> = {}, layer = 'layer bytes'): Promise<Buffer> {
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', layer });
  await pushBlob(repo, config);
  await pushBlob(repo, layer);
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      config: descriptor('application/vnd.oci.image.config.v1+json', config),
      layers: [descriptor('application/vnd.oci.image.layer.v1.tar+gzip', layer)],
      ...extra,
    }),
  );
}

/** Reads a stream to a buffer (tests only). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Every file path in the driver (sorted). */
export async function allFiles(driver: StorageDriver): Promise<string[]> {
  const files: string[] = [];
  try {
    await driver.walk('/', (info) => {
      if (!info.isDir) files.push(info.path);
    });
  } catch {
    return [];
  }
  return files.sort();
}
