import { redactConfig } from '@berth/config';
import { stringify } from 'yaml';
import { attributeToSource, loadEffectiveConfig, preflight, type LoadOptions, type Preflight } from './load';
import type { ConfigSource } from './default-config';
import type { BerthConfig } from '@berth/config';

/** `preflight`, its configuration errors attributed to the system file when that is the one read. */
function checked(config: BerthConfig, source: ConfigSource): Preflight {
  try {
    return preflight(config);
  } catch (error) {
    throw attributeToSource(source, error);
  }
}

/**
 * `berth config check [config]`: loads and validates the configuration exactly as `serve` would
 * (file or default, `REGISTRY_*` variables, driver parameters) without opening anything. Prints
 * "configuration OK", and each ignored key or variable as a warning line on stderr.
 */
export function runConfigCheck(argument: string | undefined, env: NodeJS.ProcessEnv, options: LoadOptions = {}): number {
  const { config, source } = loadEffectiveConfig(argument, env, options);
  for (const warning of checked(config, source).warnings) process.stderr.write(`warning: ${warning}\n`);
  process.stdout.write('configuration OK\n');
  return 0;
}

/**
 * `berth config print [config]`: the effective configuration (Berth's resolved form: the chosen
 * driver and its parameters, defaults filled in, durations in milliseconds) as YAML on stdout, with
 * secrets redacted; warnings go to stderr as with `check`.
 */
export function runConfigPrint(argument: string | undefined, env: NodeJS.ProcessEnv, options: LoadOptions = {}): number {
  const { config, source, drivers } = loadEffectiveConfig(argument, env, options);
  const { warnings: _warnings, ...effective } = redactConfig(config, drivers) as { warnings: readonly string[] } & Record<string, unknown>;
  for (const warning of checked(config, source).warnings) process.stderr.write(`warning: ${warning}\n`);
  process.stdout.write('# Effective configuration (durations in milliseconds, secrets redacted)\n');
  process.stdout.write(stringify(effective));
  return 0;
}
