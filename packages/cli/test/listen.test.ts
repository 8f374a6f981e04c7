import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListenAddressError, formatAddress, listenOn, parseListenAddress } from '../src/listen';

describe('parseListenAddress', () => {
  it('reads :PORT as every interface', () => {
    expect(parseListenAddress(':5000')).toEqual({ kind: 'tcp', host: undefined, port: 5000 });
  });

  it('reads HOST:PORT and [IPv6]:PORT', () => {
    expect(parseListenAddress('127.0.0.1:8080')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 8080 });
    expect(parseListenAddress('localhost:0')).toEqual({ kind: 'tcp', host: 'localhost', port: 0 });
    expect(parseListenAddress('[::1]:5001')).toEqual({ kind: 'tcp', host: '::1', port: 5001 });
  });

  it('binds :PORT to the family that tcp4 or tcp6 names', () => {
    expect(parseListenAddress(':5000', 'tcp4')).toEqual({ kind: 'tcp', host: '0.0.0.0', port: 5000 });
    expect(parseListenAddress(':5000', 'tcp6')).toEqual({ kind: 'tcp', host: '::', port: 5000 });
  });

  it('takes the address as a socket path with net unix', () => {
    expect(parseListenAddress('/run/berth.sock', 'unix')).toEqual({ kind: 'unix', path: '/run/berth.sock' });
  });

  it.each(['5000', 'host', '::1:5000', '127.0.0.1:70000', '127.0.0.1:', ':http', ''])('rejects http.addr %j naming the key', (addr) => {
    expect(() => parseListenAddress(addr)).toThrow(ListenAddressError);
    expect(() => parseListenAddress(addr)).toThrow(/^http\.addr: /);
  });

  it('rejects an unknown http.net naming the key', () => {
    expect(() => parseListenAddress(':5000', 'udp')).toThrow(/^http\.net: must be one of/);
  });
});

describe('listenOn', () => {
  it('listens on a loopback port and formats the address as distribution prints it', async () => {
    const server = createServer();
    await listenOn(server, parseListenAddress('127.0.0.1:0'));
    try {
      expect(formatAddress(server.address())).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('listens on a unix socket, replacing one left behind by a dead process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-listen-'));
    const path = join(dir, 'registry.sock');
    try {
      // A socket file that nobody listens on any more: its process was killed.
      const owner = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
      await new Promise((r) => owner.stdout.once('data', r));
      owner.kill('SIGKILL');
      await new Promise((r) => owner.once('close', r));
      expect((await stat(path)).isSocket()).toBe(true);

      const server = createServer((_req, res) => res.end('ok'));
      await listenOn(server, parseListenAddress(path, 'unix'));
      expect(formatAddress(server.address())).toBe(`unix:${path}`);
      await new Promise((r) => server.close(r));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a taken port with an http.addr error naming the address and the cause', async () => {
    const first = createServer();
    await listenOn(first, parseListenAddress('127.0.0.1:0'));
    const port = (first.address() as { port: number }).port;
    try {
      await expect(listenOn(createServer(), parseListenAddress(`127.0.0.1:${port}`))).rejects.toMatchObject({
        name: 'ListenAddressError',
        key: 'http.addr',
        message: `http.addr: 127.0.0.1:${port} is already in use (another process listens there)`,
      });
    } finally {
      await new Promise((r) => first.close(r));
    }
  });

  it('names the key it was given when the port needs privileges (http.debug.addr, not http.addr)', async () => {
    // The tests run as root, who may listen anywhere: the server answers EACCES as for a non-root user.
    const server = createServer();
    server.listen = function refuse(this: typeof server) {
      process.nextTick(() => this.emit('error', Object.assign(new Error('listen EACCES'), { code: 'EACCES' })));
      return this;
    } as typeof server.listen;
    await expect(listenOn(server, parseListenAddress('127.0.0.1:80'), 'http.debug.addr')).rejects.toMatchObject({
      key: 'http.debug.addr',
      message: 'http.debug.addr: permission denied listening on 127.0.0.1:80 (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
    });
  });
});
