import { createServer, request } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT, runBerth, startBerth, testConfig, writeConfig } from './helpers/berth';
import { cleanupAll, freePort, makeTempDir } from './helpers/processes';

/** `berth serve` and `berth config` as a user meets them: start-up errors, overrides, signals. */

afterAll(cleanupAll);

/** Asserts the output of a failed start: exit 1, exactly one stderr line naming `key`, no stack. */
function expectOneLineError(result: { code: number | null; stderr: string; stdout: string }, key: string): void {
  const lines = result.stderr.trimEnd().split('\n');
  expect({ code: result.code, lines }).toEqual({ code: 1, lines: [expect.stringContaining(key)] });
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

/**
 * Asserts a start that failed once the storage was open: exit 1, and besides log lines of what had
 * started (put away again) exactly one stderr line, `berth: …` naming `cause`, no stack.
 */
function expectOneErrorLine(result: { code: number | null; stderr: string }, cause: string): void {
  const lines = result.stderr
    .trimEnd()
    .split('\n')
    .filter((l) => !l.startsWith('time='));
  expect({ code: result.code, lines }).toEqual({ code: 1, lines: [expect.stringMatching(/^berth: /)] });
  expect(lines[0]).toContain(cause);
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

describe('berth serve refuses a bad configuration with one line naming the key', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['an unknown storage driver', { nosuchdriver: {} }, 'storage'],
    ['two storage drivers', { inmemory: {}, filesystem: { rootdirectory: '/tmp/berth-never-used' } }, 'storage'],
    ['an s3 driver without a bucket', { s3: { region: 'us-east-1' } }, 'bucket'],
    ['an unknown filesystem parameter', { filesystem: { rootdir: '/tmp/x' } }, 'rootdir'],
  ];
  it.each(cases)('%s', async (_name, storage, key) => {
    expectOneLineError(await runBerth(['serve', await writeConfig(testConfig(storage))]), key);
  });

  it('a value of the wrong type', async () => {
    const config = { ...testConfig({ inmemory: {} }), catalog: { maxentries: 'plenty' } };
    expectOneLineError(await runBerth(['serve', await writeConfig(config)]), 'catalog.maxentries');
  });

  it('an address that is not HOST:PORT', async () => {
    const config = testConfig({ inmemory: {} }, { addr: 'localhost' });
    expectOneLineError(await runBerth(['serve', await writeConfig(config)]), 'http.addr');
  });

  it('a configuration file that does not exist', async () => {
    const missing = join(await makeTempDir('missing'), 'nope.yml');
    expectOneLineError(await runBerth(['serve', missing]), missing);
  });

  it('an htpasswd file that does not exist, rather than serving without authentication', async () => {
    const missing = join(await makeTempDir('auth'), 'htpasswd');
    const config = { ...testConfig({ inmemory: {} }), auth: { htpasswd: { realm: 'r', path: missing } } };
    expectOneLineError(await runBerth(['serve', await writeConfig(config)]), 'auth.htpasswd.path');
  });

  it('a TLS key file that cannot be read', async () => {
    const dir = await makeTempDir('tls');
    const config = testConfig({ inmemory: {} }, { tls: { certificate: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } });
    expectOneLineError(await runBerth(['serve', await writeConfig(config)]), 'http.tls.certificate');
  });

  it('a notifications spool directory it cannot create (a read-only volume, a file in the way)', async () => {
    const dir = await makeTempDir('spool');
    await writeFile(join(dir, 'not-a-directory'), 'x');
    const config = {
      ...testConfig({ inmemory: {} }, { addr: `127.0.0.1:${await freePort()}` }),
      notifications: { spooldir: join(dir, 'not-a-directory', 'spool'), endpoints: [{ name: 'ci', url: 'http://127.0.0.1:9/events' }] },
    };
    expectOneLineError(await runBerth(['serve', await writeConfig(config)]), 'notifications.spooldir');
  });

  it('a TLS certificate that does not exist, naming the file and why', async () => {
    const dir = await makeTempDir('tls');
    const config = testConfig({ inmemory: {} }, { tls: { certificate: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } });
    const result = await runBerth(['serve', await writeConfig(config)]);
    expectOneLineError(result, `http.tls.certificate: cannot read ${join(dir, 'cert.pem')}: no such file`);
  });

  it('a configuration path that is a directory', async () => {
    const dir = await makeTempDir('config-dir');
    expectOneLineError(await runBerth(['serve', dir]), dir);
  });

  it('an htpasswd path that is a directory says so, rather than telling to create a file at the directory’s path', async () => {
    const dir = await makeTempDir('htpasswd-dir');
    const config = { ...testConfig({ inmemory: {} }), auth: { htpasswd: { realm: 'r', path: dir } } };
    const result = await runBerth(['serve', await writeConfig(config)]);
    expectOneLineError(result, `auth.htpasswd.path: ${dir} is a directory`);
    expect(result.stderr).not.toContain(`htpasswd -cB ${dir} `);
  });

  /** A real listener on a loopback port, for the port-in-use cases. */
  async function occupyPort(): Promise<{ port: number; close(): Promise<void> }> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as { port: number }).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  it('a port another process listens on: one line naming http.addr, the address and "already in use"', async () => {
    const taken = await occupyPort();
    try {
      const result = await runBerth(['serve', await writeConfig(testConfig({ inmemory: {} }, { workers: 1 }))], {
        env: { REGISTRY_HTTP_ADDR: `127.0.0.1:${taken.port}` },
      });
      expectOneErrorLine(result, `http.addr: 127.0.0.1:${taken.port} is already in use`);
    } finally {
      await taken.close();
    }
  });

  it('a debug port another process listens on names http.debug.addr, not http.addr', async () => {
    const taken = await occupyPort();
    try {
      const config = testConfig({ inmemory: {} }, { workers: 1, debug: { addr: `127.0.0.1:${taken.port}` } });
      expectOneErrorLine(await runBerth(['serve', await writeConfig(config)]), `http.debug.addr: 127.0.0.1:${taken.port} is already in use`);
    } finally {
      await taken.close();
    }
  });

  it('the same errors from berth config check', async () => {
    expectOneLineError(await runBerth(['config', 'check', await writeConfig(testConfig({ s3: { region: 'us-east-1' } }))]), 'bucket');
  });
});

describe('berth says what it is and what it runs', () => {
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string }).version;

  it('berth --version prints the version of packages/cli/package.json', async () => {
    expect(await runBerth(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('serve --help explains the REGISTRY_* variables with an example', async () => {
    const result = await runBerth(['serve', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/REGISTRY_ followed by the key's path in\s+upper case/);
    expect(result.stdout).toMatch(/REGISTRY_HTTP_ADDR=127\.0\.0\.1:5000\s+sets http\.addr/);
    expect(result.stdout).toContain('/etc/docker/registry/config.yml');
  });

  it('the start-up line names the version, the configuration file, the driver with its root, the address and the processes', async () => {
    const root = await makeTempDir('startup-root');
    const berth = await startBerth(testConfig({ filesystem: { rootdirectory: root } }, { workers: 1 }));
    await berth.stop();
    const line = berth.process
      .stderr()
      .split('\n')
      .find((l) => l.includes('listening on'));
    expect(line).toContain(`msg="berth ${version} listening on ${berth.hostPort} with 1 process, filesystem storage at ${root}, configuration `);
    expect(line).toMatch(new RegExp(` version=${version.replace(/\./g, '\\.')} config=\\S+config\\.yml driver=filesystem rootdirectory=${root} workers=1$`));
  });

  it('log.formatter logstash: the start-up line is one JSON object with @timestamp, @version, level and message', async () => {
    const berth = await startBerth(testConfig({ inmemory: {} }, { workers: 1 }), { env: { REGISTRY_LOG_FORMATTER: 'logstash' } });
    await berth.stop();
    const lines = berth.process.stderr().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const started = lines.find((l) => String(l.message).includes('listening on'));
    expect(started).toEqual({
      '@timestamp': expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
      '@version': '1',
      level: 'info',
      message: expect.stringMatching(new RegExp(`^berth \\S+ listening on ${berth.hostPort.replace(/\./g, '\\.')} with 1 process, inmemory storage, configuration `)),
      version,
      config: expect.stringMatching(/config\.yml$/),
      driver: 'inmemory',
      workers: 1,
    });
    expect(lines.every((l) => typeof l['@timestamp'] === 'string' && l['@version'] === '1' && 'message' in l && !('msg' in l))).toBe(true);
  });
});

describe('berth serve settings', () => {
  it('listens on REGISTRY_HTTP_ADDR rather than the file’s http.addr', async () => {
    const filePort = await freePort();
    const envPort = await freePort();
    const berth = await startBerth(testConfig({ inmemory: {} }, { addr: `127.0.0.1:${filePort}` }), {
      env: { REGISTRY_HTTP_ADDR: `127.0.0.1:${envPort}` },
    });
    try {
      expect(berth.hostPort).toBe(`127.0.0.1:${envPort}`);
      expect((await fetch(`${berth.url}/v2/`)).status).toBe(200);
      await expect(fetch(`http://127.0.0.1:${filePort}/v2/`)).rejects.toThrow();
    } finally {
      await berth.stop();
    }
  });

  it('takes the file from REGISTRY_CONFIGURATION_PATH when no argument names one', async () => {
    const path = await writeConfig(testConfig({ inmemory: {} }));
    const result = await runBerth(['config', 'check'], { env: { REGISTRY_CONFIGURATION_PATH: path } });
    expect(result).toMatchObject({ code: 0, stdout: 'configuration OK\n' });
  });

  it('logs the effective configuration at debug, redacted, and each warning at warn', async () => {
    const config = { ...testConfig({ inmemory: {} }, { secret: 'top-secret-upload-key' }), log: { level: 'debug', formatter: 'text' } };
    const berth = await startBerth(config, { env: { REGISTRY_NO_SUCH_SECTION: 'x' } });
    await berth.stop();
    const lines = berth.process.stderr().split('\n');
    expect(lines.find((l) => l.includes('effective configuration'))).toMatch(/ level=debug msg="effective configuration" .*<redacted>/);
    expect(lines.filter((l) => l.includes('REGISTRY_NO_SUCH_SECTION'))).toEqual([expect.stringMatching(/ level=warning msg="ignoring unrecognized/)]);
    expect(berth.process.output()).not.toContain('top-secret-upload-key');
  });

  it.each(['json', 'logstash'])('log.formatter %s keeps secrets out of the debug log too', async (formatter) => {
    const config = {
      ...testConfig({ s3: { bucket: 'images', region: 'us-east-1', regionendpoint: 'http://127.0.0.1:9', secretkey: 'storage-secret-key', accesskey: 'AKIAEXAMPLE' } }, { secret: 'top-secret-upload-key', workers: 1 }),
      log: { level: 'debug', formatter, fields: { password: 'field-password' } },
    };
    const berth = await startBerth(config);
    await berth.stop();
    const output = berth.process.output();
    for (const secret of ['top-secret-upload-key', 'storage-secret-key', 'field-password']) expect(output).not.toContain(secret);
    const effective = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => (l.msg ?? l.message) === 'effective configuration');
    expect(JSON.stringify(effective)).toContain('<redacted>');
  });

  it('serves on a unix socket with net: unix, and removes the socket when stopped', async () => {
    const socketPath = join(await makeTempDir('socket'), 'berth.sock');
    const berth = await startBerth(testConfig({ inmemory: {} }, { net: 'unix', addr: socketPath }));
    expect(berth.hostPort).toBe(`unix:${socketPath}`);
    const status = await new Promise<number>((resolve, reject) => {
      request({ socketPath, path: '/v2/' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(200);
    expect(await berth.stop()).toEqual({ code: 0, signal: null });
    expect(existsSync(socketPath)).toBe(false);
  });

  it('prints the effective configuration as YAML with secrets redacted', async () => {
    const path = await writeConfig(
      testConfig(
        { s3: { bucket: 'images', region: 'us-east-1', accesskey: 'AKIAEXAMPLE', secretkey: 'very-secret-key' } },
        { secret: 'upload-state-secret' },
      ),
    );
    const result = await runBerth(['config', 'print', path]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('very-secret-key');
    expect(result.stdout).not.toContain('upload-state-secret');
    const printed = parse(result.stdout) as { storage: Record<string, unknown>; http: { addr: string } };
    expect(printed.http.addr).toBe('127.0.0.1:0');
    expect(JSON.stringify(printed.storage)).toContain('images');
  });
});

describe('berth serve stops gracefully', () => {
  it('exits 0 promptly on SIGTERM when idle', async () => {
    const berth = await startBerth(testConfig({ inmemory: {} }, { draintimeout: '30s' }));
    const started = performance.now();
    expect(await berth.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    // Before the 30 s drain timeout: nothing was waited for (an ordering, not a speed requirement).
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  it('exits 0 on SIGINT', async () => {
    const berth = await startBerth(testConfig({ inmemory: {} }));
    expect(await berth.stop('SIGINT')).toEqual({ code: 0, signal: null });
  });

  /** A PATCH whose body the test feeds by hand, so the request stays in flight as long as it wants. */
  async function slowUpload(url: string): Promise<{ send(chunk: Buffer): void; end(): void; response: Promise<Response> }> {
    const post = await fetch(`${url}/v2/drain/blobs/uploads/`, { method: 'POST' });
    expect(post.status).toBe(202);
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    const response = fetch(new URL(post.headers.get('location')!, url), {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream' },
      body,
      duplex: 'half',
    } as RequestInit);
    return { send: (chunk) => controller.enqueue(chunk), end: () => controller.close(), response };
  }

  it('lets a request in flight at SIGTERM finish within http.draintimeout, then exits 0', async () => {
    const berth = await startBerth(testConfig({ inmemory: {} }, { draintimeout: '10s' }));
    const upload = await slowUpload(berth.url);
    upload.send(Buffer.alloc(64 * 1024, 1));
    await new Promise((r) => setTimeout(r, 200));
    const exit = berth.stop('SIGTERM');
    await berth.process.waitForOutput(/received SIGTERM/, 5_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(berth.process.child.exitCode).toBeNull();
    upload.send(Buffer.alloc(64 * 1024, 2));
    upload.end();
    expect((await upload.response).status).toBe(202);
    expect(await exit).toEqual({ code: 0, signal: null });
  });

  it('cuts a request still in flight when http.draintimeout expires, then exits 0', async () => {
    const berth = await startBerth(testConfig({ inmemory: {} }, { draintimeout: '1s' }));
    const upload = await slowUpload(berth.url);
    const outcome = upload.response.then(
      (response) => `answered ${response.status}`,
      (error: Error) => `failed: ${error.message}`,
    );
    upload.send(Buffer.alloc(1024, 1));
    await new Promise((r) => setTimeout(r, 200));
    const started = performance.now();
    expect(await berth.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    // Cut by the drain timeout: the upload, never finished by the test, failed.
    expect(await outcome).toBe('failed: fetch failed');
  });
});
