import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig, type BerthConfig } from '@berth/config';
import { realDrivers } from './real-drivers';

/**
 * Reading Compose files the way `docker compose` hands them to containers, so that tests can put
 * each service's `REGISTRY_*` variables through the real loader on top of the image's default
 * config (scripts/image/config.yml, what the Dockerfile copies to /etc/docker/registry/config.yml).
 */

export const REPO_ROOT = resolve(__dirname, '../../..');
export const IMAGE_CONFIG = resolve(REPO_ROOT, 'scripts/image/config.yml');

export type ComposeService = Record<string, unknown>;

export interface ComposeFile {
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly volumes: Readonly<Record<string, unknown>>;
  readonly raw: Record<string, unknown>;
}

/** Parses a Compose document; throws when it is not a mapping with a `services` mapping. */
export function parseCompose(text: string): ComposeFile {
  const raw = parse(text) as unknown;
  if (!isRecord(raw)) throw new Error('a Compose file must be a YAML mapping');
  if (!isRecord(raw.services)) throw new Error('a Compose file needs a services mapping');
  const services: Record<string, ComposeService> = {};
  for (const [name, service] of Object.entries(raw.services)) {
    if (!isRecord(service)) throw new Error(`services.${name} must be a mapping`);
    services[name] = service;
  }
  return { services, volumes: isRecord(raw.volumes) ? raw.volumes : {}, raw };
}

export function readCompose(relativePath: string): ComposeFile {
  return parseCompose(readFileSync(resolve(REPO_ROOT, relativePath), 'utf8'));
}

/**
 * Compose's variable interpolation against `vars`: `$$` is a literal `$`; `${X}` and `$X` are the
 * value or empty; `${X:-d}` is `d` when X is unset or empty, `${X-d}` only when unset;
 * `${X:?msg}`/`${X?msg}` throw when X is missing (as `docker compose` refuses the file).
 */
export function interpolate(value: string, vars: Readonly<Record<string, string>> = {}): string {
  return value.replace(/\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, body: string, name?: string, op?: string, arg?: string, bare?: string) => {
    if (body === '$') return '$';
    const key = (name ?? bare) as string;
    const current = vars[key];
    const missing = op?.startsWith(':') ? current === undefined || current === '' : current === undefined;
    if (op === undefined || !missing) return current ?? '';
    if (op.endsWith('?')) throw new Error(`required variable ${key} is missing: ${arg ?? ''}`);
    return arg ?? '';
  });
}

/**
 * A service's `environment` as the container sees it: the mapping or `KEY=value` list form, values
 * as strings (Compose passes `true` and `5` as text), interpolated. A name without a value takes
 * the host's, which a test does not have: it is left out.
 */
export function serviceEnvironment(service: ComposeService, vars: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  const environment = service.environment;
  if (environment === undefined || environment === null) return env;
  if (Array.isArray(environment)) {
    for (const entry of environment) {
      const text = String(entry);
      const eq = text.indexOf('=');
      if (eq > 0) env[text.slice(0, eq)] = interpolate(text.slice(eq + 1), vars);
    }
  } else if (isRecord(environment)) {
    for (const [key, value] of Object.entries(environment)) {
      if (value !== null && value !== undefined) env[key] = interpolate(String(value), vars);
    }
  } else {
    throw new Error('environment must be a mapping or a list of KEY=value');
  }
  return env;
}

/** Only the `REGISTRY_*` variables of an environment (what the loader reads). */
export function registryVariables(env: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([key]) => key.startsWith('REGISTRY_')));
}

/**
 * Loads Berth's configuration as a container of the image would: the image's config.yml plus
 * `env`'s `REGISTRY_*` variables, with the real inmemory, filesystem and s3 drivers. Throws the
 * loader's `ConfigError` for a value the loader refuses.
 */
export function loadAsImage(env: Readonly<Record<string, string>>): BerthConfig {
  return loadConfig({ file: IMAGE_CONFIG, env: registryVariables(env), drivers: realDrivers() });
}

/** Warnings that say a variable or key was not acted on (a typo, or a key Berth ignores). */
export function ignoredWarnings(config: BerthConfig): string[] {
  return config.warnings.filter((w) => /unrecognized environment variable|not implemented|deprecated/i.test(w));
}

/** The `host:container[:mode]` bind mounts and named volumes of a service, short syntax only. */
export function serviceMounts(service: ComposeService): { source: string; target: string; mode?: string }[] {
  const volumes = service.volumes;
  if (!Array.isArray(volumes)) return [];
  return volumes.map((entry) => {
    if (typeof entry !== 'string') throw new Error('only the short volume syntax (source:target[:mode]) is supported here');
    const [source, target, mode] = entry.split(':');
    return { source: source as string, target: target as string, mode };
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
