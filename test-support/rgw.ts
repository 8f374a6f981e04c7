import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The executables scripts/rgw/start-rgw.sh needs (Debian: ceph-mon ceph-osd radosgw ceph-common ceph-base). */
const CEPH_EXECUTABLES = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool', 'ceph'];

/** The first of CEPH_EXECUTABLES missing from PATH, or undefined when all are there. */
export function missingCephExecutable(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return CEPH_EXECUTABLES.find(
    (name) =>
      !dirs.some((dir) => {
        try {
          accessSync(join(dir, name), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
}

/** A running gateway: the REGISTRY_TEST_S3_* variables to reach it, and what to stop and remove. */
export interface StartedRgw {
  readonly env: Record<string, string>;
  /** Process group of start-rgw.sh and every daemon it started. */
  readonly pgid: number;
  /** The one directory holding the cluster's data, sockets and logs. */
  readonly dir: string;
  readonly startupMs: number;
}

/**
 * Runs scripts/rgw/start-rgw.sh in a new process group (so that `stopRgw` can end it and all its
 * daemons at once) and resolves when it prints RGW_READY. The script watches this process and stops
 * the cluster by itself if this process dies without calling `stopRgw`. Rejects, after stopping
 * whatever started, when the gateway is not ready within `timeoutMs`.
 */
export async function startRgw(repoRoot: string, timeoutMs = 120_000): Promise<StartedRgw> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-rgw-'));
  const logPath = `${dir}.log`; // beside the directory: the script removes the directory when it fails
  const logFd = openSync(logPath, 'a');
  const started = Date.now();
  const child = spawn(
    'bash',
    [join(repoRoot, 'scripts/rgw/start-rgw.sh'), '--dir', dir, '--remove-dir', '--watch-pid', String(process.pid)],
    { detached: true, stdio: ['ignore', 'pipe', logFd] },
  );
  closeSync(logFd);
  const pgid = child.pid;
  if (pgid === undefined) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error('could not spawn scripts/rgw/start-rgw.sh');
  }

  const env: Record<string, string> = {};
  try {
    await new Promise<void>((resolve, reject) => {
      let pending = '';
      const timer = setTimeout(() => reject(new Error(`Ceph RGW was not ready within ${timeoutMs} ms`)), timeoutMs);
      const finish = (error?: Error) => {
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.removeAllListeners('exit');
        if (error) reject(error);
        else resolve();
      };
      child.stdout?.on('data', (data: Buffer) => {
        pending += data.toString('utf8');
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line === 'RGW_READY') return finish();
          const eq = line.indexOf('=');
          if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
        }
      });
      child.on('exit', (code, signal) => finish(new Error(`start-rgw.sh exited (${signal ?? code}) before the gateway was ready`)));
    });
  } catch (error) {
    const log = readLog(logPath);
    await stopRgw({ pgid, dir });
    throw new Error(`${(error as Error).message}\n--- start-rgw.sh log ---\n${log}`, { cause: error });
  }
  // Nothing more is read from the script; let this process exit without waiting for it.
  child.stdout?.destroy();
  child.unref();
  return { env, pgid, dir, startupMs: Date.now() - started };
}

/**
 * Ends exactly the process group `startRgw` created (SIGKILL: the cluster is disposable, and a
 * graceful stop would make memstore write its data out first) and removes its directory and log.
 */
export async function stopRgw(rgw: { pgid: number; dir: string }): Promise<void> {
  try {
    process.kill(-rgw.pgid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
  // SIGKILL cannot be ignored; wait briefly for the group to vanish (zombies may linger longer).
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    try {
      process.kill(-rgw.pgid, 0);
    } catch {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  rmSync(rgw.dir, { recursive: true, force: true });
  rmSync(`${rgw.dir}.log`, { force: true });
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}
