import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { configError, load, MINIMAL } from './helpers';

const withHttp = (http: string): string => `${MINIMAL}http:\n${http}`;

describe('http', () => {
  it('checks addr for tcp and accepts a socket path for unix', () => {
    for (const addr of [':5000', '0.0.0.0:5000', 'localhost:0', '[::1]:5000']) expect(load(withHttp(`  addr: "${addr}"\n`)).http.addr).toBe(addr);
    expect(configError(() => load(withHttp('  addr: localhost\n')), 'http.addr')).toMatch(/must be HOST:PORT/);
    expect(configError(() => load(withHttp('  addr: ":70000"\n')), 'http.addr')).toMatch(/must be HOST:PORT/);
    expect(load(withHttp('  net: unix\n  addr: /run/berth.sock\n')).http).toMatchObject({ net: 'unix', addr: '/run/berth.sock' });
    expect(configError(() => load(withHttp('  net: udp\n')), 'http.net')).toMatch(/must be one of tcp, unix/);
  });

  it('checks prefix and host', () => {
    expect(load(withHttp('  prefix: /registry/\n  host: https://registry.example:5000\n')).http).toMatchObject({
      prefix: '/registry/',
      host: 'https://registry.example:5000',
    });
    expect(configError(() => load(withHttp('  prefix: /registry\n')), 'http.prefix')).toMatch(/must start and end with a slash/);
    expect(configError(() => load(withHttp('  host: registry.example\n')), 'http.host')).toMatch(/absolute http/);
  });

  it('reads draintimeout as a Go duration or integer nanoseconds', () => {
    expect(load(withHttp('  draintimeout: 60s\n')).http.draintimeout).toBe(60_000);
    expect(load(withHttp('  draintimeout: 1500000000\n')).http.draintimeout).toBe(1500);
    expect(load(withHttp('  draintimeout: 250us\n')).http.draintimeout).toBe(0.25);
    expect(configError(() => load(withHttp('  draintimeout: -1s\n')), 'http.draintimeout')).toMatch(/must not be negative/);
  });

  it('workers: 0 means one process per CPU (at most 8), and one process for state kept in a process', () => {
    const disk = 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /srv/registry\n';
    const diskHttp = (http: string): string => `${disk}http:\n${http}`;
    expect(load(disk).http.workers).toBe(Math.min(availableParallelism(), 8));
    expect(load(diskHttp('  workers: 3\n')).http.workers).toBe(3);
    expect(load(diskHttp('  workers: 1\n')).http.workers).toBe(1);
    expect(load(disk, { REGISTRY_HTTP_WORKERS: '2' }).http.workers).toBe(2);
    expect(configError(() => load(diskHttp('  workers: 65\n')), 'http.workers')).toMatch(/at most 64/);
    expect(configError(() => load(diskHttp('  workers: -1\n')), 'http.workers')).toBeDefined();
    expect(configError(() => load(diskHttp('  workers: many\n')), 'http.workers')).toMatch(/integer/);

    expect(load(MINIMAL).http.workers).toBe(1);
    expect(configError(() => load(withHttp('  workers: 2\n')), 'http.workers')).toMatch(/must be 0 or 1: the inmemory driver/);
    const mirror = `${disk}proxy:\n  remoteurl: https://registry-1.docker.io\n`;
    expect(load(mirror).http.workers).toBe(1);
    expect(configError(() => load(`${mirror}http:\n  workers: 4\n`), 'http.workers')).toMatch(/pull-through cache/);
  });

  it('workers: a pull-through cache with redis (schedule and blob fetches shared through Redis) may run several processes', () => {
    const mirror = 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /srv/registry\nproxy:\n  remoteurl: https://registry-1.docker.io\nredis:\n  addr: redis:6379\n';
    expect(load(`${mirror}http:\n  workers: 4\n`).http.workers).toBe(4);
    expect(load(mirror).http.workers).toBe(Math.min(availableParallelism(), 8));
  });

  it('tls: certificate and key go together; clientauth defaults when clientcas are given', () => {
    const c = load(withHttp('  tls:\n    certificate: /c.pem\n    key: /k.pem\n    clientcas: [/ca.pem]\n    minimumtls: tls1.3\n'));
    expect(c.http.tls).toEqual({
      certificate: '/c.pem',
      key: '/k.pem',
      clientcas: ['/ca.pem'],
      minimumtls: 'tls1.3',
      clientauth: 'require-and-verify-client-cert',
    });
    expect(configError(() => load(withHttp('  tls:\n    certificate: /c.pem\n')), 'http.tls.key')).toMatch(/required when http\.tls\.certificate/);
    expect(configError(() => load(withHttp('  tls:\n    key: /k.pem\n')), 'http.tls.certificate')).toMatch(/required/);
    expect(configError(() => load(withHttp('  tls:\n    minimumtls: ssl3\n')), 'http.tls.minimumtls')).toMatch(/tls1\.0, tls1\.1, tls1\.2, tls1\.3/);
    expect(configError(() => load(withHttp('  tls:\n    clientauth: maybe\n')), 'http.tls.clientauth')).toMatch(/request-client-cert/);
    const noCas = load(withHttp('  tls:\n    certificate: /c.pem\n    key: /k.pem\n    clientauth: request-client-cert\n'));
    expect(noCas.http.tls.clientauth).toBeUndefined();
    expect(noCas.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^http\.tls\.clientauth is set without http\.tls\.clientcas/)]));
  });

  it('headers keep their names (even with dots) and require valid ones', () => {
    const c = load(withHttp('  headers:\n    X-Content-Type-Options: [nosniff]\n    X.Custom: [a, b]\n'));
    expect(c.http.headers).toEqual({ 'X-Content-Type-Options': ['nosniff'], 'X.Custom': ['a', 'b'] });
    expect(configError(() => load(withHttp('  headers:\n    "Bad Header": [x]\n')), 'http.headers.Bad Header')).toMatch(/not a valid HTTP header name/);
  });

  it('debug and prometheus', () => {
    const c = load(withHttp('  debug:\n    addr: localhost:5001\n    prometheus:\n      enabled: true\n'));
    expect(c.http.debug).toEqual({ addr: 'localhost:5001', prometheus: { enabled: true, path: '/metrics' } });
    expect(configError(() => load(withHttp('  debug:\n    prometheus:\n      path: metrics\n')), 'http.debug.prometheus.path')).toMatch(/slash/);
  });
});

describe('auth', () => {
  const withAuth = (auth: string): string => `${MINIMAL}auth:\n${auth}`;

  it('none, silly, htpasswd and token with their parameters', () => {
    expect(load(withAuth('  none:\n')).auth).toEqual({ type: 'none', parameters: {} });
    expect(load(withAuth('  silly:\n    realm: r\n    service: s\n')).auth).toMatchObject({ type: 'silly', realm: 'r', service: 's' });
    expect(load(withAuth('  htpasswd:\n    realm: basic-realm\n    path: /etc/htpasswd\n')).auth).toMatchObject({
      type: 'htpasswd',
      realm: 'basic-realm',
      path: '/etc/htpasswd',
    });
    const token = load(
      withAuth('  token:\n    realm: https://auth/token\n    service: registry\n    issuer: issuer\n    jwks: /jwks.json\n    signingalgorithms: [ES256, RS256]\n'),
    ).auth;
    expect(token).toEqual({
      type: 'token',
      realm: 'https://auth/token',
      service: 'registry',
      issuer: 'issuer',
      jwks: '/jwks.json',
      signingalgorithms: ['ES256', 'RS256'],
      autoredirect: false,
      autoredirectpath: '/auth/token/',
      anonymouspull: false,
      parameters: expect.objectContaining({ realm: 'https://auth/token', jwks: '/jwks.json' }),
    });
    expect(load(withAuth('  token:\n    realm: r\n    service: s\n    issuer: i\n    jwks: /j\n    anonymouspull: true\n')).auth).toMatchObject({ anonymouspull: true });
    expect(configError(() => load(withAuth('  htpasswd:\n    realm: r\n    path: p\n    anonymouspull: sometimes\n')), 'auth.htpasswd.anonymouspull')).toMatch(/true or false/);
  });

  it('reports missing required parameters, unknown schemes, two schemes and unknown parameters', () => {
    expect(configError(() => load(withAuth('  htpasswd:\n    realm: r\n')), 'auth.htpasswd.path')).toBe(
      'auth.htpasswd.path: is required by the htpasswd authentication scheme',
    );
    expect(configError(() => load(withAuth('  silly:\n    service: s\n')), 'auth.silly.realm')).toMatch(/required/);
    expect(configError(() => load(withAuth('  token:\n    realm: r\n    service: s\n    issuer: i\n')), 'auth.token.rootcertbundle')).toMatch(
      /rootcertbundle or jwks/,
    );
    expect(configError(() => load(withAuth('  ldap:\n    server: x\n')), 'auth.ldap')).toMatch(/unknown authentication scheme \(known: none, silly, htpasswd, token\)/);
    expect(configError(() => load(withAuth('  silly:\n    realm: r\n    service: s\n  htpasswd:\n    realm: r\n    path: p\n')), 'auth')).toMatch(
      /multiple authentication schemes configured: silly and htpasswd/,
    );
    expect(configError(() => load(withAuth('  htpasswd:\n    realm: r\n    path: p\n    relam: x\n')), 'auth.htpasswd.relam')).toMatch(/unknown key/);
    expect(
      configError(() => load(withAuth('  token:\n    realm: r\n    service: s\n    issuer: i\n    jwks: j\n    signingalgorithms: [none]\n')), 'auth.token.signingalgorithms.0'),
    ).toMatch(/must be one of EdDSA/);
  });

  it('accepts auth: htpasswd as a bare name (then requires its parameters)', () => {
    expect(configError(() => load(`${MINIMAL}auth: htpasswd\n`), 'auth.htpasswd.realm')).toMatch(/required/);
  });
});

describe('notifications', () => {
  it('applies endpoint defaults, zero meaning default, and keeps header names', () => {
    const c = load(
      `${MINIMAL}notifications:\n  events:\n    includereferences: true\n  endpoints:\n    - name: listener\n      url: https://listener.example/event\n      headers:\n        Authorization: [Bearer token]\n      timeout: 0\n      ignoredmediatypes: [application/octet-stream]\n      ignore:\n        actions: [pull]\n    - name: off\n      disabled: true\n`,
    );
    expect(c.notifications.events.includereferences).toBe(true);
    expect(c.notifications.endpoints).toEqual([
      {
        name: 'listener',
        disabled: false,
        url: 'https://listener.example/event',
        headers: { Authorization: ['Bearer token'] },
        timeout: 1000,
        threshold: 10,
        backoff: 1000,
        ignoredmediatypes: ['application/octet-stream'],
        ignore: { mediatypes: [], actions: ['pull'] },
        maxpending: 10000,
      },
      expect.objectContaining({ name: 'off', disabled: true, url: '' }),
    ]);
  });

  it('requires unique endpoint names (each endpoint has its own spool)', () => {
    const twice = `${MINIMAL}notifications:\n  endpoints:\n    - {name: a, url: 'http://h/1'}\n    - {name: a, url: 'http://h/2'}\n`;
    expect(configError(() => load(twice), 'notifications.endpoints.1.name')).toMatch(/unique/);
  });

  it('maxpending: 0 means the default 10000', () => {
    const c = load(`${MINIMAL}notifications:\n  endpoints:\n    - {name: a, url: 'http://h/', maxpending: 0}\n    - {name: b, url: 'http://h/', maxpending: 25}\n`);
    expect(c.notifications.endpoints.map((e) => e.maxpending)).toEqual([10000, 25]);
  });

  it('spooldir: resolved to an absolute path; by default under the filesystem root, else the temporary directory with a warning', () => {
    const endpoint = `notifications:\n  endpoints:\n    - {name: a, url: 'http://h/'}\n`;
    const fs = load(`version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /srv/registry\n${endpoint}`);
    expect(fs.notifications.spooldir).toBe('/srv/registry/berth/notifications');
    expect(fs.warnings.join('\n')).not.toMatch(/spooldir/);
    const fsDefault = load(`version: 0.1\nstorage:\n  filesystem: {}\n${endpoint}`);
    expect(fsDefault.notifications.spooldir).toBe('/var/lib/registry/berth/notifications');
    const memory = load(`${MINIMAL}${endpoint}`);
    expect(memory.notifications.spooldir).toBe(join(tmpdir(), 'berth-notifications'));
    expect(memory.warnings.join('\n')).toMatch(/notifications.spooldir is not set/);
    expect(load(MINIMAL).warnings.join('\n')).not.toMatch(/spooldir/);
    const relative = load(`${MINIMAL}notifications:\n  spooldir: spool/here\n`);
    expect(relative.notifications.spooldir).toBe(resolve('spool/here'));
    expect(load(MINIMAL, { REGISTRY_NOTIFICATIONS_SPOOLDIR: '/var/spool/berth' }).notifications.spooldir).toBe('/var/spool/berth');
  });

  it('requires a name and, for enabled endpoints, an http(s) url', () => {
    expect(configError(() => load(`${MINIMAL}notifications:\n  endpoints:\n    - url: http://h/\n`), 'notifications.endpoints.0.name')).toMatch(/required/);
    expect(configError(() => load(`${MINIMAL}notifications:\n  endpoints:\n    - name: a\n`), 'notifications.endpoints.0.url')).toMatch(/required/);
    expect(configError(() => load(`${MINIMAL}notifications:\n  endpoints:\n    - name: a\n      url: /relative\n`), 'notifications.endpoints.0.url')).toMatch(
      /absolute/,
    );
  });
});

describe('proxy and health', () => {
  it('proxy: remoteurl, credentials, ttl (0 = never expire)', () => {
    const c = load(`${MINIMAL}proxy:\n  remoteurl: https://registry-1.docker.io\n  username: u\n  password: p4ssword\n  ttl: 0\n`);
    expect(c.proxy).toEqual({ remoteurl: 'https://registry-1.docker.io', username: 'u', password: 'p4ssword', ttl: 0 });
    expect(load(`${MINIMAL}proxy:\n  remoteurl: https://r\n  ttl: 24h\n`).proxy.ttl).toBe(24 * 3600_000);
    expect(load(`${MINIMAL}proxy:\n  username: u\n`).warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/^proxy\.username\/proxy\.password are set without proxy\.remoteurl/)]),
    );
  });

  it('health.storagedriver', () => {
    expect(load(`${MINIMAL}health:\n  storagedriver:\n    enabled: true\n    interval: 5s\n    threshold: 3\n`).health.storagedriver).toEqual({
      enabled: true,
      interval: 5000,
      threshold: 3,
    });
  });
});

describe('log', () => {
  it('fields keep any YAML value and keys with dots', () => {
    const c = load(`${MINIMAL}log:\n  formatter: json\n  fields:\n    service.name: registry\n    replicas: 3\n    tags: [a, b]\n  accesslog:\n    disabled: true\n`);
    expect(c.log).toEqual({ level: 'info', formatter: 'json', fields: { 'service.name': 'registry', replicas: 3, tags: ['a', 'b'] }, accesslog: { disabled: true } });
  });
});
