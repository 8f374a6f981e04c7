import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { s3DriverFactory } from '@berth/driver-s3';
import { Digest, MediaType, pathFor, type Registry, type Repository } from '@berth/registry';
import type { DriverOperation, StorageDriver } from '@berth/storage-driver';
import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { descriptor, pushBlob, readAll } from './helpers';

/** Helpers of the garbage collection tests: the three drivers, images, indexes, referrers, storage snapshots. */

export interface Backend {
  readonly name: string;
  /** Why this backend cannot run here (S3 without a server), else undefined. */
  readonly skipReason?: string;
  create(observe?: (operation: DriverOperation) => void): Promise<{ driver: StorageDriver; dispose(): Promise<void> }>;
}

export const backends: Backend[] = [
  { name: 'inmemory', create: async (observe) => ({ driver: createInMemoryDriver({ observe }), dispose: async () => undefined }) },
  {
    name: 'filesystem',
    create: async (observe) => {
      const root = await mkdtemp(join(tmpdir(), 'berth-gc-'));
      const driver = await filesystemDriverFactory.create({ rootdirectory: root }, { observe });
      return { driver, dispose: () => rm(root, { recursive: true, force: true }) };
    },
  },
  {
    name: `s3 (${s3SkipReason() ?? describeS3Server()})`,
    skipReason: s3SkipReason(),
    create: async (observe) => {
      const driver = await s3DriverFactory.create(s3TestParameters('gc')!, { observe });
      return {
        driver,
        dispose: async () => {
          for (const path of await driver.list('/').catch(() => [])) await driver.delete(path);
          await driver.close?.();
        },
      };
    },
  },
];

/** A pushed image: its manifest and the blobs it references. */
export interface PushedImage {
  readonly digest: Digest;
  readonly content: Buffer;
  readonly config: Digest;
  readonly layers: readonly Digest[];
}

/** Pushes a config and `layers` (strings) and an OCI image manifest over them, tagged `tag` when given. */
export async function pushImage(
  repo: Repository,
  options: { layers: readonly string[]; tag?: string; config?: string; extra?: Record<string, unknown> },
): Promise<PushedImage> {
  const config = options.config ?? JSON.stringify({ architecture: 'amd64', os: 'linux', layers: options.layers });
  const configDigest = await pushBlob(repo, config);
  const layers: Digest[] = [];
  for (const layer of options.layers) layers.push(await pushBlob(repo, layer));
  const content = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      config: descriptor('application/vnd.oci.image.config.v1+json', config),
      layers: options.layers.map((layer) => descriptor('application/vnd.oci.image.layer.v1.tar+gzip', layer)),
      ...options.extra,
    }),
  );
  const reference = options.tag !== undefined ? { tag: options.tag } : { digest: Digest.fromBytes(content) };
  const { digest } = await repo.manifests.put(reference, content, { contentType: MediaType.OCI_MANIFEST });
  return { digest, content, config: configDigest, layers };
}

/** Pushes an OCI image index over `children` (already pushed), tagged `tag` when given. */
export async function pushIndex(repo: Repository, children: readonly PushedImage[], tag?: string): Promise<{ digest: Digest; content: Buffer }> {
  const content = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OCI_INDEX,
      manifests: children.map((child, i) => ({
        ...descriptor(MediaType.OCI_MANIFEST, child.content),
        platform: { architecture: ['amd64', 'arm64', 's390x'][i % 3], os: 'linux' },
      })),
    }),
  );
  const reference = tag !== undefined ? { tag } : { digest: Digest.fromBytes(content) };
  const { digest } = await repo.manifests.put(reference, content, { contentType: MediaType.OCI_INDEX });
  return { digest, content };
}

/** Pushes an untagged artifact (e.g. a signature) whose `subject` is `subject`. */
export async function pushReferrer(repo: Repository, subject: { digest: Digest; content: Buffer }, payload: string): Promise<PushedImage> {
  return pushImage(repo, {
    layers: [payload],
    config: '{}',
    extra: {
      artifactType: 'application/vnd.example.signature.v1',
      subject: { mediaType: MediaType.OCI_MANIFEST, digest: subject.digest.toString(), size: subject.content.length },
    },
  });
}

/** True when the blob's data is stored (whatever links say). */
export async function blobStored(driver: StorageDriver, digest: Digest): Promise<boolean> {
  try {
    return !(await driver.stat(pathFor({ kind: 'blobData', digest }))).isDir;
  } catch {
    return false;
  }
}

/**
 * Pulls `reference` from `repo` like a client: the manifest, then every blob it (and, for an index,
 * each child) references, each verified against its digest. Rejects on anything missing.
 */
export async function pull(repo: Repository, reference: { tag: string } | { digest: Digest }): Promise<Buffer> {
  const manifest = await repo.manifests.get(reference);
  const json = JSON.parse(manifest.content.toString('utf8')) as {
    config?: { digest: string };
    layers?: { digest: string }[];
    manifests?: { digest: string }[];
  };
  for (const child of json.manifests ?? []) await pull(repo, { digest: Digest.parse(child.digest) });
  for (const ref of [...(json.config ? [json.config] : []), ...(json.layers ?? [])]) {
    const digest = Digest.parse(ref.digest);
    await repo.blobs.stat(digest);
    const bytes = await readAll(await repo.blobs.open(digest));
    if (!Digest.fromBytes(bytes).equals(digest)) throw new Error(`blob ${digest} came back with other bytes`);
  }
  return manifest.content;
}

/** Every file of the store with a hash of its content: equal snapshots mean an unchanged store. */
export async function snapshot(driver: StorageDriver): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const paths: string[] = [];
  await driver
    .walk('/', (info) => {
      if (!info.isDir) paths.push(info.path);
    })
    .catch(() => undefined);
  for (const path of paths.sort()) {
    files.set(path, createHash('sha256').update(await driver.getContent(path)).digest('hex'));
  }
  return files;
}

/** Those of `digests` that have a `_layers` link in repository `name`. */
export async function linkedIn(registry: Registry, name: string, digests: readonly Digest[]): Promise<Digest[]> {
  const linked: Digest[] = [];
  for (const digest of digests) if (await registry.repository(name).blobs.isLinked(digest)) linked.push(digest);
  return linked;
}
