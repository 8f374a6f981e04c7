'use strict';
// Child processes and temp dirs the benchmark creates, so that every exit path (normal end, an
// error, Ctrl-C) stops exactly what this process started and removes what it created.
const { spawn, execFile } = require('node:child_process');
const { mkdtempSync, rmSync, openSync, closeSync, readFileSync } = require('node:fs');
const { createServer } = require('node:net');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const children = new Set();
const tempDirs = new Set();
let keepTemp = false;

/** Keep temp dirs on exit (--keep), for looking at what the registries stored. */
function setKeepTemp(value) {
  keepTemp = value;
}

function killAllSync() {
  for (const entry of children) {
    try {
      // A group leader (start-rgw.sh) cleans up its own group and directory on SIGTERM.
      entry.child.kill(entry.group ? 'SIGTERM' : 'SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
  if (!keepTemp) for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
process.once('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`\nbench: ${signal}, stopping servers`);
    killAllSync();
    process.exit(130);
  });
}

/** A fresh directory under the system temp dir, removed at exit (or by `removeTempDir`). */
function makeTempDir(label) {
  const dir = mkdtempSync(join(tmpdir(), `berth-bench-${label}-`));
  tempDirs.add(dir);
  return dir;
}

function removeTempDir(dir) {
  tempDirs.delete(dir);
  if (!keepTemp) rmSync(dir, { recursive: true, force: true });
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawns a long-running process with stdout and stderr appended to `logPath`. With `group` it
 * gets its own process group: `stop` signals the leader, and SIGKILLs the whole group only if the
 * leader has not exited after `timeoutMs`. Returns
 * `{ child, pid, exited, stop(signal), log() }`; `exited` resolves with `{ code, signal }`.
 */
function spawnLogged(command, args, { logPath, env, cwd, group = false }) {
  const fd = openSync(logPath, 'a');
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', fd, fd], detached: group });
  closeSync(fd);
  const entry = { child, group };
  children.add(entry);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(entry);
      resolve({ code, signal });
    });
  });
  const signalIt = (signal) => {
    try {
      if (group && signal === 'SIGKILL') process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // already gone
    }
  };
  return {
    child,
    pid: child.pid,
    exited,
    running: () => child.exitCode === null && child.signalCode === null,
    log: () => {
      try {
        return readFileSync(logPath, 'utf8').split('\n').slice(-40).join('\n');
      } catch {
        return '(no log)';
      }
    },
    /** Sends `signal`, waits for the exit, and kills after `timeoutMs`. */
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      signalIt(signal);
      const timer = setTimeout(() => signalIt('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Runs a command to completion; resolves with `{ stdout, stderr }`, rejects on a non-zero exit. */
function run(command, args, { timeoutMs = 600_000, env, cwd } = {}) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, env, cwd, maxBuffer: 64 << 20, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed (${error.message.split('\n')[0]}):\n${stderr}${stdout}`));
      else resolve({ stdout, stderr });
    });
  });
}

module.exports = { freePort, makeTempDir, removeTempDir, run, setKeepTemp, spawnLogged };
