/**
 * A real `redis-server` (Debian's package `redis-server`) for tests: on 127.0.0.1, a free port, its
 * own temp directory, no persistence. Started and stopped by the test file that needs it:
 *
 *   const redis = await startRedis();          // throws when redis-server is not installed
 *   ... redis.url (redis://127.0.0.1:PORT), redis.port ...
 *   await redis.stop();                         // the server is gone: clients see it down
 *   await redis.start();                        // again on the same port (a restart, data lost)
 *   await redis.close();                        // stops it and removes the directory
 *
 * `redisSkipReason()` says why Redis tests cannot run here (undefined when they can); with
 * BERTH_REQUIRE_REDIS=1 (CI) `startRedis` fails instead of letting a test skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { freePort } from './ports';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOST = '127.0.0.1';

/** Why tests that need redis-server cannot run on this machine, or undefined when they can. */
export function redisSkipReason(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const reason = 'redis-server is not installed (apt-get install -y redis-server)';
    if (process.env.BERTH_REQUIRE_REDIS === '1') throw new Error(`BERTH_REQUIRE_REDIS=1 but ${reason}`);
    return reason;
  }
  return undefined;
}

export { freePort };

/** Resolves when a PING on `port` is answered with PONG, rejects after `timeoutMs`. */
async function waitForPong(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} before it answered`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: HOST, port });
      let reply = '';
      socket.setTimeout(500, () => socket.destroy());
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (data) => {
        reply += data.toString();
        if (reply.includes('\r\n')) {
          socket.destroy();
          resolve(reply.startsWith('+PONG'));
        }
      });
      socket.on('error', () => resolve(false));
      socket.on('close', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TestRedis {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT`, as `redis.addr` takes it. */
  readonly addr: string;
  readonly dir: string;
  /** True while the server runs. */
  readonly running: boolean;
  /** Starts the server again on the same port (after `stop`); its data is gone. */
  start(): Promise<void>;
  /** Stops the server (SIGTERM, SIGKILL after 5 s); resolves when it has exited. */
  stop(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

/**
 * Starts redis-server on a free port of 127.0.0.1 with its own temp directory and no persistence
 * (`--save ''`, no AOF). `extraArgs` are passed on (e.g. `['--requirepass', 'secret']`).
 */
export async function startRedis(options: { extraArgs?: readonly string[]; timeoutMs?: number } = {}): Promise<TestRedis> {
  const reason = redisSkipReason();
  if (reason) throw new Error(reason);
  const dir = mkdtempSync(join(tmpdir(), 'berth-redis-'));
  let port = 0;
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', HOST, '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning', ...(options.extraArgs ?? [])];
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr?.resume();
    await waitForPong(port, proc, options.timeoutMs ?? 10_000);
  };

  // A port picked free may be taken before redis binds it (other tests run at the same time): retry.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      await stopChild(child);
      if (attempt >= 4) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  const redis: TestRedis = {
    host: HOST,
    get port() {
      return port;
    },
    get url() {
      return `redis://${HOST}:${port}`;
    },
    get addr() {
      return `${HOST}:${port}`;
    },
    dir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (redis.running) return;
      await launch();
    },
    async stop() {
      await stopChild(child);
    },
    async close() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return redis;
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
