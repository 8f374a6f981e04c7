import { yieldIfDue } from '@berth/storage-driver';
import type { RepositoryContext } from './context';
import { mapLimit } from './concurrency';
import { ManifestUnknownError, NameUnknownError } from './errors';
import { assertTag } from './names';
import { assertPageSize, compareLexically, paginate, type Page, type PageRequest } from './pagination';
import { Digest } from './digest';
import { pathFor } from './paths';
import { assertTagDeletable } from './policies/enforce';
import { CacheField, invalidating, readThrough } from './shared-cache';
import { isNotFound } from './storage';
import { assertWritable } from './write-policy';

/** One tag with what it points at (`TagService.details`). */
export interface TagDetail {
  readonly tag: string;
  readonly digest: Digest;
  /** When the tag was last pushed (its `current/link` was written), by the storage's clock. */
  readonly pushed: Date;
}

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
    this.ctx.usage.invalidate(name);
  }

  /** Removes the tag (not the manifest). Needs the write policy to allow deletes; `ManifestUnknownError` when absent. */
  async untag(tag: string): Promise<void> {
    assertTag(tag);
    assertWritable(this.ctx.writes, 'delete');
    await invalidating(this.ctx.shared, this.ctx.name, async () => {
      await this.resolve(tag);
      assertTagDeletable(this.ctx, tag);
      await this.ctx.storage.deleteIfExists(pathFor({ kind: 'tagDir', name: this.ctx.name, tag }));
    });
    this.ctx.usage.invalidate(this.ctx.name);
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

  /**
   * Every tag with its digest and push time, sorted by tag; `NameUnknownError` as `all`. On a
   * driver whose `walk` is one flat listing (S3), the tag tree is listed in a few requests and only
   * the links of tags pointed at more than one digest in their history are read (a tag's `index`
   * holds every digest it ever had, so a single entry is the current one); elsewhere each tag's
   * `current/link` is read and stated, `tagConcurrencyLimit` at once.
   */
  async details(): Promise<TagDetail[]> {
    const { storage, name } = this.ctx;
    const root = pathFor({ kind: 'tags', name });
    let found: TagDetail[];
    if (storage.driver.walksFlat) {
      const tags = await this.walkTags(root);
      if (tags.size === 0) return this.all().then(() => []);
      const pending = [...tags].filter(([, seen]) => seen.pushed !== undefined);
      found = (
        await mapLimit(pending, this.ctx.tagConcurrencyLimit, async ([tag, seen]) => {
          const digest = seen.indexed.length === 1 ? seen.indexed[0] : await storage.readLink(pathFor({ kind: 'tagCurrentLink', name, tag }));
          return digest && seen.pushed ? { tag, digest, pushed: seen.pushed } : undefined;
        })
      ).filter((detail): detail is TagDetail => detail !== undefined);
    } else {
      const tags = await this.all();
      found = (
        await mapLimit(tags, this.ctx.tagConcurrencyLimit, async (tag) => {
          const link = pathFor({ kind: 'tagCurrentLink', name, tag });
          const [digest, info] = await Promise.all([storage.readLink(link), storage.stat(link)]);
          return digest && info ? { tag, digest, pushed: info.modTime } : undefined;
        })
      ).filter((detail): detail is TagDetail => detail !== undefined);
    }
    return found.sort((a, b) => compareLexically(a.tag, b.tag));
  }

  /** The tags under `root` from one walk: each one's `current/link` time and its index entries. */
  private async walkTags(root: string): Promise<Map<string, { pushed?: Date; indexed: Digest[] }>> {
    const tags = new Map<string, { pushed?: Date; indexed: Digest[] }>();
    try {
      await this.ctx.storage.driver.walk(root, async (info) => {
        await yieldIfDue();
        if (info.isDir) return undefined;
        const parts = info.path.slice(root.length + 1).split('/');
        const tag = parts[0] as string;
        const seen = tags.get(tag) ?? { indexed: [] };
        tags.set(tag, seen);
        if (parts.length === 3 && parts[1] === 'current' && parts[2] === 'link') seen.pushed = info.modTime;
        else if (parts.length === 5 && parts[1] === 'index' && parts[4] === 'link') {
          const text = `${parts[2]}:${parts[3]}`;
          if (Digest.isValid(text)) seen.indexed.push(Digest.parse(text));
        }
        return undefined;
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return tags;
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
    if (tags.length > 0) this.ctx.usage.invalidate(this.ctx.name);
    return tags;
  }
}
