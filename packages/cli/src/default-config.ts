import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Where distribution's images keep their configuration; used when nothing else names a file. */
export const SYSTEM_CONFIG_PATH = '/etc/docker/registry/config.yml';

/**
 * The configuration used when no file is given, none is named by `REGISTRY_CONFIGURATION_PATH`,
 * and `/etc/docker/registry/config.yml` does not exist: the filesystem driver under `<cwd>/data`,
 * listening on every interface at port 5000. `REGISTRY_*` variables still apply on top of it.
 */
export function defaultConfigYaml(cwd: string = process.cwd()): string {
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(resolve(cwd, 'data'))}`,
    '  delete:',
    '    enabled: false',
    'http:',
    '  addr: ":5000"',
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
    '',
  ].join('\n');
}

/**
 * Which configuration a command uses: a file (named by the argument, by `REGISTRY_CONFIGURATION_PATH`,
 * or found at the system location), or the embedded default.
 */
export type ConfigSource =
  | { readonly kind: 'file'; readonly path: string; readonly origin: 'argument' | 'environment' | 'system' }
  | { readonly kind: 'default'; readonly yamlText: string };

/**
 * Chooses the configuration: the command-line argument, else `REGISTRY_CONFIGURATION_PATH`, else
 * `/etc/docker/registry/config.yml` (`systemPath`, which tests replace) when it exists, else the
 * embedded default.
 */
export function resolveConfigSource(
  argument: string | undefined,
  env: NodeJS.ProcessEnv,
  fileExists: (path: string) => boolean = existsSync,
  systemPath: string = SYSTEM_CONFIG_PATH,
): ConfigSource {
  if (argument !== undefined && argument !== '') return { kind: 'file', path: argument, origin: 'argument' };
  const fromEnv = env.REGISTRY_CONFIGURATION_PATH;
  if (fromEnv !== undefined && fromEnv !== '') return { kind: 'file', path: fromEnv, origin: 'environment' };
  if (fileExists(systemPath)) return { kind: 'file', path: systemPath, origin: 'system' };
  return { kind: 'default', yamlText: defaultConfigYaml() };
}
