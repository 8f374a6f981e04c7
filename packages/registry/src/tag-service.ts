import type { RepositoryContext } from './context';
import { mapLimit } from './concurrency';
import { ManifestUnknownError, NameUnknownError } from './errors';
import { assertTag } from './names';
import { assertPageSize, compareLexically, paginate, type Page, type PageRequest } from './pagination';
import { Digest } from './digest';
import { pathFor } from './paths';
import { CacheField, invalidating, readThrough } from './shared-cache';
import { assertWritable } from './write-policy';

/** The tags of one repository (`_manifests/tags/<tag>/{current,index}`). */
export class TagService {
  constructor(private readonly ctx: RepositoryContext) {}

  /** The digest `tag` points at; `ManifestUnknownError` when the tag does not exist. */
  async resolve(tag: string): Promise<Digest> {
    assertTag(tag);
    const digest = await readThrough(
      this.ctx.shared,
      this.ctx.name,
      CacheField.tag(tag),
      (cached) => Digest.parse(cached.toString()),
      () => this.ctx.storage.readLink(pathFor({ kind: 'tagCurrentLink', name: this.ctx.name, tag })),
      (found) => found?.toString(),
    );
    if (!digest) throw new ManifestUnknownError(tag);
    return digest;
  }

  /**
   * Points `tag` at `digest`: `current/link` is replaced atomically (concurrent updates leave one
   * winner, never a torn link) and `index/<alg>/<hex>/link` records the history.
   */
  async tag(tag: string, digest: Digest): Promise<void> {
    assertTag(tag);
    assertWritable(this.ctx.writes, 'push');
    const { storage, name } = this.ctx;
    await invalidating(this.ctx.shared, name, async () => {
      await storage.writeLink(pathFor({ kind: 'tagIndexLink', name, tag, digest }), digest);
      await storage.writeLink(pathFor({ kind: 'tagCurrentLink', name, tag }), digest);
    });
  }

  /** Removes the tag (not the manifest). Needs the write policy to allow deletes; `ManifestUnknownError` when absent. */
  async untag(tag: string): Promise<void> {
    assertTag(tag);
    assertWritable(this.ctx.writes, 'delete');
    await invalidating(this.ctx.shared, this.ctx.name, async () => {
      await this.resolve(tag);
      await this.ctx.storage.deleteIfExists(pathFor({ kind: 'tagDir', name: this.ctx.name, tag }));
    });
  }

  /** Every tag name, sorted; `NameUnknownError` when the repository has no `_manifests`. */
  async all(): Promise<string[]> {
    return readThrough(
      this.ctx.shared,
      this.ctx.name,
      CacheField.tags,
      (cached) => JSON.parse(cached.toString()) as string[],
      () => this.allFromStorage(),
      (tags) => JSON.stringify(tags),
    );
  }

  private async allFromStorage(): Promise<string[]> {
    const { storage, name } = this.ctx;
    const tags = await storage.listNames(pathFor({ kind: 'tags', name }));
    if (tags) return tags.sort(compareLexically);
    if (await storage.exists(pathFor({ kind: 'manifests', name }))) return [];
    throw new NameUnknownError(name);
  }

  /**
   * A page of tags in lexical order (`n`, exclusive `last`); `PaginationNumberInvalidError` for a bad
   * `n`. An `n` above `maxTags` is lowered to it (`more` then tells that tags follow), and without
   * `n` every tag is returned, as in distribution 3.
   */
  async list(request: PageRequest = {}): Promise<Page<string>> {
    assertPageSize(request.n);
    const n = request.n === undefined ? undefined : Math.min(request.n, this.ctx.maxTags);
    return paginate(await this.all(), { n, last: request.last });
  }

  /** The tags currently pointing at `digest`: at most `tagConcurrencyLimit` tag links read at once. */
  async lookup(digest: Digest): Promise<string[]> {
    let tags: string[];
    try {
      tags = await this.all();
    } catch (error) {
      if (error instanceof NameUnknownError) return [];
      throw error;
    }
    const pointing = await mapLimit(tags, this.ctx.tagConcurrencyLimit, async (tag) => {
      const current = await this.ctx.storage.readLink(pathFor({ kind: 'tagCurrentLink', name: this.ctx.name, tag }));
      return current?.equals(digest) ? tag : undefined;
    });
    return pointing.filter((tag): tag is string => tag !== undefined);
  }

  /** Removes every tag pointing at `digest` (used when the manifest is deleted); resolves with them. */
  async untagDigest(digest: Digest): Promise<string[]> {
    const tags = await this.lookup(digest);
    await mapLimit(tags, this.ctx.tagConcurrencyLimit, (tag) =>
      this.ctx.storage.deleteIfExists(pathFor({ kind: 'tagDir', name: this.ctx.name, tag })),
    );
    return tags;
  }
}
