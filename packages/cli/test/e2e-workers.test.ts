import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { runBerth, startBerth, testConfig, writeConfig, type RunningBerth } from './helpers/berth';
import { eventually, metricValue, parseExposition } from './helpers/in-process';
import { sha256Digest } from './helpers/oci-layout';
import { cleanupAll, makeTempDir } from './helpers/processes';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** One request on a connection of its own (no keep-alive), so the router picks a process for each. */
function once(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', agent: false, headers: options.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The pids of `pid`'s child processes. */
function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
}

/** The access-log lines of requests to `path`, with the process that served each (`worker=1` is the helper). */
function servedBy(server: RunningBerth, method: string, path: string): string[] {
  return server.process
    .output()
    .split('\n')
    .filter((line) => line.includes(` method=${method} `) && line.includes(` path=${path} `))
    .map((line) => (/ worker=(\d+)/.exec(line)?.[1] ? `helper ${/ worker=(\d+)/.exec(line)?.[1]}` : 'main'));
}

/** The processes among `pids` that hold upload `uuid`'s data file open (its storage writer). */
function writersOf(pids: readonly number[], uuid: string): number[] {
  return pids.filter((pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`).endsWith(`/_uploads/${uuid}/data`);
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  });
}

/** A PATCH on a connection of its own that sends `first` and holds the rest until `release()`. */
function heldPatch(url: URL, first: Buffer, rest: Buffer): { release(): void; answered: Promise<number> } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const answered = new Promise<number>((resolve, reject) => {
    const req = request(url, { method: 'PATCH', agent: false, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write(first);
    void released.then(() => req.end(rest));
  });
  return { release, answered };
}

describe('berth serve with http.workers: 2 (a main process and one helper)', () => {
  let server: RunningBerth;
  let debugUrl: string;

  beforeAll(async () => {
    const root = await makeTempDir('workers');
    server = await startBerth({
      ...testConfig({ filesystem: { rootdirectory: root } }, { workers: 2, debug: { addr: '127.0.0.1:0', prometheus: { enabled: true } } }),
      log: { level: 'debug', formatter: 'text' },
    });
    debugUrl = `http://${(await server.process.waitForOutput(/debug server at ([^\s"]+)/, 5_000))[1]}`;
  });

  afterAll(async () => {
    await server?.stop();
    await cleanupAll();
  });

  it('deals connections out in turn to both processes', async () => {
    for (let i = 0; i < 4; i++) expect((await once(`${server.url}/v2/?turn=${i}`)).status).toBe(200);
    await eventually('four access-log lines', async () => servedBy(server, 'GET', '/v2/').length >= 4);
    expect(new Set(servedBy(server, 'GET', '/v2/'))).toEqual(new Set(['main', 'helper 1']));
    expect(childrenOf(server.process.child.pid!)).toHaveLength(1);
  });

  it('verifies an upload whose PATCH and PUT reach different processes from the hash of the one that received it', async () => {
    const content = randomBytes(3 * 1024 * 1024 + 5);
    const digest = sha256Digest(content);
    const post = await once(`${server.url}/v2/workers/app/blobs/uploads/`, { method: 'POST' });
    expect(post.status).toBe(202);
    const patch = await once(new URL(String(post.headers.location), server.url).href, {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream' },
      body: content,
    });
    expect(patch.status).toBe(202);
    const put = new URL(String(patch.headers.location), server.url);
    put.searchParams.set('digest', digest);
    expect((await once(put.href, { method: 'PUT' })).status).toBe(201);

    const uploadPath = new URL(String(patch.headers.location), server.url).pathname;
    await eventually('the PATCH and PUT access-log lines', async () => servedBy(server, 'PUT', uploadPath).length === 1);
    expect(servedBy(server, 'PATCH', uploadPath)).not.toEqual(servedBy(server, 'PUT', uploadPath));
    expect(server.process.output()).not.toContain('re-hashing upload from storage');
    const pulled = await once(`${server.url}/v2/workers/app/blobs/${digest}`);
    expect(pulled.status).toBe(200);
    expect(pulled.body.equals(content)).toBe(true);
  });

  it('lets one of two PATCHes with the same Content-Range reaching both processes at once append, the other gets 416', async () => {
    const inFlight = async (): Promise<number> =>
      metricValue(parseExposition(await (await fetch(`${debugUrl}/metrics`)).text()), 'registry_http_in_flight_requests') ?? 0;
    const post = await once(`${server.url}/v2/workers/race/blobs/uploads/`, { method: 'POST' });
    const url = new URL(String(post.headers.location), server.url);
    const chunk = randomBytes(1024 * 1024);
    // Two connections (one per process), each sending a first kilobyte and holding the rest, so both
    // are in flight together: without a lock across processes, both find the session empty.
    const patches = [0, 1].map(() => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const answered = new Promise<number>((resolve, reject) => {
        const headers = { 'content-type': 'application/octet-stream', 'content-range': `0-${chunk.length - 1}`, 'content-length': String(chunk.length) };
        const req = request(url, { method: 'PATCH', agent: false, headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.write(chunk.subarray(0, 1024));
        void released.then(() => req.end(chunk.subarray(1024)));
      });
      return { release, answered };
    });
    await eventually('both PATCHes in flight', async () => (await inFlight()) === 2);
    for (const patch of patches) patch.release();
    expect((await Promise.all(patches.map((p) => p.answered))).sort()).toEqual([202, 416]);
    const status = await once(url.href);
    expect(status.status).toBe(204);
    expect(status.headers.range).toBe(`0-${chunk.length - 1}`);
    const put = new URL(String(status.headers.location), server.url);
    put.searchParams.set('digest', sha256Digest(chunk));
    expect((await once(put.href, { method: 'PUT' })).status).toBe(201);
  });

  it('reports the requests of both processes in the debug server’s metrics', async () => {
    const scrape = async (): Promise<number> => {
      const text = await (await fetch(`${debugUrl}/metrics`)).text();
      return metricValue(parseExposition(text), 'registry_http_requests_total', { handler: 'base', method: 'GET', code: '200' }) ?? 0;
    };
    const before = await scrape();
    for (let i = 0; i < 6; i++) await once(`${server.url}/v2/`);
    expect((await scrape()) - before).toBe(6);
    expect((await fetch(`${debugUrl}/debug/health`)).status).toBe(200);
  });

  it('starts a new helper when one dies, serving from the main process meanwhile', async () => {
    const [helper] = childrenOf(server.process.child.pid!);
    process.kill(helper!, 'SIGKILL');
    await server.process.waitForOutput(/helper process 1 \(pid \d+\) ended with signal SIGKILL: starting a new one in 1 s/, 5_000);
    for (let i = 0; i < 4; i++) expect((await once(`${server.url}/v2/`)).status).toBe(200);
    await eventually('a new helper', async () => childrenOf(server.process.child.pid!).some((pid) => pid !== helper));
    const servedByHelper = (): number => servedBy(server, 'GET', '/v2/').filter((by) => by === 'helper 1').length;
    const before = servedByHelper();
    await eventually('the new helper serving', async () => {
      await once(`${server.url}/v2/`);
      return servedByHelper() > before;
    });
  });

  it('hands the upload session lock of a helper killed mid-PATCH to the request waiting in the main process', async () => {
    const main = server.process.child.pid!;
    const inFlight = async (): Promise<number> =>
      metricValue(parseExposition(await (await fetch(`${debugUrl}/metrics`)).text()), 'registry_http_in_flight_requests') ?? 0;
    const post = await once(`${server.url}/v2/workers/killed/blobs/uploads/`, { method: 'POST' });
    const url = new URL(String(post.headers.location), server.url);
    const uuid = String(post.headers['docker-upload-uuid']);
    const [helper] = childrenOf(main);
    // Connections go to the processes in turn: a held PATCH that landed in the main process is let
    // finish, and the next one lands in the helper.
    let holder = heldPatch(url, Buffer.alloc(1024, 1), Buffer.alloc(1024, 2));
    await eventually('a process writing the upload', async () => writersOf([main, helper!], uuid).length === 1);
    if (writersOf([main, helper!], uuid)[0] === main) {
      holder.release();
      expect(await holder.answered).toBe(202);
      holder = heldPatch(url, Buffer.alloc(1024, 3), Buffer.alloc(1024, 4));
      await eventually('the helper writing the upload', async () => writersOf([helper!], uuid).length === 1);
    }
    void holder.answered.catch(() => undefined);
    // The next connection reaches the main process, whose PATCH waits for the helper's lock.
    const waiting = heldPatch(url, Buffer.alloc(512, 5), Buffer.alloc(512, 6));
    await eventually('both PATCHes in flight', async () => (await inFlight()) === 2);
    waiting.release();
    process.kill(helper!, 'SIGKILL');
    const stuck = new Promise<string>((resolve) => setTimeout(() => resolve('still waiting for the lock after 30 s'), 30_000).unref());
    expect(await Promise.race([waiting.answered, stuck])).toBe(202);
    const status = await once(url.href);
    expect(status.status).toBe(204);
    // The new helper serves before the next test needs both processes.
    await eventually('a new helper', async () => childrenOf(main).some((pid) => pid !== helper));
    const servedByHelper = (): number => servedBy(server, 'GET', '/v2/').filter((by) => by === 'helper 1').length;
    const before = servedByHelper();
    await eventually('the new helper serving', async () => {
      await once(`${server.url}/v2/`);
      return servedByHelper() > before;
    }, 30_000);
  });

  it('lets the requests in flight in both processes finish on SIGTERM, then every process exits', async () => {
    const inFlight = async (): Promise<number> =>
      metricValue(parseExposition(await (await fetch(`${debugUrl}/metrics`)).text()), 'registry_http_in_flight_requests') ?? 0;
    const sessions = await Promise.all([0, 1].map(() => once(`${server.url}/v2/workers/slow/blobs/uploads/`, { method: 'POST' })));
    // Two PATCHes on two new connections: one in each process, each held open half-sent.
    const patches = sessions.map((session) => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const answered = new Promise<number>((resolve, reject) => {
        const url = new URL(String(session.headers.location), server.url);
        const req = request(url, { method: 'PATCH', agent: false, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.write(Buffer.alloc(500, 1));
        void released.then(() => req.end(Buffer.alloc(500, 2)));
      });
      return { release, answered };
    });
    await eventually('both PATCHes in flight', async () => (await inFlight()) === 2);
    const helpers = childrenOf(server.process.child.pid!);
    server.process.child.kill('SIGTERM');
    await server.process.waitForOutput(/received SIGTERM: shutting down/, 5_000);
    for (const patch of patches) patch.release();
    expect(await Promise.all(patches.map((p) => p.answered))).toEqual([202, 202]);
    expect((await server.process.exited).code).toBe(0);
    for (const pid of helpers) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('http.workers with state that lives in one process', () => {
  afterAll(cleanupAll);

  it('refuses two processes on the inmemory driver, naming the key', async () => {
    const config = await writeConfig(testConfig({ inmemory: {} }, { workers: 2 }));
    const result = await runBerth(['serve', config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('berth: http.workers: must be 0 or 1: the inmemory driver keeps content inside one process, got 2');
  });
});
