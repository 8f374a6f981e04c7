/**
 * The validated configuration. Names are distribution's YAML keys; every duration is in
 * milliseconds (converted from Go durations such as `10s`, or from integer nanoseconds). The whole
 * object is deeply frozen.
 */

/** Milliseconds (fractional below one millisecond, e.g. `500us` is 0.5). */
export type Milliseconds = number;

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormatter = 'text' | 'json' | 'logstash';
export type TlsVersion = 'tls1.0' | 'tls1.1' | 'tls1.2' | 'tls1.3';
export type ClientAuthMode = 'request-client-cert' | 'require-any-client-cert' | 'verify-client-cert-if-given' | 'require-and-verify-client-cert';

export interface LogConfig {
  readonly level: LogLevel;
  readonly formatter: LogFormatter;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly accesslog: { readonly disabled: boolean };
}

export interface StorageConfig {
  /** The one driver key chosen (`inmemory`, `filesystem`, `s3`, or another registered name). */
  readonly driver: string;
  /** That driver's section, already accepted by the factory's `validate`. */
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly delete: { readonly enabled: boolean };
  readonly redirect: { readonly disable: boolean };
  /**
   * `blobdescriptor` is `inmemory` (per process), `redis` (shared by every process and replica through
   * the `redis` section; see docs/redis.md) or unset (no cache).
   */
  readonly cache: { readonly blobdescriptor?: 'inmemory' | 'redis'; readonly blobdescriptorsize: number };
  readonly maintenance: {
    readonly uploadpurging: { readonly enabled: boolean; readonly age: Milliseconds; readonly interval: Milliseconds; readonly dryrun: boolean };
    readonly readonly: { readonly enabled: boolean };
  };
  /** 0 in the file means "the number of CPUs" (distribution: GOMAXPROCS); resolved here. */
  readonly tag: { readonly concurrencylimit: number };
  /** Berth: garbage collection (`berth garbage-collect` and the schedule in `serve`). */
  readonly gc: GcConfig;
}

/** `storage.gc` (Berth only; docs/garbage-collection.md). */
export interface GcConfig {
  /** Unreferenced blobs (and untagged manifests) younger than this are kept; 0 keeps none. Default 1h. */
  readonly graceperiod: Milliseconds;
  /** Wait between setting content aside and the re-check for concurrent pushes. Default 10s. */
  readonly settle: Milliseconds;
  /** Scheduled collection in `serve`: the pause between runs; 0 (the default) is off. Forced to 0 in read-only mode. */
  readonly interval: Milliseconds;
  /** Scheduled runs also delete untagged manifests nothing kept needs. */
  readonly deleteuntagged: boolean;
  /** Scheduled runs only report what they would delete. */
  readonly dryrun: boolean;
}

export interface TlsConfig {
  readonly certificate: string;
  readonly key: string;
  readonly clientcas: readonly string[];
  readonly minimumtls: TlsVersion;
  /** Set only when `clientcas` is non-empty (default `require-and-verify-client-cert`). */
  readonly clientauth?: ClientAuthMode;
}

export interface HttpConfig {
  readonly addr: string;
  readonly net: 'tcp' | 'unix';
  readonly prefix: string;
  readonly host: string;
  readonly relativeurls: boolean;
  /** Signs upload state; generated at load when not configured (a warning says so). */
  readonly secret: string;
  readonly draintimeout: Milliseconds;
  /**
   * Berth: processes that serve requests, the main one included (resolved at load: never 0).
   * One per CPU (at most 8) by default; always 1 with the inmemory driver or a pull-through cache.
   */
  readonly workers: number;
  /** Response headers, name → values (`X-Content-Type-Options: [nosniff]`). */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly tls: TlsConfig;
  readonly debug: { readonly addr: string; readonly prometheus: { readonly enabled: boolean; readonly path: string } };
}

/** The chosen authentication scheme with its checked parameters (`parameters` holds them all). */
export type AuthConfig =
  | { readonly type: 'none'; readonly parameters: Readonly<Record<string, unknown>> }
  | { readonly type: 'silly'; readonly realm: string; readonly service: string; readonly parameters: Readonly<Record<string, unknown>> }
  | {
      readonly type: 'htpasswd';
      readonly realm: string;
      readonly path: string;
      /** Berth's: pulls and the catalog are served without credentials. */
      readonly anonymouspull: boolean;
      readonly parameters: Readonly<Record<string, unknown>>;
    }
  | {
      readonly type: 'token';
      readonly realm: string;
      readonly service: string;
      readonly issuer: string;
      readonly rootcertbundle?: string;
      readonly jwks?: string;
      /** Empty means distribution's default list (all of EdDSA, HS*, RS*, ES*, PS*). */
      readonly signingalgorithms: readonly string[];
      readonly autoredirect: boolean;
      readonly autoredirectpath: string;
      /** Berth's: pulls and the catalog are served without a token. */
      readonly anonymouspull: boolean;
      readonly parameters: Readonly<Record<string, unknown>>;
    };

export interface NotificationEndpoint {
  readonly name: string;
  readonly disabled: boolean;
  readonly url: string;
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly timeout: Milliseconds;
  readonly threshold: number;
  readonly backoff: Milliseconds;
  readonly ignoredmediatypes: readonly string[];
  readonly ignore: { readonly mediatypes: readonly string[]; readonly actions: readonly string[] };
  /** Berth: the most undelivered events kept for this endpoint; beyond it the oldest are dropped. */
  readonly maxpending: number;
}

export interface NotificationsConfig {
  readonly events: { readonly includereferences: boolean };
  readonly endpoints: readonly NotificationEndpoint[];
  /**
   * Berth: the absolute directory where undelivered events are spooled. Unset in the file, it is
   * `<rootdirectory>/berth/notifications` on the filesystem driver, else `<tmpdir>/berth-notifications`.
   */
  readonly spooldir: string;
}

export interface ProxyConfig {
  /** Empty: not a pull-through cache. */
  readonly remoteurl: string;
  readonly username: string;
  readonly password: string;
  /** 0 means cached content never expires. */
  readonly ttl: Milliseconds;
}

/** One `policies[]` rule (Berth's; docs/policies.md). */
export interface PolicyConfig {
  /** Repository name globs (`*` within a component, `**` across); the first matching rule applies. */
  readonly repositories: readonly string[];
  /** Tag globs whose tags, once pushed, always point at the same manifest. */
  readonly immutabletags: readonly string[];
  /**
   * Tags are retained when among the `keeplast` most recently pushed, matching `keeptags` or pushed
   * within `pushedwithin`; tag retention applies only when one of these three is set.
   * `untaggedolderthan` deletes untagged manifests older than that.
   */
  readonly retention: {
    readonly keeplast?: number;
    readonly keeptags: readonly string[];
    readonly pushedwithin?: Milliseconds;
    readonly untaggedolderthan?: Milliseconds;
  };
  /** Bytes; absent: no quota. */
  readonly quota?: number;
}

/**
 * `redis`, distribution's keys (v3: go-redis UniversalOptions; v2.8: `addr`, `pool`). Durations are
 * milliseconds. Only the connection keys Berth's client uses act (see docs/configuration.md); the
 * pool and cluster tuning keys are accepted and validated.
 */
export interface RedisConfig {
  /** `host:port` of the server, or of the Sentinels when `mastername` is set. */
  readonly addrs?: readonly string[];
  /** v2.8: one `host:port` (folded into `addrs`). */
  readonly addr?: string;
  readonly clientname?: string;
  readonly db?: number;
  readonly protocol?: number;
  readonly username?: string;
  readonly password?: string;
  /** Sentinel: the name of the monitored master; `addrs` are then the Sentinels. */
  readonly mastername?: string;
  readonly sentinelusername?: string;
  readonly sentinelpassword?: string;
  readonly maxretries?: number;
  readonly minretrybackoff?: Milliseconds;
  readonly maxretrybackoff?: Milliseconds;
  readonly dialtimeout?: Milliseconds;
  readonly readtimeout?: Milliseconds;
  readonly writetimeout?: Milliseconds;
  readonly poolsize?: number;
  readonly pool?: { readonly maxidle?: number; readonly maxactive?: number; readonly idletimeout?: Milliseconds };
  readonly tls?: {
    readonly enabled?: boolean;
    readonly certificate?: string;
    readonly key?: string;
    readonly rootcas?: readonly string[];
    readonly clientcas?: readonly string[];
  };
  readonly [key: string]: unknown;
}

export interface BerthConfig {
  readonly version: '0.1';
  readonly log: LogConfig;
  readonly storage: StorageConfig;
  readonly http: HttpConfig;
  readonly auth: AuthConfig;
  readonly notifications: NotificationsConfig;
  readonly proxy: ProxyConfig;
  /** `threshold` is the number of consecutive failures before unhealthy (distribution's 0 = 1). */
  readonly health: { readonly storagedriver: { readonly enabled: boolean; readonly interval: Milliseconds; readonly threshold: number } };
  readonly catalog: { readonly maxentries: number };
  /** Largest page of the tag list (`n` is clamped to it). */
  readonly tags: { readonly maxtags: number };
  /** Berth: the built-in web UI at `<prefix>/ui/` (docs/ui.md); off by default. */
  readonly ui: { readonly enabled: boolean };
  /** Berth's `policies`: immutable tags, retention and quotas per repository glob. */
  readonly policies: readonly PolicyConfig[];
  /**
   * The Redis server (or Sentinels) shared by the replicas: `{}` when not configured, else `addrs`
   * holds at least one address (v2.8's `addr` folded in). See docs/redis.md.
   */
  readonly redis: RedisConfig;
  /** Accepted for compatibility with distribution and ignored (a warning is returned when set). */
  readonly middleware: Readonly<Record<string, unknown>>;
  readonly validation: Readonly<Record<string, unknown>>;
  readonly compatibility: Readonly<Record<string, unknown>>;
  readonly reporting: Readonly<Record<string, unknown>>;
  readonly policy: Readonly<Record<string, unknown>>;
  /**
   * What the operator should know, for the cli to log: ignored `REGISTRY_*` variables, keys Berth
   * accepts but does not implement, deprecated keys, a generated `http.secret`. Never holds a secret.
   */
  readonly warnings: readonly string[];
}
