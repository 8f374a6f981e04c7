import { PathNotFoundError, type FileInfo, type StorageDriver } from '@berth/storage-driver';
import { Digest } from './digest';
import { baseName } from './paths';

/** True for the driver's "nothing at this path" error. */
export function isNotFound(error: unknown): error is PathNotFoundError {
  return error instanceof PathNotFoundError;
}

/**
 * The few storage idioms every store uses (links, existence, listing), over a driver. "Missing" is
 * answered with `undefined`/`false`; every other driver error propagates as a server fault.
 */
export class Storage {
  constructor(readonly driver: StorageDriver) {}

  /**
   * The digest a link file holds, or undefined when the link is missing. A link whose content is not
   * a valid digest is treated as missing (it cannot point anywhere).
   */
  async readLink(path: string): Promise<Digest | undefined> {
    let content: Buffer;
    try {
      content = await this.driver.getContent(path);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const text = content.toString('utf8').trim();
    return Digest.isValid(text) ? Digest.parse(text) : undefined;
  }

  /** Writes a link file atomically: the digest string, no newline. */
  async writeLink(path: string, digest: Digest): Promise<void> {
    await this.driver.putContent(path, Buffer.from(digest.toString(), 'utf8'));
  }

  async stat(path: string): Promise<FileInfo | undefined> {
    try {
      return await this.driver.stat(path);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== undefined;
  }

  /** Deletes a file or tree; resolves false when nothing was there. */
  async deleteIfExists(path: string): Promise<boolean> {
    try {
      await this.driver.delete(path);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** The names (last segments) of a directory's children, sorted; undefined when it is missing. */
  async listNames(path: string): Promise<string[] | undefined> {
    try {
      return (await this.driver.list(path)).map(baseName).sort();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** The whole content of a small file, or undefined when it is missing. */
  async getContent(path: string): Promise<Buffer | undefined> {
    try {
      return await this.driver.getContent(path);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
