import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { withImplicitServe } from './argv';
import { runConfigCheck, runConfigPrint } from './config-commands';
import { parseGracePeriod, runGarbageCollect, type GarbageCollectFlags } from './gc';
import { describeError } from './load';
import { runServe } from './serve';

/**
 * The `berth` command line. Configuration errors end the command with exit code 1 and one line on
 * stderr naming the key; any other error prints its stack (it is a bug or an environment problem).
 */
function version(): string {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

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
    .version(version())
    .showHelpAfterError();

  program
    .command('serve')
    .description(
      'serve the registry; config from the argument, else $REGISTRY_CONFIGURATION_PATH, else /etc/docker/registry/config.yml, else built-in defaults',
    )
    .argument('[config]', 'path to config.yml')
    .action((config: string | undefined) => exitWith(() => runServe(config, env)));

  const configCommand = program.command('config').description('validate or show the effective configuration');
  configCommand
    .command('check')
    .description('validate the configuration (file, defaults and REGISTRY_* variables)')
    .argument('[config]', 'path to config.yml')
    .action((config: string | undefined) => exitWith(() => runConfigCheck(config, env)));
  configCommand
    .command('print')
    .description('print the effective configuration as YAML, secrets redacted')
    .argument('[config]', 'path to config.yml')
    .action((config: string | undefined) => exitWith(() => runConfigPrint(config, env)));

  program
    .command('garbage-collect')
    .description(
      'delete blobs no manifest references (and with --delete-untagged, untagged manifests nothing kept needs) while the registry keeps serving; config resolved like serve',
    )
    .argument('[config]', 'path to config.yml')
    .option('-d, --dry-run', 'only list what would be deleted; storage is not written')
    .option('-m, --delete-untagged', 'also delete untagged manifests that no kept index or subject needs')
    .option('--grace-period <duration>', 'keep unreferenced content younger than this (Go duration; default storage.gc.graceperiod, 1h)', parseGracePeriod)
    .action((config: string | undefined, flags: GarbageCollectFlags) => exitWith(() => runGarbageCollect(config, flags, env)));

  return program;
}

void buildProgram().parseAsync(withImplicitServe(process.argv));
