import { readFileSync } from 'node:fs';
import type { DriverFactories } from '@berth/storage-driver';
import { resolveAuth } from './auth';
import { applyEnvOverrides } from './env';
import { ConfigError, describeType } from './errors';
import { deepFreeze } from './freeze';
import { plainAny } from './normalize';
import { isRawMap, newRawMap, parseYaml, RawScalar, type RawMap, type RawNode } from './raw';
import { resolveStruct } from './resolve';
import { ROOT } from './schema';
import { policiesOf } from './policies';
import { httpOf, notificationsOf, proxyOf, workersOf } from './sections';
import { collectSecrets, scrubSecrets } from './secrets';
import { redisOf } from './redis';
import { resolveStorage } from './storage';
import type { BerthConfig, LogLevel } from './types';

export interface LoadOptions {
  /** Path of config.yml; read unless `yamlText` is given (then it only names the source in errors). */
  file?: string;
  /** The YAML itself. */
  yamlText?: string;
  /** Where `REGISTRY_*` overrides come from; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** The storage drivers that can be chosen; each validates its own parameters. */
  drivers: DriverFactories;
}

export const SUPPORTED_VERSION = '0.1';

/**
 * Loads distribution's `config.yml` format: parses the YAML (1.1, as distribution's yaml.v2),
 * checks `version`, applies `REGISTRY_*` overrides (see env.ts), validates every key strictly, fills
 * in defaults and returns the configuration deeply frozen, with `warnings` for the caller to log.
 * Throws `ConfigError` (one line naming the key, never a secret's value) for the first problem.
 */
export function loadConfig(options: LoadOptions): BerthConfig {
  const source = options.file ?? 'config';
  const text = options.yamlText ?? readConfigFile(options.file);
  const root = parseYaml(text, source);
  if (root === null) throw new ConfigError(source, 'the configuration is empty (it needs at least version: 0.1 and a storage section)');
  if (!isRawMap(root)) throw new ConfigError(source, `must be a YAML mapping of configuration keys, got ${describeType(plainAny(root))}`);
  checkVersion(root);
  canonicalizeSelectors(root);

  const warnings: string[] = [];
  applyEnvOverrides(root, ROOT, options.env ?? process.env, warnings);
  let secrets: string[] = [];
  try {
    secrets = collectSecrets(root, options.drivers);
    return build(root, options.drivers, warnings);
  } catch (error) {
    throw error instanceof ConfigError ? scrubSecrets(error, secrets) : error;
  }
}

function readConfigFile(file: string | undefined): string {
  if (file === undefined) throw new ConfigError('config', 'no configuration given (neither a file nor YAML text)');
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(file, `cannot read the configuration file${code ? ` (${code})` : ''}`);
  }
}

/** distribution reads `version` before anything else and accepts only 0.1. */
function checkVersion(root: RawMap): void {
  const raw = root.version;
  if (raw === undefined || raw === null) throw new ConfigError('version', `is required and must be ${SUPPORTED_VERSION}`);
  const version = typeof raw === 'string' ? raw : raw instanceof RawScalar ? raw.text : undefined;
  if (version === undefined) throw new ConfigError('version', `must be ${SUPPORTED_VERSION}, got ${describeType(plainAny(raw))}`);
  if (version !== SUPPORTED_VERSION) {
    throw new ConfigError('version', `unsupported version ${JSON.stringify(version)}: Berth reads configuration version ${SUPPORTED_VERSION}`);
  }
}

/** `storage: inmemory` and `auth: silly` (bare names) mean `{inmemory: {}}` / `{silly: {}}`. */
function canonicalizeSelectors(root: RawMap): void {
  for (const name of ['storage', 'auth']) {
    const value: RawNode | undefined = root[name];
    if (typeof value === 'string' || value instanceof RawScalar) {
      const selected = newRawMap();
      selected[typeof value === 'string' ? value : value.text] = newRawMap();
      root[name] = selected;
    }
  }
}

function build(root: RawMap, drivers: DriverFactories, warnings: string[]): BerthConfig {
  checkVersion(root); // REGISTRY_VERSION may have changed it
  const ctx = { warnings };
  const resolved = resolveStruct(ROOT, root, '', ctx) as Record<string, Record<string, unknown>>;
  const loglevel = (resolved as { loglevel?: LogLevel }).loglevel;
  const storage = resolveStorage(root.storage, drivers, ctx);
  const auth = resolveAuth(root.auth, ctx);

  const log = resolved.log as { level?: LogLevel };
  if (loglevel !== undefined) {
    // configuration.go: the deprecated top-level key fills log.level when that is empty.
    warnings.push('loglevel is deprecated: use log.level');
    log.level ??= loglevel;
  }
  log.level ??= 'info';

  const health = resolved.health as { storagedriver: { interval: number; threshold: number } };
  // handlers/app.go: a zero interval means 10s; without a threshold one failure is enough.
  if (health.storagedriver.interval <= 0) health.storagedriver.interval = 10_000;
  if (health.storagedriver.threshold <= 0) health.storagedriver.threshold = 1;
  const catalog = resolved.catalog as { maxentries: number };
  if (catalog.maxentries <= 0) catalog.maxentries = 1000;
  const tags = resolved.tags as { maxtags: number };
  if (tags.maxtags <= 0) tags.maxtags = 1000;

  // Compatibility sections Berth ignores: the validated section when given, else empty.
  const http = httpOf(resolved.http, warnings);
  const proxy = proxyOf(resolved.proxy, warnings);
  const redis = redisOf(resolved.redis, root.redis !== undefined && root.redis !== null, storage);
  (http as { workers: number }).workers = workersOf(http.workers, storage, proxy, (redis.addrs?.length ?? 0) > 0);
  const compat = (name: string): Record<string, unknown> => (root[name] === undefined || root[name] === null ? {} : resolved[name]) as Record<string, unknown>;
  const config: BerthConfig = {
    version: SUPPORTED_VERSION,
    log: resolved.log as unknown as BerthConfig['log'],
    storage,
    auth,
    http,
    notifications: notificationsOf(resolved.notifications, storage, warnings),
    proxy,
    health: health as BerthConfig['health'],
    catalog,
    tags,
    ui: resolved.ui as unknown as BerthConfig['ui'],
    policies: policiesOf(resolved.policies),
    redis,
    middleware: compat('middleware'),
    validation: compat('validation'),
    compatibility: compat('compatibility'),
    reporting: compat('reporting'),
    policy: compat('policy'),
    warnings: [...new Set(warnings)],
  };
  return deepFreeze(config);
}
