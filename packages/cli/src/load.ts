import { AuthSetupError, createAuthenticator, type Authenticator, type AuthenticatorOptions } from '@berth/api';
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

/**
 * Loads the effective configuration for a command: the file chosen by `resolveConfigSource` (or the
 * embedded default) with the `REGISTRY_*` variables of `env` applied. Throws `ConfigError`.
 */
export function loadEffectiveConfig(argument: string | undefined, env: NodeJS.ProcessEnv): LoadedConfig {
  const drivers = createDriverFactories();
  const source = resolveConfigSource(argument, env);
  const config =
    source.kind === 'file' ? loadConfig({ file: source.path, env, drivers }) : loadConfig({ yamlText: source.yamlText, env, drivers });
  return { config, source, drivers };
}

/** Where a configuration came from, for logs: the file path, or "built-in default". */
export function describeSource(source: ConfigSource): string {
  return source.kind === 'file' ? source.path : 'built-in default';
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
    error instanceof ListenAddressError
  );
}

/** An error as `berth` reports it: a configuration error's one-line message, anything else's stack. */
export function describeError(error: unknown): string {
  if (isConfigurationError(error)) return error.message.replace(/\s*\n\s*/g, ' ');
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
  try {
    return createAuthenticator(options);
  } catch (error) {
    if (error instanceof AuthSetupError) throw new ConfigError(error.key, error.message);
    throw error;
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
