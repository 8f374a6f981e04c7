import { InvalidPathError, PATH_REGEXP, assertValidPath, isValidPath, isWithin, joinPath, parentPath } from '@berth/storage-driver';

describe('path grammar', () => {
  it.each(['/a', '/2', '/a.a', '/0-9/abcdefg', '/abc/1.2.3.4.5-6_zyx/123.z/4', '/.abc', '/abc.', '/...', '/a--b', '/_.abc', '/Abc/Cba'])(
    'accepts %j',
    (path) => {
      expect(isValidPath(path)).toBe(true);
      expect(() => assertValidPath('test', path)).not.toThrow();
    },
  );

  it.each(['', '/', 'abc', 'abc/def', '//abc', '/abc//def', '/abc/', '/.', '/..', '/a/./b', '/a/../b', '/a/..', '/a b', ' /a', '/a\n', '/é', '/a*b'])(
    'rejects %j',
    (path) => {
      expect(isValidPath(path)).toBe(false);
      expect(() => assertValidPath('test', path)).toThrow(InvalidPathError);
    },
  );

  it('keeps `.` and `..` segments out even though the regular expression alone admits them', () => {
    expect(PATH_REGEXP.test('/a/../b')).toBe(true);
    expect(isValidPath('/a/../b')).toBe(false);
  });

  it('accepts the root only where allowed', () => {
    expect(() => assertValidPath('test', '/', true)).not.toThrow();
    expect(() => assertValidPath('test', '/')).toThrow(InvalidPathError);
  });

  it('throws an InvalidPathError carrying the driver name and the path', () => {
    let error: unknown;
    try {
      assertValidPath('somedriver', '/a//b');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidPathError);
    expect(error).toMatchObject({ driver: 'somedriver', path: '/a//b', code: 'INVALID_PATH', name: 'InvalidPathError' });
    expect((error as Error).message).toBe('somedriver: invalid path: "/a//b"');
  });

  it('rejects non-strings without crashing', () => {
    expect(() => assertValidPath('test', undefined as unknown as string)).toThrow(InvalidPathError);
    expect(() => assertValidPath('test', 42 as unknown as string)).toThrow(InvalidPathError);
  });
});

describe('path helpers', () => {
  it('finds the parent directory', () => {
    expect(parentPath('/a/b/c')).toBe('/a/b');
    expect(parentPath('/a')).toBe('/');
  });

  it('joins a directory and a name, at the root too', () => {
    expect(joinPath('/', 'a')).toBe('/a');
    expect(joinPath('/a/b', 'c')).toBe('/a/b/c');
  });

  it('tells what lies within a directory, never a sibling sharing its prefix', () => {
    expect(isWithin('/a', '/a')).toBe(true);
    expect(isWithin('/a', '/a/b/c')).toBe(true);
    expect(isWithin('/', '/anything')).toBe(true);
    expect(isWithin('/a', '/ab')).toBe(false);
    expect(isWithin('/a', '/a-b/c')).toBe(false);
    expect(isWithin('/a/b', '/a')).toBe(false);
  });
});
