import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '@berth/config';
import { configError, load, MINIMAL, testDrivers } from './helpers';

describe('defaults', () => {
  const config = load(MINIMAL);

  it('fills every section with distribution defaults', () => {
    expect(config.version).toBe('0.1');
    expect(config.log).toEqual({ level: 'info', formatter: 'text', fields: {}, accesslog: { disabled: false } });
    expect(config.storage).toEqual({
      driver: 'inmemory',
      parameters: {},
      delete: { enabled: false },
      redirect: { disable: false },
      cache: { blobdescriptorsize: 10000 },
      maintenance: {
        uploadpurging: { enabled: true, age: 168 * 3600_000, interval: 24 * 3600_000, dryrun: false },
        readonly: { enabled: false },
      },
      tag: { concurrencylimit: expect.any(Number) },
      gc: { graceperiod: 3600_000, settle: 10_000, interval: 0, deleteuntagged: false, dryrun: false },
    });
    expect(config.storage.tag.concurrencylimit).toBeGreaterThan(0);
    expect(config.http).toMatchObject({
      addr: ':5000',
      net: 'tcp',
      prefix: '',
      host: '',
      relativeurls: false,
      draintimeout: 0,
      headers: {},
      tls: { certificate: '', key: '', clientcas: [], minimumtls: 'tls1.2' },
      debug: { addr: '', prometheus: { enabled: false, path: '/metrics' } },
    });
    expect(config.http).not.toHaveProperty('http2');
    expect(config.http.tls.clientauth).toBeUndefined();
    expect(config.auth).toEqual({ type: 'none', parameters: {} });
    expect(config.notifications).toEqual({ events: { includereferences: false }, endpoints: [], spooldir: join(tmpdir(), 'berth-notifications') });
    expect(config.proxy).toEqual({ remoteurl: '', username: '', password: '', ttl: 168 * 3600_000 });
    expect(config.health).toEqual({ storagedriver: { enabled: false, interval: 10_000, threshold: 1 } });
    expect(config.catalog).toEqual({ maxentries: 1000 });
    expect(config.tags).toEqual({ maxtags: 1000 });
    expect(config.redis).toEqual({});
    expect(config.middleware).toEqual({});
  });

  it('generates a random http.secret per load and says replicas need a shared one', () => {
    expect(config.http.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(load(MINIMAL).http.secret).not.toBe(config.http.secret);
    expect(config.warnings).toEqual([expect.stringMatching(/^http\.secret is not set: .*must share one http\.secret/)]);
  });

  it('keeps a configured http.secret and warns about nothing', () => {
    const c = load(`${MINIMAL}http:\n  secret: s3cr3t-value\n`);
    expect(c.http.secret).toBe('s3cr3t-value');
    expect(c.warnings).toEqual([]);
  });

  it('returns a deeply frozen configuration', () => {
    const c = load(`${MINIMAL}http:\n  headers:\n    X-A: [b]\nnotifications:\n  endpoints:\n    - {name: n, url: 'http://h/e'}\n`);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.http.headers)).toBe(true);
    expect(Object.isFrozen(c.http.headers['X-A'])).toBe(true);
    expect(Object.isFrozen(c.notifications.endpoints[0])).toBe(true);
    expect(Object.isFrozen(c.storage.parameters)).toBe(true);
    expect(Object.isFrozen(c.warnings)).toBe(true);
    expect(() => {
      (c.http as { addr: string }).addr = ':1';
    }).toThrow(TypeError);
  });

  it('applies zero-means-default rules: catalog.maxentries, tags.maxtags, health interval/threshold', () => {
    const c = load(
      `${MINIMAL}catalog:\n  maxentries: 0\ntags:\n  maxtags: -5\nhealth:\n  storagedriver:\n    enabled: true\n    interval: 0\n    threshold: 0\n`,
    );
    expect(c.catalog.maxentries).toBe(1000);
    expect(c.tags.maxtags).toBe(1000);
    expect(c.health.storagedriver).toEqual({ enabled: true, interval: 10_000, threshold: 1 });
  });
});

describe('version', () => {
  it('accepts 0.1 written as a number or a string', () => {
    expect(load(MINIMAL).version).toBe('0.1');
    expect(load('version: "0.1"\nstorage: inmemory\n').version).toBe('0.1');
  });

  it('is required', () => {
    expect(configError(() => load('storage: inmemory\n'), 'version')).toBe('version: is required and must be 0.1');
  });

  it('rejects any other version, including 0.10 which YAML reads as the number 0.1', () => {
    expect(configError(() => load('version: 0.2\nstorage: inmemory\n'), 'version')).toMatch(/unsupported version "0\.2"/);
    expect(configError(() => load('version: 0.10\nstorage: inmemory\n'), 'version')).toMatch(/unsupported version "0\.10"/);
    expect(configError(() => load('version: [0.1]\nstorage: inmemory\n'), 'version')).toMatch(/must be 0\.1, got a list/);
  });

  it('rejects an empty file and a file that is not a mapping', () => {
    expect(configError(() => load(''), 'config')).toMatch(/empty/);
    expect(configError(() => load('- a\n- b\n'), 'config')).toMatch(/must be a YAML mapping/);
  });

  it('reports YAML syntax errors in one line without quoting the source', () => {
    const message = configError(() => load('version: 0.1\nhttp:\n  secret: "unterminated\n'), 'config');
    expect(message).toMatch(/^config: not valid YAML: /);
    expect(message).not.toContain('unterminated');
  });
});

describe('loglevel (deprecated)', () => {
  it('fills log.level when that is empty, with a deprecation warning', () => {
    const c = load(`${MINIMAL}loglevel: debug\n`);
    expect(c.log.level).toBe('debug');
    expect(c.warnings).toContain('loglevel is deprecated: use log.level');
  });

  it('does not override log.level', () => {
    expect(load(`${MINIMAL}loglevel: debug\nlog:\n  level: error\n`).log.level).toBe('error');
  });

  it('lower-cases levels like distribution and rejects unknown ones', () => {
    expect(load(`${MINIMAL}log:\n  level: WARN\n`).log.level).toBe('warn');
    expect(configError(() => load(`${MINIMAL}loglevel: derp\n`), 'loglevel')).toMatch(/must be one of error, warn, info, debug, got "derp"/);
  });
});

describe('files', () => {
  it("loads the repository's config.yml: filesystem at ./data, delete enabled, :5000, nosniff", () => {
    const c = loadConfig({ file: resolve(__dirname, '../../../config.yml'), env: {}, drivers: testDrivers() });
    expect(c.log).toMatchObject({ level: 'info', formatter: 'text' });
    expect(c.storage.driver).toBe('filesystem');
    expect(c.storage.parameters).toEqual({ rootdirectory: './data' });
    expect(c.storage.delete.enabled).toBe(true);
    expect(c.http.addr).toBe(':5000');
    expect(c.http.headers).toEqual({ 'X-Content-Type-Options': ['nosniff'] });
  });

  it('names a file it cannot read', () => {
    expect(configError(() => loadConfig({ file: '/nonexistent/config.yml', env: {}, drivers: testDrivers() }), '/nonexistent/config.yml')).toBe(
      '/nonexistent/config.yml: cannot read the configuration file (ENOENT)',
    );
  });

  it('uses the file name as the key of whole-file errors', () => {
    expect(configError(() => loadConfig({ file: 'my.yml', yamlText: '', env: {}, drivers: testDrivers() }), 'my.yml')).toMatch(/empty/);
  });
});
