import type { BlobService } from './blob-service';
import { mapLimit } from './concurrency';
import type { RepositoryContext } from './context';
import { Digest } from './digest';
import {
  DigestInvalidError,
  ManifestBlobUnknownError,
  ManifestInvalidError,
  ManifestTooLargeError,
  ManifestUnknownError,
} from './errors';
import { describeStoredManifest, parseManifest, type Descriptor, type ParsedManifest } from './manifest-parse';
import { MANIFEST_MEDIA_TYPES, NON_DISTRIBUTABLE_LAYER_TYPES } from './media-types';
import { assertTag } from './names';
import { pathFor } from './paths';
import { assertManifestDeletable, assertTagsMayPoint, assertWithinQuota, underPolicyLock } from './policies/enforce';
import { CacheField, invalidating, readThrough } from './shared-cache';
import type { TagService } from './tag-service';
import { assertWritable } from './write-policy';

/** A manifest reference from a URL: a tag or a digest. */
export type ManifestReference = { readonly tag: string; readonly digest?: undefined } | { readonly digest: Digest; readonly tag?: undefined };

/**
 * Parses `<reference>`: a digest when it contains `:` (`DigestInvalidError` if malformed), else a
 * tag (`TagInvalidError` if malformed).
 */
export function parseReference(reference: string): ManifestReference {
  if (reference.includes(':')) return { digest: Digest.parse(reference) };
  assertTag(reference);
  return { tag: reference };
}

function referenceString(reference: ManifestReference): string {
  return reference.digest ? reference.digest.toString() : reference.tag;
}

/** A stored manifest, exactly as pushed. */
export interface StoredManifest {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly content: Buffer;
}

/** What a successful PUT produced. */
export interface PutManifestResult {
  readonly digest: Digest;
  readonly mediaType: string;
  /** The `subject` digest, when the manifest has one (the API answers `OCI-Subject`). */
  readonly subject?: Digest;
}

const REFERENCE_CHECK_CONCURRENCY = 16;

/** The stored content a manifest references, with sizes (what a quota counts); not external layers. */
function referencedSizes(manifest: ParsedManifest): Array<[string, number]> {
  return [...(manifest.config ? [manifest.config] : []), ...manifest.layers, ...manifest.manifests]
    .filter((d) => !(NON_DISTRIBUTABLE_LAYER_TYPES.has(d.mediaType) && (d.urls?.length ?? 0) > 0))
    .map((d) => [d.digest.toString(), d.size]);
}

/** The manifests of one repository (`_manifests/revisions`), stored as blobs. */
export class ManifestService {
  constructor(
    private readonly ctx: RepositoryContext,
    private readonly blobs: BlobService,
    private readonly tags: TagService,
  ) {}

  /** True when the manifest is in this repository (its revision link exists). */
  async exists(digest: Digest): Promise<boolean> {
    const read = async (): Promise<boolean> => {
      const linked = await this.ctx.storage.readLink(pathFor({ kind: 'revisionLink', name: this.ctx.name, digest }));
      return linked !== undefined && linked.equals(digest);
    };
    return readThrough(this.ctx.shared, this.ctx.name, CacheField.revision(digest.toString()), () => true, read, (linked) => (linked ? '1' : undefined));
  }

  /**
   * The manifest bytes and media type; `ManifestUnknownError` when the reference does not resolve.
   * The revision link and the bytes (remembered by digest, else read) are read side by side: one
   * round trip to the store instead of two for a manifest this process has not served yet.
   */
  async get(reference: ManifestReference): Promise<StoredManifest> {
    const digest = reference.digest ?? (await this.tags.resolve(reference.tag));
    const reading = this.ctx.blobStore.getContent(digest);
    // Settled below; when the link is missing (or failed) the bytes are not wanted.
    reading.catch(() => undefined);
    if (!(await this.exists(digest))) throw new ManifestUnknownError(referenceString(reference));
    const content = await reading;
    if (content === undefined) throw new ManifestUnknownError(referenceString(reference));
    return { digest, mediaType: describeStoredManifest(content).mediaType, content };
  }

  /**
   * Validates and stores a manifest (exact bytes), links it, records its referrer entry and points
   * the tags at it: the reference's tag, plus `extraTags` (the `?tag=` parameters of a PUT by
   * digest). The digest is sha256 unless the reference is a digest, which the content must match
   * (`DigestInvalidError`). Every config, layer and child must already be in this repository
   * (`ManifestBlobUnknownError`), except non-distributable layers that carry URLs; a `subject` need
   * not exist. `verifyReferences: false` skips that check: a pull-through cache stores a manifest
   * before the blobs it names, which it fetches when they are asked for.
   */
  async put(
    reference: ManifestReference,
    content: Buffer,
    options: { contentType?: string; extraTags?: readonly string[]; verifyReferences?: boolean } = {},
  ): Promise<PutManifestResult> {
    assertWritable(this.ctx.writes, 'push');
    if (content.length > this.ctx.maxManifestBytes) throw new ManifestTooLargeError(this.ctx.maxManifestBytes);
    const tags = [...(reference.tag !== undefined ? [reference.tag] : []), ...(options.extraTags ?? [])];
    tags.forEach(assertTag);
    const manifest = parseManifest(content, options.contentType);
    const digest = Digest.fromBytes(content, reference.digest?.algorithm ?? 'sha256');
    if (reference.digest && !reference.digest.equals(digest)) {
      throw new DigestInvalidError(`manifest digest ${digest} does not match the reference ${reference.digest}`, {
        digest: reference.digest.toString(),
      });
    }
    if (options.verifyReferences !== false) await this.verifyReferences(manifest);

    const { storage, name } = this.ctx;
    await underPolicyLock(this.ctx, async () => {
      // Policies are checked under the repository's lock, before anything new is linked.
      await assertTagsMayPoint(this.ctx, tags, digest);
      await assertWithinQuota(this.ctx, [[digest.toString(), content.length], ...referencedSizes(manifest)]);
      await this.ctx.blobStore.putContent(digest, content);
      await storage.writeLink(pathFor({ kind: 'revisionLink', name, digest }), digest);
      if (manifest.subject) {
        await storage.writeLink(pathFor({ kind: 'referrerLink', name, subject: manifest.subject.digest, digest }), digest);
      }
      this.ctx.usage.invalidate(name);
      for (const tag of tags) await this.tags.tag(tag, digest);
    });
    this.ctx.logger.debug('manifest stored', { repository: name, digest: digest.toString(), mediaType: manifest.mediaType, tags });
    return { digest, mediaType: manifest.mediaType, subject: manifest.subject?.digest };
  }

  /**
   * By tag: removes just the tag. By digest: removes the revision link, its referrer entry and
   * every tag pointing at it. Needs the write policy to allow deletes (`UnsupportedError`).
   */
  async delete(reference: ManifestReference): Promise<void> {
    assertWritable(this.ctx.writes, 'delete');
    if (reference.tag !== undefined) return this.tags.untag(reference.tag);
    const { storage, name } = this.ctx;
    const digest = reference.digest;
    await invalidating(this.ctx.shared, name, async () => {
      if (!(await this.exists(digest))) throw new ManifestUnknownError(digest.toString());
      if ((this.ctx.policies.ruleFor(name)?.rule.immutableTags.length ?? 0) > 0) {
        assertManifestDeletable(this.ctx, digest, await this.tags.lookup(digest));
      }
      const content = await this.ctx.blobStore.getContent(digest);
      const subject = content ? describeStoredManifest(content).subject : undefined;
      await storage.deleteIfExists(pathFor({ kind: 'revisionDir', name, digest }));
      this.ctx.usage.invalidate(name);
      if (subject) {
        await storage.deleteIfExists(pathFor({ kind: 'referrerLink', name, subject, digest }));
      }
      const untagged = await this.tags.untagDigest(digest);
      this.ctx.logger.debug('manifest deleted', { repository: name, digest: digest.toString(), untagged });
    });
  }

  /**
   * Every config, layer and child must be in this repository with the size its descriptor states
   * (else `ManifestBlobUnknownError`, `ManifestInvalidError`). Each distinct digest is looked up
   * once, however often it is listed, and the loop yields to the event loop as it goes: a fast
   * driver answers without I/O, and thousands of checks would otherwise hold every other request.
   */
  private async verifyReferences(manifest: ParsedManifest): Promise<void> {
    const blobs = [...(manifest.config ? [manifest.config] : []), ...manifest.layers].filter(
      (d) => !(NON_DISTRIBUTABLE_LAYER_TYPES.has(d.mediaType) && (d.urls?.length ?? 0) > 0),
    );
    const listed = [...blobs, ...manifest.manifests];
    const distinct = new Map<string, Descriptor>();
    for (const d of listed) if (!distinct.has(d.digest.toString())) distinct.set(d.digest.toString(), d);
    const sizes = await this.storedSizes([...distinct.values()]);
    for (const d of listed) {
      const storedSize = sizes.get(d.digest.toString());
      if (storedSize === undefined) throw new ManifestBlobUnknownError(d.digest.toString());
    }
    for (const d of listed) {
      const storedSize = sizes.get(d.digest.toString());
      if (storedSize !== d.size) {
        const message = `descriptor of ${d.digest} says size ${d.size}, the stored content has ${storedSize} bytes`;
        throw new ManifestInvalidError(message, { digest: d.digest.toString(), size: d.size, storedSize });
      }
    }
  }

  /**
   * The stored size of each descriptor's content that resolves in this repository (missing: not in
   * the map). Stops looking once one is missing: the PUT fails anyway.
   */
  private async storedSizes(descriptors: readonly Descriptor[]): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    let missing = false;
    // mapLimit lets timers and I/O in every few ms, also when the driver answers from memory.
    await mapLimit(descriptors, REFERENCE_CHECK_CONCURRENCY, async (d) => {
      if (missing) return;
      const [resolves, stored] = await Promise.all([this.referenceExists(d), this.ctx.blobStore.stat(d.digest)]);
      if (resolves && stored) sizes.set(d.digest.toString(), stored.size);
      else missing = true;
    });
    return sizes;
  }

  /** A descriptor resolves when it is a manifest or a blob of this repository. */
  private async referenceExists(descriptor: Descriptor): Promise<boolean> {
    if (MANIFEST_MEDIA_TYPES.has(descriptor.mediaType)) {
      return (await this.exists(descriptor.digest)) || this.blobs.isLinked(descriptor.digest);
    }
    return (await this.blobs.isLinked(descriptor.digest)) || this.exists(descriptor.digest);
  }
}
