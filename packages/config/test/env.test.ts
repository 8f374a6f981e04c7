import { configError, load, MINIMAL } from './helpers';

const FILESYSTEM = `version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
`;

describe('REGISTRY_* overrides', () => {
  it('override a YAML key and create missing ones', () => {
    const c = load(FILESYSTEM, { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/somewhere', REGISTRY_LOG_LEVEL: 'debug', REGISTRY_HTTP_ADDR: '127.0.0.1:6000' });
    expect(c.storage.parameters).toEqual({ rootdirectory: '/somewhere' });
    expect(c.log.level).toBe('debug');
    expect(c.http.addr).toBe('127.0.0.1:6000');
  });

  it('ignore variables without the REGISTRY_ prefix, lower-case ones and REGISTRY_CONFIGURATION_PATH', () => {
    const c = load(FILESYSTEM, { registry_LOG_LEVEL: 'debug', LOG_LEVEL: 'debug', REGISTRY_CONFIGURATION_PATH: '/etc/x.yml' });
    expect(c.log.level).toBe('info');
    expect(c.warnings.filter((w) => w.includes('environment'))).toEqual([]);
  });

  it('ignore unknown paths with a warning that names the variable but not its value', () => {
    const c = load(FILESYSTEM, { REGISTRY_DUCKS: 'quack', REGISTRY_HTTP_ASDF: 'ghjk', REGISTRY_HTTP_ADDR_PORT: '1' });
    expect(c.warnings).toEqual(
      expect.arrayContaining([
        'ignoring unrecognized environment variable REGISTRY_DUCKS (no configuration key ducks)',
        'ignoring unrecognized environment variable REGISTRY_HTTP_ASDF (no configuration key http.asdf)',
        'ignoring unrecognized environment variable REGISTRY_HTTP_ADDR_PORT (http.addr is not a section)',
      ]),
    );
    expect(c.warnings.join('\n')).not.toMatch(/quack|ghjk/);
  });

  it('apply in lexical order of the name, so REGISTRY_STORAGE=s3 comes before REGISTRY_STORAGE_S3_*', () => {
    // Object order deliberately reversed: the loader must sort.
    const c = load(FILESYSTEM, {
      REGISTRY_STORAGE_S3_REGIONENDPOINT: 'http://127.0.0.1:9000',
      REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true',
      REGISTRY_STORAGE_S3_BUCKET: 'registry',
      REGISTRY_STORAGE_S3_CHUNKSIZE: '5242880',
      REGISTRY_STORAGE: 's3',
    });
    expect(c.storage.driver).toBe('s3');
    expect(c.storage.parameters).toEqual({
      bucket: 'registry',
      regionendpoint: 'http://127.0.0.1:9000',
      forcepathstyle: true,
      chunksize: 5242880,
    });
  });

  it('apply a section before the keys inside it, so the more specific variable wins whatever the object order', () => {
    const c = load(FILESYSTEM, {
      REGISTRY_LOG_LEVEL: 'error',
      REGISTRY_LOG: '{level: debug, formatter: json}',
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/specific',
      REGISTRY_STORAGE_FILESYSTEM: '{rootdirectory: /section, maxthreads: 50}',
    });
    expect(c.log).toMatchObject({ level: 'error', formatter: 'json' });
    expect(c.storage.parameters).toEqual({ rootdirectory: '/specific', maxthreads: 50 });
  });

  it('REGISTRY_STORAGE=s3 replaces the whole storage section (delete, maintenance... are dropped) until REGISTRY_STORAGE_* fill it back', () => {
    const replaced = load(FILESYSTEM, { REGISTRY_STORAGE: 's3', REGISTRY_STORAGE_S3_BUCKET: 'b' });
    expect(replaced.storage.delete.enabled).toBe(false);
    expect(replaced.storage.maintenance.uploadpurging.enabled).toBe(true);

    const refilled = load(FILESYSTEM, { REGISTRY_STORAGE: 's3', REGISTRY_STORAGE_S3_BUCKET: 'b', REGISTRY_STORAGE_DELETE_ENABLED: 'true' });
    expect(refilled.storage.delete.enabled).toBe(true);
  });

  it('REGISTRY_STORAGE may also be a YAML mapping', () => {
    const c = load(FILESYSTEM, { REGISTRY_STORAGE: '{inmemory: {}, delete: {enabled: true}}' });
    expect(c.storage.driver).toBe('inmemory');
    expect(c.storage.delete.enabled).toBe(true);
  });

  it('REGISTRY_STORAGE_S3_* alone next to a filesystem section leaves two drivers: a clear error', () => {
    expect(configError(() => load(FILESYSTEM, { REGISTRY_STORAGE_S3_BUCKET: 'b' }), 'storage')).toBe(
      'storage: multiple storage drivers configured: filesystem and s3 (from the file or REGISTRY_STORAGE_* variables); configure exactly one',
    );
  });

  it('REGISTRY_AUTH=htpasswd selects a scheme, later variables fill its parameters', () => {
    const file = `${MINIMAL}auth:\n  silly:\n    realm: r\n    service: s\n`;
    const c = load(file, { REGISTRY_AUTH: 'htpasswd', REGISTRY_AUTH_HTPASSWD_REALM: 'basic-realm', REGISTRY_AUTH_HTPASSWD_PATH: '/auth/htpasswd' });
    expect(c.auth).toEqual({
      type: 'htpasswd',
      realm: 'basic-realm',
      path: '/auth/htpasswd',
      anonymouspull: false,
      parameters: { realm: 'basic-realm', path: '/auth/htpasswd', anonymouspull: false },
    });
    const open = load(file, { REGISTRY_AUTH: 'htpasswd', REGISTRY_AUTH_HTPASSWD_REALM: 'r', REGISTRY_AUTH_HTPASSWD_PATH: '/p', REGISTRY_AUTH_HTPASSWD_ANONYMOUSPULL: 'true' });
    expect(open.auth).toMatchObject({ type: 'htpasswd', anonymouspull: true });
  });

  it('create intermediate maps on demand (REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED with no YAML for it)', () => {
    const c = load(MINIMAL, { REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED: 'true', REGISTRY_NOTIFICATIONS_EVENTS_INCLUDEREFERENCES: 'true' });
    expect(c.storage.maintenance.readonly.enabled).toBe(true);
    expect(c.notifications.events.includereferences).toBe(true);
  });

  it('override keys of YAML maps nested inside storage sections', () => {
    const file = `${MINIMAL}  maintenance:\n    uploadpurging:\n      enabled: true\n      age: 168h\n      interval: 24h\n      dryrun: false\n`;
    const c = load(file, { REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: '1h', REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_DRYRUN: 'true' });
    expect(c.storage.maintenance.uploadpurging).toEqual({ enabled: true, age: 3600_000, interval: 24 * 3600_000, dryrun: true });
  });

  it('read values as YAML scalars: booleans, integers, lists, mappings, duration strings', () => {
    const c = load(MINIMAL, {
      REGISTRY_HTTP_RELATIVEURLS: 'true',
      REGISTRY_CATALOG_MAXENTRIES: '50',
      REGISTRY_HTTP_TLS_CLIENTCAS: '[/a.pem, /b.pem]',
      REGISTRY_LOG_FIELDS: '{service: registry, environment: staging}',
      REGISTRY_HTTP_DRAINTIMEOUT: '1m30s',
      REGISTRY_HTTP_TLS_CERTIFICATE: '/cert.pem',
      REGISTRY_HTTP_TLS_KEY: '/key.pem',
    });
    expect(c.http.relativeurls).toBe(true);
    expect(c.catalog.maxentries).toBe(50);
    expect(c.http.tls.clientcas).toEqual(['/a.pem', '/b.pem']);
    expect(c.log.fields).toEqual({ service: 'registry', environment: 'staging' });
    expect(c.http.draintimeout).toBe(90_000);
  });

  it('keep the text of a value read into a string key (REGISTRY_HTTP_SECRET=0123 is "0123", not 83)', () => {
    expect(load(MINIMAL, { REGISTRY_HTTP_SECRET: '0123' }).http.secret).toBe('0123');
    expect(load(MINIMAL, { REGISTRY_HTTP_SECRET: 'true' }).http.secret).toBe('true');
  });

  it('reject a value of the wrong type for a typed key, naming the key', () => {
    expect(configError(() => load(MINIMAL, { REGISTRY_HTTP_RELATIVEURLS: 'maybe' }), 'http.relativeurls')).toBe(
      'http.relativeurls: must be true or false, got "maybe"',
    );
  });

  it('walk slices by index: equal to the length appends, beyond it is "undefined index"', () => {
    const file = `${MINIMAL}notifications:\n  endpoints:\n    - name: first\n      url: http://a/events\n`;
    const c = load(file, {
      REGISTRY_NOTIFICATIONS_ENDPOINTS_0_TIMEOUT: '5s',
      REGISTRY_NOTIFICATIONS_ENDPOINTS_1_NAME: 'second',
      REGISTRY_NOTIFICATIONS_ENDPOINTS_1_URL: 'http://b/events',
      REGISTRY_HTTP_TLS_CLIENTCAS_0: '/ca.pem',
      REGISTRY_HTTP_TLS_CLIENTCAS_1: '/ca2.pem',
    });
    expect(c.notifications.endpoints.map((e) => [e.name, e.url, e.timeout])).toEqual([
      ['first', 'http://a/events', 5000],
      ['second', 'http://b/events', 1000],
    ]);
    expect(c.http.tls.clientcas).toEqual(['/ca.pem', '/ca2.pem']);

    const message = configError(() => load(file, { REGISTRY_NOTIFICATIONS_ENDPOINTS_2_NAME: 'third' }), 'notifications.endpoints');
    expect(message).toMatch(/REGISTRY_NOTIFICATIONS_ENDPOINTS_2_NAME: undefined index 2 \(the list has 1 element/);
    expect(configError(() => load(file, { REGISTRY_NOTIFICATIONS_ENDPOINTS_X_NAME: 'n' }), 'notifications.endpoints')).toMatch(/non-numeric index "X"/);
  });

  it('keep the case of header names created from the environment and match existing ones in any case', () => {
    const c = load(FILESYSTEM, {
      'REGISTRY_HTTP_HEADERS_Access-Control-Allow-Origin': '[http://ui.example]',
      'REGISTRY_HTTP_HEADERS_X-CONTENT-TYPE-OPTIONS': '[nosniff, other]',
    });
    expect(c.http.headers).toEqual({ 'X-Content-Type-Options': ['nosniff', 'other'], 'Access-Control-Allow-Origin': ['http://ui.example'] });
  });

  it('lower-case new keys of other maps (driver parameters, log fields) and match existing keys in any case', () => {
    const c = load(`${MINIMAL}log:\n  fields:\n    Service: x\n`, { REGISTRY_LOG_FIELDS_ENVIRONMENT: 'prod', REGISTRY_LOG_FIELDS_SERVICE: 'api' });
    expect(c.log.fields).toEqual({ Service: 'api', environment: 'prod' });
  });

  it('read YAML 1.1 booleans as distribution (yaml.v2) does: yes/on/y are true in boolean and free-form keys', () => {
    const c = load(MINIMAL, { REGISTRY_HTTP_RELATIVEURLS: 'yes', REGISTRY_LOG_FIELDS_FLAG: 'on', REGISTRY_HTTP_HOST: 'https://yes.example' });
    expect(c.http.relativeurls).toBe(true);
    expect(c.log.fields).toEqual({ flag: true });
  });

  it("accept distribution's Go field names where they differ from the YAML keys", () => {
    const c = load(MINIMAL, {
      REGISTRY_NOTIFICATIONS_EVENTCONFIG_INCLUDEREFERENCES: 'true',
      REGISTRY_HEALTH_STORAGEDRIVER_ENABLED: 'true',
      REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL: '30s',
      REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD: '3',
      REGISTRY_HEALTH_FILECHECKERS_0_FILE: '/drain',
      REGISTRY_HEALTH_HTTPCHECKERS_0_URI: 'http://upstream/health',
      REGISTRY_HEALTH_TCPCHECKERS_0_ADDR: 'redis:6379',
    });
    expect(c.notifications.events.includereferences).toBe(true);
    expect(c.health.storagedriver).toEqual({ enabled: true, interval: 30_000, threshold: 3 });
    expect(c.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^health\.file: accepted for compatibility/),
        expect.stringMatching(/^health\.http: accepted for compatibility/),
        expect.stringMatching(/^health\.tcp: accepted for compatibility/),
      ]),
    );
  });

  it('reject a scalar over a section that must be a mapping or a list', () => {
    const file = `${MINIMAL.replace('inmemory:', 'somedriver:\n    a: b\n  inmemory:')}`;
    expect(configError(() => load(FILESYSTEM, { REGISTRY_STORAGE_FILESYSTEM: 'somestring' }), 'storage.filesystem')).toMatch(
      /REGISTRY_STORAGE_FILESYSTEM must be a YAML mapping/,
    );
    expect(configError(() => load(MINIMAL, { REGISTRY_STORAGE_MAINTENANCE: 'on' }), 'storage.maintenance')).toMatch(/must be a YAML mapping/);
    expect(configError(() => load(MINIMAL, { REGISTRY_LOG: 'debug' }), 'log')).toMatch(/REGISTRY_LOG must be a YAML mapping/);
    expect(configError(() => load(MINIMAL, { REGISTRY_LOG_HOOKS: 'somestring' }), 'log.hooks')).toMatch(/must be a YAML list/);
    expect(file).toContain('somedriver');
  });

  it('report an invalid YAML value with the variable name and without the value', () => {
    const message = configError(() => load(MINIMAL, { REGISTRY_PROXY_PASSWORD: '[unclosed-secret-value' }), 'proxy.password');
    expect(message).toMatch(/^proxy\.password: REGISTRY_PROXY_PASSWORD is not valid YAML/);
    expect(message).not.toContain('unclosed-secret-value');
  });

  it('treat an empty value as unset (the default applies)', () => {
    expect(load(FILESYSTEM, { REGISTRY_HTTP_ADDR: '' }).http.addr).toBe(':5000');
  });

  it('can set the version (it must still be 0.1)', () => {
    expect(load(MINIMAL, { REGISTRY_VERSION: '0.1' }).version).toBe('0.1');
    expect(configError(() => load(MINIMAL, { REGISTRY_VERSION: '0.2' }), 'version')).toMatch(/unsupported version/);
  });
});
