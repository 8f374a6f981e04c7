import { redactConfig } from '@berth/config';
import { stringify } from 'yaml';
import { loadEffectiveConfig, preflight } from './load';

/**
 * `berth config check [config]`: loads and validates the configuration exactly as `serve` would
 * (file or default, `REGISTRY_*` variables, driver parameters) without opening anything. Prints
 * "configuration OK", and each ignored key or variable as a warning line on stderr.
 */
export function runConfigCheck(argument: string | undefined, env: NodeJS.ProcessEnv): number {
  const { config } = loadEffectiveConfig(argument, env);
  for (const warning of preflight(config).warnings) process.stderr.write(`warning: ${warning}\n`);
  process.stdout.write('configuration OK\n');
  return 0;
}

/**
 * `berth config print [config]`: the effective configuration (Berth's resolved form: the chosen
 * driver and its parameters, defaults filled in, durations in milliseconds) as YAML on stdout, with
 * secrets redacted; warnings go to stderr as with `check`.
 */
export function runConfigPrint(argument: string | undefined, env: NodeJS.ProcessEnv): number {
  const { config, drivers } = loadEffectiveConfig(argument, env);
  const { warnings: _warnings, ...effective } = redactConfig(config, drivers) as { warnings: readonly string[] } & Record<string, unknown>;
  for (const warning of preflight(config).warnings) process.stderr.write(`warning: ${warning}\n`);
  process.stdout.write('# Effective configuration (durations in milliseconds, secrets redacted)\n');
  process.stdout.write(stringify(effective));
  return 0;
}
