import { RangeInvalidError } from '@berth/registry';
import { UploadStateCodec } from '@berth/api';
import { parseContentRange, parseRange, uploadRangeHeader } from '../src/http-ranges';

describe('parseRange', () => {
  it('reads single byte ranges and clips them to the content', () => {
    expect(parseRange(undefined, 10)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=2-4', 10)).toEqual({ kind: 'partial', start: 2, end: 4 });
    expect(parseRange('bytes = 2 - 40', 10)).toEqual({ kind: 'partial', start: 2, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ kind: 'partial', start: 7, end: 9 });
    expect(parseRange('bytes=7-', 10)).toEqual({ kind: 'partial', start: 7, end: 9 });
  });

  it('ignores other units and multiple ranges', () => {
    expect(parseRange('items=0-1', 10)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=0-1,3-4', 10)).toEqual({ kind: 'full' });
  });

  it.each(['bytes=5-4', 'bytes=10-', 'bytes=-0', 'bytes=x', 'bytes=', 'bytes=1-2-3'])('refuses %s', (header) => {
    expect(() => parseRange(header, 10)).toThrow(RangeInvalidError);
  });

  it('refuses every range of an empty blob', () => {
    expect(() => parseRange('bytes=0-', 0)).toThrow(RangeInvalidError);
    expect(() => parseRange('bytes=-1', 0)).toThrow(RangeInvalidError);
  });
});

describe('parseContentRange', () => {
  it('reads start-end with tolerated prefixes and totals', () => {
    expect(parseContentRange('0-99')).toEqual({ start: 0, end: 99 });
    expect(parseContentRange('bytes 100-199/1000')).toEqual({ start: 100, end: 199 });
    expect(parseContentRange('bytes=5-5/*')).toEqual({ start: 5, end: 5 });
    expect(parseContentRange(undefined)).toBeUndefined();
  });

  it.each(['abc', '5-4', '-5', '1-', '1-2-3'])('refuses %s', (header) => {
    expect(() => parseContentRange(header)).toThrow(RangeInvalidError);
  });

  it('formats the upload Range header like distribution', () => {
    expect(uploadRangeHeader(0)).toBe('0-0');
    expect(uploadRangeHeader(1)).toBe('0-0');
    expect(uploadRangeHeader(1000)).toBe('0-999');
  });
});

describe('UploadStateCodec', () => {
  const state = { name: 'app', uuid: 'u', offset: 5, startedAt: '2024-01-01T00:00:00.000Z' };

  it('round-trips a state signed with the same secret', () => {
    expect(new UploadStateCodec('s').decode(new UploadStateCodec('s').encode(state))).toEqual(state);
  });

  it('refuses another secret, a changed payload and junk', () => {
    const token = new UploadStateCodec('s').encode(state);
    expect(() => new UploadStateCodec('t').decode(token)).toThrow(/signature/);
    const [, signature] = token.split('.');
    const forged = `${Buffer.from(JSON.stringify({ ...state, name: 'other' })).toString('base64url')}.${signature}`;
    expect(() => new UploadStateCodec('s').decode(forged)).toThrow(/signature/);
    for (const junk of ['', 'a', 'a.b.c', '.']) expect(() => new UploadStateCodec('s').decode(junk)).toThrow(/upload state/);
  });
});
