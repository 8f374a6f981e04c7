'use strict';
// One redis-server (Debian's package) on loopback for the redis group: a free port, its own temp
// directory, no persistence. Both registries under test share it, each under its own keys.
const { spawnSync } = require('node:child_process');
const net = require('node:net');
const { join } = require('node:path');
const { freePort, makeTempDir, removeTempDir, spawnLogged } = require('./processes');

function redisInstalled() {
  const probe = spawnSync('redis-server', ['--version']);
  return !probe.error && probe.status === 0;
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(500, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(false));
  });
}

/** Starts redis-server; resolves with `{ addr, stop() }` once it answers PING. */
async function startRedisServer() {
  const dir = makeTempDir('redis');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'volatile-lru'];
  const proc = spawnLogged('redis-server', args, { logPath: join(dir, 'redis.log'), env: process.env, cwd: dir });
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (!proc.running() || Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`redis-server did not start:\n${proc.log()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    addr: `127.0.0.1:${port}`,
    async stop() {
      await proc.stop('SIGTERM');
      removeTempDir(dir);
    },
  };
}

module.exports = { redisInstalled, startRedisServer };
