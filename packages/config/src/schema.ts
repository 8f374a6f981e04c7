import {
  any,
  bool,
  duration,
  durationString,
  field,
  headers,
  int,
  list,
  map,
  oneOf,
  str,
  struct,
  type SelectorShape,
  type StructShape,
} from './shape';

/**
 * distribution's configuration structure: the union of v2.8 and v3 `configuration.go` (a config
 * file written for either loads), plus Berth's defaults. Keys marked `ignored` are accepted and
 * validated but Berth does not act on them; the loader returns a warning for each one that is set.
 */

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export const LOG_FORMATTERS = ['text', 'json', 'logstash'] as const;
export const TLS_VERSIONS = ['tls1.0', 'tls1.1', 'tls1.2', 'tls1.3'] as const;
export const CLIENT_AUTH_MODES = [
  'request-client-cert',
  'require-any-client-cert',
  'verify-client-cert-if-given',
  'require-and-verify-client-cert',
] as const;
export const SIGNING_ALGORITHMS = [
  'EdDSA',
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
] as const;

/** `log.hooks[]` (distribution's mail hook). */
const logHook = struct({
  disabled: bool(),
  type: str(),
  levels: list(str()),
  options: field(
    struct({
      smtp: struct({ addr: str(), username: str(), password: field(str(), { secret: true }), insecure: bool() }),
      from: str(),
      to: list(str()),
    }),
    { goName: 'MailOptions' },
  ),
});

const log = struct({
  // No default here: an unset level falls back to the deprecated top-level `loglevel`, then `info`.
  level: oneOf(LOG_LEVELS, true),
  formatter: field(oneOf(LOG_FORMATTERS), { default: 'text' }),
  fields: field(map(any()), { default: {} }),
  accesslog: struct({ disabled: field(bool(), { default: false }) }),
  hooks: field(list(logHook), { default: [], ignored: true }),
  reportcaller: field(bool(), { default: false, ignored: true }),
});

/** storage's meta sections (everything under `storage` that is not the driver). */
export const STORAGE_META: Readonly<Record<string, StructShape>> = {
  delete: struct({ enabled: field(bool(), { default: false }) }),
  redirect: struct({ disable: field(bool(), { default: false }) }),
  cache: struct({
    blobdescriptor: oneOf(['inmemory', 'redis']),
    // Deprecated name of blobdescriptor.
    layerinfo: oneOf(['inmemory', 'redis']),
    blobdescriptorsize: field(int(0), { default: 10000 }),
  }),
  maintenance: struct({
    // No defaults: whether the section is present matters (see storage.ts).
    uploadpurging: struct({ enabled: bool(), age: durationString(), interval: durationString(), dryrun: bool() }),
    readonly: struct({ enabled: field(bool(), { default: false }) }),
  }),
  tag: struct({ concurrencylimit: field(int(0), { default: 0 }) }),
  // Berth: online garbage collection (docs/garbage-collection.md); validated in storage.ts.
  gc: struct({
    graceperiod: field(duration(), { default: '1h' }),
    settle: field(duration(), { default: '10s' }),
    interval: field(duration(), { default: '0s' }),
    deleteuntagged: field(bool(), { default: false }),
    dryrun: field(bool(), { default: false }),
  }),
};

/** The authentication schemes distribution knows, with their parameters. */
export const AUTH_SCHEMES: Readonly<Record<string, StructShape>> = {
  none: struct({}),
  silly: struct({ realm: str(), service: str() }),
  // anonymouspull (Berth's, not distribution's): pulls and the catalog need no credentials.
  htpasswd: struct({ realm: str(), path: str(), anonymouspull: field(bool(), { default: false }) }),
  token: struct({
    realm: str(),
    service: str(),
    issuer: str(),
    rootcertbundle: str(),
    jwks: str(),
    signingalgorithms: field(list(oneOf(SIGNING_ALGORITHMS)), { default: [] }),
    autoredirect: field(bool(), { default: false }),
    autoredirectpath: field(str(), { default: '/auth/token/' }),
    anonymouspull: field(bool(), { default: false }),
  }),
};

export const storageSelector: SelectorShape = { kind: 'selector', known: STORAGE_META };
export const authSelector: SelectorShape = { kind: 'selector', known: AUTH_SCHEMES };

const middlewareEntry = struct({ name: str(), disabled: field(bool(), { default: false }), options: field(map(any()), { default: {} }) });

const http = struct({
  addr: field(str(), { default: ':5000' }),
  net: field(oneOf(['tcp', 'unix']), { default: 'tcp' }),
  host: field(str(), { default: '' }),
  prefix: field(str(), { default: '' }),
  secret: field(str(), { default: '', secret: true }),
  relativeurls: field(bool(), { default: false }),
  draintimeout: field(duration(), { default: '0s' }),
  // Berth: processes that serve requests (docs/configuration.md#http); 0 means one per CPU.
  workers: field(int(0), { default: 0 }),
  tls: struct({
    certificate: field(str(), { default: '' }),
    key: field(str(), { default: '' }),
    clientcas: field(list(str()), { default: [] }),
    clientauth: oneOf(CLIENT_AUTH_MODES),
    minimumtls: field(oneOf(TLS_VERSIONS), { default: 'tls1.2' }),
    ciphersuites: field(list(str()), { default: [], ignored: true }),
    letsencrypt: field(struct({ cachefile: str(), email: str(), hosts: list(str()), directoryurl: str() }), {
      ignored: true,
      refused:
        'Berth does not obtain certificates from Let\'s Encrypt, and ignoring the key would serve plain HTTP: set http.tls.certificate and http.tls.key (from certbot, for example) or terminate TLS in a proxy',
    }),
  }),
  headers: field(headers(), { default: {} }),
  debug: struct({
    addr: field(str(), { default: '' }),
    prometheus: struct({ enabled: field(bool(), { default: false }), path: field(str(), { default: '/metrics' }) }),
  }),
  // Berth serves HTTP/1.1 only, as distribution does with `disabled: true`.
  http2: field(struct({ disabled: field(bool(), { default: false }) }), { ignored: true }),
  h2c: field(struct({ enabled: field(bool(), { default: false }) }), { ignored: true }),
});

/** One `notifications.endpoints[]` entry; zero durations/threshold mean "default" (as distribution). */
export const endpoint = struct({
  name: field(str(), { default: '' }),
  disabled: field(bool(), { default: false }),
  url: field(str(), { default: '' }),
  // Header values often carry credentials (Authorization): redacted, never echoed.
  headers: field(headers(), { default: {}, secret: true }),
  timeout: field(duration(), { default: '1s' }),
  threshold: field(int(0), { default: 10 }),
  backoff: field(duration(), { default: '1s' }),
  ignoredmediatypes: field(list(str()), { default: [] }),
  ignore: struct({ mediatypes: field(list(str()), { default: [] }), actions: field(list(str()), { default: [] }) }),
  // Berth: the bound of the endpoint's spooled queue (oldest dropped beyond it); 0 means the default.
  maxpending: field(int(0), { default: 10000 }),
});

const notifications = struct({
  events: field(struct({ includereferences: field(bool(), { default: false }) }), { goName: 'EventConfig' }),
  endpoints: field(list(endpoint), { default: [] }),
  // Berth: where undelivered events are spooled; empty means a default that depends on the driver.
  spooldir: field(str(), { default: '' }),
});

/** v3 (go-redis UniversalOptions, inlined) and v2.8 (`addr`, `pool`) keys together. */
const redis = struct({
  addrs: list(str()),
  addr: str(),
  clientname: str(),
  db: int(0),
  protocol: int(),
  username: str(),
  password: field(str(), { secret: true }),
  sentinelusername: str(),
  sentinelpassword: field(str(), { secret: true }),
  maxretries: int(),
  minretrybackoff: duration(),
  maxretrybackoff: duration(),
  dialtimeout: duration(),
  readtimeout: duration(),
  writetimeout: duration(),
  contexttimeoutenabled: bool(),
  poolfifo: bool(),
  poolsize: int(),
  pooltimeout: duration(),
  minidleconns: int(),
  maxidleconns: int(),
  maxactiveconns: int(),
  connmaxidletime: duration(),
  connmaxlifetime: duration(),
  maxredirects: int(),
  readonly: bool(),
  routebylatency: bool(),
  routerandomly: bool(),
  mastername: str(),
  disableidentity: bool(),
  identitysuffix: str(),
  unstableresp3: bool(),
  pool: struct({ maxidle: int(), maxactive: int(), idletimeout: duration() }),
  tls: struct({ enabled: bool(), certificate: str(), key: str(), rootcas: list(str()), clientcas: list(str()) }),
});

const health = struct({
  storagedriver: struct({
    enabled: field(bool(), { default: false }),
    interval: field(duration(), { default: '10s' }),
    threshold: field(int(0), { default: 0 }),
  }),
  file: field(list(struct({ interval: duration(), file: str(), threshold: int(0) })), {
    goName: 'FileCheckers',
    default: [],
    ignored: true,
  }),
  http: field(
    list(struct({ timeout: duration(), statuscode: int(), interval: duration(), uri: str(), headers: field(headers(), { secret: true }), threshold: int(0) })),
    { goName: 'HTTPCheckers', default: [], ignored: true },
  ),
  tcp: field(list(struct({ timeout: duration(), interval: duration(), addr: str(), threshold: int(0) })), {
    goName: 'TCPCheckers',
    default: [],
    ignored: true,
  }),
});

const proxy = struct({
  remoteurl: field(str(), { default: '' }),
  username: field(str(), { default: '' }),
  password: field(str(), { default: '', secret: true }),
  exec: field(struct({ command: str(), lifetime: duration() }), { ignored: true }),
  ttl: field(duration(), { default: '168h' }),
  cachewritetimeout: field(duration(), { ignored: true }),
  remotenamespace: field(str(), { ignored: true }),
});

const validation = struct({
  enabled: bool(),
  disabled: bool(),
  manifests: struct({
    urls: struct({ allow: list(str()), deny: list(str()) }),
    indexes: struct({
      platforms: oneOf(['all', 'none', 'list'], true),
      platformlist: list(struct({ architecture: str(), os: str() })),
    }),
  }),
});

/** One `policies[]` rule (Berth's; policies.ts checks it further). */
const policyRule = struct({
  repositories: field(list(str()), { default: [] }),
  immutabletags: field(list(str()), { default: [] }),
  retention: struct({
    keeplast: int(0),
    keeptags: field(list(str()), { default: [] }),
    pushedwithin: duration(),
    untaggedolderthan: duration(),
  }),
  quota: str(),
});

/** The whole file. `storage` and `auth` are selectors, resolved by storage.ts and auth.ts. */
export const ROOT: StructShape = struct({
  version: str(),
  log,
  loglevel: oneOf(LOG_LEVELS, true),
  storage: storageSelector,
  auth: authSelector,
  middleware: field(map(list(middlewareEntry)), { default: {}, ignored: true }),
  reporting: field(
    struct({
      bugsnag: struct({ apikey: field(str(), { secret: true }), releasestage: str(), endpoint: str() }),
      newrelic: struct({ licensekey: field(str(), { secret: true }), name: str(), verbose: bool() }),
    }),
    { ignored: true },
  ),
  http,
  notifications,
  redis,
  health,
  catalog: struct({ maxentries: field(int(), { default: 1000 }) }),
  tags: struct({ maxtags: field(int(), { default: 1000 }) }),
  // Berth: the built-in web UI at <prefix>/ui/ (docs/ui.md).
  ui: struct({ enabled: field(bool(), { default: false }) }),
  proxy,
  compatibility: field(struct({ schema1: struct({ signingkeyfile: field(str(), { goName: 'TrustKey' }), enabled: bool() }) }), {
    ignored: true,
  }),
  validation: field(validation, { ignored: true }),
  policy: field(struct({ repository: struct({ classes: list(str()) }) }), { ignored: true }),
  policies: field(list(policyRule), { default: [] }),
});
