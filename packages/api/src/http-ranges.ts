import { RangeInvalidError } from '@berth/registry';

/** What a blob GET serves: the whole blob, or one inclusive byte range of it. */
export type ReadRange = { readonly kind: 'full' } | { readonly kind: 'partial'; readonly start: number; readonly end: number };

const FULL: ReadRange = { kind: 'full' };

/**
 * Interprets a `Range` request header against a blob of `size` bytes (RFC 9110 §14). Answers the
 * whole blob when there is no header, the unit is not `bytes`, or several ranges are asked for (a
 * server may ignore Range). Throws `RangeInvalidError` (416) for a malformed or unsatisfiable
 * single range: `bytes=500-0`, a start at or past the end, a zero-length suffix.
 */
export function parseRange(header: string | undefined, size: number): ReadRange {
  if (header === undefined) return FULL;
  const match = /^\s*([A-Za-z]+)\s*=\s*(.*)$/.exec(header);
  if (!match || match[1].toLowerCase() !== 'bytes') return FULL;
  const spec = match[2].trim();
  if (spec.includes(',')) return FULL;
  const unsatisfiable = () => new RangeInvalidError(`range ${JSON.stringify(header)} cannot be served from ${size} bytes`, { resourceSize: size });
  const parts = /^(\d*)\s*-\s*(\d*)$/.exec(spec);
  if (!parts || (parts[1] === '' && parts[2] === '')) throw unsatisfiable();
  if (parts[1] === '') {
    const suffix = Number(parts[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(parts[1]);
  const end = parts[2] === '' ? size - 1 : Number(parts[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start || start >= size) throw unsatisfiable();
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}

/** An upload chunk's `Content-Range`: inclusive offsets. */
export interface ChunkRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Parses an upload `Content-Range` (`<start>-<end>`, inclusive; `bytes ` / `bytes=` prefixes and a
 * `/<total>` suffix are tolerated). Undefined when the header is absent; `RangeInvalidError` when
 * it is malformed or `end < start`.
 */
export function parseContentRange(header: string | undefined): ChunkRange | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const match = /^\s*(?:bytes[ =]\s*)?(\d+)\s*-\s*(\d+)\s*(?:\/\s*(?:\d+|\*))?\s*$/i.exec(header);
  if (!match) throw new RangeInvalidError(`malformed Content-Range ${JSON.stringify(header)}: expected <start>-<end>`);
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) {
    throw new RangeInvalidError(`invalid Content-Range ${JSON.stringify(header)}: end before start`);
  }
  return { start, end };
}

/** The `Range` header of upload responses: `0-<last byte>` (distribution answers `0-0` for an empty session). */
export function uploadRangeHeader(size: number): string {
  return `0-${Math.max(0, size - 1)}`;
}
