import { createHash } from 'node:crypto';
import { Digest, DigestInvalidError, NameInvalidError, TagInvalidError, assertRepositoryName, assertTag, isRepositoryName, isTag } from '@berth/registry';

const sha256 = createHash('sha256').update('x').digest('hex');
const sha512 = createHash('sha512').update('x').digest('hex');

describe('Digest.parse', () => {
  it('accepts sha256 and sha512 digests with lower-case hex', () => {
    expect(Digest.parse(`sha256:${sha256}`).toString()).toBe(`sha256:${sha256}`);
    const d = Digest.parse(`sha512:${sha512}`);
    expect(d.algorithm).toBe('sha512');
    expect(d.hex).toBe(sha512);
  });

  it.each([
    ['an empty string', ''],
    ['no algorithm', sha256],
    ['upper-case hex', `sha256:${sha256.toUpperCase()}`],
    ['a short sha256', `sha256:${sha256.slice(1)}`],
    ['a sha512 with sha256 length', `sha512:${sha256}`],
    ['a non-hex encoding', 'sha256:baddigeststring'],
    ['junk', 'not a digest'],
    ['an upper-case algorithm', `SHA256:${sha256}`],
  ])('rejects %s with DIGEST_INVALID', (_label, value) => {
    expect(() => Digest.parse(value)).toThrow(DigestInvalidError);
  });

  it('rejects an unsupported algorithm as DIGEST_INVALID saying it is unsupported', () => {
    expect(() => Digest.parse(`md5:${'a'.repeat(32)}`)).toThrow(/unsupported digest algorithm "md5"/);
    expect(() => Digest.parse(`blake3:${sha256}`)).toThrow(DigestInvalidError);
  });

  it('rejects non-strings', () => {
    expect(() => Digest.parse(undefined)).toThrow(DigestInvalidError);
    expect(() => Digest.parse(42)).toThrow(DigestInvalidError);
  });

  it('hashes bytes with the requested algorithm', () => {
    expect(Digest.fromBytes(Buffer.from('x')).toString()).toBe(`sha256:${sha256}`);
    expect(Digest.fromBytes(Buffer.from('x'), 'sha512').toString()).toBe(`sha512:${sha512}`);
  });
});

describe('repository names', () => {
  it.each(['a', 'library/ubuntu', 'a/b/c/d', 'a.b', 'a_b', 'a__b', 'a-b', 'a---b', '0', 'x'.repeat(255)])('accepts %s', (name) => {
    expect(() => assertRepositoryName(name)).not.toThrow();
    expect(isRepositoryName(name)).toBe(true);
  });

  it.each(['', 'A', 'a/B', 'Library', '-a', 'a-', 'a_', 'a___b', 'a..b', 'a//b', '/a', 'a/', 'a b', '_a', 'x'.repeat(256), 'a/../b'])(
    'rejects %j with NAME_INVALID',
    (name) => {
      expect(() => assertRepositoryName(name)).toThrow(NameInvalidError);
    },
  );

  it('says why an upper-case name is invalid', () => {
    expect(() => assertRepositoryName('Foo/bar')).toThrow(/upper-case/);
  });
});

describe('tags', () => {
  it.each(['latest', 'v1.0.0', '_private', 'A-b_c.d', 'x'.repeat(128)])('accepts %s', (tag) => {
    expect(() => assertTag(tag)).not.toThrow();
    expect(isTag(tag)).toBe(true);
  });

  it.each(['', '.hidden', '-dash', 'x'.repeat(129), 'a/b', 'a:b', 'sp ace'])('rejects %j with TAG_INVALID', (tag) => {
    expect(() => assertTag(tag)).toThrow(TagInvalidError);
  });
});
