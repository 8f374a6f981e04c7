import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { StorageDriverError, writeAccepted } from '@berth/storage-driver';

/** Size of each of the two read buffers of a `sendTo`. */
export const SEND_BUFFER_BYTES = 1024 * 1024;

/**
 * Copies `length` bytes from `position` of an open file to `sink` through two buffers used in turn:
 * one is read into while the sink takes the other, and a buffer is read into again only once the
 * sink has accepted its previous bytes. No allocation per chunk: serving from a reused buffer was
 * twice as fast as `createReadStream`'s fresh 1 MiB buffers (a 1 GiB file to curl on loopback,
 * 4.8 against 2.4 GB/s here), whose allocation, page faults and garbage collection dominate.
 */
export async function sendRange(driver: string, path: string, handle: FileHandle, position: number, length: number, sink: Writable): Promise<void> {
  const size = Math.min(SEND_BUFFER_BYTES, length);
  if (size === 0) return;
  const buffers = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)];
  const accepted: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  let remaining = length;
  for (let turn = 0; remaining > 0; turn ^= 1) {
    await accepted[turn];
    const buffer = buffers[turn] as Buffer;
    const { bytesRead } = await handle.read(buffer, 0, Math.min(size, remaining), position);
    if (bytesRead === 0) {
      await Promise.all(accepted);
      throw new StorageDriverError(driver, `${path} ended ${remaining} bytes before the range asked for`);
    }
    position += bytesRead;
    remaining -= bytesRead;
    const write = writeAccepted(sink, buffer.subarray(0, bytesRead));
    // Its failure is reported by the next await of it, not as an unhandled rejection meanwhile.
    write.catch(() => undefined);
    accepted[turn] = write;
  }
  await Promise.all(accepted);
}
