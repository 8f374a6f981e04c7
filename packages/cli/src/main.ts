import { Command } from 'commander';
import { withImplicitServe } from './argv';
import { runConfigCheck, runConfigPrint } from './config-commands';
import { parseGracePeriod, runGarbageCollect, type GarbageCollectFlags } from './gc';
import { describeError } from './load';
import { runRetention, type RetentionFlags } from './retention';
import { runServe } from './serve';
import { berthVersion } from './version';

/**
 * The `berth` command line. Configuration errors and system errors (a busy port, a missing or
 * unreadable file) end the command with exit code 1 and one line on stderr naming the key or the
 * cause; any other error prints its stack (it is a bug).
 */

/** What `--help` of the commands that read the configuration says about `REGISTRY_*` variables. */
const ENVIRONMENT_HELP = `
Configuration file: the [config] argument, else $REGISTRY_CONFIGURATION_PATH, else
/etc/docker/registry/config.yml when it exists, else built-in defaults (filesystem storage
under ./data, listening on :5000). Which one was read is logged at start-up.

Environment: any configuration key can be set as REGISTRY_ followed by the key's path in
upper case, levels joined by _, the value read as YAML; it overrides the file. For example
  REGISTRY_HTTP_ADDR=127.0.0.1:5000                       sets http.addr
  REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/srv/registry  sets storage.filesystem.rootdirectory
  REGISTRY_LOG_FORMATTER=json                             sets log.formatter
See docs/configuration.md#environment-overrides.
`;

function fail(error: unknown): number {
  process.stderr.write(`berth: ${describeError(error)}\n`);
  return 1;
}

/** Runs a command body and exits with its code (the process exits even if sockets linger). */
async function exitWith(body: () => number | Promise<number>): Promise<void> {
  let code: number;
  try {
    code = await body();
  } catch (error) {
    code = fail(error);
  }
  process.exit(code);
}

export function buildProgram(env: NodeJS.ProcessEnv = process.env): Command {
  const program = new Command('berth')
    .description('A container registry server (OCI Distribution API) with pluggable storage.')
    .version(berthVersion())
    .showHelpAfterError();

  program
    .command('serve')
    .description(
      'serve the registry; config from the argument, else $REGISTRY_CONFIGURATION_PATH, else /etc/docker/registry/config.yml, else built-in defaults',
    )
    .argument('[config]', 'path to config.yml')
    .addHelpText('after', ENVIRONMENT_HELP)
    .action((config: string | undefined) => exitWith(() => runServe(config, env)));

  const configCommand = program.command('config').description('validate or show the effective configuration');
  configCommand
    .command('check')
    .description('validate the configuration (file, defaults and REGISTRY_* variables)')
    .argument('[config]', 'path to config.yml')
    .addHelpText('after', ENVIRONMENT_HELP)
    .action((config: string | undefined) => exitWith(() => runConfigCheck(config, env)));
  configCommand
    .command('print')
    .description('print the effective configuration as YAML, secrets redacted')
    .argument('[config]', 'path to config.yml')
    .addHelpText('after', ENVIRONMENT_HELP)
    .action((config: string | undefined) => exitWith(() => runConfigPrint(config, env)));

  program
    .command('garbage-collect')
    .description(
      'delete blobs no manifest references (and with --delete-untagged, untagged manifests nothing kept needs) while the registry keeps serving; config resolved like serve',
    )
    .argument('[config]', 'path to config.yml')
    .addHelpText('after', ENVIRONMENT_HELP)
    .option('-d, --dry-run', 'only list what would be deleted; storage is not written')
    .option('-m, --delete-untagged', 'also delete untagged manifests that no kept index or subject needs')
    .option('--grace-period <duration>', 'keep unreferenced content younger than this (Go duration; default storage.gc.graceperiod, 1h)', parseGracePeriod)
    .action((config: string | undefined, flags: GarbageCollectFlags) => exitWith(() => runGarbageCollect(config, flags, env)));

  program
    .command('retention')
    .description(
      'apply the retention rules of policies now: delete the tags and manifests they do not keep (the next garbage collection returns the space); config resolved like serve',
    )
    .argument('[config]', 'path to config.yml')
    .addHelpText('after', ENVIRONMENT_HELP)
    .option('-d, --dry-run', 'only list what would be kept and deleted, with the reasons; storage is not written')
    .action((config: string | undefined, flags: RetentionFlags) => exitWith(() => runRetention(config, flags, env)));

  return program;
}

void buildProgram().parseAsync(withImplicitServe(process.argv));
