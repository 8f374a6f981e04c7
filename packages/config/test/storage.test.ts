import { configError, load } from './helpers';

const withStorage = (storage: string): string => `version: 0.1\nstorage:\n  inmemory:\n${storage}`;
const HOUR = 3600_000;

describe('storage.maintenance.uploadpurging', () => {
  it('defaults to enabled, 168h, 24h, no dry run when absent (also when maintenance has only readonly)', () => {
    expect(load(withStorage('')).storage.maintenance.uploadpurging).toEqual({ enabled: true, age: 168 * HOUR, interval: 24 * HOUR, dryrun: false });
    expect(load(withStorage('  maintenance:\n')).storage.maintenance.uploadpurging.enabled).toBe(true);
  });

  it('takes all four keys when present', () => {
    const c = load(withStorage('  maintenance:\n    uploadpurging:\n      enabled: true\n      age: 2h30m\n      interval: 90m\n      dryrun: true\n'));
    expect(c.storage.maintenance.uploadpurging).toEqual({ enabled: true, age: 2.5 * HOUR, interval: 1.5 * HOUR, dryrun: true });
  });

  it('requires age, interval and dryrun once the section is present and not disabled (as distribution)', () => {
    for (const missing of ['age', 'interval', 'dryrun']) {
      const keys = { enabled: 'true', age: '1h', interval: '1h', dryrun: 'false' } as Record<string, string>;
      delete keys[missing];
      const body = Object.entries(keys)
        .map(([k, v]) => `      ${k}: ${v}\n`)
        .join('');
      expect(configError(() => load(withStorage(`  maintenance:\n    uploadpurging:\n${body}`)), `storage.maintenance.uploadpurging.${missing}`)).toMatch(
        /is required when uploadpurging is configured/,
      );
    }
    // An absent `enabled` means enabled, so the others are still required.
    expect(() => load(withStorage('  maintenance:\n    uploadpurging:\n      age: 1h\n'))).toThrow(/uploadpurging\.interval: is required/);
  });

  it('needs nothing else with enabled: false (distribution returns before reading them)', () => {
    const c = load(withStorage('  maintenance:\n    uploadpurging:\n      enabled: false\n'));
    expect(c.storage.maintenance.uploadpurging).toEqual({ enabled: false, age: 168 * HOUR, interval: 24 * HOUR, dryrun: false });
  });

  it('rejects integer ages (distribution requires a duration string) and non-mapping sections', () => {
    const four = (age: string): string => `  maintenance:\n    uploadpurging:\n      enabled: true\n      age: ${age}\n      interval: 24h\n      dryrun: false\n`;
    expect(configError(() => load(withStorage(four('3600'))), 'storage.maintenance.uploadpurging.age')).toMatch(/must be a Go duration .*got an integer/);
    expect(configError(() => load(withStorage(four('a week'))), 'storage.maintenance.uploadpurging.age')).toMatch(/got "a week"/);
    expect(configError(() => load(withStorage('  maintenance:\n    uploadpurging:\n')), 'storage.maintenance.uploadpurging')).toMatch(/must be a mapping/);
    expect(configError(() => load(withStorage('  maintenance:\n    uploadpurging:\n      enabled: "false"\n')), 'storage.maintenance.uploadpurging.enabled')).toMatch(
      /must be true or false/,
    );
  });

  it('is turned off in read-only mode, with a warning', () => {
    const c = load(withStorage('  maintenance:\n    readonly:\n      enabled: true\n'));
    expect(c.storage.maintenance.readonly.enabled).toBe(true);
    expect(c.storage.maintenance.uploadpurging.enabled).toBe(false);
    expect(c.warnings).toContain('storage.maintenance.readonly is enabled: upload purging is disabled');
  });
});

describe('storage meta sections', () => {
  it('delete, redirect, tag', () => {
    const c = load(withStorage('  delete:\n    enabled: true\n  redirect:\n    disable: true\n  tag:\n    concurrencylimit: 8\n'));
    expect(c.storage.delete).toEqual({ enabled: true });
    expect(c.storage.redirect).toEqual({ disable: true });
    expect(c.storage.tag).toEqual({ concurrencylimit: 8 });
    expect(configError(() => load(withStorage('  tag:\n    concurrencylimit: -1\n')), 'storage.tag.concurrencylimit')).toMatch(/at least 0/);
  });

  it('cache: inmemory kept, layerinfo accepted as deprecated, redis kept (it needs the redis section)', () => {
    expect(load(withStorage('  cache:\n    blobdescriptor: inmemory\n')).storage.cache).toEqual({ blobdescriptor: 'inmemory', blobdescriptorsize: 10000 });
    const legacy = load(withStorage('  cache:\n    layerinfo: inmemory\n    blobdescriptorsize: 0\n'));
    expect(legacy.storage.cache).toEqual({ blobdescriptor: 'inmemory', blobdescriptorsize: 0 });
    expect(legacy.warnings).toContain('storage.cache.layerinfo is deprecated: use storage.cache.blobdescriptor');
    const redis = load(`${withStorage('  cache:\n    blobdescriptor: redis\n')}redis:\n  addr: localhost:6379\n`);
    expect(redis.storage.cache.blobdescriptor).toBe('redis');
    expect(redis.warnings.filter((w) => /redis/.test(w))).toEqual([]);
    expect(configError(() => load(withStorage('  cache:\n    blobdescriptor: redis\n')), 'redis.addrs')).toMatch(/storage\.cache\.blobdescriptor is redis/);
    expect(configError(() => load(withStorage('  cache:\n    blobdescriptor: memcached\n')), 'storage.cache.blobdescriptor')).toMatch(
      /must be one of inmemory, redis/,
    );
  });

  it('driver parameters keep their YAML types and the text of numbers that do not survive a round trip', () => {
    const c = load('version: 0.1\nstorage:\n  s3:\n    bucket: 0123\n    forcepathstyle: yes\n    chunksize: 10485760\n    region: null\n');
    expect(c.storage.parameters).toEqual({ bucket: '0123', forcepathstyle: true, chunksize: 10485760, region: null });
  });
});
