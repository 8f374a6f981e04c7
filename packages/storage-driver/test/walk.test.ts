import { joinPath, walkByList, type FileInfo, type WalkDecision } from '@berth/storage-driver';

/** A fixed tree read through list and stat, the only two calls walkByList makes. */
const DIRS: Record<string, string[]> = { '/': ['b', 'a'], '/a': ['y', 'x'], '/a/x': ['deep'], '/b': [] };
const FILES = new Set(['/a/y', '/a/x/deep']);
const tree = {
  async list(path: string): Promise<string[]> {
    return [...DIRS[path]].sort().map((name) => joinPath(path, name));
  },
  async stat(path: string): Promise<FileInfo> {
    return { path, size: FILES.has(path) ? 1 : 0, modTime: new Date(0), isDir: !FILES.has(path) };
  },
};

async function visited(decide: (info: FileInfo) => WalkDecision = () => undefined): Promise<[string[], boolean]> {
  const seen: string[] = [];
  const stopped = await walkByList(tree, '/', (info) => {
    seen.push(info.path);
    return decide(info);
  });
  return [seen, stopped];
}

describe('walkByList', () => {
  it('visits depth first, a directory before its children, in list order', async () => {
    expect(await visited()).toEqual([['/a', '/a/x', '/a/x/deep', '/a/y', '/b'], false]);
  });

  it("skips the children of a directory answered with 'skipdir'", async () => {
    expect(await visited((info) => (info.path === '/a/x' ? 'skipdir' : undefined))).toEqual([['/a', '/a/x', '/a/y', '/b'], false]);
  });

  it("stops everything on 'stop' and says so", async () => {
    expect(await visited((info) => (info.path === '/a/x/deep' ? 'stop' : undefined))).toEqual([['/a', '/a/x', '/a/x/deep'], true]);
  });
});
