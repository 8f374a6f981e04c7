import { redactConfig } from '@berth/config';
import { configError, load, MINIMAL, testDrivers } from './helpers';

describe('redis section', () => {
  it('v2.8 shape: addr, password, db, timeouts and pool load, addr folded into addrs, no warning', () => {
    const c = load(
      `${MINIMAL}redis:\n  addr: redis.internal:6379\n  password: pw\n  db: 2\n  dialtimeout: 10ms\n  readtimeout: 20ms\n  writetimeout: 30ms\n  pool:\n    maxidle: 16\n    maxactive: 64\n    idletimeout: 300s\n  tls:\n    enabled: true\n`,
    );
    expect(c.redis).toMatchObject({ addrs: ['redis.internal:6379'], addr: 'redis.internal:6379', password: 'pw', db: 2, dialtimeout: 10, readtimeout: 20, writetimeout: 30 });
    expect(c.redis.pool).toEqual({ maxidle: 16, maxactive: 64, idletimeout: 300_000 });
    expect(c.redis.tls).toMatchObject({ enabled: true });
    expect(c.warnings.filter((w) => /redis/.test(w))).toEqual([]);
  });

  it('v3 shape with Sentinel: several addrs and mastername, username, poolsize, tls files', () => {
    const c = load(
      `${MINIMAL}redis:\n  addrs: [s1:26379, s2:26379, '[::1]:26379']\n  mastername: mymaster\n  username: berth\n  password: pw\n  sentinelpassword: spw\n  poolsize: 10\n  tls:\n    certificate: /c.pem\n    key: /k.pem\n    rootcas: [/ca.pem]\n`,
    );
    expect(c.redis).toMatchObject({ addrs: ['s1:26379', 's2:26379', '[::1]:26379'], mastername: 'mymaster', username: 'berth', poolsize: 10 });
    expect(c.redis.tls).toMatchObject({ certificate: '/c.pem', key: '/k.pem', rootcas: ['/ca.pem'] });
  });

  it('REGISTRY_REDIS_* variables set the keys (addrs list, addr, password, db, timeouts, sentinel master)', () => {
    const c = load(MINIMAL, {
      REGISTRY_REDIS_ADDRS: '[a:6379, b:6379]',
      REGISTRY_REDIS_MASTERNAME: 'm',
      REGISTRY_REDIS_PASSWORD: 'pw',
      REGISTRY_REDIS_DB: '3',
      REGISTRY_REDIS_READTIMEOUT: '50ms',
      REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: 'redis',
    });
    expect(c.redis).toMatchObject({ addrs: ['a:6379', 'b:6379'], mastername: 'm', password: 'pw', db: 3, readtimeout: 50 });
    expect(c.storage.cache.blobdescriptor).toBe('redis');
    expect(load(MINIMAL, { REGISTRY_REDIS_ADDR: 'r:6380' }).redis.addrs).toEqual(['r:6380']);
  });

  it('bad values stop the load naming the key', () => {
    expect(configError(() => load(`${MINIMAL}redis:\n  addr: redis\n`), 'redis.addr')).toMatch(/host:port/);
    expect(configError(() => load(`${MINIMAL}redis:\n  addrs: [r:6379, 'r:99999']\n  mastername: m\n`), 'redis.addrs.1')).toMatch(/host:port/);
    expect(configError(() => load(`${MINIMAL}redis:\n  db: 1\n`), 'redis.addrs')).toMatch(/required/);
    expect(configError(() => load(`${MINIMAL}redis:\n  addrs: [a:1, b:2]\n`), 'redis.addrs')).toMatch(/mastername/);
    expect(configError(() => load(`${MINIMAL}redis:\n  addr: a:1\n  addrs: [b:2]\n`), 'redis.addr')).toMatch(/different/);
    expect(configError(() => load(`${MINIMAL}redis:\n  addr: a:1\n  tls:\n    certificate: /c.pem\n`), 'redis.tls.key')).toMatch(/required/);
    expect(configError(() => load(`${MINIMAL}redis:\n  addr: a:1\n  db: -1\n`), 'redis.db')).toBeTruthy();
    expect(configError(() => load(`${MINIMAL}redis:\n  addr: a:1\n  dialtimeout: soon\n`), 'redis.dialtimeout')).toBeTruthy();
    expect(configError(() => load(`${MINIMAL}redis:\n  addr: a:1\n  nonsense: 1\n`), 'redis.nonsense')).toBeTruthy();
  });

  it('without the section there is no redis ({}), and config print redacts the passwords', () => {
    expect(load(MINIMAL).redis).toEqual({});
    const c = load(`${MINIMAL}redis:\n  addr: a:6379\n  password: redis-secret-value\n  sentinelpassword: sentinel-secret-value\n`);
    const printed = JSON.stringify(redactConfig(c, testDrivers()));
    expect(printed).not.toContain('redis-secret-value');
    expect(printed).not.toContain('sentinel-secret-value');
    expect(printed).toContain('a:6379');
  });
});
