import { AuthSetupError, createAuthenticator, type Authenticator, type AuthenticatorOptions } from '@berth/api';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, type AuthConfig, type BerthConfig } from '@berth/config';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import { inmemoryDriverFactory } from '@berth/driver-inmemory';
import { s3DriverFactory } from '@berth/driver-s3';
import { DriverParameterError, DriverFactories, UnknownDriverError } from '@berth/storage-driver';
import { resolveConfigSource, type ConfigSource } from './default-config';
import { ListenAddressError, parseListenAddress, type ListenTarget } from './listen';
import { loadTls, type TlsSetup } from './tls';
import { checkUnimplemented } from './unimplemented';

/** The storage drivers the command knows: inmemory, filesystem and s3. */
export function createDriverFactories(): DriverFactories {
  return new DriverFactories([inmemoryDriverFactory, filesystemDriverFactory, s3DriverFactory]);
}

export interface LoadedConfig {
  readonly config: BerthConfig;
  readonly source: ConfigSource;
  readonly drivers: DriverFactories;
}

export interface LoadOptions {
  /** Where the system configuration is looked for (default `/etc/docker/registry/config.yml`; tests replace it). */
  readonly systemConfigPath?: string;
}

/**
 * Loads the effective configuration for a command: the file chosen by `resolveConfigSource` (or the
 * embedded default) with the `REGISTRY_*` variables of `env` applied. Throws `ConfigError`, or
 * `SystemConfigError` when the file is the one found at the system location.
 */
export function loadEffectiveConfig(argument: string | undefined, env: NodeJS.ProcessEnv, options: LoadOptions = {}): LoadedConfig {
  const drivers = createDriverFactories();
  const source = resolveConfigSource(argument, env, existsSync, options.systemConfigPath);
  try {
    const config =
      source.kind === 'file' ? loadConfig({ file: source.path, env, drivers }) : loadConfig({ yamlText: source.yamlText, env, drivers });
    return { config, source, drivers };
  } catch (error) {
    throw attributeToSource(source, error);
  }
}

/** Where a configuration came from, for logs: the file path, or "built-in defaults". */
export function describeSource(source: ConfigSource): string {
  return source.kind === 'file' ? source.path : 'built-in defaults';
}

/**
 * A configuration error in the file found at the system location (`/etc/docker/registry/config.yml`),
 * which the user did not name and may not know is read (Debian's docker-registry package installs
 * one): the message says where the error is and why that file was read.
 */
export class SystemConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly path: string,
    override readonly cause: Error,
  ) {
    super(
      `${oneLine(cause.message)} [in ${path}, read because no file was named and REGISTRY_CONFIGURATION_PATH is not set; ` +
        'give your own with `berth serve <file>` or REGISTRY_CONFIGURATION_PATH]',
    );
    this.name = 'SystemConfigError';
  }
}

/** `error` as thrown for a command using `source`: a configuration error in the system file becomes a `SystemConfigError`. */
export function attributeToSource(source: ConfigSource, error: unknown): unknown {
  if (source.kind !== 'file' || source.origin !== 'system' || error instanceof SystemConfigError || !isConfigurationError(error)) return error;
  return new SystemConfigError(source.path, error);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/**
 * True for the errors a user fixes in the configuration: they are reported as one line naming the
 * key, without a stack trace.
 */
export function isConfigurationError(error: unknown): error is Error {
  return (
    error instanceof ConfigError ||
    error instanceof DriverParameterError ||
    error instanceof UnknownDriverError ||
    error instanceof ListenAddressError ||
    error instanceof SystemConfigError
  );
}

/** An error of the operating system (a busy port, a missing or unreadable file): `code` ENOENT, EADDRINUSE, … and the call that failed. */
function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  const { code, syscall } = error as NodeJS.ErrnoException;
  return error instanceof Error && typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) && typeof syscall === 'string';
}

/**
 * An error as `berth` reports it: a configuration error's or a system error's one-line message
 * (the cause, for the user to fix), anything else's stack (a bug).
 */
export function describeError(error: unknown): string {
  if (isConfigurationError(error) || isSystemError(error)) return oneLine(error.message);
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** What `serve` checks before it opens anything; `config check` runs the same checks. */
export interface Preflight {
  readonly target: ListenTarget;
  /** `http.tls` with its files read, or undefined for plain HTTP. */
  readonly tls: TlsSetup | undefined;
  /** `auth` with its files read (htpasswd, certificate bundle, JWKS), or undefined without access control. */
  readonly auth: Authenticator | undefined;
  /** The loader's warnings and those about configured features this build does not serve. */
  readonly warnings: readonly string[];
}

/** The api's options for a configured scheme; undefined for `none`. */
export function authenticatorOptions(auth: AuthConfig): AuthenticatorOptions | undefined {
  switch (auth.type) {
    case 'none':
      return undefined;
    case 'silly':
      return { type: 'silly', realm: auth.realm, service: auth.service };
    case 'htpasswd':
      return { type: 'htpasswd', realm: auth.realm, path: auth.path, anonymousPull: auth.anonymouspull };
    case 'token':
      return {
        type: 'token',
        realm: auth.realm,
        service: auth.service,
        issuer: auth.issuer,
        rootCertBundle: auth.rootcertbundle,
        jwks: auth.jwks,
        signingAlgorithms: auth.signingalgorithms,
        autoRedirect: auth.autoredirect,
        autoRedirectPath: auth.autoredirectpath,
        anonymousPull: auth.anonymouspull,
      };
  }
}

/** The authenticator of `auth`, its files read now; a missing or unusable file is a `ConfigError` naming the key. */
function loadAuth(auth: AuthConfig): Authenticator | undefined {
  const options = authenticatorOptions(auth);
  if (!options) return undefined;
  if (auth.type === 'htpasswd' && isDirectory(auth.path)) {
    throw new ConfigError(
      'auth.htpasswd.path',
      `${auth.path} is a directory, not an htpasswd file: name the file itself (for example ${join(auth.path, 'htpasswd')}, created with \`htpasswd -cB <file> <user>\`)`,
    );
  }
  try {
    return createAuthenticator(options);
  } catch (error) {
    if (error instanceof AuthSetupError) throw new ConfigError(error.key, error.message);
    throw error;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Checks what the loader leaves to the command: the listen address, the TLS and auth files, and
 * sections this build does not implement. Throws `ListenAddressError` or `ConfigError`.
 */
export function preflight(config: BerthConfig): Preflight {
  const target = parseListenAddress(config.http.addr, config.http.net);
  const auth = loadAuth(config.auth);
  const warnings = [...config.warnings, ...checkUnimplemented(config), ...(auth?.warnings ?? [])];
  return { target, tls: loadTls(config.http.tls), auth, warnings };
}
