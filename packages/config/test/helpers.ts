import { DriverFactories, ParameterReader, type DriverFactory, type StorageDriver } from '@berth/storage-driver';
import { ConfigError, loadConfig, type BerthConfig } from '@berth/config';

/**
 * Driver factories with the real drivers' parameter rules, written with `ParameterReader`, so the
 * config tests do not depend on the driver packages' progress. The loader only calls `validate`.
 */
function factory(name: string, check: (r: ParameterReader) => void, known: string[], secretParameters?: string[]): DriverFactory {
  return {
    name,
    secretParameters,
    validate(parameters) {
      const reader = new ParameterReader(name, parameters);
      check(reader);
      reader.rejectUnknown(known);
    },
    create(): Promise<StorageDriver> {
      return Promise.reject(new Error(`${name}: the config tests' factory validates parameters only`));
    },
  };
}

export function testDrivers(): DriverFactories {
  return new DriverFactories([
    factory('inmemory', () => undefined, []),
    factory(
      'filesystem',
      (r) => {
        r.string('rootdirectory', '/var/lib/registry');
        r.integer('maxthreads', 100, { min: 25 });
      },
      ['rootdirectory', 'maxthreads'],
    ),
    factory(
      's3',
      (r) => {
        r.requiredString('bucket');
        r.string('region');
        r.string('regionendpoint');
        r.boolean('forcepathstyle', false);
        r.string('accesskey');
        r.string('secretkey');
        r.integer('chunksize', 10 * 1024 * 1024, { min: 5 * 1024 * 1024 });
      },
      ['bucket', 'region', 'regionendpoint', 'forcepathstyle', 'accesskey', 'secretkey', 'chunksize'],
      ['secretkey'],
    ),
  ]);
}

/** The smallest valid file plus `extra` top-level YAML. */
export const MINIMAL = 'version: 0.1\nstorage:\n  inmemory:\n';

export function load(yamlText: string, env: NodeJS.ProcessEnv = {}): BerthConfig {
  return loadConfig({ yamlText, env, drivers: testDrivers() });
}

/** Runs `fn`, expects a one-line `ConfigError` for `key`; returns its message. */
export function configError(fn: () => unknown, key: string): string {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  if (!(caught instanceof ConfigError)) throw new Error(`expected a ConfigError for ${key}, got ${caught === undefined ? 'no error' : String(caught)}`);
  expect(caught.key).toBe(key);
  expect(caught.message.startsWith(`${key}: `)).toBe(true);
  expect(caught.message).not.toMatch(/\n/);
  return caught.message;
}
