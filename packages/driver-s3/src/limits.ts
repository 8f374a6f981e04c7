/** S3's multipart limits (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html). */
export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;

/** Every part but the last must be at least this large. */
export const MIN_PART_SIZE = 5 * MIB;
/** No part (uploaded or copied) may be larger. Also the largest single CopyObject. */
export const MAX_PART_SIZE = 5 * GIB;
/** Part numbers run from 1 to this. */
export const MAX_PARTS = 10_000;
/** Keys per DeleteObjects request. */
export const MAX_DELETE_BATCH = 1000;
/** How long a presigned redirect URL stays valid (distribution: 20 minutes). */
export const PRESIGN_EXPIRES_SECONDS = 20 * 60;

/** One `bytes=first-last` range of a multipart copy (inclusive, as S3's CopySourceRange). */
export interface CopyRange {
  readonly partNumber: number;
  readonly first: number;
  readonly last: number;
}

/**
 * The part size a multipart copy of `size` bytes uses: `preferred` (multipartcopychunksize), grown
 * when that would need more than `MAX_PARTS` parts, never below `MIN_PART_SIZE` or above
 * `MAX_PART_SIZE`. Throws when `size` cannot be copied at all (over 10000 × 5 GiB).
 */
export function copyPartSize(size: number, preferred: number): number {
  const needed = Math.ceil(size / MAX_PARTS);
  const partSize = Math.max(preferred, needed, MIN_PART_SIZE);
  if (partSize > MAX_PART_SIZE) throw new RangeError(`object of ${size} bytes is too large for a multipart copy`);
  return partSize;
}

/** The ranges that copy `size` bytes in parts of `copyPartSize(size, preferred)`; none for size 0. */
export function copyRanges(size: number, preferred: number): CopyRange[] {
  const partSize = copyPartSize(size, preferred);
  const ranges: CopyRange[] = [];
  for (let first = 0, partNumber = 1; first < size; first += partSize, partNumber++) {
    ranges.push({ partNumber, first, last: Math.min(first + partSize, size) - 1 });
  }
  return ranges;
}

/**
 * Whether a writer's buffered tail of `length` bytes may go to S3 as a part that is not the last
 * one. Shorter tails are kept in the writer's tail object instead (see writer.ts).
 */
export function isUploadablePart(length: number): boolean {
  return length >= MIN_PART_SIZE;
}
