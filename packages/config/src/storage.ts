import { availableParallelism } from 'node:os';
import { DriverParameterError, type DriverFactories } from '@berth/storage-driver';
import { ConfigError, describeType, joinKey } from './errors';
import type { NormalizeContext } from './normalize';
import { plainAny } from './normalize';
import { isRawMap, newRawMap, type RawNode } from './raw';
import { resolveStruct } from './resolve';
import { STORAGE_META } from './schema';
import { struct } from './shape';
import type { StorageConfig } from './types';

const META_SHAPE = struct(STORAGE_META);
const UPLOAD_PURGING_KEYS = ['enabled', 'age', 'interval', 'dryrun'] as const;
const UPLOAD_PURGING_DEFAULTS = { enabled: true, age: 168 * 3600_000, interval: 24 * 3600_000, dryrun: false };

/**
 * Resolves `storage`: exactly one driver key besides the meta keys (`maintenance`, `cache`,
 * `delete`, `redirect`, `tag`); the driver must be registered, and its parameters pass the factory's
 * `validate`. Meta sections are checked like any other section.
 */
export function resolveStorage(raw: RawNode | undefined, drivers: DriverFactories, ctx: NormalizeContext): StorageConfig {
  const known = drivers.names();
  const knownText = known.length ? known.join(', ') : 'none registered';
  if (raw === undefined || raw === null) throw new ConfigError('storage', `no storage driver configured (configure one of: ${knownText})`);
  if (!isRawMap(raw)) throw new ConfigError('storage', `must be a mapping with one storage driver, got ${describeType(plainAny(raw))}`);

  const driverKeys = Object.keys(raw).filter((k) => !(k in STORAGE_META));
  if (driverKeys.length === 0) throw new ConfigError('storage', `no storage driver configured (configure one of: ${knownText})`);
  if (driverKeys.length > 1) {
    throw new ConfigError(
      'storage',
      `multiple storage drivers configured: ${driverKeys.join(' and ')} (from the file or REGISTRY_STORAGE_* variables); configure exactly one`,
    );
  }
  const driver = driverKeys[0] as string;
  if (!drivers.has(driver)) {
    const near = known.find((k) => k.toLowerCase() === driver.toLowerCase());
    throw new ConfigError(joinKey('storage', driver), `unknown storage driver "${driver}" (known: ${knownText})${near ? `; did you mean ${near}?` : ''}`);
  }

  const parameters = driverParameters(raw[driver], driver);
  validateParameters(drivers, driver, parameters);

  const metaRaw = newRawMap();
  for (const name of Object.keys(STORAGE_META)) if (name in raw) metaRaw[name] = raw[name] as RawNode;
  const meta = resolveStruct(META_SHAPE, metaRaw, 'storage', ctx) as unknown as MetaSections;

  return {
    driver,
    parameters,
    delete: meta.delete,
    redirect: meta.redirect,
    cache: cacheOf(meta.cache, ctx),
    maintenance: {
      uploadpurging: uploadPurgingOf(raw.maintenance, meta.maintenance, ctx),
      readonly: meta.maintenance.readonly,
    },
    tag: { concurrencylimit: meta.tag.concurrencylimit > 0 ? meta.tag.concurrencylimit : availableParallelism() },
    gc: gcOf(meta.gc, meta.maintenance.readonly.enabled, ctx),
  };
}

/** `storage.gc`: durations may not be negative; read-only mode turns the schedule off (with a warning). */
function gcOf(gc: StorageConfig['gc'], readOnly: boolean, ctx: NormalizeContext): StorageConfig['gc'] {
  for (const key of ['graceperiod', 'settle', 'interval'] as const) {
    if (!(gc[key] >= 0)) throw new ConfigError(`storage.gc.${key}`, `must not be negative, got ${gc[key]} ms`);
  }
  if (readOnly && gc.interval > 0) {
    ctx.warnings.push('storage.maintenance.readonly is enabled: scheduled garbage collection (storage.gc.interval) is disabled');
    return { ...gc, interval: 0 };
  }
  return { ...gc };
}

interface MetaSections {
  delete: { enabled: boolean };
  redirect: { disable: boolean };
  cache: { blobdescriptor?: 'inmemory' | 'redis'; layerinfo?: 'inmemory' | 'redis'; blobdescriptorsize: number };
  maintenance: {
    uploadpurging: Partial<{ enabled: boolean; age: number; interval: number; dryrun: boolean }>;
    readonly: { enabled: boolean };
  };
  tag: { concurrencylimit: number };
  gc: StorageConfig['gc'];
}

function driverParameters(raw: RawNode | undefined, driver: string): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (!isRawMap(raw)) {
    throw new ConfigError(joinKey('storage', driver), `must be a mapping of driver parameters (or empty), got ${describeType(plainAny(raw))}`);
  }
  return plainAny(raw) as Record<string, unknown>;
}

function validateParameters(drivers: DriverFactories, driver: string, parameters: Record<string, unknown>): void {
  const factory = drivers.get(driver);
  try {
    factory.validate(parameters);
  } catch (error) {
    if (error instanceof DriverParameterError) {
      const secret = (factory.secretParameters ?? []).some((s) => s.toLowerCase() === error.key.toLowerCase());
      const prefix = `storage.${error.driver}.${error.key}: `;
      let problem = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
      // ParameterReader appends ", got <value>": never let a secret's value through.
      if (secret) problem = problem.replace(/,?\s*got .*$/s, '');
      throw new ConfigError(joinKey(joinKey('storage', driver), error.key), problem);
    }
    throw new ConfigError(joinKey('storage', driver), error instanceof Error ? error.message : String(error));
  }
}

function cacheOf(cache: MetaSections['cache'], ctx: NormalizeContext): StorageConfig['cache'] {
  let kind = cache.blobdescriptor;
  if (cache.layerinfo !== undefined) {
    ctx.warnings.push('storage.cache.layerinfo is deprecated: use storage.cache.blobdescriptor');
    kind ??= cache.layerinfo;
  }
  return kind === undefined ? { blobdescriptorsize: cache.blobdescriptorsize } : { blobdescriptor: kind, blobdescriptorsize: cache.blobdescriptorsize };
}

/**
 * distribution's rules (`registry/handlers/app.go`): no section → enabled, 168h, 24h, no dry run. A
 * present section must be a mapping; unless `enabled` is false, `age`, `interval` and `dryrun` are
 * all required (an absent `enabled` means enabled). Read-only mode turns purging off.
 */
function uploadPurgingOf(
  rawMaintenance: RawNode | undefined,
  maintenance: MetaSections['maintenance'],
  ctx: NormalizeContext,
): StorageConfig['maintenance']['uploadpurging'] {
  const present = isRawMap(rawMaintenance) && 'uploadpurging' in rawMaintenance;
  let result = { ...UPLOAD_PURGING_DEFAULTS };
  if (present) {
    if (!isRawMap(rawMaintenance.uploadpurging)) {
      throw new ConfigError('storage.maintenance.uploadpurging', 'must be a mapping with enabled, age, interval and dryrun');
    }
    const given = maintenance.uploadpurging;
    if (given.enabled !== false) {
      for (const k of UPLOAD_PURGING_KEYS.slice(1)) {
        if (given[k] === undefined) {
          throw new ConfigError(
            `storage.maintenance.uploadpurging.${k}`,
            'is required when uploadpurging is configured (set enabled, age, interval and dryrun, or enabled: false)',
          );
        }
      }
    }
    result = { ...result, ...stripUndefined(given) };
  }
  for (const k of ['age', 'interval'] as const) {
    if (result.enabled && !(result[k] > 0)) {
      throw new ConfigError(`storage.maintenance.uploadpurging.${k}`, 'must be a positive duration such as 24h while upload purging is enabled');
    }
  }
  if (maintenance.readonly.enabled && result.enabled) {
    ctx.warnings.push('storage.maintenance.readonly is enabled: upload purging is disabled');
    result.enabled = false;
  }
  return result;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
