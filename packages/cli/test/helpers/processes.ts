import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Child processes and temp dirs the end-to-end tests create, so that every test file can clean up
 * exactly what it started (`cleanupAll` in `afterAll`, which also runs when a test failed).
 */

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** A child that is still running is killed when the jest worker exits, whatever happened. */
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A spawned process with its combined output collected and its exit awaited. */
export interface Spawned {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  /** stdout and stderr so far. */
  output(): string;
  stderr(): string;
  stdout(): string;
  /** Resolves with the first regexp match in stderr/stdout, or rejects on exit or after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions): Spawned {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  let combined = '';
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    combined += chunk;
    for (const l of listeners) l();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    combined += chunk;
    for (const l of listeners) l();
  });
  let closed = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('close', (code, signal) => {
      closed = true;
      children.delete(child);
      resolve({ code, signal });
      for (const l of [...listeners]) l();
    });
  });
  return {
    child,
    exited,
    output: () => combined,
    stderr: () => err,
    stdout: () => out,
    waitForOutput(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = combined.match(pattern);
          if (match) finish(() => resolve(match));
          else if (closed) finish(() => reject(new Error(`${command} exited before printing ${pattern}:\n${combined}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`${command} did not print ${pattern} within ${timeoutMs} ms:\n${combined}`))),
          timeoutMs,
        );
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Sends `signal` and waits for the exit; escalates to SIGKILL after `timeoutMs`. */
export async function stopProcess(spawned: Spawned, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<ExitStatus> {
  if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return spawned.exited;
  spawned.child.kill(signal);
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), timeoutMs);
  try {
    return await spawned.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a command to completion; rejects with its output when it exits non-zero. */
export function run(
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { timeout: options.timeoutMs ?? 120_000, env: options.env, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        children.delete(child);
        if (error) reject(new Error(`${command} ${args.join(' ')} failed (${error.message.split('\n')[0]}):\n${stderr}${stdout}`));
        else resolve({ stdout, stderr });
      },
    );
    children.add(child);
  });
}

/** A temp dir removed by `cleanupAll`. */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `berth-e2e-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

/** Kills every child still running (SIGKILL) and removes every temp dir. */
export async function cleanupAll(): Promise<void> {
  const running = [...children];
  for (const child of running) child.kill('SIGKILL');
  await Promise.all(running.map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((r) => child.once('close', r)))));
  const dirs = [...tempDirs];
  tempDirs.clear();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

export { freePort } from '../../../../test-support/ports';
