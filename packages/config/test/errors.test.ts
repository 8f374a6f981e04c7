import { ConfigError } from '@berth/config';
import { scrubSecrets } from '../src/secrets';
import { configError, load, MINIMAL } from './helpers';

describe('errors: one line, naming the key', () => {
  it('unknown storage driver: names the key and the registered drivers', () => {
    expect(configError(() => load('version: 0.1\nstorage:\n  gcs:\n    bucket: b\n'), 'storage.gcs')).toBe(
      'storage.gcs: unknown storage driver "gcs" (known: filesystem, inmemory, s3)',
    );
    expect(configError(() => load('version: 0.1\nstorage:\n  S3:\n    bucket: b\n'), 'storage.S3')).toMatch(/did you mean s3\?$/);
  });

  it('no storage driver: "storage: no storage driver configured"', () => {
    expect(configError(() => load('version: 0.1\n'), 'storage')).toBe(
      'storage: no storage driver configured (configure one of: filesystem, inmemory, s3)',
    );
    expect(configError(() => load('version: 0.1\nstorage:\n  delete:\n    enabled: true\n'), 'storage')).toMatch(/^storage: no storage driver configured/);
  });

  it('two storage drivers: names both (distribution panics)', () => {
    const yaml = 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /x\n  inmemory:\n  delete:\n    enabled: true\n';
    expect(configError(() => load(yaml), 'storage')).toMatch(/^storage: multiple storage drivers configured: filesystem and inmemory/);
  });

  it('driver parameters are validated by the factory; its DriverParameterError becomes storage.<driver>.<param>', () => {
    expect(configError(() => load('version: 0.1\nstorage:\n  s3:\n    region: us-east-1\n'), 'storage.s3.bucket')).toBe('storage.s3.bucket: is required');
    expect(configError(() => load('version: 0.1\nstorage:\n  filesystem:\n    maxthreads: 3\n'), 'storage.filesystem.maxthreads')).toMatch(
      /must be between 25 and/,
    );
    expect(configError(() => load('version: 0.1\nstorage:\n  inmemory:\n    size: 3\n'), 'storage.inmemory.size')).toMatch(/unknown parameter/);
  });

  it('a driver section may be empty (inmemory:) or a bare name (storage: inmemory), but not a scalar', () => {
    expect(load('version: 0.1\nstorage:\n  inmemory:\n').storage.driver).toBe('inmemory');
    expect(load('version: 0.1\nstorage: inmemory\n').storage.driver).toBe('inmemory');
    expect(configError(() => load('version: 0.1\nstorage:\n  inmemory: yes\n'), 'storage.inmemory')).toMatch(/must be a mapping of driver parameters/);
  });

  it('a secret driver parameter is never echoed, even when the driver quotes it', () => {
    const message = configError(
      () => load('version: 0.1\nstorage:\n  s3:\n    bucket: b\n    secretkey: [hunter2-secret-key]\n'),
      'storage.s3.secretkey',
    );
    expect(message).toBe('storage.s3.secretkey: must be a string');
  });

  it('wrong types name the key and the expected type', () => {
    const cases: [string, string, RegExp][] = [
      ['http:\n  relativeurls: "true"\n', 'http.relativeurls', /must be true or false, got "true"$/],
      ['http:\n  addr: [a]\n', 'http.addr', /must be a string, got a list$/],
      ['catalog:\n  maxentries: 1.5\n', 'catalog.maxentries', /must be an integer, got 1\.5$/],
      ['http:\n  draintimeout: 10\u00a0seconds\n', 'http.draintimeout', /must be a Go duration/],
      ['http:\n  headers:\n    X-Frame-Options: DENY\n', 'http.headers.X-Frame-Options', /must be a list, got a string$/],
      ['http:\n  tls:\n    clientcas: /ca.pem\n', 'http.tls.clientcas', /must be a list, got a string$/],
      ['http: []\n', 'http', /must be a mapping \(a section of keys\), got a list$/],
      ['log:\n  formatter: xml\n', 'log.formatter', /must be one of text, json, logstash, got "xml"$/],
      ['notifications:\n  endpoints:\n    - name: a\n      url: http://h/\n      threshold: many\n', 'notifications.endpoints.0.threshold', /must be an integer/],
      ['storage2: x\n', 'storage2', /unknown key \(known keys: version, log, loglevel, storage, auth/],
      ['http:\n  adr: :5000\n', 'http.adr', /unknown key \(known keys: addr, net, host/],
      ['log:\n  Level: info\n', 'log.Level', /keys are lower case: did you mean level\?/],
      ['notifications:\n  endpoints:\n    - name: a\n      url: http://h/\n      retries: 3\n', 'notifications.endpoints.0.retries', /unknown key/],
      ['storage:\n  inmemory:\n  delete:\n    enable: true\n', 'storage.delete.enable', /unknown key \(known keys: enabled\)/],
    ];
    for (const [extra, key, pattern] of cases) {
      const yaml = extra.startsWith('storage:') ? `version: 0.1\n${extra}` : `${MINIMAL}${extra}`;
      expect(configError(() => load(yaml), key)).toMatch(pattern);
    }
  });

  it('a secret key of the wrong type is reported without its value', () => {
    const message = configError(() => load(`${MINIMAL}proxy:\n  remoteurl: https://registry-1.docker.io\n  password: {p: hunter2-value}\n`), 'proxy.password');
    expect(message).toBe('proxy.password: must be a string, got a mapping');
    const headerMessage = configError(
      () => load(`${MINIMAL}notifications:\n  endpoints:\n    - name: a\n      url: http://h/\n      headers:\n        Authorization: Bearer-hunter2\n`),
      'notifications.endpoints.0.headers.Authorization',
    );
    expect(headerMessage).not.toContain('hunter2');
  });

  it('a URL with credentials is not echoed when it is invalid', () => {
    const message = configError(() => load(`${MINIMAL}proxy:\n  remoteurl: ftp://user:hunter2@mirror\n`), 'proxy.remoteurl');
    expect(message).toBe('proxy.remoteurl: must be an http:// or https:// URL, not ftp:');
  });

  it('scrubs any secret value that reaches a message (last line of defence)', () => {
    const error = scrubSecrets(new ConfigError('storage.s3.region', 'cannot use hunter2-secret in region'), ['hunter2-secret', 'abc']);
    expect(error.message).toBe('storage.s3.region: cannot use <redacted> in region');
    expect(error.key).toBe('storage.s3.region');
  });

  it('ConfigError exposes key and problem', () => {
    const error = new ConfigError('http.addr', 'bad\nvalue');
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe('http.addr: bad value');
    expect(error.problem).toBe('bad value');
    expect(error.code).toBe('CONFIG_INVALID');
  });
});

describe('sections accepted for compatibility', () => {
  it('are validated, kept (top level) and reported as ignored (redis is implemented: kept, no warning)', () => {
    const c = load(
      `${MINIMAL}redis:\n  addrs: [localhost:6379]\n  password: pw\n  db: 0\n  dialtimeout: 10ms\nmiddleware:\n  storage:\n    - name: cloudfront\n      options:\n        baseurl: https://cdn/\nvalidation:\n  manifests:\n    indexes:\n      platforms: List\n      platformlist:\n        - {os: linux, architecture: amd64}\npolicy:\n  repository:\n    classes: [image]\ncompatibility:\n  schema1:\n    enabled: true\nreporting:\n  bugsnag:\n    apikey: k\n`,
    );
    expect(c.redis).toMatchObject({ addrs: ['localhost:6379'], password: 'pw', db: 0, dialtimeout: 10 });
    expect(c.warnings.filter((w) => w.startsWith('redis'))).toEqual([]);
    expect(c.middleware).toEqual({ storage: [{ name: 'cloudfront', disabled: false, options: { baseurl: 'https://cdn/' } }] });
    expect(c.validation).toMatchObject({ manifests: { indexes: { platforms: 'list', platformlist: [{ os: 'linux', architecture: 'amd64' }] } } });
    for (const section of ['middleware', 'validation', 'policy', 'compatibility', 'reporting']) {
      expect(c.warnings).toContain(`${section}: accepted for compatibility with distribution but not implemented by Berth; ignored`);
    }
  });

  it('nested keys Berth ignores are validated, warned about and left out of the result', () => {
    const c = load(
      `${MINIMAL}log:\n  reportcaller: true\n  hooks:\n    - type: mail\n      options:\n        smtp:\n          password: p\nhttp:\n  h2c:\n    enabled: true\n  tls:\n    ciphersuites: [TLS_AES_128_GCM_SHA256]\nproxy:\n  remoteurl: https://r/\n  exec:\n    command: helper\n  cachewritetimeout: 5m\n`,
    );
    expect(c.warnings).toEqual(
      expect.arrayContaining(
        ['log.hooks', 'log.reportcaller', 'http.h2c', 'http.tls.ciphersuites', 'proxy.exec', 'proxy.cachewritetimeout'].map((k) =>
          expect.stringMatching(new RegExp(`^${k.replace(/\./g, '\\.')}: accepted for compatibility`)),
        ),
      ),
    );
    expect(c.log).not.toHaveProperty('hooks');
    expect(c.http).not.toHaveProperty('h2c');
    expect(c.proxy).not.toHaveProperty('exec');
    expect(configError(() => load(`${MINIMAL}http:\n  h2c:\n    enabled: sure\n`), 'http.h2c.enabled')).toMatch(/must be true or false/);
  });

  it('refuses http.tls.letsencrypt rather than silently serving plain HTTP', () => {
    const yaml = `${MINIMAL}http:\n  tls:\n    letsencrypt:\n      cachefile: /c\n      email: ops@example.com\n`;
    expect(configError(() => load(yaml), 'http.tls.letsencrypt')).toMatch(/^http\.tls\.letsencrypt: Berth does not obtain certificates/);
    expect(configError(() => load(MINIMAL, { REGISTRY_HTTP_TLS_LETSENCRYPT_EMAIL: 'ops@example.com' }), 'http.tls.letsencrypt')).toMatch(
      /set http\.tls\.certificate and http\.tls\.key/,
    );
  });
});
