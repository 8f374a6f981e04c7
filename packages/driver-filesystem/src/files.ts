import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A name the driver may show: one segment of the driver path grammar. */
const VISIBLE_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * True for directory entries that are part of the store. Everything else is hidden from `list` and
 * `walk`: the driver's own temporary files (whose names contain `~`, a character no driver path can
 * hold, so they can never collide with stored content) and foreign entries such as `lost+found`.
 */
export function isVisibleName(name: string): boolean {
  return VISIBLE_NAME.test(name) && name !== '.' && name !== '..';
}

/** A fresh temporary file name for `putContent`, invisible to the store (see `isVisibleName`). */
export function temporaryName(): string {
  return `.berth~${randomBytes(12).toString('hex')}.tmp`;
}

/** Node's error code of a failed system call, if any. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/** Flushes a directory's entries (a rename or create inside it) to stable storage. */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await fs.open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems cannot fsync a directory; the data itself was synced already.
    if (errorCode(error) !== 'EINVAL' && errorCode(error) !== 'EBADF') throw error;
  } finally {
    await handle.close();
  }
}

/** Writes every byte of `buffers` at the handle's current position (retrying short writes). */
export async function writeFully(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  let pending = buffers.filter((b) => b.length > 0);
  while (pending.length > 0) {
    let { bytesWritten } = await handle.writev(pending);
    const rest: Buffer[] = [];
    for (const buffer of pending) {
      if (bytesWritten >= buffer.length) {
        bytesWritten -= buffer.length;
      } else {
        rest.push(bytesWritten > 0 ? buffer.subarray(bytesWritten) : buffer);
        bytesWritten = 0;
      }
    }
    pending = rest;
  }
}

/**
 * Replaces `target` with `content` atomically: the bytes go to a temporary file in the same
 * directory, are fsynced, renamed over the target, and the directory is fsynced. Readers see the
 * old file or the new one, never a part; a crash leaves at most a hidden temporary file.
 */
export async function writeFileAtomic(target: string, content: Buffer): Promise<void> {
  const directory = dirname(target);
  const temporary = join(directory, temporaryName());
  const handle = await fs.open(temporary, 'wx');
  try {
    try {
      await writeFully(handle, [content]);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, target);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(directory);
}

/**
 * Moves `from` to `to` by copying when a rename cannot cross filesystems (EXDEV): the copy goes to a
 * temporary file next to `to`, is fsynced and renamed into place, then `from` is removed.
 */
export async function copyThenRemove(from: string, to: string): Promise<void> {
  const temporary = join(dirname(to), temporaryName());
  try {
    await fs.copyFile(from, temporary);
    const handle = await fs.open(temporary, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, to);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await fs.unlink(from);
}
