import { withImplicitServe } from '../src/argv';

describe('withImplicitServe', () => {
  it('treats a bare config path as serve <path>, like the registry:2 entrypoint', () => {
    expect(withImplicitServe(['node', 'berth', '/etc/docker/registry/config.yml'])).toEqual([
      'node',
      'berth',
      'serve',
      '/etc/docker/registry/config.yml',
    ]);
    expect(withImplicitServe(['node', 'berth', 'other.YAML'])).toEqual(['node', 'berth', 'serve', 'other.YAML']);
  });

  it('leaves commands and options alone', () => {
    for (const argv of [
      ['node', 'berth', 'serve', 'config.yml'],
      ['node', 'berth', 'garbage-collect', '--dry-run', 'config.yml'],
      ['node', 'berth', '--version'],
      ['node', 'berth'],
    ]) {
      expect(withImplicitServe(argv)).toEqual(argv);
    }
  });
});
