import { existsSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { makeTempDir, spawnTracked, stopProcess, type ExitStatus, type Spawned } from './processes';

/** The repository root and the built command the end-to-end tests run. */
export const REPO_ROOT = resolve(__dirname, '../../../..');
export const BERTH_BIN = join(REPO_ROOT, 'packages/cli/bin/berth.js');

/**
 * Fails with an explanation when the command has not been built: the end-to-end tests spawn
 * `node packages/cli/bin/berth.js`, which loads `packages/cli/dist`. `npm test` builds first.
 */
export function assertBerthBuilt(): void {
  const main = join(REPO_ROOT, 'packages/cli/dist/main.js');
  if (!existsSync(main)) {
    throw new Error(`${main} is missing: the end-to-end tests run the built berth command. Build it with \`npx tsc -b\` (\`npm test\` does).`);
  }
  const sources = join(REPO_ROOT, 'packages/cli/src');
  const stale = readdirSync(sources, { recursive: true, encoding: 'utf8' }).filter((name) => {
    if (!name.endsWith('.ts')) return false;
    const built = join(REPO_ROOT, 'packages/cli/dist', name.replace(/\.ts$/, '.js'));
    return !existsSync(built) || statSync(join(sources, name)).mtimeMs > statSync(built).mtimeMs;
  });
  if (stale.length > 0) {
    throw new Error(`packages/cli/dist is older than src (${stale.join(', ')}): run \`npx tsc -b\` before the end-to-end tests (\`npm test\` does).`);
  }
}

/** The environment a child Berth gets: this process's, minus every `REGISTRY_*` variable, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('REGISTRY_')) env[key] = value;
  return { ...env, ...extra };
}

/** Writes a config file (JSON is YAML) into a fresh temp dir and returns its path. */
export async function writeConfig(config: unknown, name = 'config.yml'): Promise<string> {
  const dir = await makeTempDir('config');
  const path = join(dir, name);
  await writeFile(path, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return path;
}

/** A config for a test server: loopback, a free port chosen by the system, info logs as text. */
export function testConfig(storage: Record<string, unknown>, http: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0.1',
    log: { level: 'info', formatter: 'text' },
    storage,
    http: { addr: '127.0.0.1:0', secret: 'e2e-shared-secret', draintimeout: '5s', ...http },
  };
}

export interface RunningBerth {
  readonly process: Spawned;
  /** `127.0.0.1:<port>`, as skopeo wants it. */
  readonly hostPort: string;
  readonly url: string;
  /** Sends a signal (SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<ExitStatus>;
}

/**
 * Runs `berth serve <config>` and resolves once it printed "listening on HOST:PORT" (the port the
 * system chose when the config says port 0). Rejects with the output when it exits first.
 */
export async function startBerth(config: unknown, options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunningBerth> {
  assertBerthBuilt();
  const configPath = await writeConfig(config);
  const spawned = spawnTracked(process.execPath, [BERTH_BIN, 'serve', configPath], { cwd: REPO_ROOT, env: cleanEnv(options.env) });
  const match = await spawned.waitForOutput(/listening on ([^\s"]+)/, options.timeoutMs ?? 60_000);
  const hostPort = match[1]!;
  return {
    process: spawned,
    hostPort,
    url: `http://${hostPort}`,
    stop: (signal = 'SIGTERM') => stopProcess(spawned, signal),
  };
}

/** Runs the built `berth` with arguments to completion: its exit status and output. */
export async function runBerth(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ExitStatus & { stdout: string; stderr: string }> {
  assertBerthBuilt();
  const spawned = spawnTracked(process.execPath, [BERTH_BIN, ...args], { cwd: REPO_ROOT, env: cleanEnv(options.env) });
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const status = await spawned.exited;
  clearTimeout(timer);
  return { ...status, stdout: spawned.stdout(), stderr: spawned.stderr() };
}
