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

/** Which configuration a command uses: a file, or the embedded default. */
export type ConfigSource = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'default'; readonly yamlText: string };

/**
 * Chooses the configuration: the command-line argument, else `REGISTRY_CONFIGURATION_PATH`, else
 * `/etc/docker/registry/config.yml` when it exists, else the embedded default.
 */
export function resolveConfigSource(
  argument: string | undefined,
  env: NodeJS.ProcessEnv,
  fileExists: (path: string) => boolean = existsSync,
): ConfigSource {
  if (argument !== undefined && argument !== '') return { kind: 'file', path: argument };
  const fromEnv = env.REGISTRY_CONFIGURATION_PATH;
  if (fromEnv !== undefined && fromEnv !== '') return { kind: 'file', path: fromEnv };
  if (fileExists(SYSTEM_CONFIG_PATH)) return { kind: 'file', path: SYSTEM_CONFIG_PATH };
  return { kind: 'default', yamlText: defaultConfigYaml() };
}
