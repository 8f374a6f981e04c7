import { SYSTEM_CONFIG_PATH, defaultConfigYaml, resolveConfigSource } from '../src/default-config';

describe('resolveConfigSource', () => {
  const none = (): boolean => false;

  it('takes the command-line argument first', () => {
    expect(resolveConfigSource('a.yml', { REGISTRY_CONFIGURATION_PATH: 'b.yml' }, () => true)).toEqual({ kind: 'file', path: 'a.yml', origin: 'argument' });
  });

  it('then REGISTRY_CONFIGURATION_PATH', () => {
    expect(resolveConfigSource(undefined, { REGISTRY_CONFIGURATION_PATH: 'b.yml' }, () => true)).toEqual({ kind: 'file', path: 'b.yml', origin: 'environment' });
  });

  it('then /etc/docker/registry/config.yml when it exists', () => {
    expect(resolveConfigSource(undefined, {}, (p) => p === SYSTEM_CONFIG_PATH)).toEqual({ kind: 'file', path: SYSTEM_CONFIG_PATH, origin: 'system' });
  });

  it('else the embedded default', () => {
    const source = resolveConfigSource(undefined, { REGISTRY_CONFIGURATION_PATH: '' }, none);
    expect(source.kind).toBe('default');
  });
});

describe('defaultConfigYaml', () => {
  it('stores under <cwd>/data and listens on :5000', () => {
    const text = defaultConfigYaml('/srv/berth');
    expect(text).toContain('rootdirectory: "/srv/berth/data"');
    expect(text).toContain('addr: ":5000"');
    expect(text).toMatch(/^version: 0\.1$/m);
  });
});
