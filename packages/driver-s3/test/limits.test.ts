import { MAX_PARTS, MIN_PART_SIZE, copyPartSize, copyRanges } from '@berth/driver-s3';
import { compareWalkOrder, isHeldBack } from '../src/walk';

const MIB = 1024 * 1024;

describe('multipart copy ranges', () => {
  it('splits into multipartcopychunksize parts covering every byte once, the last one short', () => {
    const ranges = copyRanges(12 * MIB + 5, 5 * MIB);
    expect(ranges).toEqual([
      { partNumber: 1, first: 0, last: 5 * MIB - 1 },
      { partNumber: 2, first: 5 * MIB, last: 10 * MIB - 1 },
      { partNumber: 3, first: 10 * MIB, last: 12 * MIB + 4 },
    ]);
  });

  it('grows the part size when the preferred one would need more than 10000 parts', () => {
    const size = 400 * 1024 * MIB; // 400 GiB at 32 MiB would be 12800 parts
    const partSize = copyPartSize(size, 32 * MIB);
    expect(Math.ceil(size / partSize)).toBeLessThanOrEqual(MAX_PARTS);
    expect(copyRanges(size, 32 * MIB)).toHaveLength(Math.ceil(size / partSize));
  });

  it('never goes below the 5 MiB minimum and refuses what S3 cannot copy', () => {
    expect(copyPartSize(1, 1)).toBe(MIN_PART_SIZE);
    expect(() => copyPartSize(MAX_PARTS * 5 * 1024 * MIB + 1, 32 * MIB)).toThrow(RangeError);
  });
});

describe('walk order over a byte-ordered listing', () => {
  it('sorts "/" before every name character', () => {
    const keys = ['a-b', 'a.b', 'a/1', 'a', 'a/sub/x', 'Z', '_x', '9', 'b/c'];
    expect([...keys].sort(compareWalkOrder)).toEqual(['9', 'Z', '_x', 'a', 'a/1', 'a/sub/x', 'a-b', 'a.b', 'b/c']);
  });

  it('holds back a look-alike sibling while keys of the shorter name may still follow', () => {
    expect(isHeldBack('a-b', 'a-b')).toBe(true); // a/… may come later
    expect(isHeldBack('a-b', 'a.b')).toBe(true);
    expect(isHeldBack('a-b', 'a/x')).toBe(true);
    expect(isHeldBack('a-b', 'a0')).toBe(false); // the listing passed a/…
    expect(isHeldBack('a-b', 'b')).toBe(false);
    expect(isHeldBack('ab', 'ab')).toBe(false);
    expect(isHeldBack('x/a.b', 'x/a/c')).toBe(true);
    expect(isHeldBack('x/a.b', 'y')).toBe(false);
  });
});
