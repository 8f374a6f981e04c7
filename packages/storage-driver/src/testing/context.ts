import { createHash, randomBytes, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { StorageDriver } from '../driver';
import { PathNotFoundError, StorageDriverError } from '../errors';

/** Per-test timeout of ordinary cases; generous because remote stores (S3) are slow. */
export const CASE_TIMEOUT_MS = 300_000;
/** Per-test timeout of the large round trip. */
export const LARGE_TIMEOUT_MS = 900_000;
/** Default size of the large round trip. */
export const DEFAULT_LARGE_SIZE = 64 * 1024 * 1024;

/** What every group of cases is given: the driver (once `beforeAll` made it) and unique scratch names. */
export interface SuiteContext {
  /** The driver under test; throws when read before `beforeAll` created it. */
  readonly driver: StorageDriver;
  /** Size of the large streamed round trip, in bytes. */
  readonly largeSize: number;
  /** A fresh top-level directory path (`/conformance-…`) that no other test uses; nothing is created. */
  scratchDir(): string;
}

/**
 * Runs `body` with a fresh scratch directory and deletes that directory afterwards, whether or not
 * the body failed. A failing cleanup fails the test unless the body already failed (its error wins).
 */
export async function inScratch(ctx: SuiteContext, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = ctx.scratchDir();
  try {
    await body(dir);
  } catch (error) {
    await deleteIfPresent(ctx.driver, dir).catch(() => undefined);
    throw error;
  }
  await deleteIfPresent(ctx.driver, dir);
}

/**
 * Waits for every promise to settle, then rethrows the first failure. Unlike `Promise.all` it never
 * stops waiting early, so no operation of a failed case is still running when its cleanup starts.
 */
export async function settleAll(promises: ReadonlyArray<Promise<unknown>>): Promise<void> {
  for (const outcome of await Promise.allSettled(promises)) if (outcome.status === 'rejected') throw outcome.reason;
}

/** Deletes `path`, treating "already gone" as success. */
export async function deleteIfPresent(driver: StorageDriver, path: string): Promise<void> {
  try {
    await driver.delete(path);
  } catch (error) {
    if (!(error instanceof PathNotFoundError)) throw error;
  }
}

type ErrorClass<E> = abstract new (...args: never[]) => E;

/**
 * Awaits `promise` and asserts it rejected with an instance of `type` whose `driver` is the driver's
 * name and whose message names the driver. Returns the error for further checks.
 */
export async function expectDriverError<E extends StorageDriverError>(
  driver: StorageDriver,
  promise: Promise<unknown>,
  type: ErrorClass<E>,
): Promise<E> {
  let settled: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    settled = { ok: true, value: await promise };
  } catch (error) {
    settled = { ok: false, error };
  }
  if (settled.ok) {
    throw new Error(`expected a ${type.name} from driver "${driver.name}", but the call succeeded`);
  }
  const error = settled.error;
  if (!(error instanceof type)) {
    throw new Error(`expected a ${type.name} from driver "${driver.name}", got: ${describeError(error)}`, { cause: error });
  }
  expect(error.driver).toBe(driver.name);
  expect(error.message).toContain(driver.name);
  return error;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Reads a stream to its end. Only for small contents: the large cases hash instead. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** Consumes a stream to its end, returning its SHA-256 (hex) and length without keeping it. */
export async function hashStream(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    hash.update(buffer);
    size += buffer.length;
  }
  return { sha256: hash.digest('hex'), size };
}

export function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** `size` random bytes. */
export function randomContent(size: number): Buffer {
  return randomBytes(size);
}

/**
 * A stream of `size` random bytes produced on demand in chunks of `chunkSize` (deliberately not a
 * power of two, so drivers see unaligned writes). Every chunk is fed to `hash` as it is produced,
 * so the content exists only in flight.
 */
export function randomStream(size: number, hash: Hash, chunkSize = 1024 * 1024 + 7): Readable {
  let remaining = size;
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      if (remaining === 0) {
        this.push(null);
        return;
      }
      const chunk = randomBytes(Math.min(remaining, chunkSize));
      remaining -= chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
}

/** A stream that yields `content` in pieces of `pieceSize` bytes (to exercise small reads/writes). */
export function streamOf(content: Buffer, pieceSize = 64 * 1024): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0; i < content.length; i += pieceSize) pieces.push(content.subarray(i, i + pieceSize));
  return Readable.from(pieces, { objectMode: false });
}
